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

// Runs to one destination (a flood's packets) between new destinations that make the table
// grow: every add still lands on its own destination, records included.
TEST(TrafficTotals, RunsToOneDestinationAcrossGrowthStayExact) {
  TrafficTotals totals;
  struct Want {
    std::uint64_t packets = 0, bytes = 0, records = 0;
  };
  std::map<std::uint32_t, Want> expected;
  std::mt19937 rng(11);
  std::uint32_t fresh = 0x0A000000;
  for (int run = 0; run < 20000; ++run) {
    // Half the runs go to a new destination (growth), half to one seen before.
    const std::uint32_t dst = run % 2 == 0 ? fresh++ : 0x0A000000 + rng() % (fresh - 0x0A000000);
    for (int i = 0, n = 1 + static_cast<int>(rng() % 8); i < n; ++i) {
      totals.add(IpAddress::fromV4(dst), 2, 300);
      Want& w = expected[dst];
      w.packets += 2;
      w.bytes += 300;
      ++w.records;
    }
  }
  std::vector<DestinationTotal> all = totals.top(1u << 20);
  ASSERT_EQ(all.size(), expected.size());
  for (const DestinationTotal& d : all) {
    const Want& w = expected.at(d.ip.v4());
    EXPECT_EQ(d.packets, w.packets);
    EXPECT_EQ(d.bytes, w.bytes);
    EXPECT_EQ(d.records, w.records);
  }
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
