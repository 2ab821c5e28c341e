// Addresses, prefixes, longest-prefix match and the HyperLogLog sketch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/bytes.h"
#include "core/hyperloglog.h"
#include "core/ip_address.h"
#include "core/prefix.h"

namespace bw {
namespace {

TEST(IpAddressTest, ParsesAndPrintsBothFamilies) {
  auto a = IpAddress::parse("198.18.0.10");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->isV4());
  EXPECT_EQ(a->v4(), 0xC612000Au);
  EXPECT_EQ(a->toString(), "198.18.0.10");
  auto b = IpAddress::parse("2001:db8::1");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->isV4());
  EXPECT_EQ(b->toString(), "2001:db8::1");
  EXPECT_FALSE(IpAddress::parse("198.18.0.256"));
  EXPECT_FALSE(IpAddress::parse("not an address"));
  EXPECT_FALSE(IpAddress::parse(""));
  EXPECT_EQ(IpAddress::fromV4(0xC612000A), *a);
  EXPECT_NE(a->hash(), IpAddress::fromV4(0xC612000B).hash());
}

TEST(PrefixTest, ParsesMasksAndMatches) {
  auto p = Prefix::parse("198.18.0.77/24");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->toString(), "198.18.0.0/24");
  EXPECT_TRUE(p->contains(*IpAddress::parse("198.18.0.255")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("198.18.1.0")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("::ffff:c612:100")));
  auto host = Prefix::parse("2001:db8::5");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->familyLength(), 128);
  EXPECT_FALSE(Prefix::parse("198.18.0.0/33"));
  EXPECT_FALSE(Prefix::parse("198.18.0.0/x"));
  auto bad = Prefix::parse("10.0.0.0/-1");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("10.0.0.0/-1"), std::string::npos);
}

TEST(PrefixTest, ListParsingNamesTheBadElement) {
  auto ok = parsePrefixList("198.18.0.0/15, 2001:db8::/32,");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 2u);
  auto bad = parsePrefixList("198.18.0.0/15,banana");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("banana"), std::string::npos);
}

TEST(PrefixMapTest, LongestPrefixWins) {
  PrefixMap<int> m;
  m.insert(*Prefix::parse("0.0.0.0/0"), 0);
  m.insert(*Prefix::parse("198.18.0.0/15"), 15);
  m.insert(*Prefix::parse("198.18.0.128/25"), 25);
  m.insert(*Prefix::parse("2001:db8::/32"), 32);
  auto at = [&](const char* a) {
    const int* v = m.lookup(*IpAddress::parse(a));
    return v ? *v : -1;
  };
  EXPECT_EQ(at("198.18.0.200"), 25);
  EXPECT_EQ(at("198.18.0.100"), 15);
  EXPECT_EQ(at("198.19.255.255"), 15);
  EXPECT_EQ(at("8.8.8.8"), 0);
  EXPECT_EQ(at("2001:db8:1::1"), 32);
  EXPECT_EQ(at("2001:db9::1"), -1);  // an IPv4 /0 does not cover IPv6
  PrefixSet set({*Prefix::parse("10.0.0.0/8")});
  EXPECT_TRUE(set.contains(*IpAddress::parse("10.1.2.3")));
  EXPECT_FALSE(set.contains(*IpAddress::parse("11.1.2.3")));
}

TEST(BytesTest, LoadsAndStoresBothOrders) {
  std::uint8_t b[8] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0};
  EXPECT_EQ(loadBe16(b), 0x1234);
  EXPECT_EQ(loadLe16(b), 0x3412);
  EXPECT_EQ(loadBe32(b), 0x12345678u);
  EXPECT_EQ(loadLe32(b), 0x78563412u);
  EXPECT_EQ(loadBe64(b), 0x123456789abcdef0ull);
  std::uint8_t out[4];
  storeBe32(out, 0xdeadbeef);
  EXPECT_EQ(loadBe32(out), 0xdeadbeefu);
}

TEST(HyperLogLogTest, WithinOnePercentFromSmallToMillions) {
  for (std::uint64_t n : {10ull, 1000ull, 100000ull, 2000000ull}) {
    HyperLogLog h(16);
    for (std::uint64_t i = 0; i < n; ++i) h.add(mix64(i * 0x9E3779B97F4A7C15ULL + 17));
    EXPECT_NEAR(h.estimate(), static_cast<double>(n), std::max(1.0, 0.01 * static_cast<double>(n)))
        << "n=" << n;
  }
}

TEST(HyperLogLogTest, DuplicatesDoNotCountAndMergeUnites) {
  HyperLogLog a(14), b(14);
  for (int r = 0; r < 5; ++r)
    for (std::uint64_t i = 0; i < 5000; ++i) a.add(mix64(i));
  for (std::uint64_t i = 5000; i < 10000; ++i) b.add(mix64(i));
  EXPECT_NEAR(a.estimate(), 5000, 100);
  a.merge(b);
  EXPECT_NEAR(a.estimate(), 10000, 200);
}

TEST(IpAddressTest, RejectsEmbeddedNul) {
  using namespace std::string_view_literals;
  EXPECT_FALSE(IpAddress::parse("192.0.2.1\0junk"sv));
  EXPECT_FALSE(IpAddress::parse("2001:db8::1\0"sv));
  EXPECT_TRUE(IpAddress::parse("192.0.2.1"sv));
}

// Ordering is by the 16 bytes, first byte most significant: what sorted reports and ties
// between equally heavy reflectors rely on. Pairs that differ in one byte, each byte in turn,
// in both families, against a lexicographic compare of the bytes themselves.
TEST(IpAddressTest, OrdersByItsBytes) {
  std::vector<IpAddress> all;
  std::uint64_t x = 0x9E3779B97F4A7C15ULL;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 200; ++i) {
    std::array<std::uint8_t, 16> b{};
    for (auto& byte : b) byte = static_cast<std::uint8_t>(next());
    all.push_back(IpAddress::fromV6Bytes(b.data()));
    all.push_back(IpAddress::fromV4(static_cast<std::uint32_t>(next())));
    for (int k = 0; k < 16; ++k) {  // the same address but one byte, above and below
      auto c = b;
      c[static_cast<std::size_t>(k)] ^= 0x80;
      all.push_back(IpAddress::fromV6Bytes(c.data()));
    }
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = i; j < std::min(all.size(), i + 24); ++j) {
      const auto& a = all[i].bytes();
      const auto& b = all[j].bytes();
      const bool less = std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
      const bool greater = std::lexicographical_compare(b.begin(), b.end(), a.begin(), a.end());
      EXPECT_EQ(all[i] < all[j], less) << all[i].toString() << " " << all[j].toString();
      EXPECT_EQ(all[i] > all[j], greater) << all[i].toString() << " " << all[j].toString();
      EXPECT_EQ((all[i] <=> all[j]) == 0, !less && !greater);
    }
  }
}

}  // namespace
}  // namespace bw
