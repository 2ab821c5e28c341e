#include "synth/spec.h"

#include <gtest/gtest.h>

namespace bw::synth {
namespace {

TEST(Spec, ParsesAFullAttack) {
  auto a = parseAttackSpec(
      "vector=memcached,victim=198.18.0.10,pps=20k,start=1,duration=5,reflectors=300,ransom=1,"
      "size=5000,mtu=1280,victim_port=80,timing=poisson,direction=inbound,"
      "reflector_net=192.0.2.0/24");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->vector, Vector::Memcached);
  EXPECT_EQ(a->victim->toString(), "198.18.0.10");
  EXPECT_EQ(a->pps, 20000);
  EXPECT_EQ(a->start, 1);
  EXPECT_EQ(a->duration, 5);
  EXPECT_EQ(a->reflectors, 300u);
  EXPECT_TRUE(a->ransom);
  EXPECT_EQ(a->size, 5000u);
  EXPECT_EQ(a->mtu, 1280u);
  EXPECT_EQ(a->victim_port, 80);
  EXPECT_EQ(a->timing, Timing::Poisson);
  EXPECT_EQ(a->reflector_net->toString(), "192.0.2.0/24");
}

TEST(Spec, GenericVectorsCarryTheirPort) {
  auto a = parseAttackSpec("vector=udp:500, reflectors=5M ,direction=out");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->vector, Vector::GenericUdp);
  EXPECT_EQ(a->port, 500);
  EXPECT_EQ(a->reflectors, 5'000'000u);
  EXPECT_EQ(a->direction, Direction::Outbound);
  auto named = parseAttackSpec("vector=ntp");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->port, 0);  // only generic vectors keep a port
}

TEST(Spec, BenignAndScanner) {
  auto b = parseBenignSpec("kind=misc,port=1900,pps=50,peers=4,host=198.18.0.99");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->kind, BenignKind::Misc);
  EXPECT_EQ(b->port, 1900);
  EXPECT_EQ(b->peers, 4u);
  auto t = parseBenignSpec("kind=memcached-tcp");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->kind, BenignKind::MemcachedTcp);

  auto s = parseScannerSpec(
      "vector=ssdp,targets=198.18.0.0/25,pps=1k,responders=4,passes=2,"
      "source=192.0.2.66,start=3");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->vector, Vector::Ssdp);
  EXPECT_EQ(s->targets->toString(), "198.18.0.0/25");
  EXPECT_EQ(s->pps, 1000);
  EXPECT_EQ(s->responders, 4u);
  EXPECT_EQ(s->passes, 2u);
}

void expectError(const Result<AttackSpec>& r, const std::string& needle) {
  ASSERT_FALSE(r.ok()) << needle;
  EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos);  // one sentence
}

TEST(Spec, ErrorsNameTheKeyAndWhatIsValid) {
  expectError(parseAttackSpec("vector=memcache"), "unknown vector (valid: memcached, dns");
  expectError(parseAttackSpec("vector=udp"), "udp:PORT");
  expectError(parseAttackSpec("vector=udp:0"), "unknown vector");
  expectError(parseAttackSpec("vector=dns,pps=fast"), "pps=fast: must be a rate");
  expectError(parseAttackSpec("vector=dns,pps=0"), "pps=0");
  expectError(parseAttackSpec("vector=dns,colour=red"), "unknown key 'colour' (valid keys: vector");
  expectError(parseAttackSpec("vector=dns,victim=1.2.3"), "victim=1.2.3: must be an IPv4 or IPv6");
  expectError(parseAttackSpec("vector=dns,reflectors=2.5"), "reflectors=2.5");
  expectError(parseAttackSpec("vector=dns,ransom=maybe"), "ransom=maybe: must be 1 or 0");
  expectError(parseAttackSpec("vector=dns,direction=sideways"), "inbound or outbound");
  expectError(parseAttackSpec("vector=dns,pps=5,pps=6"), "given twice");
  expectError(parseAttackSpec("vector=dns,mtu"), "'mtu' is not key=value");
  expectError(parseAttackSpec("pps=5"), "vector= is required");
  expectError(parseAttackSpec(""), "is empty");
  expectError(parseAttackSpec("vector=dns,victim=198.18.0.1,ipv6=1"), "ipv6=1 conflicts");
  expectError(parseAttackSpec("vector=dns,reflector_net=300.0.0.0/8"), "reflector_net=");

  auto b = parseBenignSpec("kind=http");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("--benign 'kind=http': kind=http: must be web, dns"),
            std::string::npos);
  EXPECT_FALSE(parseBenignSpec("pps=5").ok());
  EXPECT_FALSE(parseBenignSpec("kind=web,port=80").ok());
  auto s = parseScannerSpec("targets=everything");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("--scanner"), std::string::npos);
}

}  // namespace
}  // namespace bw::synth
