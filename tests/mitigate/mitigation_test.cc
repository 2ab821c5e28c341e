// Mitigation plans: what is announced for inbound and outbound attacks, the exact GoBGP-style
// rule text, what is refused (never-mitigate prefixes, thresholds, portless vectors), RTBH on
// and off, IPv6; and the dry-run backend's lines.
#include "mitigate/mitigation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bw {
namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
Prefix prefix(const char* text) { return *Prefix::parse(text); }

AttackRecord memcachedInbound(const char* victim = "198.51.100.7") {
  AttackRecord a;
  a.victim = ip(victim);
  a.direction = Direction::Inbound;
  a.vector = Vector::Memcached;
  a.source_port = 11211;
  a.peak_pps = 50'000;
  a.peak_bps = 600e6;
  return a;
}

std::vector<std::string> texts(const MitigationPlan& plan) {
  std::vector<std::string> out;
  for (const FlowSpecRule& r : plan.flowspec) out.push_back(r.text());
  return out;
}

TEST(PlanMitigation, InboundMemcachedIsOneFlowSpecRuleOnTheVictimAndPort) {
  MitigationSettings s;
  MitigationPlan plan = planMitigation(7, memcachedInbound(), s);
  EXPECT_EQ(plan.attack_id, 7u);
  EXPECT_TRUE(plan.skipped.empty());
  ASSERT_EQ(plan.flowspec.size(), 1u);
  EXPECT_EQ(plan.flowspec[0].text(),
            "match destination 198.51.100.7/32 protocol udp source-port ==11211 then discard");
  EXPECT_EQ(plan.flowspec[0].destination, prefix("198.51.100.7/32"));
  EXPECT_FALSE(plan.flowspec[0].source);
  EXPECT_EQ(plan.flowspec[0].protocol, 17);
  EXPECT_EQ(plan.flowspec[0].source_port, 11211);
  EXPECT_FALSE(plan.rtbh);  // RTBH is off by default
  EXPECT_FALSE(plan.empty());
}

TEST(PlanMitigation, FragmentsAddANonFirstFragmentRule) {
  AttackRecord a = memcachedInbound();
  a.fragments = 1200;
  MitigationPlan plan = planMitigation(7, a, MitigationSettings{});
  EXPECT_EQ(
      texts(plan),
      (std::vector<std::string>{
          "match destination 198.51.100.7/32 protocol udp source-port ==11211 then discard",
          "match destination 198.51.100.7/32 protocol udp fragment is-fragment then discard"}));
  EXPECT_TRUE(plan.flowspec[1].non_first_fragments);
  EXPECT_FALSE(plan.flowspec[1].source_port);
}

TEST(PlanMitigation, Ipv6VictimIsA128) {
  AttackRecord a = memcachedInbound("2001:db8::11");
  a.vector = Vector::Ntp;
  a.source_port = 123;
  MitigationSettings s;
  s.rtbh = true;
  MitigationPlan plan = planMitigation(3, a, s);
  EXPECT_EQ(texts(plan), (std::vector<std::string>{"match destination 2001:db8::11/128 protocol "
                                                   "udp source-port ==123 then discard"}));
  ASSERT_TRUE(plan.rtbh);
  EXPECT_EQ(plan.rtbh->prefix, prefix("2001:db8::11/128"));
  // An IPv4 next hop cannot serve an IPv6 route: the RFC 6666 discard address stands in.
  EXPECT_EQ(plan.rtbh->text(), "2001:db8::11/128 next-hop 100::1 community 65535:666");
}

TEST(PlanMitigation, RtbhOnlyWhenEnabled) {
  MitigationSettings s;
  s.rtbh = true;
  s.rtbh_community = "64500:666";
  s.rtbh_next_hop = "192.0.2.99";
  MitigationPlan plan = planMitigation(1, memcachedInbound(), s);
  ASSERT_TRUE(plan.rtbh);
  EXPECT_EQ(plan.rtbh->text(), "198.51.100.7/32 next-hop 192.0.2.99 community 64500:666");
  EXPECT_EQ(plan.flowspec.size(), 1u);

  s.flowspec = false;  // RTBH alone
  plan = planMitigation(1, memcachedInbound(), s);
  EXPECT_TRUE(plan.flowspec.empty());
  EXPECT_TRUE(plan.rtbh);

  s.rtbh = false;  // neither
  plan = planMitigation(1, memcachedInbound(), s);
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.skipped, "flowspec and rtbh are both disabled");
}

TEST(PlanMitigation, NeverPrefixContainingTheVictimSkips) {
  MitigationSettings s;
  s.rtbh = true;
  s.never = {prefix("192.0.2.0/24"), prefix("10.0.0.0/24")};
  MitigationPlan plan = planMitigation(1, memcachedInbound("10.0.0.53"), s);
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.skipped, "victim 10.0.0.53 is inside never-mitigate prefix 10.0.0.0/24");
  // A victim next door is not protected.
  EXPECT_FALSE(planMitigation(1, memcachedInbound("10.0.1.53"), s).empty());
}

TEST(PlanMitigation, ThresholdsGateOnPeakEitherIsEnough) {
  MitigationSettings s;
  s.min_pps = 100'000;  // memcachedInbound peaks at 50 kpps / 600 Mbit/s
  MitigationPlan plan = planMitigation(1, memcachedInbound(), s);
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.skipped, "peak 50000 pps / 600.0 Mbit/s is below min_pps 100000");

  s.min_mbps = 1000;
  plan = planMitigation(1, memcachedInbound(), s);
  EXPECT_EQ(plan.skipped,
            "peak 50000 pps / 600.0 Mbit/s is below min_pps 100000 and min_mbps 1000.0");

  s.min_mbps = 500;  // the bit rate reaches its threshold: enough
  EXPECT_FALSE(planMitigation(1, memcachedInbound(), s).empty());

  s.min_mbps = 0;
  s.min_pps = 50'000;  // exactly at the threshold counts as reaching it
  EXPECT_FALSE(planMitigation(1, memcachedInbound(), s).empty());
}

TEST(PlanMitigation, GenericFloodMatchesItsSourcePortButPortlessVectorsSkip) {
  AttackRecord a = memcachedInbound();
  a.vector = Vector::GenericUdp;
  a.source_port = 500;
  EXPECT_EQ(texts(planMitigation(1, a, MitigationSettings{})),
            (std::vector<std::string>{
                "match destination 198.51.100.7/32 protocol udp source-port ==500 then discard"}));

  a.source_port = 0;
  MitigationPlan plan = planMitigation(1, a, MitigationSettings{});
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.skipped, "vector udp:0 has no source port to match");

  a.vector = Vector::None;
  EXPECT_TRUE(planMitigation(1, a, MitigationSettings{}).empty());

  // TFTP servers answer from ephemeral ports: port 69 would match nothing.
  a.vector = Vector::Tftp;
  a.source_port = 69;
  plan = planMitigation(1, a, MitigationSettings{});
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.skipped, "vector tftp has no source port to match");

  // ... but RTBH needs no port.
  MitigationSettings s;
  s.rtbh = true;
  plan = planMitigation(1, a, s);
  EXPECT_TRUE(plan.flowspec.empty());
  EXPECT_TRUE(plan.rtbh);
}

AttackRecord outbound(std::size_t hosts) {
  AttackRecord a;
  a.victim = ip("203.0.113.9");
  a.direction = Direction::Outbound;
  a.vector = Vector::Dns;
  a.source_port = 53;
  a.peak_pps = 10'000;
  a.peak_bps = 80e6;
  for (std::size_t i = 0; i < hosts; ++i) {
    a.abused_hosts.push_back(IpAddress::fromV4(0xC6120000u + static_cast<std::uint32_t>(i) + 1));
  }
  return a;
}

TEST(PlanMitigation, OutboundMatchesEachAbusedHostToTheVictimNeverRtbh) {
  AttackRecord a = outbound(2);
  MitigationSettings s;
  s.rtbh = true;  // ignored outbound: the victim is not ours
  MitigationPlan plan = planMitigation(4, a, s);
  EXPECT_FALSE(plan.rtbh);
  EXPECT_EQ(texts(plan),
            (std::vector<std::string>{"match destination 203.0.113.9/32 source 198.18.0.1/32 "
                                      "protocol udp source-port ==53 then discard",
                                      "match destination 203.0.113.9/32 source 198.18.0.2/32 "
                                      "protocol udp source-port ==53 then discard"}));

  a.fragments = 10;  // each host also gets its fragment rule
  plan = planMitigation(4, a, s);
  ASSERT_EQ(plan.flowspec.size(), 4u);
  EXPECT_EQ(plan.flowspec[1].text(),
            "match destination 203.0.113.9/32 source 198.18.0.1/32 protocol udp fragment "
            "is-fragment then discard");

  s.flowspec = false;
  plan = planMitigation(4, a, s);
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.skipped,
            "outbound attacks are mitigated with FlowSpec only, and flowspec is disabled");

  plan = planMitigation(4, outbound(0), MitigationSettings{});
  EXPECT_EQ(plan.skipped, "outbound attack on 203.0.113.9 names no abused host of ours");
}

TEST(PlanMitigation, OutboundIsCappedHeaviestFirstAndSkipsNeverHosts) {
  AttackRecord a = outbound(100);
  // The heaviest reflector is the last address: it must be among the rules.
  a.top_reflectors.push_back(ReflectorStat{a.abused_hosts.back(), 1000, 1'000'000});
  MitigationPlan plan = planMitigation(4, a, MitigationSettings{});
  ASSERT_EQ(plan.flowspec.size(), 64u);
  EXPECT_EQ(plan.flowspec[0].source, prefix("198.18.0.100/32"));
  EXPECT_EQ(plan.flowspec[1].source, prefix("198.18.0.1/32"));

  MitigationSettings s;
  s.never = {prefix("198.18.0.0/31")};  // 198.18.0.1 is a resolver we never touch
  plan = planMitigation(4, outbound(2), s);
  ASSERT_EQ(plan.flowspec.size(), 1u);
  EXPECT_EQ(plan.flowspec[0].source, prefix("198.18.0.2/32"));

  s.never = {prefix("198.18.0.0/24")};
  plan = planMitigation(4, outbound(2), s);
  EXPECT_EQ(plan.skipped, "every abused host (2) is inside a never-mitigate prefix");
}

TEST(PlanMitigation, JsonCarriesRulesRouteAndReason) {
  MitigationSettings s;
  s.rtbh = true;
  AttackRecord a = memcachedInbound();
  a.fragments = 1;
  nlohmann::json j = planMitigation(7, a, s).toJson();
  EXPECT_EQ(j["attack_id"], 7);
  ASSERT_EQ(j["flowspec"].size(), 2u);
  EXPECT_EQ(j["flowspec"][0]["destination"], "198.51.100.7/32");
  EXPECT_TRUE(j["flowspec"][0]["source"].is_null());
  EXPECT_EQ(j["flowspec"][0]["protocol"], 17);
  EXPECT_EQ(j["flowspec"][0]["source_port"], 11211);
  EXPECT_EQ(j["flowspec"][0]["action"], "discard");
  EXPECT_EQ(j["flowspec"][1]["non_first_fragments"], true);
  EXPECT_EQ(j["rtbh"]["prefix"], "198.51.100.7/32");
  EXPECT_EQ(j["rtbh"]["community"], "65535:666");
  EXPECT_EQ(j["rtbh"]["next_hop"], "192.0.2.1");
  EXPECT_TRUE(j["skipped"].is_null());

  s.never = {prefix("198.51.100.0/24")};
  j = planMitigation(7, a, s).toJson();
  EXPECT_TRUE(j["flowspec"].empty());
  EXPECT_TRUE(j["rtbh"].is_null());
  EXPECT_EQ(j["skipped"], "victim 198.51.100.7 is inside never-mitigate prefix 198.51.100.0/24");
}

TEST(FlowSpecRule, RateLimitIsInBytesPerSecond) {
  FlowSpecRule r;
  r.destination = prefix("198.51.100.7/32");
  r.source_port = 123;
  r.rate_bps = 80'000;
  EXPECT_EQ(r.text(),
            "match destination 198.51.100.7/32 protocol udp source-port ==123 then rate-limit "
            "10000");
  EXPECT_EQ(r.toJson()["action"], "rate-limit");
}

TEST(DryRunBackend, LogsWhatWouldBeAnnouncedAndWithdrawn) {
  std::vector<std::string> lines;
  auto backend = makeDryRunBackend([&](const std::string& l) { lines.push_back(l); });
  EXPECT_EQ(backend->name(), "dry-run");
  MitigationSettings s;
  s.rtbh = true;
  MitigationPlan plan = planMitigation(7, memcachedInbound(), s);
  ASSERT_TRUE(backend->announce(plan).ok());
  ASSERT_TRUE(backend->withdraw(plan).ok());
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "dry-run: would announce flowspec match destination 198.51.100.7/32 protocol udp "
                "source-port ==11211 then discard (attack 7)",
                "dry-run: would announce rtbh 198.51.100.7/32 next-hop 192.0.2.1 community "
                "65535:666 (attack 7)",
                "dry-run: would withdraw flowspec match destination 198.51.100.7/32 protocol udp "
                "source-port ==11211 then discard (attack 7)",
                "dry-run: would withdraw rtbh 198.51.100.7/32 next-hop 192.0.2.1 community "
                "65535:666 (attack 7)"}));
}

TEST(MakeMitigationBackend, KnowsNoneAndDryRun) {
  MitigationSettings s;
  auto none = makeMitigationBackend(s, {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->get(), nullptr);

  s.backend = "dry-run";
  auto dry = makeMitigationBackend(s, {});
  ASSERT_TRUE(dry.ok());
  ASSERT_NE(dry->get(), nullptr);
  EXPECT_EQ((*dry)->name(), "dry-run");

  s.backend = "gobgpd";
  auto bad = makeMitigationBackend(s, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "unknown mitigation backend 'gobgpd' (known backends: none, dry-run)");
}

}  // namespace
}  // namespace bw
