// Generates scenarios into real files, reads them back with the independent walker in
// pcap_walk.h, and checks the ground truth against what the file actually contains.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "synth/pcap_walk.h"
#include "synth/scenario.h"
#include "synth/truth.h"

namespace bw::synth {
namespace {

using testing::IpInfo;
using testing::parseIp;
using testing::parsePcap;
using testing::readFile;
using testing::tempPath;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }
// The walker prints IPv6 uncompressed; IpAddress::toString compresses. Compare raw forms.
std::string walkerText(const IpAddress& a) {
  return testing::ipText(a.isV4() ? a.bytes().data() + 12 : a.bytes().data(), !a.isV4());
}

struct Generated {
  GroundTruth truth;
  std::vector<std::uint8_t> bytes;
  testing::PcapFile file;
};

Generated generate(Scenario s, const std::string& name, PcapWriterOptions o = {}) {
  Generated g;
  auto resolved = resolveScenario(std::move(s));
  EXPECT_TRUE(resolved.ok()) << resolved.error().message;
  if (!resolved.ok()) return g;
  o.linktype = resolved->link.linktype;
  const std::string path = tempPath(name);
  auto w = PcapWriter::create(path, o);
  EXPECT_TRUE(w.ok());
  Generator gen(*resolved);
  auto truth = gen.run(**w);
  EXPECT_TRUE(truth.ok()) << truth.error().message;
  EXPECT_TRUE((*w)->finish().ok());
  g.truth = std::move(truth.value());
  g.bytes = readFile(path);
  g.file = parsePcap(g.bytes);
  return g;
}

struct Count {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::int64_t first = -1;
  std::int64_t last = -1;
  std::set<std::string> sources;
  void add(const testing::Record& r, const IpInfo& info) {
    if (packets == 0) first = r.ts_ns;
    last = r.ts_ns;
    ++packets;
    bytes += info.ip_bytes;
    sources.insert(info.src);
  }
};

void expectMatches(const Count& c, const Tally& t, const char* what) {
  EXPECT_EQ(c.packets, t.packets) << what;
  EXPECT_EQ(c.bytes, t.bytes) << what;
  EXPECT_EQ(c.first, t.first_ns) << what;
  EXPECT_EQ(c.last, t.last_ns) << what;
}

Scenario twoAttacks() {
  Scenario s;
  s.seed = 11;
  s.duration = 3;
  AttackSpec mc;
  mc.vector = Vector::Memcached;
  mc.victim = ip("198.18.0.10");
  mc.reflectors = 50;
  mc.pps = 5000;
  mc.start = 0.5;
  mc.duration = 2;
  mc.ransom = true;
  s.attacks.push_back(mc);
  AttackSpec dns;
  dns.vector = Vector::Dns;
  dns.victim = ip("198.18.0.11");
  dns.reflectors = 300;
  dns.pps = 1000;
  dns.size = 3000;
  dns.timing = Timing::Poisson;
  s.attacks.push_back(dns);
  BenignSpec web;
  web.kind = BenignKind::Web;
  web.pps = 500;
  s.benign.push_back(web);
  BenignSpec resolver;
  resolver.kind = BenignKind::Dns;
  resolver.pps = 300;
  s.benign.push_back(resolver);
  ScannerSpec sc;
  sc.vector = Vector::Memcached;
  sc.pps = 500;
  sc.responders = 3;
  s.scanners.push_back(sc);
  return s;
}

TEST(Generator, GroundTruthEqualsFileContents) {
  Generated g = generate(twoAttacks(), "truth.pcap");
  ASSERT_TRUE(g.file.valid);
  ASSERT_FALSE(g.file.truncated);
  ASSERT_EQ(g.file.records.size(), g.truth.total.packets);

  std::map<std::string, Count> to;  // by destination
  Count all, scanner_probes, scanner_replies, web;
  const std::string scanner = walkerText(*g.truth.scanners[0].spec.source);
  const std::string web_host = walkerText(g.truth.benign[0].hosts[0]);
  std::int64_t previous = 0;
  for (const auto& r : g.file.records) {
    ASSERT_GE(r.ts_ns, previous) << "records out of time order";
    previous = r.ts_ns;
    IpInfo info = parseIp(g.file.linktype, r.data, r.caplen);
    ASSERT_TRUE(info.ok);
    if (!info.v6) {
      ASSERT_TRUE(info.ipv4_checksum_ok);
    }
    all.add(r, info);
    if (info.src != scanner && info.dst != scanner)
      to[info.dst].add(r, info);  // the sweep hits victims too
    if (info.src == scanner) scanner_probes.add(r, info);
    if (info.dst == scanner) scanner_replies.add(r, info);
    if ((info.src == web_host || info.dst == web_host) && info.src != scanner) web.add(r, info);
  }
  expectMatches(all, g.truth.total, "totals");
  for (const AttackTruth& a : g.truth.attacks) {
    const Count& c = to[walkerText(*a.spec.victim)];
    expectMatches(c, a.traffic, a.label.c_str());
    EXPECT_EQ(c.sources.size(), a.reflectors) << a.label;
    EXPECT_GT(a.traffic.packets, 0u);
  }
  expectMatches(scanner_probes, g.truth.scanners[0].probes, "scanner probes");
  expectMatches(scanner_replies, g.truth.scanners[0].replies, "scanner replies");
  expectMatches(web, g.truth.benign[0].traffic, "web");

  // What the spec asked for.
  const AttackTruth& mc = g.truth.attacks[0];
  EXPECT_NEAR(static_cast<double>(mc.datagrams), 5000 * 2, 50);  // even pacing: pps x duration
  EXPECT_EQ(mc.reflectors, 50u);
  EXPECT_EQ(mc.label, "memcached");
  EXPECT_EQ(mc.source_port, 11211);
  ASSERT_EQ(mc.ransom.size(), 1u);
  EXPECT_GE(mc.traffic.first_ns, kDefaultStartNs + 500'000'000);
  EXPECT_LT(mc.traffic.last_ns, kDefaultStartNs + 2'500'000'000);
  const AttackTruth& dns = g.truth.attacks[1];
  EXPECT_EQ(dns.traffic.packets, dns.datagrams * 3);           // 3000-byte answers: three fragments
  EXPECT_NEAR(static_cast<double>(dns.datagrams), 3000, 300);  // Poisson around pps x 3 s
  EXPECT_EQ(g.truth.scanners[0].targets, 256u);
  EXPECT_EQ(g.truth.scanners[0].probes.packets, 256u);
  EXPECT_EQ(g.truth.scanners[0].responders.size(), 3u);
  EXPECT_EQ(g.truth.scanners[0].replies.packets, 3u * 2);  // "stats" is two datagrams
}

TEST(Generator, SameSeedSameBytesOtherSeedOtherBytes) {
  Generated a = generate(twoAttacks(), "det_a.pcap");
  Generated b = generate(twoAttacks(), "det_b.pcap");
  ASSERT_FALSE(a.bytes.empty());
  EXPECT_TRUE(a.bytes == b.bytes);
  Scenario other = twoAttacks();
  other.seed = 12;
  Generated c = generate(other, "det_c.pcap");
  EXPECT_FALSE(a.bytes == c.bytes);
}

TEST(Generator, FragmentedAttackCountsEveryFragment) {
  Scenario s;
  s.duration = 1;
  AttackSpec a;
  a.vector = Vector::Cldap;
  a.victim = ip("2001:db8:18::10");
  a.size = 4000;
  a.mtu = 1280;
  a.pps = 400;
  a.reflectors = 10;
  s.attacks.push_back(a);
  s.networks = {*Prefix::parse("198.18.0.0/24"), *Prefix::parse("2001:db8:18::/64")};
  Generated g = generate(s, "frag6.pcap");
  ASSERT_EQ(g.truth.attacks.size(), 1u);
  std::map<std::pair<std::string, std::uint32_t>, std::uint32_t> datagram_bytes;
  std::uint64_t fragments = 0;
  for (const auto& r : g.file.records) {
    IpInfo info = parseIp(g.file.linktype, r.data, r.caplen);
    ASSERT_TRUE(info.ok && info.v6 && info.fragment);
    ++fragments;
    datagram_bytes[{info.src, info.frag_id}] += info.ip_bytes - 48;
  }
  EXPECT_EQ(fragments, g.truth.attacks[0].traffic.packets);
  EXPECT_EQ(datagram_bytes.size(), g.truth.attacks[0].datagrams);
  // Reassembled, every datagram is the same UDP answer of about the requested size.
  const std::uint32_t first = datagram_bytes.begin()->second;
  EXPECT_GT(first, 3900u);
  EXPECT_LE(first, 8u + 4000u);
  for (const auto& [key, bytes] : datagram_bytes) EXPECT_EQ(bytes, first) << key.first;
}

TEST(Generator, OutboundAttackWritesSpoofedRequestsToOurHosts) {
  Scenario s;
  s.duration = 2;
  AttackSpec a;
  a.vector = Vector::Ntp;
  a.direction = Direction::Outbound;
  a.victim = ip("192.0.2.200");
  a.reflectors = 5;
  a.pps = 1000;
  s.attacks.push_back(a);
  Generated g = generate(s, "outbound.pcap");
  const AttackTruth& t = g.truth.attacks[0];
  ASSERT_EQ(t.abused_hosts.size(), 5u);
  const Prefix net = *Prefix::parse("198.18.0.0/24");
  std::set<std::string> abused;
  for (const auto& h : t.abused_hosts) {
    EXPECT_TRUE(net.contains(h));
    abused.insert(walkerText(h));
  }
  Count responses, requests;
  for (const auto& r : g.file.records) {
    IpInfo info = parseIp(g.file.linktype, r.data, r.caplen);
    if (info.dst == "192.0.2.200") {
      EXPECT_TRUE(abused.count(info.src));
      EXPECT_EQ(info.src_port, 123);
      responses.add(r, info);
    } else if (info.src == "192.0.2.200") {
      EXPECT_TRUE(abused.count(info.dst));
      EXPECT_EQ(info.dst_port, 123);
      EXPECT_EQ(r.data[info.l4_offset + 8], 0x17);  // monlist request: mode 7, version 2
      requests.add(r, info);
    }
  }
  expectMatches(responses, t.traffic, "responses");
  expectMatches(requests, t.requests, "requests");
  EXPECT_EQ(requests.packets, t.responses);  // one spoofed request per 10-page answer
  EXPECT_EQ(t.traffic.packets, t.datagrams);
  EXPECT_EQ(responses.sources, abused);
}

TEST(Generator, SnaplenTruncatesRecordsNotCounts) {
  PcapWriterOptions o;
  o.snaplen = 96;
  Generated g = generate(twoAttacks(), "snap.pcap", o);
  Generated full = generate(twoAttacks(), "snap_full.pcap");
  ASSERT_EQ(g.file.records.size(), full.file.records.size());
  EXPECT_EQ(g.truth.total.bytes, full.truth.total.bytes);
  bool truncated_any = false;
  for (std::size_t i = 0; i < g.file.records.size(); ++i) {
    const auto& r = g.file.records[i];
    ASSERT_LE(r.caplen, 96u);
    EXPECT_EQ(r.origlen, full.file.records[i].origlen);
    EXPECT_EQ(r.caplen, std::min<std::uint32_t>(96, r.origlen));
    truncated_any = truncated_any || r.caplen < r.origlen;
  }
  EXPECT_TRUE(truncated_any);
}

TEST(Generator, TcpdumpReadsTheCapture) {
  if (std::system("command -v tcpdump >/dev/null 2>&1") != 0) GTEST_SKIP() << "no tcpdump";
  generate(twoAttacks(), "tcpdump.pcap");
  const std::string cmd = "tcpdump -nn -r " + tempPath("tcpdump.pcap") + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(Generator, TruthJsonMirrorsTheGroundTruth) {
  Scenario s = twoAttacks();
  auto resolved = resolveScenario(s);
  ASSERT_TRUE(resolved.ok());
  Generated g = generate(s, "json.pcap");
  auto j = truthToJson(*resolved, g.truth, "json.pcap", {});
  EXPECT_EQ(j["format"], "breakwater-synth-truth");
  EXPECT_EQ(j["scenario"]["start_iso"], "2018-02-28T17:21:00Z");
  EXPECT_EQ(j["scenario"]["networks"][0], "198.18.0.0/24");
  ASSERT_EQ(j["attacks"].size(), 2u);
  const auto& a = j["attacks"][0];
  EXPECT_EQ(a["vector"], "memcached");
  EXPECT_EQ(a["victim"], "198.18.0.10");
  EXPECT_EQ(a["direction"], "inbound");
  EXPECT_EQ(a["packets"], g.truth.attacks[0].traffic.packets);
  EXPECT_EQ(a["bytes"], g.truth.attacks[0].traffic.bytes);
  EXPECT_EQ(a["reflectors"], 50);
  EXPECT_EQ(a["start_ns"], g.truth.attacks[0].traffic.first_ns);
  EXPECT_NEAR(a["start"].get<double>(), g.truth.attacks[0].traffic.first_ns / 1e9, 1e-6);
  ASSERT_EQ(a["monero_addresses"].size(), 1u);
  EXPECT_EQ(a["monero_addresses"][0].get<std::string>().size(), 95u);
  EXPECT_NE(a["ransom_notes"][0].get<std::string>().find("XMR"), std::string::npos);
  EXPECT_EQ(j["scanners"][0]["port"], 11211);
  EXPECT_EQ(j["scanners"][0]["responders"].size(), 3u);
  EXPECT_EQ(j["benign"][0]["kind"], "web");
  EXPECT_EQ(j["totals"]["packets"], g.truth.total.packets);

  const std::string path = tempPath("json.truth.json");
  ASSERT_TRUE(writeTruthFile(path, j).ok());
  auto back = nlohmann::json::parse(testing::readFile(path));
  EXPECT_EQ(back, j);
  EXPECT_FALSE(writeTruthFile("/nonexistent-dir/t.json", j).ok());
}

TEST(Resolve, FillsDefaults) {
  Scenario s;
  AttackSpec a;
  a.vector = Vector::Ntp;
  a.duration = 4;
  s.attacks.push_back(a);
  BenignSpec b;
  b.kind = BenignKind::Misc;
  s.benign.push_back(b);
  auto r = resolveScenario(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->networks.size(), 1u);
  EXPECT_EQ(r->attacks[0].victim->toString(), "198.18.0.10");
  EXPECT_EQ(r->benign[0].port, 161);
  EXPECT_GT(r->benign[0].pps, 0);
  EXPECT_EQ(r->duration, 10);  // the open-ended benign source counts 10 s
}

TEST(Resolve, RejectsInconsistentSpecs) {
  auto expectError = [](Scenario s, const std::string& needle) {
    auto r = resolveScenario(std::move(s));
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  AttackSpec a;
  a.vector = Vector::Dns;
  Scenario s;
  s.attacks = {a};
  s.attacks[0].victim = ip("10.1.1.1");
  expectError(s, "not inside --networks");
  s.attacks[0].direction = Direction::Outbound;
  s.attacks[0].victim = ip("198.18.0.5");
  expectError(s, "is inside --networks");
  s.attacks[0] = a;
  s.attacks[0].ipv6 = true;
  expectError(s, "IPv6 prefix");
  s.attacks[0] = a;
  s.attacks[0].reflector_net = *Prefix::parse("192.0.2.0/30");
  s.attacks[0].reflectors = 3;
  expectError(s, "reflectors=3 must be 1 to 2");
  s.attacks[0] = a;
  s.attacks[0].start = 50;
  s.duration = 10;
  expectError(s, "start=50");
  s.duration = 0;
  s.attacks[0] = a;
  s.attacks[0].size = 70000;
  expectError(s, "size=70000");
  s.attacks = {};
  ScannerSpec sc;
  sc.targets = *Prefix::parse("10.0.0.0/7");
  s.scanners = {sc};
  expectError(s, "too large");
  s.scanners[0].targets = *Prefix::parse("198.18.0.0/30");
  s.scanners[0].responders = 5;
  expectError(s, "responders=5");
}

}  // namespace
}  // namespace bw::synth
