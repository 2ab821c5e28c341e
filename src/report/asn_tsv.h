// ip2asn TSV tables (https://iptoasn.com): one range per line,
//   range_start <TAB> range_end <TAB> AS_number <TAB> country_code <TAB> AS_description
// with IPv4 as dotted quads or u32 integers and IPv6 in any RFC 4291 form. AS 0 ("Not
// routed") rows are misses. Lines that do not parse (wrong field count, bad address, start
// after end, mixed families, bad AS number, over-long line) are skipped and counted; a text in
// which no line parses is an error.
//
// Storage: per family, a vector of {start, end, name index} sorted by start, looked up by
// binary search; adjacent ranges of the same AS are merged, overlapping rows are trimmed to
// the part not already covered (counted in overlaps). (AS, name) pairs are interned into one
// string pool, so a full ip2asn-combined file (~500k rows) takes about 15 MB (twice that
// briefly while loading).
//
// Thread-safety: the Builder is single-threaded; the finished table is immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "report/asn_db.h"

namespace bw {

class TsvAsnDatabase final : public AsnDatabase {
 public:
  using U128 = unsigned __int128;

  // Feeds text in arbitrary chunks (lines may span chunks), then finish().
  class Builder {
   public:
    explicit Builder(std::string name);
    void feed(std::string_view chunk);
    // Consumes the builder. `name` (usually the path) starts every error message.
    Result<std::unique_ptr<TsvAsnDatabase>> finish();

   private:
    void addLine(std::string_view line);
    void bad(const char* reason, std::string_view field = {});
    std::uint32_t intern(std::uint32_t asn, std::string_view name);

    std::string name_;
    std::string partial_;         // the unfinished last line of the previous chunk
    bool skipping_long_ = false;  // inside an over-long line: drop bytes until '\n'
    std::unique_ptr<TsvAsnDatabase> db_;
    std::unordered_map<std::string, std::uint32_t> interned_;
    std::uint64_t good_rows_ = 0;
    std::uint64_t line_no_ = 0;  // physical line number, for messages
  };

  // Parses a whole text held in memory (the fuzz target's entry point).
  static Result<std::unique_ptr<TsvAsnDatabase>> parse(std::string_view text,
                                                       std::string_view name);

  std::optional<AsnInfo> lookup(const IpAddress& ip) const override;

  // Longest line accepted; longer ones are bad lines.
  static constexpr std::size_t kMaxLineBytes = 64 * 1024;

 private:
  template <typename K>
  struct Range {
    K start;
    K end;
    std::uint32_t entry;
  };
  struct Entry {
    std::uint32_t asn;
    std::uint32_t name_offset;
    std::uint32_t name_length;
  };

  TsvAsnDatabase() = default;
  template <typename K>
  static std::uint64_t normalise(std::vector<Range<K>>& ranges);
  template <typename K>
  const Range<K>* find(const std::vector<Range<K>>& ranges, K key) const noexcept;

  std::vector<Range<std::uint32_t>> v4_;
  std::vector<Range<U128>> v6_;
  std::vector<Entry> entries_;
  std::string names_;  // pool of interned AS names
};

}  // namespace bw
