#include "detect/traffic_totals.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace bw {
namespace {

TEST(TrafficTotals, MatchesAnExactMapAndRanksByBytes) {
  TrafficTotals totals;
  std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> expected;
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    std::uint32_t dst = 0xC6120000 + rng() % 5000;
    std::uint64_t packets = 1 + rng() % 10;
    std::uint64_t bytes = packets * (40 + rng() % 1400);
    totals.add(IpAddress::fromV4(dst), packets, bytes);
    expected[dst].first += packets;
    expected[dst].second += bytes;
  }
  EXPECT_EQ(totals.destinations(), expected.size());
  std::vector<DestinationTotal> all = totals.top(100000);
  ASSERT_EQ(all.size(), expected.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    auto it = expected.find(all[i].ip.v4());
    ASSERT_NE(it, expected.end());
    EXPECT_EQ(all[i].packets, it->second.first);
    EXPECT_EQ(all[i].bytes, it->second.second);
    if (i > 0) {
      EXPECT_GE(all[i - 1].bytes, all[i].bytes);
    }
  }
  EXPECT_EQ(totals.top(3).size(), 3u);
  EXPECT_EQ(totals.top(3)[0].ip, all[0].ip);
}

TEST(TrafficTotals, BoundedWhateverTheNumberOfDestinations) {
  TrafficTotals totals(1000);
  for (std::uint32_t i = 0; i < 100000; ++i) totals.add(IpAddress::fromV4(i), 1, 100);
  EXPECT_LE(totals.destinations(), 1000u);
  EXPECT_EQ(totals.destinations() + totals.untrackedPackets(), 100000u);
  EXPECT_EQ(totals.untrackedBytes(), totals.untrackedPackets() * 100);
}

}  // namespace
}  // namespace bw
