// MaxMind DB (MMDB) ASN lookups through libmaxminddb, memory-mapped. Reads
// autonomous_system_number / autonomous_system_organization (GeoLite2-ASN, DB-IP ASN Lite)
// and falls back to asn ("AS13335" or a number) / as_name / name (IPinfo's ASN databases).
// IPv4 lookups in an IPv6 tree go through the tree's IPv4 subtree; an IPv6 lookup in an
// IPv4-only database is a miss.
//
// Thread-safety: immutable after open(); lookups may run concurrently.
#pragma once

#include <maxminddb.h>

#include <memory>
#include <string>

#include "report/asn_db.h"

namespace bw {

class MmdbAsnDatabase final : public AsnDatabase {
 public:
  ~MmdbAsnDatabase() override;
  // Errors name the path and libmaxminddb's reason.
  static Result<std::unique_ptr<MmdbAsnDatabase>> open(const std::string& path);

  std::optional<AsnInfo> lookup(const IpAddress& ip) const override;

 private:
  MmdbAsnDatabase() = default;
  MMDB_s mmdb_{};
  bool open_ = false;
};

// True when the file ends with a MaxMind DB metadata section (the marker is searched for in the
// last 128 KiB, as libmaxminddb does).
bool looksLikeMmdb(const std::string& path);

}  // namespace bw
