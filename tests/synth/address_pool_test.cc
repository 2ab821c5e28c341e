#include "synth/address_pool.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace bw::synth {
namespace {

TEST(IndexPermutation, IsABijection) {
  for (std::uint64_t n : {1ull, 2ull, 3ull, 7ull, 254ull, 256ull, 1000ull, 65537ull}) {
    IndexPermutation p(n, 12345 + n);
    std::vector<bool> seen(n, false);
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t y = p(i);
      ASSERT_LT(y, n);
      ASSERT_FALSE(seen[y]) << "n=" << n << " collision at " << i;
      seen[y] = true;
    }
  }
}

TEST(IndexPermutation, KeyChangesTheOrder) {
  IndexPermutation a(1000, 1), b(1000, 2);
  int same = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) same += a(i) == b(i);
  EXPECT_LT(same, 20);
}

TEST(AddressPool, PublicV4AvoidsReservedAndOurNetworks) {
  std::vector<Prefix> ours = {*Prefix::parse("198.18.0.0/24"), *Prefix::parse("45.0.0.0/16")};
  AddressPool pool = AddressPool::publicV4(99, ours);
  EXPECT_GT(pool.capacity(), 3'000'000'000ull);
  std::set<IpAddress> seen;
  for (std::uint64_t i = 0; i < 200000; ++i) {
    const IpAddress a = pool.at(i * 7919 % pool.capacity());
    ASSERT_TRUE(a.isV4());
    const std::uint32_t first = a.v4() >> 24;
    for (std::uint32_t bad : {0u, 10u, 100u, 127u, 169u, 172u, 192u, 198u, 203u, 45u}) {
      ASSERT_NE(first, bad) << a.toString();
    }
    ASSERT_LT(first, 224u);
    seen.insert(a);
  }
  EXPECT_EQ(seen.size(), 200000u);  // distinct indices, distinct addresses
}

TEST(AddressPool, PrefixPoolSkipsNetworkAndBroadcast) {
  AddressPool pool = AddressPool::inPrefix(*Prefix::parse("198.18.0.0/24"), 5);
  ASSERT_EQ(pool.capacity(), 254u);
  std::set<std::uint32_t> seen;
  for (std::uint64_t i = 0; i < 254; ++i) seen.insert(pool.at(i).v4());
  EXPECT_EQ(seen.size(), 254u);
  EXPECT_EQ(*seen.begin(), 0xc6120001u);
  EXPECT_EQ(*seen.rbegin(), 0xc61200feu);

  AddressPool all = AddressPool::inPrefix(*Prefix::parse("198.18.0.0/24"), 5, false);
  EXPECT_EQ(all.capacity(), 256u);
  AddressPool host = AddressPool::inPrefix(*Prefix::parse("198.18.0.7/32"), 5);
  ASSERT_EQ(host.capacity(), 1u);
  EXPECT_EQ(host.at(0).toString(), "198.18.0.7");
}

TEST(AddressPool, V6PoolsAreDistinctAndInside) {
  const Prefix net = *Prefix::parse("2001:db8:18::/64");
  AddressPool pool = AddressPool::inPrefix(net, 3);
  std::set<IpAddress> seen;
  for (std::uint64_t i = 0; i < 10000; ++i) {
    const IpAddress a = pool.at(i);
    ASSERT_TRUE(net.contains(a));
    seen.insert(a);
  }
  EXPECT_EQ(seen.size(), 10000u);

  AddressPool pub = AddressPool::publicV6(8);
  std::set<IpAddress> pubs;
  for (std::uint64_t i = 0; i < 10000; ++i) {
    const IpAddress a = pub.at(i);
    ASSERT_FALSE(a.isV4());
    ASSERT_EQ(a.bytes()[0] >> 4, 2);  // global unicast 2000::/3
    pubs.insert(a);
  }
  EXPECT_EQ(pubs.size(), 10000u);
}

TEST(AddressPool, AddressInPrefixWrapsInsideIt) {
  const Prefix p = *Prefix::parse("198.18.0.0/24");
  EXPECT_EQ(addressInPrefix(p, 10).toString(), "198.18.0.10");
  EXPECT_EQ(addressInPrefix(p, 256 + 5).toString(), "198.18.0.5");
  EXPECT_EQ(addressInPrefix(*Prefix::parse("2001:db8::/64"), 0x10).toString(), "2001:db8::10");
}

}  // namespace
}  // namespace bw::synth
