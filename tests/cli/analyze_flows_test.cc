// End to end: flow telemetry made by real exporters, through `breakwater analyze`.
//
// 1. Captured exports (the shared fixtures, made from one 20,000-packet capture by softflowd,
//    pmacct and nfreplay): per-destination totals against the capture's ground truth, and
//    against nfacctd where sampling makes the references disagree.
// 2. A memcached reflection flood synthesized here, exported live by softflowd (NetFlow v5,
//    v9, IPFIX) and by pmacctd's sFlow probe at 1:10, into `analyze --listen`: it must be
//    named memcached, with its victim, its start and end within the exporter's active
//    timeout, and its reflectors.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_support.h"

namespace bw::testing {
namespace {

using nlohmann::json;

std::string flowsDir() { return std::string(BW_SHARED_DIR) + "/peers/flows/fixtures/"; }

json analyzeJson(std::vector<std::string> args) {
  args.insert(args.begin(), {"analyze", "--format", "json", "--no-progress"});
  RunResult r = runBreakwater(args);
  EXPECT_EQ(r.status, 0) << r.err;
  if (r.status != 0) return json::object();
  return json::parse(r.out);
}

struct Totals {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

std::map<std::string, Totals> destinations(const json& report) {
  std::map<std::string, Totals> out;
  for (const json& d : report.at("top_destinations")) {
    out[d.at("ip").get<std::string>()] = {d.at("packets").get<std::uint64_t>(),
                                          d.at("bytes").get<std::uint64_t>()};
  }
  return out;
}

// The ground truth of mix_small.pcap, which every fixture was exported from: the twenty
// heaviest destinations with packets and IP bytes.
std::map<std::string, Totals> mixSmallTruth() {
  std::ifstream in(flowsDir() + "mix_small.pcap.truth.json");
  json truth = json::parse(in);
  std::map<std::string, Totals> out;
  for (const auto& [ip, t] : truth.at("per_dst_top").items()) {
    out[ip] = {t.at("packets").get<std::uint64_t>(), t.at("bytes").get<std::uint64_t>()};
  }
  return out;
}

// "### <tool>" sections of a fixture's reference answers: dst_ip,packets,bytes lines.
std::map<std::string, Totals> referenceSection(const std::string& fixture,
                                               const std::string& tool) {
  std::ifstream in(flowsDir() + fixture + ".ref.txt");
  std::map<std::string, Totals> out;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("### ", 0) == 0) {
      inside = line.find(tool) != std::string::npos;
      continue;
    }
    if (!inside || line.empty() || line[0] < '0' || line[0] > '9') continue;
    std::stringstream ss(line);
    std::string ip, packets, bytes;
    std::getline(ss, ip, ',');
    std::getline(ss, packets, ',');
    std::getline(ss, bytes, ',');
    out[ip] = {std::stoull(packets), std::stoull(bytes)};
  }
  return out;
}

void expectTotals(const std::map<std::string, Totals>& got,
                  const std::map<std::string, Totals>& expected, const std::string& what) {
  ASSERT_FALSE(expected.empty()) << what;
  for (const auto& [ip, t] : expected) {
    auto it = got.find(ip);
    ASSERT_NE(it, got.end()) << what << ": " << ip << " missing";
    EXPECT_EQ(it->second.packets, t.packets) << what << ": " << ip;
    EXPECT_EQ(it->second.bytes, t.bytes) << what << ": " << ip;
  }
}

class UnsampledFixture : public ::testing::TestWithParam<const char*> {};

// Unsampled exports of every kind carry the capture's exact totals; nfdump, nfacctd and
// tshark agree with the truth on these (see the fixtures' .ref.txt).
TEST_P(UnsampledFixture, PerDestinationTotalsEqualTheCapturesTruth) {
  const std::string fixture = GetParam();
  const std::string path = flowsDir() + fixture + ".pcap";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  json report = analyzeJson({"--top-destinations", "1000", path});
  ASSERT_TRUE(report.contains("telemetry")) << "not read as telemetry";
  EXPECT_FALSE(report["capture"]["sampled"].get<bool>());
  EXPECT_GT(report["telemetry"]["records"].get<std::uint64_t>(), 0u);
  expectTotals(destinations(report), mixSmallTruth(), fixture);
  // 50 pps per victim is no attack at the default thresholds (150 pps).
  EXPECT_TRUE(report["attacks"].empty());
}

// Exports piped in on standard input are recognised and read as from the file: the frames
// sniffed to tell exports from packets are read again, not lost.
TEST(FlowsOnStandardInput, ReadLikeTheFile) {
  const std::string path = flowsDir() + "nf9_softflowd.pcap";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  json want = analyzeJson({"--top-destinations", "1000", path});
  ASSERT_TRUE(want.contains("telemetry"));
  auto r = testing::runCommand({"sh", "-c",
                                "cat " + testing::shellQuote(path) + " | " +
                                    testing::shellQuote(BW_BINARY) +
                                    " analyze --format json --top-destinations 1000 -"});
  ASSERT_EQ(r.status, 0) << r.err;
  json got = json::parse(r.out);
  ASSERT_TRUE(got.contains("telemetry")) << "not read as telemetry";
  want["capture"].erase("source");
  got["capture"].erase("source");
  EXPECT_EQ(got, want);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, UnsampledFixture,
                         ::testing::Values("nf5_softflowd", "nf9_softflowd", "ipfix_softflowd",
                                           "ipfix_softflowd_biflow", "nf9_pmacct", "ipfix_pmacct",
                                           "nf9_nfreplay"));

// 1:10 sampled NetFlow v9 (rate in options data): counts scale by 10, as nfacctd with
// renormalisation reports. nfcapd 1.7 does not scale and tshark shows raw values.
TEST(SampledFixtures, SampledNetflowMatchesNfacctdRenormalised) {
  const std::string path = flowsDir() + "nf9_softflowd_s10.pcap";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  json report = analyzeJson({"--top-destinations", "1000", path});
  EXPECT_TRUE(report["capture"]["sampled"].get<bool>());
  expectTotals(destinations(report), referenceSection("nf9_softflowd_s10", "nfacctd"),
               "nf9_softflowd_s10 vs nfacctd");
}

// sFlow 1:10 raw headers: packets = rate per sample (what sfcapd and tshark give), bytes =
// rate x the sampled packet's IP length. sfcapd/sfacctd count rate x frame_length, which
// adds 14 bytes of Ethernet and 4 of FCS per sampled packet; tshark's field sum (the
// fixture's tshark section) uses the IP convention.
TEST(SampledFixtures, SflowMatchesTsharksIpByteConvention) {
  const std::string path = flowsDir() + "sflow_pmacct.pcap";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  json report = analyzeJson({"--top-destinations", "1000", path});
  EXPECT_TRUE(report["capture"]["sampled"].get<bool>());
  std::map<std::string, Totals> got = destinations(report);
  std::map<std::string, Totals> tshark = referenceSection("sflow_pmacct", "tshark");
  expectTotals(got, tshark, "sflow_pmacct vs tshark");
  // The estimates land near the truth: sampling error only.
  for (const auto& [ip, t] : mixSmallTruth()) {
    if (t.packets < 1000) continue;
    EXPECT_NEAR(static_cast<double>(got[ip].packets), static_cast<double>(t.packets),
                0.2 * static_cast<double>(t.packets))
        << ip;
  }
}

// --- live exporters ---------------------------------------------------------------------

std::uint16_t freeUdpPort() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct Flood {
  std::string pcap;
  json truth;
};

Flood synthesize(const TempDir& dir, const std::string& name, std::vector<std::string> args) {
  Flood f;
  f.pcap = dir.file(name);
  args.insert(args.begin(), {"synth", "-o", f.pcap});
  RunResult r = runBreakwater(args);
  EXPECT_EQ(r.status, 0) << r.err;
  std::ifstream in(f.pcap + ".truth.json");
  f.truth = json::parse(in);
  return f;
}

// A flood slow enough for tcpreplay and a libpcap-based probe to keep pace on a busy 2-core
// machine: 4 kpps for 5 s from 200 reflectors, nothing else.
const Flood& replayableFlood() {
  static TempDir dir;
  static Flood flood = synthesize(
      dir, "replay.pcap",
      {"--duration", "5", "--attack", "vector=memcached,pps=4k,duration=5,reflectors=200"});
  return flood;
}

// The memcached drill: one flood, 200 reflectors at 20 kpps for 5 s.
const Flood& memcachedFlood() {
  static TempDir dir;
  static Flood flood = [] {
    Flood f;
    f.pcap = dir.file("memcached.pcap");
    RunResult r = runBreakwater({"synth", "--preset", "memcached", "-o", f.pcap});
    EXPECT_EQ(r.status, 0) << r.err;
    std::ifstream in(f.pcap + ".truth.json");
    f.truth = json::parse(in);
    return f;
  }();
  return flood;
}

// Starts `analyze --listen` on a fresh port, runs the exporter command (with PORT replaced)
// while it listens, and returns the report.
json collectLive(const std::string& exporter, std::uint16_t port, int listen_seconds) {
  TempDir dir;
  std::string cmd = exporter;
  for (std::size_t at; (at = cmd.find("PORT")) != std::string::npos;)
    cmd.replace(at, 4, std::to_string(port));
  std::string script =
      std::string(BW_BINARY) + " analyze --format json --listen 127.0.0.1:" + std::to_string(port) +
      " --duration " + std::to_string(listen_seconds) + " > " + dir.file("report.json") + " 2> " +
      dir.file("analyze.err") + " & sleep 1; ( " + cmd + " ) > " + dir.file("exporter.log") +
      " 2>&1; wait $!";
  RunResult r = runCommand({"sh", "-c", script});
  EXPECT_EQ(r.status, 0) << readFile(dir.file("analyze.err"));
  std::string text = readFile(dir.file("report.json"));
  if (text.empty()) {
    ADD_FAILURE() << "no report; exporter said: " << readFile(dir.file("exporter.log"))
                  << "; analyze said: " << readFile(dir.file("analyze.err"));
    return json::object();
  }
  json report = json::parse(text);
  if (report.value("telemetry", json::object()).value("records", 0) == 0) {
    ADD_FAILURE() << "no records; exporter said: " << readFile(dir.file("exporter.log"))
                  << "; analyze said: " << readFile(dir.file("analyze.err"));
  }
  return report;
}

void expectMemcachedAttack(const json& report, const json& truth, double tolerance_s) {
  ASSERT_TRUE(report.contains("attacks")) << report.dump();
  const json& expected = truth.at("attacks").at(0);
  const json* found = nullptr;
  for (const json& a : report["attacks"]) {
    if (a["victim"] == expected["victim"]) found = &a;
  }
  ASSERT_NE(found, nullptr) << report["attacks"].dump();
  EXPECT_EQ((*found)["vector"], "memcached");
  EXPECT_EQ((*found)["direction"], "inbound");
  const double start = expected["start"].get<double>();
  const double end = expected["end"].get<double>();
  EXPECT_NEAR((*found)["start"].get<double>(), start, tolerance_s);
  EXPECT_NEAR((*found)["end"].get<double>(), end, tolerance_s);
  const auto reflectors = expected["reflectors"].get<std::uint64_t>();
  EXPECT_EQ((*found)["reflectors"].get<std::uint64_t>(), reflectors);
  EXPECT_EQ((*found)["packets"].get<std::uint64_t>(), expected["packets"].get<std::uint64_t>());
  EXPECT_EQ(report["attacks"].size(), 1u) << report["attacks"].dump();
}

class SoftflowdLive : public ::testing::TestWithParam<int> {};

// softflowd -a keeps the capture's clock; maxlife=10 splits long flows every 10 s, so the
// attack's edges are known to within that active timeout.
TEST_P(SoftflowdLive, MemcachedFloodIsNamedSizedAndAttributed) {
  if (!haveTool("softflowd")) GTEST_SKIP() << "softflowd not installed";
  const Flood& flood = memcachedFlood();
  const int version = GetParam();
  TempDir dir;
  // No control socket (-c none): softflowd 1.1.0 can block in accept() on it before it has
  // read the capture.
  std::string exporter =
      "timeout -s TERM 4 softflowd -d -a -r " + flood.pcap + " -v " + std::to_string(version) +
      " -n 127.0.0.1:PORT -t maxlife=10 -t expint=1 -p " + dir.file("sf.pid") + " -c none";
  json report = collectLive(exporter, freeUdpPort(), 7);
  expectMemcachedAttack(report, flood.truth, 10.0);
  EXPECT_GT(report["telemetry"]["records"].get<std::uint64_t>(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Versions, SoftflowdLive, ::testing::Values(5, 9, 10),
                         [](const auto& info) { return "v" + std::to_string(info.param); });

// Without --duration, collection runs until Ctrl-C: the interrupt ends it within a second or
// so (one thread receives, another decodes; both must stop), and every datagram that arrived
// before it is in the report.
TEST(AnalyzeListen, InterruptEndsCollectionAndReportsWhatArrived) {
  if (!haveTool("python3")) GTEST_SKIP() << "python3 not installed";
  TempDir dir;
  const std::uint16_t port = freeUdpPort();
  // 40 NetFlow v5 datagrams of 3 records each: 198.51.100.1-3 -> 198.18.0.10, from 11211.
  const std::string sender =
      "import socket,struct,time\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
      "now=int(time.time())\n"
      "for seq in range(40):\n"
      "  d=struct.pack('!HHIIIIBBH',5,3,100000,now,0,seq*3,0,0,0)\n"
      "  for r in range(3):\n"
      "    d+=struct.pack('!4s4s4sHHIIIIHHBBBBHHBBH',socket.inet_aton('198.51.100.%d'%(r+1)),"
      "socket.inet_aton('198.18.0.10'),bytes(4),0,0,10,14000,99000,100000,11211,40000,0,0,17,0,"
      "0,0,0,0,0)\n"
      "  s.sendto(d,('127.0.0.1'," +
      std::to_string(port) + "))\n";
  const std::string script =
      std::string(BW_BINARY) + " analyze --format json --listen 127.0.0.1:" + std::to_string(port) +
      " > " + dir.file("report.json") + " 2> " + dir.file("analyze.err") +
      " & A=$!; sleep 1; python3 -c \"$SENDER\"; sleep 0.5; S=$(date +%s%N); kill -INT $A; "
      "wait $A; R=$?; E=$(date +%s%N); echo $(( (E - S) / 1000000 )); exit $R";
  RunResult r = runCommand({"env", "SENDER=" + sender, "sh", "-c", script});
  ASSERT_EQ(r.status, 0) << readFile(dir.file("analyze.err"));
  EXPECT_LT(std::stol(r.out), 3000) << "milliseconds from SIGINT to exit";
  const json report = json::parse(readFile(dir.file("report.json")));
  EXPECT_EQ(report["telemetry"]["datagrams"]["netflow5"], 40);
  EXPECT_EQ(report["telemetry"]["records"], 120);
  EXPECT_EQ(report["capture"]["packets"], 40);
  EXPECT_EQ(report["telemetry"]["lost"], 0);
}

// The flood replayed at its own pace (tcpreplay) into a veth pair inside a namespace made
// for the test; pmacctd samples 1 in 10 packets on the far end into sFlow v5 raw headers,
// sent to `analyze --listen` in the same namespace. sFlow carries no flow times, so the
// attack's span is the replay's: it must last as long as the flood did, and the headers'
// memcached frames name the vector from evidence.
TEST(SflowLive, MemcachedFloodSampledOneInTenIsNamedSizedAndAttributed) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
  if (!haveTool("pmacctd") || !haveTool("tcpreplay") || !haveTool("ip"))
    GTEST_SKIP() << "pmacctd, tcpreplay or iproute2 not installed";
  const Flood& flood = replayableFlood();
  TempDir dir;
  const std::string ns = "bwsflow" + std::to_string(getpid());
  std::ofstream conf(dir.file("pmacctd.conf"));
  conf << "daemonize: false\n"
       << "pidfile: " << dir.file("pmacctd.pid") << "\n"
       << "logfile: " << dir.file("pmacctd.log") << "\n"
       << "pcap_interface: vB\n"
       << "plugins: sfprobe[sf]\n"
       << "sfprobe_receiver[sf]: 127.0.0.1:6343\n"
       << "sfprobe_agentip[sf]: 127.0.0.1\n"
       << "sfprobe_agentsubid[sf]: 7\n"
       << "sfprobe_ifindex[sf]: 3\n"
       << "sfprobe_direction[sf]: in\n"
       << "sampling_rate[sf]: 10\n"
       << "plugin_pipe_size: 10240000\n"
       << "plugin_buffer_size: 1024\n";  // small: samples leave as they are taken
  conf.close();
  const std::string in_ns = "ip netns exec " + ns + " ";
  std::string script =
      "set -u; trap 'ip netns del " + ns + " 2>/dev/null' EXIT; ip netns add " + ns + " && ip -n " +
      ns + " link set lo up && ip -n " + ns + " link add vA type veth peer name vB && ip -n " + ns +
      " link set vA up && ip -n " + ns + " link set vB up || exit 90; " + in_ns + BW_BINARY +
      " analyze --format json --listen 127.0.0.1:6343 --duration 14 > " + dir.file("report.json") +
      " 2> " + dir.file("analyze.err") + " & A=$!; " + in_ns + "timeout -s INT 13 pmacctd -f " +
      dir.file("pmacctd.conf") + " > " + dir.file("pmacctd.out") + " 2>&1 & sleep 3; " + in_ns +
      "tcpreplay -q -i vA " + flood.pcap + " > " + dir.file("tcpreplay.log") + " 2>&1; wait $A";
  RunResult r = runCommand({"sh", "-c", script});
  ASSERT_EQ(r.status, 0) << r.err << readFile(dir.file("analyze.err"))
                         << readFile(dir.file("tcpreplay.log"));
  std::string text = readFile(dir.file("report.json"));
  ASSERT_FALSE(text.empty()) << readFile(dir.file("analyze.err"))
                             << readFile(dir.file("pmacctd.log"));
  json report = json::parse(text);
  ASSERT_EQ(report["attacks"].size(), 1u) << report["attacks"].dump();
  const json& a = report["attacks"][0];
  const json& expected = flood.truth.at("attacks").at(0);
  EXPECT_EQ(a["vector"], "memcached");
  EXPECT_EQ(a["victim"], expected["victim"]);
  EXPECT_TRUE(report["capture"]["sampled"].get<bool>());
  // sFlow has no flow times: the attack spans the replay, which tcpreplay stretches when the
  // machine is busy. Its own figure ("sent in S seconds") is the reference.
  const std::string replay_log = readFile(dir.file("tcpreplay.log"));
  const auto at = replay_log.find(" sent in ");
  ASSERT_NE(at, std::string::npos) << replay_log;
  const double replay_span = std::stod(replay_log.substr(at + 9));
  EXPECT_NEAR(a["end"].get<double>() - a["start"].get<double>(), replay_span, 1.0) << replay_log;
  const auto packets = expected["packets"].get<double>();
  // Sampling error (about 2 % here) plus whatever the probe's libpcap drops under load.
  EXPECT_NEAR(a["packets"].get<double>(), packets, 0.25 * packets);
  const auto reflectors = expected["reflectors"].get<std::uint64_t>();
  EXPECT_LE(a["reflectors"].get<std::uint64_t>(), reflectors);
  EXPECT_GE(a["reflectors"].get<std::uint64_t>(), reflectors * 9 / 10);
  auto evidence = a["evidence"];
  EXPECT_NE(std::find(evidence.begin(), evidence.end(), "memcached_frame"), evidence.end())
      << evidence.dump();
}

}  // namespace
}  // namespace bw::testing
