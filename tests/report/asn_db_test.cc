// ASN databases: ip2asn TSV (plain and gzip) and MMDB, recognised by content; lookups at
// range edges for IPv4 and IPv6, misses, unrouted ranges, bad lines and rejected files.
#include "report/asn_db.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "report/asn_tsv.h"

namespace bw {
namespace {

namespace fs = std::filesystem;

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

std::optional<std::uint32_t> asnOf(const AsnDatabase& db, const char* text) {
  auto info = db.lookup(ip(text));
  if (!info) return std::nullopt;
  return info->asn;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "bw_asn_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

void writeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

void writeGzip(const std::string& path, const std::string& content) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, content.data(), static_cast<unsigned>(content.size())),
            static_cast<int>(content.size()));
  gzclose(gz);
}

// A slice of the real ip2asn-combined format, v4 and v6 in one file.
const char* const kCombined =
    "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
    "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n"
    "1.0.4.0\t1.0.7.255\t38803\tAU\tWPL-AS-AP Wirefreebroadband Pty Ltd\n"
    "203.0.113.0\t203.0.113.255\t64500\tZZ\tEXAMPLE-NET\n"
    "2001:db8::\t2001:db8:0:ffff:ffff:ffff:ffff:ffff\t64510\tZZ\tV6-NET\n"
    "2001:db8:1::\t2001:db8:1::ffff\t0\tNone\tNot routed\n"
    "2a00:1450::\t2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff\t15169\tUS\tGOOGLE\n";

TEST(TsvAsn, LookupsAtRangeEdges) {
  auto db = TsvAsnDatabase::parse(kCombined, "combined.tsv");
  ASSERT_TRUE(db.ok()) << db.error().message;
  const AsnDatabase& d = **db;
  EXPECT_EQ(asnOf(d, "1.0.0.0"), 13335u);
  EXPECT_EQ(asnOf(d, "1.0.0.255"), 13335u);
  EXPECT_EQ(asnOf(d, "0.255.255.255"), std::nullopt);
  EXPECT_EQ(asnOf(d, "1.0.1.0"), std::nullopt);  // Not routed
  EXPECT_EQ(asnOf(d, "1.0.3.255"), std::nullopt);
  EXPECT_EQ(asnOf(d, "1.0.4.0"), 38803u);
  EXPECT_EQ(asnOf(d, "1.0.7.255"), 38803u);
  EXPECT_EQ(asnOf(d, "1.0.8.0"), std::nullopt);
  EXPECT_EQ(asnOf(d, "203.0.113.128"), 64500u);
  EXPECT_EQ(asnOf(d, "255.255.255.255"), std::nullopt);
  EXPECT_EQ(asnOf(d, "2001:db8::"), 64510u);
  EXPECT_EQ(asnOf(d, "2001:db8:0:ffff:ffff:ffff:ffff:ffff"), 64510u);
  EXPECT_EQ(asnOf(d, "2001:db8:1::1"), std::nullopt);
  EXPECT_EQ(asnOf(d, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), std::nullopt);
  EXPECT_EQ(asnOf(d, "2a00:1450:4001::1"), 15169u);
  EXPECT_EQ(asnOf(d, "::"), std::nullopt);
  // IPv4 and IPv6 tables are separate: ::1.0.0.1 is not 1.0.0.1.
  EXPECT_EQ(asnOf(d, "::1.0.0.1"), std::nullopt);

  auto info = d.lookup(ip("1.0.5.1"));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->name, "WPL-AS-AP Wirefreebroadband Pty Ltd");
  EXPECT_EQ(d.stats().format, "ip2asn-tsv");
  EXPECT_EQ(d.stats().ranges_v4, 3u);
  EXPECT_EQ(d.stats().ranges_v6, 2u);
  EXPECT_EQ(d.stats().unrouted, 2u);
  EXPECT_EQ(d.stats().bad_lines, 0u);
}

TEST(TsvAsn, IntegerIpv4AndAsPrefixAndCrlf) {
  // ip2asn-v4-u32.tsv writes addresses as integers; some exports write "AS13335".
  auto db = TsvAsnDatabase::parse(
      "16777216\t16777471\t13335\tUS\tCLOUDFLARENET\r\n"
      "3405803776\t3405804031\tAS64500\tZZ\tEXAMPLE-NET\r\n",
      "u32.tsv");
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_EQ(asnOf(**db, "1.0.0.7"), 13335u);
  EXPECT_EQ(asnOf(**db, "203.0.113.255"), 64500u);
  EXPECT_EQ((*db)->lookup(ip("203.0.113.0"))->name, "EXAMPLE-NET");  // no trailing \r
}

TEST(TsvAsn, BadLinesAreCountedNotFatal) {
  std::string text =
      "# comment\n"
      "\n"
      "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
      "1.0.0.300\t1.0.1.0\t1\tUS\tBAD-ADDRESS\n"  // line 4
      "1.0.2.255\t1.0.2.0\t2\tUS\tBACKWARDS\n"
      "1.0.2.0\t2001:db8::\t3\tUS\tMIXED\n"
      "1.0.2.0\t1.0.2.255\tASx\tUS\tBAD-AS\n"
      "1.0.2.0\t1.0.2.255\t4294967296\tUS\tAS-TOO-BIG\n"
      "just one field\n"
      "9.9.9.0\t9.9.9.255\t19281\tUS\tQUAD9\n";
  auto db = TsvAsnDatabase::parse(text, "mixed.tsv");
  ASSERT_TRUE(db.ok()) << db.error().message;
  const AsnLoadStats& s = (*db)->stats();
  EXPECT_EQ(s.bad_lines, 6u);
  EXPECT_EQ(s.first_bad_line, 4u);
  EXPECT_NE(s.first_bad_reason.find("bad range start '1.0.0.300'"), std::string::npos)
      << s.first_bad_reason;
  EXPECT_EQ(asnOf(**db, "9.9.9.9"), 19281u);
  EXPECT_EQ(asnOf(**db, "1.0.2.1"), std::nullopt);
  EXPECT_NE((*db)->describe().find("6 bad lines"), std::string::npos) << (*db)->describe();
}

TEST(TsvAsn, NothingParsesIsAnError) {
  auto db = TsvAsnDatabase::parse("hello\nworld\n", "notes.txt");
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message.find("notes.txt is neither an MMDB nor an ip2asn TSV file"),
            std::string::npos)
      << db.error().message;
  EXPECT_FALSE(TsvAsnDatabase::parse("", "empty.tsv").ok());
}

TEST(TsvAsn, OverlapsTrimmedAndAdjacentMerged) {
  auto db = TsvAsnDatabase::parse(
      "10.0.0.0\t10.0.0.255\t100\tZZ\tA\n"
      "10.0.1.0\t10.0.1.255\t100\tZZ\tA\n"    // adjacent, same AS: merged
      "10.0.1.128\t10.0.2.255\t200\tZZ\tB\n"  // overlaps: keeps only 10.0.2.0-255
      "10.0.0.10\t10.0.0.20\t300\tZZ\tC\n"    // inside an earlier range: dropped
      "255.255.255.0\t255.255.255.255\t400\tZZ\tTOP\n",
      "overlap.tsv");
  ASSERT_TRUE(db.ok());
  const AsnDatabase& d = **db;
  EXPECT_EQ(d.stats().ranges_v4, 3u);
  EXPECT_EQ(d.stats().overlaps, 2u);
  EXPECT_EQ(asnOf(d, "10.0.0.15"), 100u);
  EXPECT_EQ(asnOf(d, "10.0.1.200"), 100u);
  EXPECT_EQ(asnOf(d, "10.0.2.0"), 200u);
  EXPECT_EQ(asnOf(d, "10.0.3.0"), std::nullopt);
  EXPECT_EQ(asnOf(d, "255.255.255.255"), 400u);
}

TEST(TsvAsn, NamesAreInterned) {
  std::string text;
  for (int i = 0; i < 1000; ++i) {
    text += "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0\t10." +
            std::to_string(i / 256) + "." + std::to_string(i % 256) + ".127\t" +
            std::to_string(64500 + i % 3) + "\tZZ\tNET-" + std::to_string(i % 3) + "\n";
  }
  auto db = TsvAsnDatabase::parse(text, "many.tsv");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->stats().distinct_names, 3u);
  EXPECT_EQ((*db)->stats().ranges_v4, 1000u);
  EXPECT_EQ((*db)->lookup(ip("10.3.231.5"))->name, "NET-" + std::to_string(999 % 3));
  EXPECT_EQ(asnOf(**db, "10.3.231.128"), std::nullopt);
}

TEST(TsvAsn, ChunkBoundariesDoNotMatter) {
  const std::string text = kCombined;
  for (std::size_t chunk : {1u, 7u, 64u}) {
    TsvAsnDatabase::Builder b("chunks.tsv");
    for (std::size_t i = 0; i < text.size(); i += chunk)
      b.feed(std::string_view(text).substr(i, chunk));
    auto db = b.finish();
    ASSERT_TRUE(db.ok());
    EXPECT_EQ(asnOf(**db, "1.0.7.255"), 38803u) << chunk;
    EXPECT_EQ(asnOf(**db, "2a00:1450::"), 15169u) << chunk;
    EXPECT_EQ((*db)->stats().bad_lines, 0u) << chunk;
  }
}

TEST(TsvAsn, OverlongLineIsOneBadLine) {
  std::string text = "1.0.0.0\t1.0.0.255\t13335\tUS\t" + std::string(100'000, 'x') + "\n" +
                     "9.9.9.0\t9.9.9.255\t19281\tUS\tQUAD9";  // no final newline
  auto db = TsvAsnDatabase::parse(text, "long.tsv");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->stats().bad_lines, 1u);
  EXPECT_EQ(asnOf(**db, "1.0.0.1"), std::nullopt);
  EXPECT_EQ(asnOf(**db, "9.9.9.9"), 19281u);
}

TEST(AsnDatabaseOpen, TsvPlainAndGzipByContent) {
  TempDir dir;
  // The name says .mmdb, the content is TSV: content decides.
  writeFile(dir.file("plain.mmdb"), kCombined);
  writeGzip(dir.file("combined.dat"), kCombined);
  for (const char* name : {"plain.mmdb", "combined.dat"}) {
    auto db = AsnDatabase::open(dir.file(name));
    ASSERT_TRUE(db.ok()) << db.error().message;
    EXPECT_EQ((*db)->stats().format, "ip2asn-tsv") << name;
    EXPECT_EQ(asnOf(**db, "203.0.113.7"), 64500u) << name;
    EXPECT_EQ(asnOf(**db, "2001:db8::42"), 64510u) << name;
  }
}

TEST(AsnDatabaseOpen, SeparateV4AndV6Files) {
  TempDir dir;
  writeFile(dir.file("v4.tsv"),
            "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
            "203.0.113.0\t203.0.113.255\t64500\tZZ\tEXAMPLE-NET\n");
  writeGzip(dir.file("v6.tsv.gz"), "2001:db8::\t2001:db8::ffff\t64510\tZZ\tV6-NET\n");
  auto db = AsnDatabase::openAll({dir.file("v4.tsv"), dir.file("v6.tsv.gz")});
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_EQ(asnOf(**db, "1.0.0.1"), 13335u);
  EXPECT_EQ(asnOf(**db, "2001:db8::1"), 64510u);
  EXPECT_EQ(asnOf(**db, "2001:db8::1:0"), std::nullopt);
  EXPECT_EQ((*db)->stats().ranges_v4, 2u);
  EXPECT_EQ((*db)->stats().ranges_v6, 1u);
  EXPECT_NE((*db)->describe().find("; ip2asn TSV, 0 IPv4 and 1 IPv6"), std::string::npos)
      << (*db)->describe();

  auto bad = AsnDatabase::openAll({dir.file("v4.tsv"), dir.file("missing.tsv")});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("missing.tsv"), std::string::npos);
  EXPECT_FALSE(AsnDatabase::openAll({}).ok());
}

TEST(AsnDatabaseOpen, Errors) {
  TempDir dir;
  auto missing = AsnDatabase::open(dir.file("missing.tsv"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing.tsv"), std::string::npos);

  auto directory = AsnDatabase::open(dir.file(""));
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.error().message.find("directory"), std::string::npos);

  writeFile(dir.file("garbage.bin"), std::string("\x00\x01\x02 not a database\n", 20));
  auto garbage = AsnDatabase::open(dir.file("garbage.bin"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message.find("is neither an MMDB nor an ip2asn TSV file"),
            std::string::npos)
      << garbage.error().message;

  // A gzip stream cut short is reported, not silently read as a short file.
  std::string big;
  for (int i = 0; i < 20000; ++i) {
    big += "10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) +
           ".0\t10.0.0.255\t" + std::to_string(i + 1) + "\tZZ\tNET" + std::to_string(i) + "\n";
  }
  writeGzip(dir.file("full.gz"), big);
  std::ifstream in(dir.file("full.gz"), std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  writeFile(dir.file("cut.gz"), gz.substr(0, gz.size() / 2));
  auto cut = AsnDatabase::open(dir.file("cut.gz"));
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message.find("cut.gz"), std::string::npos) << cut.error().message;
}

// MMDB files are written at test time by tests/report/make_test_mmdb.pl (MaxMind::DB::Writer).
std::string makeMmdb(const TempDir& dir, const char* style) {
  const std::string out = dir.file(std::string(style) + ".mmdb");
  const std::string cmd = "perl '" BW_SOURCE_DIR "/tests/report/make_test_mmdb.pl' '" + out + "' " +
                          style + " 2>/dev/null";
  const int rc = std::system(cmd.c_str());
  if (rc != 0 || !fs::exists(out)) return "";
  return out;
}

TEST(MmdbAsn, GeoLiteFields) {
  TempDir dir;
  const std::string path = makeMmdb(dir, "geolite");
  if (path.empty()) GTEST_SKIP() << "perl with MaxMind::DB::Writer is not available";
  auto db = AsnDatabase::open(path);
  ASSERT_TRUE(db.ok()) << db.error().message;
  const AsnDatabase& d = **db;
  EXPECT_EQ(d.stats().format, "mmdb");
  EXPECT_EQ(d.stats().database_type, "Test-ASN");
  EXPECT_EQ(asnOf(d, "203.0.113.0"), 64500u);
  EXPECT_EQ(asnOf(d, "203.0.113.255"), 64500u);
  EXPECT_EQ(asnOf(d, "203.0.112.255"), std::nullopt);
  EXPECT_EQ(asnOf(d, "203.0.114.0"), std::nullopt);
  EXPECT_EQ(asnOf(d, "198.51.100.127"), 64501u);
  EXPECT_EQ(asnOf(d, "198.51.100.128"), 64502u);
  EXPECT_EQ(asnOf(d, "2001:db8:1::"), 64510u);
  EXPECT_EQ(asnOf(d, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"), 64510u);
  EXPECT_EQ(asnOf(d, "2001:db8:2::"), std::nullopt);
  auto info = d.lookup(ip("198.51.100.200"));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->name, "UPPER-HALF");
  EXPECT_NE(d.describe().find("MMDB Test-ASN"), std::string::npos) << d.describe();
}

TEST(MmdbAsn, IpinfoFields) {
  TempDir dir;
  const std::string path = makeMmdb(dir, "ipinfo");
  if (path.empty()) GTEST_SKIP() << "perl with MaxMind::DB::Writer is not available";
  auto db = AsnDatabase::open(path);
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto info = (*db)->lookup(ip("203.0.113.9"));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->asn, 64500u);
  EXPECT_EQ(info->name, "EXAMPLE-NET");
  EXPECT_EQ(asnOf(**db, "192.0.2.1"), std::nullopt);
}

TEST(MmdbAsn, DamagedFileIsAnError) {
  TempDir dir;
  const std::string path = makeMmdb(dir, "geolite");
  if (path.empty()) GTEST_SKIP() << "perl with MaxMind::DB::Writer is not available";
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Keep the metadata marker (so it is recognised as MMDB) but wreck the metadata after it.
  const auto marker = bytes.rfind("MaxMind.com");
  ASSERT_NE(marker, std::string::npos);
  bytes.resize(marker + 11);
  bytes += std::string(16, '\xff');
  writeFile(dir.file("damaged.mmdb"), bytes);
  auto db = AsnDatabase::open(dir.file("damaged.mmdb"));
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message.find("damaged.mmdb"), std::string::npos) << db.error().message;
}

}  // namespace
}  // namespace bw
