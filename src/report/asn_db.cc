#include "report/asn_db.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "report/asn_mmdb.h"
#include "report/asn_tsv.h"
#include "report/format.h"

namespace bw {

namespace {

// Streams a plain or gzip-compressed file (zlib reads both) into the TSV builder.
Result<std::unique_ptr<AsnDatabase>> loadTsv(const std::string& path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  gzbuffer(gz, 256 * 1024);
  TsvAsnDatabase::Builder builder(path);
  std::vector<char> buf(256 * 1024);
  for (;;) {
    const int n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int code = Z_OK;
      const char* what = gzerror(gz, &code);
      std::string msg = code == Z_ERRNO ? std::strerror(errno) : what;
      gzclose(gz);
      return Error{"cannot read " + path + ": " + msg};
    }
    if (n == 0) break;
    builder.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  // A truncated gzip stream reads as a clean end of data; gzerror tells.
  int code = Z_OK;
  const char* what = gzerror(gz, &code);
  if (code != Z_OK) {
    std::string msg = what;
    gzclose(gz);
    return Error{"cannot read " + path + ": gzip data is damaged (" + msg + ")"};
  }
  gzclose(gz);
  auto db = builder.finish();
  if (!db) return db.error();
  return std::unique_ptr<AsnDatabase>(std::move(db).value());
}

// openAll() with more than one path: first hit wins, in the order given.
class ChainedAsnDatabase final : public AsnDatabase {
 public:
  explicit ChainedAsnDatabase(std::vector<std::unique_ptr<AsnDatabase>> parts)
      : parts_(std::move(parts)) {
    stats_.format = "multiple";
    for (const auto& p : parts_) {
      const AsnLoadStats& s = p->stats();
      stats_.lines += s.lines;
      stats_.ranges_v4 += s.ranges_v4;
      stats_.ranges_v6 += s.ranges_v6;
      stats_.unrouted += s.unrouted;
      stats_.overlaps += s.overlaps;
      stats_.bad_lines += s.bad_lines;
      stats_.distinct_names += s.distinct_names;
      if (!description_.empty()) description_ += "; ";
      description_ += p->describe();
    }
  }
  std::optional<AsnInfo> lookup(const IpAddress& ip) const override {
    for (const auto& p : parts_) {
      if (auto info = p->lookup(ip)) return info;
    }
    return std::nullopt;
  }
  std::string describe() const override { return description_; }

 private:
  std::vector<std::unique_ptr<AsnDatabase>> parts_;
  std::string description_;
};

}  // namespace

Result<std::unique_ptr<AsnDatabase>> AsnDatabase::openAll(const std::vector<std::string>& paths) {
  if (paths.empty()) return Error{"no ASN database given"};
  if (paths.size() == 1) return open(paths.front());
  std::vector<std::unique_ptr<AsnDatabase>> parts;
  for (const std::string& path : paths) {
    auto db = open(path);
    if (!db) return db.error();
    parts.push_back(std::move(db).value());
  }
  return std::unique_ptr<AsnDatabase>(new ChainedAsnDatabase(std::move(parts)));
}

Result<std::unique_ptr<AsnDatabase>> AsnDatabase::open(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Error{"cannot read ASN database " + path + ": " + std::strerror(errno)};
  }
  if (S_ISDIR(st.st_mode)) return Error{"ASN database " + path + " is a directory, not a file"};
  if (looksLikeMmdb(path)) {
    auto db = MmdbAsnDatabase::open(path);
    if (!db) return db.error();
    return std::unique_ptr<AsnDatabase>(std::move(db).value());
  }
  return loadTsv(path);
}

std::string AsnDatabase::describe() const {
  const AsnLoadStats& s = stats_;
  if (s.format == "mmdb") {
    std::string out = "MMDB";
    if (!s.database_type.empty()) out += " " + s.database_type;
    if (s.build_epoch != 0) {
      out +=
          ", built " + report::formatDate(static_cast<std::int64_t>(s.build_epoch) * 1'000'000'000);
    }
    return out;
  }
  std::string out = fmt::format("ip2asn TSV, {} IPv4 and {} IPv6 ranges, {} AS names",
                                report::formatCount(s.ranges_v4), report::formatCount(s.ranges_v6),
                                report::formatCount(s.distinct_names));
  if (s.bad_lines > 0) {
    out += fmt::format(" ({} bad line{} skipped; first at line {}: {})",
                       report::formatCount(s.bad_lines), s.bad_lines == 1 ? "" : "s",
                       s.first_bad_line, s.first_bad_reason);
  }
  if (s.overlaps > 0) out += fmt::format(" ({} overlapping rows trimmed)", s.overlaps);
  return out;
}

}  // namespace bw
