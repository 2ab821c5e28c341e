// Engine behaviour on hand-built PacketSummary streams: onset, hysteresis, attribution,
// direction, fragments, the generic class, solicitation, scanners and memory bounds.
#include "detect/engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/prefix.h"

namespace bw {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kT0 = 1519838460LL * kSec;  // 2018-02-28 17:21:00 UTC

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
IpAddress v4(std::uint32_t host_order) { return IpAddress::fromV4(host_order); }

PacketSummary udp(std::int64_t ts, IpAddress src, IpAddress dst, std::uint16_t sport,
                  std::uint16_t dport, std::uint32_t ip_bytes,
                  const std::vector<std::uint8_t>* payload = nullptr) {
  PacketSummary p;
  p.ts_ns = ts;
  p.src = src;
  p.dst = dst;
  p.src_port = sport;
  p.dst_port = dport;
  p.ip_proto = ipproto::kUdp;
  p.flags = pktflag::kHasPorts;
  p.ip_bytes = ip_bytes;
  if (payload) {
    p.payload = payload->data();
    p.payload_len = static_cast<std::uint16_t>(payload->size());
    p.payload_wire_len = p.payload_len;
  }
  return p;
}

std::vector<std::uint8_t> memcachedStats() {
  std::string frame("\0\1\0\0\0\2\0\0", 8);  // the 8-byte memcached UDP frame header
  frame += "STAT pid 1234\r\nSTAT uptime 4242\r\nSTAT version 1.4.25\r\n";
  return {frame.begin(), frame.end()};
}

// `pps` packets per second for `seconds` from `reflectors` round-robin sources, evenly spaced.
std::vector<PacketSummary> flood(std::int64_t start, double pps, double seconds, int reflectors,
                                 IpAddress victim, std::uint16_t sport, std::uint32_t bytes,
                                 const std::vector<std::uint8_t>* payload = nullptr,
                                 std::uint32_t first_reflector = 0x0A000001) {
  std::vector<PacketSummary> out;
  std::int64_t n = std::llround(pps * seconds);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t ts = start + static_cast<std::int64_t>(static_cast<double>(i) * 1e9 / pps);
    out.push_back(udp(ts, v4(first_reflector + static_cast<std::uint32_t>(i % reflectors)), victim,
                      sport, 40000, bytes, payload));
  }
  return out;
}

class Recorder : public AttackListener {
 public:
  void onAttackStarted(const AttackRecord& r) override { started.push_back(r); }
  void onAttackUpdated(const AttackRecord& r) override { updated.push_back(r); }
  void onAttackEnded(const AttackRecord& r) override { ended.push_back(r); }
  std::vector<AttackRecord> started, updated, ended;
};

std::vector<AttackRecord> run(const DetectionConfig& config, std::vector<PacketSummary> packets,
                              Recorder* rec = nullptr) {
  std::stable_sort(
      packets.begin(), packets.end(),
      [](const PacketSummary& a, const PacketSummary& b) { return a.ts_ns < b.ts_ns; });
  Engine engine(config, rec);
  engine.process(packets);
  engine.finish();
  return engine.attacks();
}

TEST(EngineTest, MemcachedFloodIsDetectedSizedAndAttributed) {
  auto payload = memcachedStats();
  IpAddress victim = ip("198.18.0.10");
  auto packets = flood(kT0, 5000, 3.0, 50, victim, 11211, 1428, &payload);
  Recorder rec;
  auto attacks = run(DetectionConfig{}, packets, &rec);
  ASSERT_EQ(attacks.size(), 1u);
  const AttackRecord& a = attacks[0];
  EXPECT_EQ(a.victim, victim);
  EXPECT_EQ(a.vector, Vector::Memcached);
  EXPECT_EQ(a.vectorLabel(), "memcached");
  EXPECT_EQ(a.source_port, 11211);
  EXPECT_EQ(a.direction, Direction::Inbound);
  EXPECT_FALSE(a.active);
  EXPECT_EQ(a.start_ns, packets.front().ts_ns);
  EXPECT_EQ(a.end_ns, packets.back().ts_ns);
  EXPECT_EQ(a.packets, packets.size());
  EXPECT_EQ(a.bytes, packets.size() * 1428);
  EXPECT_EQ(a.reflectors, 50u);
  EXPECT_FALSE(a.reflectors_estimated);
  EXPECT_NEAR(a.peak_pps, 5000, 5000 * 0.02);
  EXPECT_NEAR(a.peak_bps, 5000 * 1428 * 8, 5000 * 1428 * 8 * 0.02);
  ASSERT_EQ(a.top_reflectors.size(), 10u);
  for (std::size_t i = 1; i < a.top_reflectors.size(); ++i) {
    EXPECT_GE(a.top_reflectors[i - 1].bytes, a.top_reflectors[i].bytes);
  }
  EXPECT_EQ(a.top_reflectors[0].packets, packets.size() / 50);
  EXPECT_TRUE(a.evidence & evidence::kMemcachedFrame);
  EXPECT_TRUE(a.evidence & evidence::kMemcachedText);
  // Onset within the first second: 250 pps default threshold at 5 kpps is ~50 ms.
  ASSERT_EQ(rec.started.size(), 1u);
  EXPECT_LT(rec.started[0].detected_ns - a.start_ns, kSec / 10);
  EXPECT_EQ(rec.ended.size(), 1u);
  EXPECT_GE(rec.updated.size(), 1u);
}

// SIGHUP: a new threshold applies to a destination already tracked, an active attack and
// the counters survive, and settings that size tables are reported, not applied.
TEST(EngineTest, ReconfigureAppliesThresholdsToTrackedDestinationsAndKeepsAttacks) {
  IpAddress quiet = ip("198.18.0.30");
  IpAddress loud = ip("198.18.0.31");
  DetectionConfig high;
  high.thresholds.pps = 100000;
  high.thresholds.bps = 1e12;
  Recorder rec;
  Engine engine(high, &rec);
  // 2 kpps to `quiet`: below the high threshold for two seconds.
  auto first = flood(kT0, 2000, 2.0, 20, quiet, 123, 468);
  engine.process(first);
  EXPECT_TRUE(rec.started.empty());

  DetectionConfig low = high;
  low.thresholds.pps = 500;
  low.max_destinations = high.max_destinations * 2;  // needs a restart
  std::vector<std::string> kept = engine.reconfigure(low);
  EXPECT_EQ(kept, std::vector<std::string>{"max_destinations"});
  // The same destination, same slot, now crosses the lowered threshold.
  engine.process(flood(kT0 + 2 * kSec, 2000, 2.0, 20, quiet, 123, 468));
  ASSERT_EQ(rec.started.size(), 1u);
  EXPECT_EQ(rec.started[0].victim, quiet);
  EXPECT_EQ(rec.started[0].threshold_pps, 500);

  // Raising it again while the attack is active keeps the attack and its counts.
  const std::uint64_t packets_before = engine.stats().packets;
  engine.reconfigure(high);
  EXPECT_EQ(engine.stats().packets, packets_before);
  engine.process(flood(kT0 + 4 * kSec, 2000, 0.5, 20, quiet, 123, 468));
  engine.process(flood(kT0 + 5 * kSec, 2000, 1.0, 20, loud, 123, 468));
  engine.finish();
  auto attacks = engine.attacks();
  ASSERT_EQ(attacks.size(), 1u);  // `loud` is below the restored high threshold
  EXPECT_EQ(attacks[0].victim, quiet);
  EXPECT_EQ(rec.ended.size(), 1u);
}

// A reload that raises the threshold of an active attack raises its end level with it: a
// flood now far below it ends although it goes on.
TEST(EngineTest, ReloadedThresholdsMoveAnActiveAttacksEndLevel) {
  const IpAddress victim = ip("198.18.0.32");
  DetectionConfig low;
  low.thresholds.pps = 500;
  low.thresholds.bps = 1e12;
  DetectionConfig high = low;
  high.thresholds.pps = 100000;
  Recorder rec;
  Engine engine(low, &rec);
  engine.process(flood(kT0, 2000, 2.0, 20, victim, 123, 468));
  ASSERT_EQ(rec.started.size(), 1u);
  engine.reconfigure(high);  // 2 kpps is far below half of 100 kpps
  engine.process(flood(kT0 + 2 * kSec, 2000, 8.0, 20, victim, 123, 468));
  EXPECT_EQ(rec.ended.size(), 1u);  // before finish(), with the flood still going
  engine.finish();
  const auto attacks = engine.attacks();
  ASSERT_EQ(attacks.size(), 1u);
  EXPECT_LT(attacks[0].end_ns, kT0 + 2 * kSec + kSec / 10);
}

// Networks given on a reload take effect at once: traffic between two outside hosts, an
// attack while every destination was ours, is transit afterwards.
TEST(EngineTest, ReconfiguredNetworksDecideWhatIsOurs) {
  auto payload = memcachedStats();
  const IpAddress outside = ip("192.0.2.1");
  Engine engine(DetectionConfig{});
  engine.process(flood(kT0, 5000, 2, 10, outside, 11211, 1428, &payload, 0xC6336401));
  EXPECT_EQ(engine.stats().transit_packets, 0u);

  DetectionConfig ours;
  ours.networks = {*Prefix::parse("198.18.0.0/24")};
  EXPECT_TRUE(engine.reconfigure(ours).empty());
  const IpAddress victim = ip("198.18.0.40");
  engine.process(flood(kT0 + 10 * kSec, 5000, 2, 10, outside, 11211, 1428, &payload, 0xC6336401));
  EXPECT_EQ(engine.stats().transit_packets, 10'000u);
  engine.process(flood(kT0 + 20 * kSec, 5000, 2, 10, victim, 11211, 1428, &payload, 0xC6336401));
  engine.finish();
  const auto attacks = engine.attacks();
  ASSERT_EQ(attacks.size(), 2u);
  EXPECT_EQ(attacks[0].victim, outside);  // before the reload
  EXPECT_EQ(attacks[0].direction, Direction::Inbound);
  EXPECT_EQ(attacks[1].victim, victim);
  EXPECT_EQ(attacks[1].direction, Direction::Inbound);
}

// The per-vector totals the live sensor reports: reflected traffic as the engine classifies it,
// weighted like everything else; clients' requests and unclassified traffic count nowhere.
TEST(EngineTest, VectorTrafficCountsClassifiedResponses) {
  auto payload = memcachedStats();
  Engine engine(DetectionConfig{});
  auto memcached = flood(kT0, 2000, 1.0, 20, ip("198.18.0.10"), 11211, 1428, &payload);
  auto ntp = flood(kT0, 500, 1.0, 5, ip("198.18.0.11"), 123, 468);
  PacketSummary weighted = udp(kT0 + 1, v4(0x0A0000FF), ip("198.18.0.11"), 123, 40000, 4680);
  weighted.packets = 10;
  ntp.push_back(weighted);
  std::vector<PacketSummary> all = memcached;
  all.insert(all.end(), ntp.begin(), ntp.end());
  all.push_back(udp(kT0 + 2, ip("198.18.0.12"), v4(0x0A000001), 40000, 11211, 60));  // request
  std::stable_sort(all.begin(), all.end(), [](const PacketSummary& a, const PacketSummary& b) {
    return a.ts_ns < b.ts_ns;
  });
  engine.process(all);
  const VectorTrafficTable& t = engine.vectorTraffic();
  EXPECT_EQ(t[static_cast<std::size_t>(Vector::Memcached)].packets, 2000u);
  EXPECT_EQ(t[static_cast<std::size_t>(Vector::Memcached)].bytes, 2000u * 1428);
  EXPECT_EQ(t[static_cast<std::size_t>(Vector::Ntp)].packets, 510u);
  EXPECT_EQ(t[static_cast<std::size_t>(Vector::Ntp)].bytes, 500u * 468 + 4680);
  EXPECT_EQ(t[static_cast<std::size_t>(Vector::None)].packets, 0u);
  EXPECT_EQ(t[static_cast<std::size_t>(Vector::GenericUdp)].packets, 0u);
}

TEST(EngineTest, CatchesThousandPpsForOneSecondWithDefaults) {
  auto attacks = run(DetectionConfig{}, flood(kT0, 1000, 1.0, 20, ip("198.18.0.20"), 123, 468));
  ASSERT_EQ(attacks.size(), 1u);
  EXPECT_EQ(attacks[0].vector, Vector::Ntp);
  EXPECT_EQ(attacks[0].packets, 1000u);
}

TEST(EngineTest, CatchesTenMbitPerSecondAtLowPacketRate) {
  // 10 Mbit/s in 1,480-byte datagrams is ~845 pps: the byte threshold must fire.
  DetectionConfig c;
  c.thresholds.pps = 5000;
  auto attacks = run(c, flood(kT0, 845, 1.0, 20, ip("198.18.0.21"), 53, 1480));
  ASSERT_EQ(attacks.size(), 1u);
  EXPECT_EQ(attacks[0].vector, Vector::Dns);
}

TEST(EngineTest, NeverReportsBenignTrafficBelowHundredPps) {
  // 99 pps of unsolicited responses from every vector port, for a minute.
  std::vector<PacketSummary> packets;
  for (std::uint16_t port : {53, 123, 1900, 11211, 161, 389, 19, 4500}) {
    auto f = flood(kT0, 99, 60, 30, ip("198.18.0.30"), port, 1400);
    packets.insert(packets.end(), f.begin(), f.end());
  }
  EXPECT_TRUE(run(DetectionConfig{}, packets).empty());
}

TEST(EngineTest, ResolverReceivingAnswersToItsOwnQueriesIsNotAnAttack) {
  IpAddress resolver = ip("198.18.0.53");
  std::vector<PacketSummary> packets;
  for (int i = 0; i < 20000; ++i) {  // 5,000 queries/s for 4 s to 200 servers
    std::int64_t ts = kT0 + static_cast<std::int64_t>(i) * kSec / 5000;
    IpAddress server = v4(0x08080000 + static_cast<std::uint32_t>(i % 200));
    auto port = static_cast<std::uint16_t>(30000 + i % 20000);
    packets.push_back(udp(ts, resolver, server, port, 53, 70));
    packets.push_back(udp(ts + 2'000'000, server, resolver, 53, port, 240));
  }
  EXPECT_TRUE(run(DetectionConfig{}, packets).empty());
}

TEST(EngineTest, AmplifiedAnswersToSpoofedQueriesAreStillAnAttack) {
  // The victim's address "asked" (spoofed queries are visible), but answers are 40x larger.
  IpAddress victim = ip("198.18.0.54");
  std::vector<PacketSummary> packets;
  for (int i = 0; i < 8000; ++i) {
    std::int64_t ts = kT0 + static_cast<std::int64_t>(i) * kSec / 4000;
    IpAddress server = v4(0x08080000 + static_cast<std::uint32_t>(i % 100));
    packets.push_back(udp(ts, victim, server, 80, 53, 64));
    packets.push_back(udp(ts + 1'000'000, server, victim, 53, 80, 2600));
  }
  auto attacks = run(DetectionConfig{}, packets);
  ASSERT_EQ(attacks.size(), 1u);
  EXPECT_EQ(attacks[0].vector, Vector::Dns);
  EXPECT_EQ(attacks[0].reflectors, 100u);
}

TEST(EngineTest, OutboundAttackNamesOurAbusedHosts) {
  DetectionConfig c;
  c.networks = {*Prefix::parse("198.18.0.0/24")};
  auto payload = memcachedStats();
  IpAddress victim = ip("203.0.113.5");
  std::vector<PacketSummary> packets;
  for (int i = 0; i < 6000; ++i) {
    std::int64_t ts = kT0 + static_cast<std::int64_t>(i) * kSec / 3000;
    IpAddress ours = i % 2 ? ip("198.18.0.77") : ip("198.18.0.78");
    packets.push_back(udp(ts, victim, ours, 80, 11211, 43));  // the spoofed request
    packets.push_back(udp(ts + 500'000, ours, victim, 11211, 80, 1428, &payload));
  }
  // Transit traffic between two outside hosts is not ours to judge.
  auto transit = flood(kT0, 5000, 2, 10, ip("192.0.2.1"), 11211, 1428, &payload, 0xC6336401);
  packets.insert(packets.end(), transit.begin(), transit.end());
  auto attacks = run(c, packets);
  ASSERT_EQ(attacks.size(), 1u);
  const AttackRecord& a = attacks[0];
  EXPECT_EQ(a.direction, Direction::Outbound);
  EXPECT_EQ(a.victim, victim);
  EXPECT_EQ(a.packets, 6000u);
  ASSERT_EQ(a.abused_hosts.size(), 2u);
  EXPECT_EQ(a.abused_hosts[0], ip("198.18.0.77"));
  EXPECT_EQ(a.abused_hosts[1], ip("198.18.0.78"));
}

TEST(EngineTest, InboundWithNetworks) {
  DetectionConfig c;
  c.networks = {*Prefix::parse("198.18.0.0/24"), *Prefix::parse("2001:db8::/32")};
  std::vector<PacketSummary> packets = flood(kT0, 3000, 2, 40, ip("2001:db8::10"), 1900, 400);
  auto attacks = run(c, packets);
  ASSERT_EQ(attacks.size(), 1u);
  EXPECT_EQ(attacks[0].direction, Direction::Inbound);
  EXPECT_EQ(attacks[0].vector, Vector::Ssdp);
  EXPECT_EQ(attacks[0].victim, ip("2001:db8::10"));
}

TEST(EngineTest, NonFirstFragmentsFollowTheirFirstFragmentEvenOutOfOrder) {
  IpAddress victim = ip("198.18.0.60");
  std::vector<PacketSummary> packets;
  for (int i = 0; i < 3000; ++i) {
    std::int64_t ts = kT0 + static_cast<std::int64_t>(i) * kSec / 1000;
    IpAddress src = v4(0x0B000001 + static_cast<std::uint32_t>(i % 30));
    PacketSummary first = udp(ts, src, victim, 53, 5555, 1500);
    first.flags |= pktflag::kFragment | pktflag::kFirstFragment;
    first.frag_id = static_cast<std::uint32_t>(i);
    PacketSummary rest;
    rest.ts_ns = ts;
    rest.src = src;
    rest.dst = victim;
    rest.ip_proto = ipproto::kUdp;
    rest.flags = pktflag::kFragment;
    rest.frag_id = static_cast<std::uint32_t>(i);
    rest.ip_bytes = 900;
    if (i % 3 == 0) {  // last fragment first, as in real captures
      packets.push_back(rest);
      packets.push_back(first);
    } else {
      packets.push_back(first);
      packets.push_back(rest);
    }
  }
  Engine engine(DetectionConfig{});
  engine.process(packets);
  engine.finish();
  auto attacks = engine.attacks();
  ASSERT_EQ(attacks.size(), 1u);
  EXPECT_EQ(attacks[0].vector, Vector::Dns);
  EXPECT_EQ(attacks[0].packets, 6000u);
  EXPECT_EQ(attacks[0].bytes, 3000u * 2400);
  EXPECT_EQ(engine.stats().fragments_attributed, 3000u);
}

TEST(EngineTest, GenericClassNeedsManySourcesSharingOnePort) {
  auto many = run(DetectionConfig{}, flood(kT0, 4000, 2, 40, ip("198.18.0.70"), 4500, 300));
  ASSERT_EQ(many.size(), 1u);
  EXPECT_EQ(many[0].vector, Vector::GenericUdp);
  EXPECT_EQ(many[0].vectorLabel(), "udp:4500");
  EXPECT_EQ(many[0].reflectors, 40u);

  auto few = run(DetectionConfig{}, flood(kT0, 4000, 2, 2, ip("198.18.0.71"), 4500, 300));
  EXPECT_TRUE(few.empty());
}

TEST(EngineTest, QuicLikeClientTrafficIsNotGenericReflection) {
  IpAddress client = ip("198.18.0.72");
  std::vector<PacketSummary> packets;
  for (int i = 0; i < 20000; ++i) {
    std::int64_t ts = kT0 + static_cast<std::int64_t>(i) * kSec / 5000;
    IpAddress server = v4(0x8EFA0000 + static_cast<std::uint32_t>(i % 12));
    if (i % 4 == 0) packets.push_back(udp(ts, client, server, 51000, 443, 80));
    packets.push_back(udp(ts + 100'000, server, client, 443, 51000, 1350));
  }
  EXPECT_TRUE(run(DetectionConfig{}, packets).empty());
}

TEST(EngineTest, HysteresisMergesShortPausesAndSplitsLongOnes) {
  IpAddress victim = ip("198.18.0.80");
  auto a = flood(kT0, 3000, 2, 20, victim, 19, 1000);
  auto b = flood(kT0 + 4 * kSec, 3000, 2, 20, victim, 19, 1000);   // 2 s pause
  auto c = flood(kT0 + 16 * kSec, 3000, 2, 20, victim, 19, 1000);  // 10 s pause
  std::vector<PacketSummary> packets = a;
  packets.insert(packets.end(), b.begin(), b.end());
  packets.insert(packets.end(), c.begin(), c.end());
  auto attacks = run(DetectionConfig{}, packets);
  ASSERT_EQ(attacks.size(), 2u);
  EXPECT_EQ(attacks[0].packets, a.size() + b.size());
  EXPECT_EQ(attacks[0].end_ns, b.back().ts_ns);
  EXPECT_EQ(attacks[1].start_ns, c.front().ts_ns);
  EXPECT_EQ(attacks[1].packets, c.size());
}

TEST(EngineTest, PerPrefixOverridesLongestPrefixWins) {
  DetectionConfig c;
  c.overrides.push_back({*Prefix::parse("198.18.0.0/24"), Thresholds{100000, 1e12}});
  c.overrides.push_back({*Prefix::parse("198.18.0.128/25"), Thresholds{1000, 1e12}});
  std::vector<PacketSummary> packets = flood(kT0, 5000, 2, 30, ip("198.18.0.10"), 53, 500);
  auto hot = flood(kT0, 5000, 2, 30, ip("198.18.0.200"), 53, 500);
  packets.insert(packets.end(), hot.begin(), hot.end());
  auto attacks = run(c, packets);
  ASSERT_EQ(attacks.size(), 1u);
  EXPECT_EQ(attacks[0].victim, ip("198.18.0.200"));
  EXPECT_EQ(attacks[0].threshold_pps, 1000);
}

TEST(EngineTest, ScannerSweepIsReportedButAnsweredClientIsNot) {
  std::vector<PacketSummary> packets;
  IpAddress scanner = ip("192.0.2.66");
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::int64_t ts = kT0 + i * 1'000'000;
    packets.push_back(udp(ts, scanner, v4(0xC6120000 + i), 41000, 11211, 43));
    if (i % 64 == 0) {  // a few exposed hosts answer
      packets.push_back(udp(ts + 100'000, v4(0xC6120000 + i), scanner, 11211, 41000, 1428));
    }
  }
  IpAddress resolver = ip("198.18.1.53");
  for (std::uint32_t i = 0; i < 300; ++i) {
    std::int64_t ts = kT0 + i * 1'000'000;
    IpAddress server = v4(0x01000000 + i * 65536);
    packets.push_back(udp(ts, resolver, server, 33000, 53, 70));
    packets.push_back(udp(ts + 300'000, server, resolver, 53, 33000, 200));
  }
  std::stable_sort(
      packets.begin(), packets.end(),
      [](const PacketSummary& a, const PacketSummary& b) { return a.ts_ns < b.ts_ns; });
  Engine engine(DetectionConfig{});
  engine.process(packets);
  engine.finish();
  auto scanners = engine.scanners();
  ASSERT_EQ(scanners.size(), 1u);
  EXPECT_EQ(scanners[0].source, scanner);
  EXPECT_EQ(scanners[0].port, 11211);
  EXPECT_EQ(scanners[0].targets, 256u);
  EXPECT_EQ(scanners[0].responders, 4u);
  EXPECT_EQ(scanners[0].start_ns, kT0);
  EXPECT_EQ(scanners[0].end_ns, kT0 + 255 * 1'000'000);
  EXPECT_TRUE(engine.attacks().empty());
}

TEST(EngineTest, RansomNotesAndMoneroAddressesAreCollected) {
  std::string address =
      "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45DJ852K5Jv2684"
      "Rge";
  std::string text =
      "VALUE a 0 120\r\nPay 50 XMR to " + address + " or we will DDoS you\r\nEND\r\n";
  std::vector<std::uint8_t> payload = {0, 7, 0, 0, 0, 1, 0, 0};
  payload.insert(payload.end(), text.begin(), text.end());
  auto attacks =
      run(DetectionConfig{}, flood(kT0, 2000, 2, 10, ip("198.18.0.90"), 11211, 1400, &payload));
  ASSERT_EQ(attacks.size(), 1u);
  ASSERT_EQ(attacks[0].ransom_notes.size(), 1u);
  ASSERT_EQ(attacks[0].ransom_notes[0].monero_addresses.size(), 1u);
  EXPECT_EQ(attacks[0].ransom_notes[0].monero_addresses[0], address);
  EXPECT_NE(attacks[0].ransom_notes[0].text.find("XMR"), std::string::npos);
}

// The 2018 memcached floods came from up to ~93,000 open servers: with the default limits an
// attack by that many reflectors is counted and ranked exactly, not estimated.
TEST(EngineTest, AHundredThousandReflectorsAreCountedExactlyByDefault) {
  const int kReflectors = 100'000;
  auto packets = flood(kT0, 100'000, 3.0, kReflectors, ip("198.18.0.12"), 11211, 1400);
  // One reflector sends a little more than the others, so the ranking has one right answer.
  packets.push_back(
      udp(packets.back().ts_ns, v4(0x0A000001 + 54'321), ip("198.18.0.12"), 11211, 40000, 1400));
  auto attacks = run(DetectionConfig{}, packets);
  ASSERT_EQ(attacks.size(), 1u);
  const AttackRecord& a = attacks[0];
  EXPECT_FALSE(a.reflectors_estimated);
  EXPECT_EQ(a.reflectors, static_cast<std::uint64_t>(kReflectors));
  EXPECT_EQ(a.packets, packets.size());
  ASSERT_FALSE(a.top_reflectors.empty());
  EXPECT_EQ(a.top_reflectors[0].ip, v4(0x0A000001 + 54'321));
  EXPECT_EQ(a.top_reflectors[0].packets, 4u);
}

TEST(EngineTest, MillionsOfSpoofedSourcesStayWithinBoundsAndCountWithinOnePercent) {
  DetectionConfig c;
  c.exact_sources_per_attack = 4096;
  Engine engine(c);
  IpAddress victim = ip("198.18.0.99");
  const std::uint32_t kSources = 1'000'000;
  std::vector<PacketSummary> batch;
  for (std::uint32_t i = 0; i < kSources; ++i) {
    std::int64_t ts = kT0 + static_cast<std::int64_t>(i) * 2000;  // 500 kpps for 2 s
    batch.push_back(udp(ts, v4(0x10000000 + i * 7), victim, 123, 80, 468));
    if (batch.size() == 4096) {
      engine.process(batch);
      batch.clear();
    }
  }
  engine.process(batch);
  engine.finish();
  auto attacks = engine.attacks();
  ASSERT_EQ(attacks.size(), 1u);
  EXPECT_TRUE(attacks[0].reflectors_estimated);
  EXPECT_NEAR(static_cast<double>(attacks[0].reflectors), kSources, kSources * 0.01);
  EXPECT_EQ(attacks[0].packets, kSources);
}

TEST(EngineTest, DestinationTableEvictsInsteadOfGrowing) {
  DetectionConfig c;
  c.max_destinations = 1024;
  Engine engine(c);
  std::vector<PacketSummary> batch;
  for (std::uint32_t i = 0; i < 200000; ++i) {
    batch.push_back(udp(kT0 + i * 1000, v4(0x0A000001), v4(0xC6120000 + i), 53, 4444, 100));
  }
  engine.process(batch);
  engine.finish();
  EXPECT_GT(engine.stats().destination_evictions, 100000u);
  EXPECT_TRUE(engine.attacks().empty());
}

TEST(EngineTest, TimeAdvancesWithoutPacketsToEndAttacks) {
  Recorder rec;
  Engine engine(DetectionConfig{}, &rec);
  auto packets = flood(kT0, 2000, 2, 20, ip("198.18.0.91"), 389, 1400);
  engine.process(packets);
  ASSERT_EQ(rec.started.size(), 1u);
  EXPECT_TRUE(rec.ended.empty());
  for (std::int64_t t = 1; t <= 10; ++t) engine.advanceTime(packets.back().ts_ns + t * kSec);
  ASSERT_EQ(rec.ended.size(), 1u);
  EXPECT_EQ(rec.ended[0].vector, Vector::Cldap);
  EXPECT_EQ(rec.ended[0].end_ns, packets.back().ts_ns);
  EXPECT_FALSE(rec.ended[0].active);
}

TEST(EngineTest, BurstyFloodIsCoveredFromItsFirstBurst) {
  // 20-packet bursts every 100 ms (200 pps): the silences between bursts are longer than the
  // run gap, yet the attack must cover everything from the first burst.
  IpAddress victim = ip("198.18.0.95");
  std::vector<PacketSummary> packets;
  for (int burst = 0; burst < 30; ++burst) {
    for (int i = 0; i < 20; ++i) {
      std::int64_t ts = kT0 + burst * (kSec / 10) + i * 100'000;
      packets.push_back(
          udp(ts, v4(0x0C000001 + static_cast<std::uint32_t>(i)), victim, 53, 999, 1200));
    }
  }
  auto attacks = run(DetectionConfig{}, packets);
  ASSERT_EQ(attacks.size(), 1u);
  EXPECT_EQ(attacks[0].start_ns, packets.front().ts_ns);
  EXPECT_EQ(attacks[0].packets, packets.size());
}

TEST(EngineTest, MulticastAndBroadcastAreNeverVictims) {
  std::vector<PacketSummary> packets = flood(kT0, 3000, 2, 50, ip("224.0.0.251"), 5353, 300);
  auto b = flood(kT0, 3000, 2, 50, ip("255.255.255.255"), 137, 300);
  auto c = flood(kT0, 3000, 2, 50, ip("ff02::c"), 1900, 300);
  packets.insert(packets.end(), b.begin(), b.end());
  packets.insert(packets.end(), c.begin(), c.end());
  EXPECT_TRUE(run(DetectionConfig{}, packets).empty());
}

TEST(EngineTest, EverySourceCountsFromTheFirstPacket) {
  // Each reflector sends exactly one datagram: none may be lost before tracking starts.
  std::vector<PacketSummary> packets;
  for (std::uint32_t i = 0; i < 3000; ++i) {
    packets.push_back(udp(kT0 + i * 200'000, v4(0x0D000001 + i), ip("198.18.0.96"), 161, 999, 900));
  }
  auto attacks = run(DetectionConfig{}, packets);
  ASSERT_EQ(attacks.size(), 1u);
  EXPECT_EQ(attacks[0].reflectors, 3000u);
  EXPECT_EQ(attacks[0].packets, 3000u);
}

TEST(EngineTest, FloodOnABusyResolverIsSeparatedFromItsOwnAnswers) {
  IpAddress resolver = ip("198.18.0.53");
  std::vector<PacketSummary> packets;
  for (int i = 0; i < 40000; ++i) {  // 10,000 queries/s for 4 s, all answered
    std::int64_t ts = kT0 + static_cast<std::int64_t>(i) * kSec / 10000;
    IpAddress server = v4(0x08080000 + static_cast<std::uint32_t>(i % 200));
    auto port = static_cast<std::uint16_t>(30000 + i % 20000);
    packets.push_back(udp(ts, resolver, server, port, 53, 70));
    packets.push_back(udp(ts + 2'000'000, server, resolver, 53, port, 300));
  }
  auto flood_packets = flood(kT0 + kSec, 3000, 2, 60, resolver, 53, 1500);
  packets.insert(packets.end(), flood_packets.begin(), flood_packets.end());
  auto attacks = run(DetectionConfig{}, packets);
  ASSERT_EQ(attacks.size(), 1u);
  EXPECT_EQ(attacks[0].vector, Vector::Dns);
  EXPECT_EQ(attacks[0].packets, flood_packets.size());
  EXPECT_EQ(attacks[0].reflectors, 60u);
  EXPECT_EQ(attacks[0].start_ns, flood_packets.front().ts_ns);
}

// Input that comes in bursts, a second's worth at once (sFlow agents that batch their
// samples), moves time only with its bursts: every sweep runs just before a burst is counted,
// when the window is empty. The attack must not end between bursts.
TEST(EngineTest, FloodArrivingInOneBurstPerSecondIsOneAttack) {
  const IpAddress victim = ip("198.18.0.10");
  std::vector<PacketSummary> packets;
  for (int second = 0; second < 12; ++second) {
    for (int i = 0; i < 40; ++i) {  // 40 samples of 1:10, 20 us apart: 400 packets
      PacketSummary p =
          udp(kT0 + second * kSec + i * 20'000, v4(0x0A000001 + i), victim, 11211, 40000, 14000);
      p.packets = 10;
      packets.push_back(p);
    }
  }
  const std::vector<AttackRecord> attacks = run(DetectionConfig{}, packets);
  ASSERT_EQ(attacks.size(), 1u);
  EXPECT_EQ(attacks[0].packets, 12u * 400u);
  EXPECT_EQ(attacks[0].start_ns, packets.front().ts_ns);
  EXPECT_EQ(attacks[0].end_ns, packets.back().ts_ns);
}

// Two routers export a flood to the same victim; the second one's clock lags by two minutes,
// so every packet it reports is older than the window the first one's have moved the victim
// to. They are counted as they come: the rate is both routers' together.
TEST(EngineLate, PacketsOlderThanTheWindowAreCountedAsTheyCome) {
  const IpAddress victim = ip("198.18.0.10");
  const std::vector<PacketSummary> synced =
      flood(kT0 + 120 * kSec, 1000, 10, 50, victim, 11211, 1428);
  const std::vector<PacketSummary> lagging =
      flood(kT0, 1000, 10, 40, victim, 11211, 1428, nullptr, 0x0B000001);
  std::vector<PacketSummary> arrival;
  for (std::size_t i = 0; i < synced.size(); ++i) {
    arrival.push_back(synced[i]);
    arrival.push_back(lagging[i]);
  }
  Engine engine(DetectionConfig{});
  engine.process(arrival);
  engine.finish();
  const std::vector<AttackRecord> attacks = engine.attacks();
  ASSERT_EQ(attacks.size(), 1u);
  const AttackRecord& a = attacks[0];
  EXPECT_EQ(a.start_ns, synced.front().ts_ns);
  EXPECT_EQ(a.end_ns, synced.back().ts_ns);
  EXPECT_GE(a.detected_ns, a.start_ns);
  EXPECT_EQ(a.packets, synced.size() + lagging.size());
  EXPECT_EQ(a.reflectors, 90u);
  EXPECT_NEAR(a.peak_pps, 2000, 2000 * 0.02);
  EXPECT_EQ(engine.stats().stale_packets, lagging.size());
}

// A packet late by less than the window goes to the bucket of its own time: it is in the
// window while its time is, and leaves it when its time does.
TEST(EngineLate, PacketsLateWithinTheWindowLeaveItWithTheirTime) {
  const IpAddress victim = ip("198.18.0.10");
  DetectionConfig config;
  config.thresholds.pps = 1000;
  config.thresholds.bps = 1e12;
  // 600 pps until 1.9 s, then 900 pps until 3 s: never 1,000 packets in a second.
  std::vector<PacketSummary> upto = flood(kT0, 600, 1.9, 20, victim, 11211, 1428);
  std::vector<PacketSummary> after =
      flood(kT0 + 1900 * 1'000'000, 900, 1.1, 20, victim, 11211, 1428);
  // 300 packets dated 1.0-1.1 s arrive at 1.9 s. In their own bucket they leave the window
  // at 2.1 s; counted in the bucket of their arrival they would stay until 2.9 s and, with
  // the 900 pps after it, make 1,200 packets in one window.
  std::vector<PacketSummary> late =
      flood(kT0 + kSec, 3000, 0.1, 20, victim, 11211, 1428, nullptr, 0x0B000001);
  Engine engine(config);
  engine.process(upto);
  engine.process(late);
  engine.process(after);
  engine.finish();
  EXPECT_TRUE(engine.attacks().empty());
  EXPECT_EQ(engine.stats().late_packets, late.size());
  EXPECT_EQ(engine.stats().stale_packets, 0u);
}

}  // namespace
}  // namespace bw

namespace bw {
namespace {

// Sampled telemetry: a summary standing for N packets counts as N packets everywhere
// (rates, onset, totals, per-reflector figures), so 1:10 samples of a flood look like it.
TEST(EngineWeights, WeightedSummariesCountAsTheirPackets) {
  const IpAddress victim = ip("198.18.0.10");
  std::vector<PacketSummary> full = flood(kT0, 2000, 3, 20, victim, 11211, 1428);
  std::vector<PacketSummary> sampled;
  for (std::size_t i = 0; i < full.size(); i += 10) {
    PacketSummary p = full[i];
    p.packets = 10;
    p.ip_bytes = 10ull * 1428;
    sampled.push_back(p);
  }
  std::vector<AttackRecord> a = run(DetectionConfig{}, full);
  std::vector<AttackRecord> b = run(DetectionConfig{}, sampled);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].vector, Vector::Memcached);
  EXPECT_EQ(b[0].packets, a[0].packets);
  EXPECT_EQ(b[0].bytes, a[0].bytes);
  EXPECT_NEAR(b[0].peak_pps, a[0].peak_pps, a[0].peak_pps * 0.02);
  // Every 10th packet of a 20-reflector round robin comes from reflectors 0 and 10 only;
  // each sample stands for 10 packets of theirs.
  ASSERT_EQ(b[0].top_reflectors.size(), 2u);
  for (const ReflectorStat& r : b[0].top_reflectors) {
    EXPECT_EQ(r.packets, b[0].packets / 2);
    EXPECT_EQ(r.bytes, r.packets * 1428);
  }
}

// One summary for 100 packets is 100 packets of rate: below the threshold as single packets,
// above it as a weighted burst.
TEST(EngineWeights, ASingleHeavySummaryCrossesTheThreshold) {
  const IpAddress victim = ip("198.18.0.11");
  std::vector<PacketSummary> packets;
  for (int s = 0; s < 20; ++s) {
    PacketSummary p = udp(kT0 + s * 100'000'000, v4(0x0A000001 + s), victim, 11211, 40000, 0);
    p.packets = 100;
    p.ip_bytes = 100ull * 1400;
    packets.push_back(p);
  }
  std::vector<AttackRecord> a = run(DetectionConfig{}, packets);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].packets, 2000u);
  EXPECT_EQ(a[0].reflectors, 20u);
}

}  // namespace
}  // namespace bw
