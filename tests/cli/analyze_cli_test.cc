// `breakwater analyze` as an operator meets it: bad command lines, unreadable, non-capture,
// damaged and unsupported files get one clear sentence and a non-zero exit (never a crash or a
// hang); configuration files and ASN databases change what is reported.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli_support.h"

namespace bw {
namespace {

using nlohmann::json;
using testing::readFile;
using testing::runBreakwater;
using testing::RunResult;
using testing::TempDir;

constexpr int kUsage = 2;
constexpr int kInput = 3;

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// One line on stderr, naming what is wrong.
void expectOneSentence(const RunResult& r, const std::string& mentions) {
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
}

std::string le32(std::uint32_t v) {
  return std::string{static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 24)};
}
std::string le16(std::uint16_t v) {
  return std::string{static_cast<char>(v), static_cast<char>(v >> 8)};
}

std::string pcapHeader(std::uint32_t linktype) {
  return le32(0xa1b2c3d4) + le16(2) + le16(4) + le32(0) + le32(0) + le32(65535) + le32(linktype);
}
std::string pcapRecord(const std::string& frame) {
  return le32(1519838460) + le32(0) + le32(static_cast<std::uint32_t>(frame.size())) +
         le32(static_cast<std::uint32_t>(frame.size())) + frame;
}

TEST(AnalyzeCli, MissingFileIsOneSentenceAndExitThree) {
  auto r = runBreakwater({"analyze", "/nonexistent/capture.pcap"});
  EXPECT_EQ(r.status, kInput);
  expectOneSentence(r, "/nonexistent/capture.pcap");
}

TEST(AnalyzeCli, DirectoryEmptyAndTextFilesAreRejected) {
  TempDir dir;
  auto r = runBreakwater({"analyze", dir.file("")});
  EXPECT_EQ(r.status, kInput);
  expectOneSentence(r, "breakwater analyze:");

  writeFile(dir.file("empty.pcap"), "");
  r = runBreakwater({"analyze", dir.file("empty.pcap")});
  EXPECT_EQ(r.status, kInput);
  expectOneSentence(r, "empty.pcap");

  writeFile(dir.file("notes.txt"), "this is a text file, not a capture\n");
  r = runBreakwater({"analyze", dir.file("notes.txt")});
  EXPECT_EQ(r.status, kInput);
  expectOneSentence(r, "not a pcap or pcapng");
}

TEST(AnalyzeCli, UnsupportedLinkTypeIsNamed) {
  TempDir dir;
  writeFile(dir.file("usb.pcap"), pcapHeader(189) + pcapRecord(std::string(40, 'x')));
  auto r = runBreakwater({"analyze", dir.file("usb.pcap")});
  EXPECT_EQ(r.status, kInput);
  expectOneSentence(r, "link type 189");
}

TEST(AnalyzeCli, DamagedCaptureIsReportedNotFatal) {
  TempDir dir;
  // An Ethernet frame claiming IPv4 with a 3-word header, then a record cut short.
  std::string frame =
      std::string(12, '\x02') + std::string("\x08\x00\x43", 3) + std::string(30, '\0');
  writeFile(dir.file("damaged.pcap"),
            pcapHeader(1) + pcapRecord(frame) + pcapRecord(frame).substr(0, 30));
  auto r = runBreakwater({"analyze", "--format", "json", dir.file("damaged.pcap")});
  ASSERT_EQ(r.status, 0) << r.err;
  json report = json::parse(r.out);
  EXPECT_EQ(report["capture"]["packets"], 1);
  EXPECT_EQ(report["capture"]["malformed"]["bad_ip_header_length"], 1);
  EXPECT_EQ(report["capture"]["malformed"]["truncated_record"], 1);
  EXPECT_TRUE(report["attacks"].empty());
}

TEST(AnalyzeCli, BadCommandLinesExitTwo) {
  TempDir dir;
  std::string pcap = dir.file("x.pcap");
  writeFile(pcap, pcapHeader(1));
  EXPECT_EQ(runBreakwater({}).status, kUsage);
  EXPECT_EQ(runBreakwater({"analyze"}).status, kUsage);
  EXPECT_EQ(runBreakwater({"frobnicate"}).status, kUsage);
  EXPECT_EQ(runBreakwater({"analyze", "--no-such-flag", pcap}).status, kUsage);
  EXPECT_EQ(runBreakwater({"analyze", "--format", "xml", pcap}).status, kUsage);
  EXPECT_EQ(runBreakwater({"analyze", "--threshold-pps", "-5", pcap}).status, kUsage);
  EXPECT_EQ(runBreakwater({"analyze", "--threshold-mbps", "lots", pcap}).status, kUsage);
  auto r = runBreakwater({"analyze", "--networks", "198.18.0.0/24,banana", pcap});
  EXPECT_EQ(r.status, kUsage);
  expectOneSentence(r, "banana");
}

TEST(AnalyzeCli, HelpTeachesAndExitsZero) {
  auto r = runBreakwater({"analyze", "--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* s : {"--networks", "--threshold-pps", "--threshold-mbps", "--config", "--asn-db",
                        "--format", "Examples"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
  }
  EXPECT_EQ(runBreakwater({"--help"}).status, 0);
  EXPECT_EQ(runBreakwater({"--version"}).status, 0);
}

TEST(AnalyzeCli, EmptyCaptureIsAnEmptyReport) {
  TempDir dir;
  writeFile(dir.file("none.pcap"), pcapHeader(1));
  auto r = runBreakwater({"analyze", "--format", "json", dir.file("none.pcap")});
  ASSERT_EQ(r.status, 0) << r.err;
  json report = json::parse(r.out);
  EXPECT_EQ(report["capture"]["packets"], 0);
  EXPECT_TRUE(report["attacks"].empty());
  EXPECT_TRUE(report["scanners"].empty());
  auto text = runBreakwater({"analyze", dir.file("none.pcap")});
  EXPECT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("No attacks found"), std::string::npos) << text.out;
}

class AnalyzeWithFlood : public ::testing::Test {
 protected:
  void SetUp() override {
    pcap_ = dir_.file("flood.pcap");
    auto r = runBreakwater({"synth", "-o", pcap_, "--attack",
                            "vector=memcached,victim=198.18.0.10,pps=4000,duration=2,"
                            "reflectors=30,reflector_net=203.0.113.0/24"});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  json analyze(std::vector<std::string> extra, int expect_status = 0) {
    std::vector<std::string> args = {"analyze", "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(pcap_);
    auto r = runBreakwater(args);
    EXPECT_EQ(r.status, expect_status) << r.err;
    return r.status == 0 || r.status == 1 ? json::parse(r.out) : json();
  }
  TempDir dir_;
  std::string pcap_;
};

// "-" reads the capture from standard input, piped or redirected, into the same report as
// the file gives (the sniff for flow exports reads the first frames twice).
TEST_F(AnalyzeWithFlood, StandardInputReadsLikeTheFile) {
  json want = analyze({});
  ASSERT_EQ(want["attacks"].size(), 1u);
  want["capture"].erase("source");
  const std::string bw = testing::shellQuote(BW_BINARY);
  const std::string pcap = testing::shellQuote(pcap_);
  for (const std::string& how : {"cat " + pcap + " | " + bw + " analyze --format json -",
                                 bw + " analyze --format json - < " + pcap}) {
    SCOPED_TRACE(how);
    auto r = testing::runCommand({"sh", "-c", how});
    ASSERT_EQ(r.status, 0) << r.err;
    json got = json::parse(r.out);
    EXPECT_EQ(got["capture"]["source"], "-");
    got["capture"].erase("source");
    EXPECT_EQ(got, want);
  }
}

// What standard input cannot be gets one sentence: gzip (it is inflated from a mapped file
// only), something that is not a capture, nothing at all.
TEST_F(AnalyzeWithFlood, StandardInputThatIsNoCaptureIsOneSentence) {
  const std::string bw = testing::shellQuote(BW_BINARY);
  auto r = testing::runCommand(
      {"sh", "-c", "gzip -c " + testing::shellQuote(pcap_) + " | " + bw + " analyze -"});
  EXPECT_EQ(r.status, kInput);
  expectOneSentence(r, "standard input is gzip-compressed");
  EXPECT_NE(r.err.find("zcat"), std::string::npos) << r.err;
  r = testing::runCommand({"sh", "-c", "echo hello | " + bw + " analyze -"});
  EXPECT_EQ(r.status, kInput);
  expectOneSentence(r, "standard input is not a pcap or pcapng capture");
  r = testing::runBreakwater({"analyze", "-"});  // stdin is /dev/null here
  EXPECT_EQ(r.status, kInput);
  expectOneSentence(r, "standard input is empty");
}

TEST_F(AnalyzeWithFlood, ConfigFileSetsThresholdsAndOverrides) {
  writeFile(dir_.file("quiet.toml"),
            "[detection]\n"
            "threshold_pps = 1000\n"
            "[[detection.override]]\n"
            "prefix = \"198.18.0.0/28\"\n"
            "threshold_pps = 100000\n"
            "threshold_mbps = 10000\n");
  EXPECT_TRUE(analyze({"--config", dir_.file("quiet.toml")})["attacks"].empty());
  // Flags win over the file, but the per-prefix override still applies to this victim.
  EXPECT_TRUE(
      analyze({"--config", dir_.file("quiet.toml"), "--threshold-pps", "100"})["attacks"].empty());

  writeFile(dir_.file("loud.toml"), "[detection]\nnetworks = [\"198.18.0.0/24\"]\n");
  json loud = analyze({"--config", dir_.file("loud.toml")});
  ASSERT_EQ(loud["attacks"].size(), 1u);
  EXPECT_EQ(loud["attacks"][0]["direction"], "inbound");
}

TEST_F(AnalyzeWithFlood, BadConfigNamesFileAndLine) {
  writeFile(dir_.file("bad.toml"), "[detection]\nthreshold_pps = 100\nthreshhold_mbps = 5\n");
  auto r = runBreakwater({"analyze", "--config", dir_.file("bad.toml"), pcap_});
  EXPECT_EQ(r.status, kUsage);
  expectOneSentence(r, "bad.toml:3");
  writeFile(dir_.file("syntax.toml"), "[detection\n");
  r = runBreakwater({"analyze", "--config", dir_.file("syntax.toml"), pcap_});
  EXPECT_EQ(r.status, kUsage);
  expectOneSentence(r, "syntax.toml:1");
  r = runBreakwater({"analyze", "--config", dir_.file("missing.toml"), pcap_});
  EXPECT_EQ(r.status, kUsage);
  expectOneSentence(r, "missing.toml");
}

TEST_F(AnalyzeWithFlood, AsnDatabaseAttributesReflectors) {
  writeFile(dir_.file("ip2asn.tsv"),
            "203.0.113.0\t203.0.113.127\t64500\tZZ\tEXAMPLE-LOW\n"
            "203.0.113.128\t203.0.113.255\t64501\tZZ\tEXAMPLE-HIGH\n");
  json report = analyze({"--asn-db", dir_.file("ip2asn.tsv"), "--top", "30"});
  ASSERT_EQ(report["attacks"].size(), 1u);
  const json& top = report["attacks"][0]["top_reflectors"];
  ASSERT_EQ(top.size(), 30u);
  for (const json& r : top) {
    std::string ip = r["ip"];
    int last = std::stoi(ip.substr(ip.rfind('.') + 1));
    EXPECT_EQ(r["asn"], last < 128 ? 64500 : 64501) << ip;
  }
  json without = analyze({});
  EXPECT_TRUE(without["attacks"][0]["top_reflectors"][0]["asn"].is_null());
  auto r = runBreakwater({"analyze", "--asn-db", dir_.file("nothing.tsv"), pcap_});
  EXPECT_EQ(r.status, kInput);
  expectOneSentence(r, "nothing.tsv");
}

TEST_F(AnalyzeWithFlood, FailOnAttackAndOutputFile) {
  analyze({"--fail-on-attack"}, 1);
  std::string out = dir_.file("report.json");
  auto r = runBreakwater({"analyze", "--format", "json", "-o", out, pcap_});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(json::parse(readFile(out))["attacks"].size(), 1u);
}

TEST_F(AnalyzeWithFlood, TextReportIsAnIncidentSummary) {
  auto r = runBreakwater({"analyze", pcap_});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"memcached", "198.18.0.10", "inbound", "30 reflectors", "Mbit/s", "kpps"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  }
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos) << "no colour codes when not a terminal";
}

}  // namespace
}  // namespace bw
