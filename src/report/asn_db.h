// AsnDatabase: IP address -> origin AS number and name, for attributing reflectors.
//
// open() recognises the file by its content, not its name:
//   - MaxMind DB (.mmdb) files carrying autonomous_system_number/autonomous_system_organization
//     (GeoLite2-ASN, DB-IP ASN Lite) or asn/as_name (IPinfo), read through libmaxminddb;
//   - iptoasn.com "ip2asn" TSV files (range_start, range_end, AS number, country, AS name;
//     IPv4, IPv6 or combined; dotted or u32 integer IPv4; plain or gzip-compressed), loaded into
//     sorted range tables (see asn_tsv.h).
// A miss, an unrouted range (AS 0) and a lookup error all return nullopt.
//
// Thread-safety: immutable after open(); lookup() may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ip_address.h"
#include "core/result.h"

namespace bw {

struct AsnInfo {
  std::uint32_t asn = 0;
  std::string name;  // organisation / AS description; may be empty
};

// What open() found, for logs and reports.
struct AsnLoadStats {
  std::string format;             // "mmdb" or "ip2asn-tsv"
  std::string database_type;      // MMDB metadata database_type (e.g. "GeoLite2-ASN")
  std::uint64_t build_epoch = 0;  // MMDB metadata build time, seconds since 1970
  std::uint64_t lines = 0;        // TSV: lines read (excluding blank and '#' lines)
  std::uint64_t ranges_v4 = 0;    // TSV: stored ranges after merging adjacent ones
  std::uint64_t ranges_v6 = 0;
  std::uint64_t unrouted = 0;        // TSV: "Not routed" (AS 0) rows, stored as misses
  std::uint64_t overlaps = 0;        // TSV: rows overlapping an earlier range (trimmed/dropped)
  std::uint64_t bad_lines = 0;       // TSV: rows that did not parse; skipped
  std::uint64_t first_bad_line = 0;  // 1-based line number of the first bad row
  std::string first_bad_reason;
  std::uint32_t distinct_names = 0;  // TSV: interned (AS, name) pairs
};

class AsnDatabase {
 public:
  virtual ~AsnDatabase() = default;
  AsnDatabase(const AsnDatabase&) = delete;
  AsnDatabase& operator=(const AsnDatabase&) = delete;

  // Errors name the path: unreadable files, corrupt MMDB or gzip data, and files in which no
  // line is an ip2asn row ("X is neither an MMDB nor an ip2asn TSV file ..."). A TSV with
  // some bad lines loads; they are counted in stats().
  static Result<std::unique_ptr<AsnDatabase>> open(const std::string& path);

  // Several databases as one (e.g. ip2asn-v4.tsv and ip2asn-v6.tsv, or an MMDB backed by a
  // TSV): a lookup answers from the first that knows the address. One path is open(path).
  static Result<std::unique_ptr<AsnDatabase>> openAll(const std::vector<std::string>& paths);

  virtual std::optional<AsnInfo> lookup(const IpAddress& ip) const = 0;

  const AsnLoadStats& stats() const noexcept { return stats_; }
  // One line for logs: "ip2asn TSV, 412,345 IPv4 and 84,321 IPv6 ranges (2 bad lines: ...)".
  virtual std::string describe() const;

 protected:
  AsnDatabase() = default;
  AsnLoadStats stats_;
};

}  // namespace bw
