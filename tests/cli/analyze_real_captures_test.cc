// `breakwater analyze` end to end on the public captures in ../shared/captures: real reflection
// floods (StopDDoS) must be found with the right vector and victim, and sized as tshark sizes
// them; benign protocol samples (nDPI, Zeek, tcpdump, suricata-verify, ...) must raise nothing.
// Skipped with a message when ../shared is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/cli_support.h"

namespace bw {
namespace {

using nlohmann::json;
using testing::haveTool;
using testing::runBreakwater;
using testing::runCommand;
using testing::sharedCapture;

json analyzeJson(const std::string& path, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"analyze", "--format", "json", path};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = runBreakwater(args);
  EXPECT_EQ(r.status, 0) << r.err;
  return json::parse(r.out);
}

#define REQUIRE_CAPTURE(path) \
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared capture absent: " << (path)

const json* findAttack(const json& report, const std::string& victim, const std::string& vector) {
  for (const json& a : report["attacks"]) {
    if (a["victim"] == victim && a["vector"] == vector) return &a;
  }
  return nullptr;
}

std::set<std::string> vectorsOf(const json& report) {
  std::set<std::string> out;
  for (const json& a : report["attacks"]) out.insert(a["vector"].get<std::string>());
  return out;
}

// tshark's view of the same traffic, as the independent reference: packets and distinct
// sources matching `filter` (ICMP errors quoting a datagram are excluded, as they are not it).
struct Reference {
  std::uint64_t packets = 0;
  std::uint64_t sources = 0;
};
Reference tsharkReference(const std::string& path, const std::string& filter) {
  Reference ref;
  std::istringstream lines(runCommand({"sh", "-c",
                                       "tshark -r " + testing::shellQuote(path) + " -Y " +
                                           testing::shellQuote(filter + " && !icmp") +
                                           " -T fields -e ip.src 2>/dev/null"})
                               .out);
  std::set<std::string> sources;
  for (std::string line; std::getline(lines, line);) {
    ++ref.packets;
    sources.insert(line);
  }
  ref.sources = sources.size();
  return ref;
}

TEST(AnalyzeRealCaptures, SnmpReflectionMatchesTshark) {
  std::string path = sharedCapture("stopddos/amp.UDP.snmp.src161.pcapng");
  REQUIRE_CAPTURE(path);
  json report = analyzeJson(path);
  const json* a = findAttack(report, "10.10.10.10", "snmp");
  ASSERT_NE(a, nullptr) << report.dump(2);
  EXPECT_EQ((*a)["direction"], "inbound");
  EXPECT_EQ((*a)["protocol"], "udp");
  EXPECT_EQ((*a)["source_port"], 161);
  EXPECT_GT((*a)["peak_pps"].get<double>(), 100000);  // 4,079 datagrams in 23 ms
  if (!haveTool("tshark")) GTEST_SKIP() << "tshark absent: sizes not cross-checked";
  Reference ref = tsharkReference(path, "udp.srcport==161 && ip.dst==10.10.10.10");
  EXPECT_EQ((*a)["packets"].get<std::uint64_t>(), ref.packets);
  EXPECT_EQ((*a)["reflectors"].get<std::uint64_t>(), ref.sources);
}

TEST(AnalyzeRealCaptures, DnsRrsigReflectionWithFragments) {
  std::string path = sharedCapture("stopddos/amp.dns.RRSIG.fragmented.pcap");
  REQUIRE_CAPTURE(path);
  json report = analyzeJson(path);
  const json* a = findAttack(report, "10.10.10.10", "dns");
  ASSERT_NE(a, nullptr) << report.dump(2);
  EXPECT_EQ((*a)["source_port"], 53);
  EXPECT_GT((*a)["fragments"].get<std::uint64_t>(), 0u);  // non-first fragments attributed
  EXPECT_EQ(vectorsOf(report), std::set<std::string>{"dns"});
  EXPECT_EQ(report["capture"]["packets"], 4412);
}

TEST(AnalyzeRealCaptures, IsakmpReflectionIsGenericUdp4500) {
  std::string path = sharedCapture("stopddos/amp.UDP.isakmp.pcap");
  REQUIRE_CAPTURE(path);
  json report = analyzeJson(path);
  const json* a = findAttack(report, "10.10.10.10", "udp:4500");
  ASSERT_NE(a, nullptr) << report.dump(2);
  EXPECT_EQ((*a)["source_port"], 4500);
  if (!haveTool("tshark")) GTEST_SKIP() << "tshark absent: sizes not cross-checked";
  Reference ref = tsharkReference(path, "udp.srcport==4500 && ip.dst==10.10.10.10");
  EXPECT_EQ((*a)["packets"].get<std::uint64_t>(), ref.packets);
  EXPECT_EQ((*a)["reflectors"].get<std::uint64_t>(), ref.sources);
}

TEST(AnalyzeRealCaptures, BacnetAndDahuaReflectionOnOneVictim) {
  std::string path = sharedCapture("stopddos/amp.UDP.bacnet.IOT.37810.pcapng");
  REQUIRE_CAPTURE(path);
  json report = analyzeJson(path);
  ASSERT_NE(findAttack(report, "10.10.10.1", "udp:47808"), nullptr) << report.dump(2);
  ASSERT_NE(findAttack(report, "10.10.10.1", "udp:37810"), nullptr) << report.dump(2);
  for (const json& a : report["attacks"]) EXPECT_EQ(a["victim"], "10.10.10.1");
}

TEST(AnalyzeRealCaptures, ThresholdFlagsAreHonoured) {
  std::string path = sharedCapture("stopddos/amp.UDP.isakmp.pcap");
  REQUIRE_CAPTURE(path);
  // ~9.7 kpps and ~18 Mbit/s at peak: thresholds above both must silence it.
  json quiet = analyzeJson(path, {"--threshold-pps", "50000", "--threshold-mbps", "100"});
  EXPECT_TRUE(quiet["attacks"].empty()) << quiet.dump(2);
}

TEST(AnalyzeRealCaptures, BenignProtocolSamplesRaiseNothing) {
  std::string manifest = sharedCapture("manifest.tsv");
  REQUIRE_CAPTURE(manifest);
  std::istringstream lines(testing::readFile(manifest));
  std::string line;
  std::getline(lines, line);  // header
  int checked = 0;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string file, bytes, sha, packets;
    std::getline(fields, file, '\t');
    std::getline(fields, bytes, '\t');
    std::getline(fields, sha, '\t');
    std::getline(fields, packets, '\t');
    if (file.rfind("stopddos/", 0) == 0) continue;  // the attacks
    SCOPED_TRACE(file);
    json report = analyzeJson(sharedCapture(file));
    EXPECT_TRUE(report["attacks"].empty()) << report["attacks"].dump(2);
    EXPECT_EQ(report["capture"]["packets"].get<std::uint64_t>(), std::stoull(packets));
    ++checked;
  }
  EXPECT_GT(checked, 30);
}

}  // namespace
}  // namespace bw
