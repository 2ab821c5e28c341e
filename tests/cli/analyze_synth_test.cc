// `breakwater synth` then `breakwater analyze`, compared with the ground truth synth writes:
// every labelled attack is found with its victim, vector, direction, source port, exact packet
// and byte totals, first and last packet, distinct reflectors, abused hosts and ransom
// addresses; nothing else is reported; scanners are found with their target counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli_support.h"

namespace bw {
namespace {

using nlohmann::json;
using testing::readFile;
using testing::runBreakwater;
using testing::TempDir;

struct Scenario {
  std::string name;
  std::vector<std::string> synth_args;
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

// Runs synth with `args` and analyze with the scenario's own networks; returns {truth, report}.
std::pair<json, json> synthAndAnalyze(const TempDir& dir, const std::string& name,
                                      const std::vector<std::string>& args,
                                      std::vector<std::string> analyze_extra = {}) {
  std::string pcap = dir.file(name + ".pcap");
  std::vector<std::string> synth = {"synth", "-o", pcap};
  synth.insert(synth.end(), args.begin(), args.end());
  auto s = runBreakwater(synth);
  EXPECT_EQ(s.status, 0) << s.err;
  json truth = json::parse(readFile(pcap + ".truth.json"));
  std::string networks;
  for (const json& n : truth["scenario"]["networks"]) {
    networks += (networks.empty() ? "" : ",") + n.get<std::string>();
  }
  std::vector<std::string> analyze = {"analyze", "--format", "json", "--networks", networks, pcap};
  analyze.insert(analyze.end(), analyze_extra.begin(), analyze_extra.end());
  auto a = runBreakwater(analyze);
  EXPECT_EQ(a.status, 0) << a.err;
  return {truth, json::parse(a.out)};
}

std::vector<std::string> sortedStrings(const json& array) {
  std::vector<std::string> out;
  for (const json& v : array) out.push_back(v.get<std::string>());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void expectMatchesTruth(const json& truth, const json& report) {
  std::vector<json> found(report["attacks"].begin(), report["attacks"].end());
  for (const json& t : truth["attacks"]) {
    SCOPED_TRACE(t["vector"].get<std::string>() + " on " + t["victim"].get<std::string>());
    auto it = std::find_if(found.begin(), found.end(), [&](const json& a) {
      return a["victim"] == t["victim"] && a["vector"] == t["vector"];
    });
    ASSERT_NE(it, found.end()) << "not found in " << report["attacks"].dump(1);
    const json& a = *it;
    EXPECT_EQ(a["direction"], t["direction"]);
    EXPECT_EQ(a["protocol"], "udp");
    EXPECT_EQ(a["source_port"], t["source_port"]);
    EXPECT_EQ(a["packets"], t["packets"]);
    EXPECT_EQ(a["bytes"], t["bytes"]);
    EXPECT_NEAR(a["start"].get<double>(), t["start"].get<double>(), 2e-6);
    EXPECT_NEAR(a["end"].get<double>(), t["end"].get<double>(), 2e-6);
    EXPECT_EQ(a["reflectors"], t["reflectors"]);
    double seconds = std::max(t["end"].get<double>() - t["start"].get<double>(), 1e-3);
    double mean_pps = t["packets"].get<double>() / seconds;
    // Peaks are whole-second windows (or the attack's own span when shorter): never below
    // the mean rate over the attack, and not wildly above it for these steady floods.
    EXPECT_GE(a["peak_pps"].get<double>(), mean_pps * 0.97);
    EXPECT_LE(a["peak_pps"].get<double>(), mean_pps * 1.5 + 10);
    if (t["direction"] == "outbound") {
      EXPECT_EQ(sortedStrings(a["abused_hosts"]), sortedStrings(t["abused_hosts"]));
    } else {
      EXPECT_TRUE(a["abused_hosts"].empty());
    }
    if (!t["monero_addresses"].empty()) {
      json got = json::array();
      for (const json& n : a["ransom_notes"]) {
        for (const json& m : n["monero_addresses"]) got.push_back(m);
      }
      EXPECT_EQ(sortedStrings(got), sortedStrings(t["monero_addresses"]));
    }
    found.erase(it);
  }
  EXPECT_TRUE(found.empty()) << "unexpected attacks: " << json(found).dump(1);

  for (const json& t : truth["scanners"]) {
    auto it = std::find_if(
        report["scanners"].begin(), report["scanners"].end(),
        [&](const json& s) { return s["source"] == t["source"] && s["port"] == t["port"]; });
    ASSERT_NE(it, report["scanners"].end()) << "scanner " << t["source"] << " not found";
    EXPECT_EQ((*it)["targets"], t["targets"]);
    EXPECT_EQ((*it)["protocol"], "udp");
    EXPECT_NEAR((*it)["start"].get<double>(), t["start"].get<double>(), 2e-6);
  }
  EXPECT_EQ(report["scanners"].size(), truth["scanners"].size()) << report["scanners"].dump(1);
  EXPECT_EQ(report["capture"]["packets"], truth["totals"]["packets"]);
  EXPECT_EQ(report["capture"]["bytes"], truth["totals"]["bytes"]);
}

class AnalyzeSynthTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(AnalyzeSynthTest, ReportMatchesGroundTruth) {
  TempDir dir;
  auto [truth, report] = synthAndAnalyze(dir, GetParam().name, GetParam().synth_args);
  expectMatchesTruth(truth, report);
}

const char* kAllVectors[] = {"memcached", "dns",          "ntp",     "ssdp",     "cldap",
                             "chargen",   "snmp",         "netbios", "portmap",  "ripv1",
                             "mssql",     "ws-discovery", "arms",    "coap",     "ubiquiti",
                             "qotd",      "tftp",         "udp:500", "udp:37810"};

std::vector<Scenario> scenarios() {
  std::vector<Scenario> out = {
      {"preset_memcached", {"--preset", "memcached"}},
      {"preset_mixed", {"--preset", "mixed"}},
      {"preset_benign", {"--preset", "benign"}},
      {"fragmented_dns",
       {"--attack",
        "vector=dns,victim=198.18.0.10,size=4000,mtu=1280,pps=2000,duration=3,reflectors=40"}},
      {"poisson_ntp",
       {"--attack",
        "vector=ntp,victim=198.18.0.11,pps=1200,duration=4,timing=poisson,reflectors=30"}},
      {"fast_memcached",
       {"--attack", "vector=memcached,victim=198.18.0.12,pps=100k,duration=2,reflectors=5000"}},
      {"short_ssdp",
       {"--attack", "vector=ssdp,victim=198.18.0.13,pps=20k,duration=0.05,reflectors=100"}},
      {"ipv6_memcached_ransom",
       {"--networks", "198.18.0.0/24,2001:db8::/32", "--attack",
        "vector=memcached,victim=2001:db8::77,ipv6=1,pps=5000,duration=2,reflectors=80,ransom=1"}},
      {"thousand_pps_one_second",
       {"--attack",
        "vector=snmp,victim=198.18.0.14,pps=1000,duration=1,reflectors=20,timing=poisson"}},
      {"ten_mbit_one_second",
       {"--attack",
        "vector=cldap,victim=198.18.0.15,pps=850,size=1472,duration=1,reflectors=20,timing="
        "poisson"}},
      {"outbound_memcached",
       {"--networks", "203.0.113.0/24", "--attack",
        "vector=memcached,direction=outbound,reflectors=7,pps=3000,duration=3,victim=192.0.2.9"}},
      {"attack_on_busy_benign_background",
       {"--attack", "vector=dns,victim=198.18.0.53,pps=3000,duration=3,start=2,reflectors=60",
        "--benign", "kind=dns,host=198.18.0.53,pps=5k,duration=8", "--benign",
        "kind=web,pps=5k,duration=8", "--scanner", "vector=ntp,source=192.0.2.200"}},
  };
  for (const char* v : kAllVectors) {
    std::string name = std::string("vector_") + v;
    std::replace(name.begin(), name.end(), ':', '_');
    std::replace(name.begin(), name.end(), '-', '_');
    out.push_back(
        {name,
         {"--attack", std::string("vector=") + v +
                          ",victim=198.18.0.10,pps=3000,start=1,duration=3,reflectors=50"}});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, AnalyzeSynthTest, ::testing::ValuesIn(scenarios()),
                         [](const auto& info) { return info.param.name; });

TEST(AnalyzeSynth, BusyBenignHostsAreNotAttacks) {
  // A resolver answered at 20 kpps, a QUIC client, a web server and an internal memcached
  // over TCP, each busy; NTP and miscellaneous UDP just under 100 pps.
  TempDir dir;
  auto [truth, report] =
      synthAndAnalyze(dir, "busy",
                      {"--benign", "kind=dns,pps=20k,duration=5", "--benign",
                       "kind=quic,pps=20k,duration=5", "--benign", "kind=web,pps=20k,duration=5",
                       "--benign", "kind=memcached-tcp,pps=20k,duration=5", "--benign",
                       "kind=ntp,pps=90,duration=5", "--benign", "kind=misc,pps=95,duration=5"});
  ASSERT_TRUE(truth["attacks"].empty());
  EXPECT_TRUE(report["attacks"].empty()) << report["attacks"].dump(1);
  EXPECT_TRUE(report["scanners"].empty()) << report["scanners"].dump(1);
}

TEST(AnalyzeSynth, FloodsBelowHundredPpsAreNeverReported) {
  TempDir dir;
  auto [truth, report] = synthAndAnalyze(
      dir, "low",
      {"--attack", "vector=ntp,victim=198.18.0.16,pps=99,duration=20,reflectors=20,timing=poisson",
       "--attack", "vector=memcached,victim=198.18.0.17,pps=90,duration=20,reflectors=20"});
  EXPECT_TRUE(report["attacks"].empty()) << report["attacks"].dump(1);
}

TEST(AnalyzeSynth, ThresholdFlagsReplaceTheDefaults) {
  TempDir dir;
  std::vector<std::string> flood = {
      "--attack", "vector=dns,victim=198.18.0.10,pps=2000,duration=3,reflectors=50,size=400"};
  auto [truth, high] = synthAndAnalyze(dir, "t", flood, {"--threshold-pps", "5000"});
  // ~7 Mbit/s: under the 8 Mbit/s default, over 1 Mbit/s.
  EXPECT_TRUE(high["attacks"].empty()) << high["attacks"].dump(1);
  auto [truth2, bytes] =
      synthAndAnalyze(dir, "t2", flood, {"--threshold-pps", "5000", "--threshold-mbps", "1"});
  EXPECT_EQ(bytes["attacks"].size(), 1u);
}

TEST(AnalyzeSynth, GzipCaptureGivesTheSameReport) {
  TempDir dir;
  std::vector<std::string> flood = {
      "--attack", "vector=memcached,victim=198.18.0.10,pps=5000,duration=2,reflectors=50,ransom=1"};
  auto [truth, plain] = synthAndAnalyze(dir, "plain", flood);
  std::string gz = dir.file("compressed.pcap.gz");
  std::vector<std::string> synth = {"synth", "-o", gz};
  synth.insert(synth.end(), flood.begin(), flood.end());
  ASSERT_EQ(runBreakwater(synth).status, 0);
  auto r = runBreakwater({"analyze", "--format", "json", "--networks", "198.18.0.0/24", gz});
  ASSERT_EQ(r.status, 0) << r.err;
  json compressed = json::parse(r.out);
  EXPECT_EQ(compressed["attacks"], plain["attacks"]);
  EXPECT_EQ(compressed["capture"]["packets"], plain["capture"]["packets"]);
}

}  // namespace
}  // namespace bw
