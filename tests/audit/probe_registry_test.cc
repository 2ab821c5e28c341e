// The registry and what every probe promises: memcached first, the services and ports the
// audit names (IANA numbers, written here independently of the probes), requests that fit a
// datagram and carry the token where the protocol echoes one, and replies that cannot make
// any probe crash, call its own request exposure, or grow ReplyInfo without bound.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "audit/probe.h"
#include "probe_test_support.h"

namespace bw::audit {
namespace {

using test::Bytes;

const std::map<std::string, std::uint16_t> kIanaPorts = {
    {"memcached", 11211}, {"dns", 53},        {"ntp", 123},     {"ntp-monlist", 123},
    {"ssdp", 1900},       {"cldap", 389},     {"chargen", 19},  {"qotd", 17},
    {"snmp", 161},        {"portmap", 111},   {"netbios", 137}, {"ws-discovery", 3702},
    {"coap", 5683},       {"ubiquiti", 10001}};

// Protocols whose replies echo an id, so the request must change with the token.
const std::set<std::string> kEchoesId = {"memcached", "dns",     "ntp",          "cldap", "snmp",
                                         "portmap",   "netbios", "ws-discovery", "coap"};

TEST(ProbeRegistry, ServicesOrderAndPorts) {
  const auto probes = allProbes();
  ASSERT_GE(probes.size(), 2u);
  EXPECT_EQ(probes[0]->service(), "memcached");
  EXPECT_EQ(probes[1]->service(), "memcached");
  EXPECT_NE(probes[0]->transport(), probes[1]->transport());

  std::set<std::string> seen;
  for (const auto& p : probes) {
    const std::string name(p->service());
    ASSERT_TRUE(kIanaPorts.count(name)) << "unexpected service " << name;
    EXPECT_EQ(p->port(), kIanaPorts.at(name)) << name;
    if (name != "memcached") {
      EXPECT_EQ(p->transport(), Transport::Udp) << name;
      EXPECT_TRUE(seen.insert(name).second) << name << " registered twice";
    }
    EXPECT_GT(p->advice().size(), 60u) << name;
  }
  EXPECT_EQ(seen.size() + 1, kIanaPorts.size());

  const auto names = probeServiceNames();
  ASSERT_EQ(names.size(), kIanaPorts.size());
  EXPECT_EQ(names[0], "memcached");
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());

  EXPECT_STREQ(transportName(Transport::Udp), "udp");
  EXPECT_STREQ(transportName(Transport::Tcp), "tcp");
}

TEST(ProbeRegistry, RequestsFitADatagramAndCarryTheToken) {
  for (const auto& p : allProbes()) {
    const std::string name(p->service());
    const Bytes a = p->request(0x0001);
    const Bytes b = p->request(0xFFFE);
    EXPECT_FALSE(a.empty()) << name;
    EXPECT_LE(a.size(), 1200u) << name;  // one datagram on any path
    EXPECT_EQ(a, p->request(0x0001)) << name << " is not deterministic";
    if (p->transport() != Transport::Udp) continue;  // TCP matches replies by connection
    if (kEchoesId.count(name)) {
      EXPECT_NE(a, b) << name << " does not carry the token";
    } else {
      EXPECT_EQ(a, b) << name;
    }
  }
}

TEST(ProbeRegistry, OwnRequestIsNeverExposure) {
  for (const auto& p : allProbes()) {
    for (std::uint16_t token : {0, 1, 0x1234, 0xFFFF}) {
      const ReplyInfo info = test::parseOne(*p, p->request(token), token);
      EXPECT_FALSE(info.positive) << p->service() << " token " << token;
    }
  }
}

// Random bytes, with the token planted where DNS-like and NTP-like headers keep their ids,
// into one ReplyInfo per probe: nothing crashes, details stay serialisable and small.
TEST(ProbeRegistry, RandomRepliesStayBounded) {
  std::mt19937 rng(20240611);
  for (const auto& p : allProbes()) {
    const std::string name(p->service());
    ReplyInfo info;
    std::size_t positives = 0;
    for (int i = 0; i < 3000; ++i) {
      Bytes b(rng() % 1500);
      for (auto& x : b) x = static_cast<std::uint8_t>(rng());
      const std::uint16_t token = static_cast<std::uint16_t>(rng());
      if (b.size() >= 4) {
        storeBe16(b.data() + (i % 2 ? 0 : 2), token);
      }
      ReplyInfo one;
      p->parse(test::span(b), token, one);
      p->parse(test::span(b), token, info);
      positives += one.positive;
    }
    // QOTD accepts any text and random short inputs can be text; nothing else should bite.
    if (name != "qotd") {
      EXPECT_EQ(positives, 0u) << name;
    }
    std::string dumped;
    ASSERT_NO_THROW(dumped = info.details.dump()) << name;
    EXPECT_LT(dumped.size(), 16384u) << name;
    EXPECT_LE(info.version.size(), 256u) << name;
  }
}

}  // namespace
}  // namespace bw::audit
