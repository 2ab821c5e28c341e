#include "detect/source_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

namespace bw {
namespace {

constexpr std::size_t kBigBudget = std::size_t{1} << 32;
constexpr std::size_t kNoLimit = std::size_t{1} << 30;

IpAddress v4(std::uint32_t a) { return IpAddress::fromV4(a); }
IpAddress v6(std::uint64_t hi, std::uint64_t lo) {
  std::uint8_t b[16];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
  }
  return IpAddress::fromV6Bytes(b);
}

struct Counts {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};
using Reference = std::unordered_map<IpAddress, Counts, IpAddressHash>;

// The reference, ranked as top() ranks: bytes descending, ties by address.
std::vector<ReflectorStat> ranked(const Reference& ref) {
  std::vector<ReflectorStat> out;
  for (const auto& [ip, c] : ref) out.push_back(ReflectorStat{ip, c.packets, c.bytes});
  std::sort(out.begin(), out.end(), [](const ReflectorStat& a, const ReflectorStat& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.ip < b.ip;
  });
  return out;
}

void expectSame(const std::vector<ReflectorStat>& got, const std::vector<ReflectorStat>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].ip, want[i].ip) << "rank " << i;
    ASSERT_EQ(got[i].packets, want[i].packets) << got[i].ip.toString();
    ASSERT_EQ(got[i].bytes, want[i].bytes) << got[i].ip.toString();
  }
}

// Feeds one source to both the tracker and the reference; every other call takes the
// hash-taking path with a prefetch first, as the engine does.
struct Feeder {
  SourceTracker& tracker;
  Reference& ref;
  std::uint64_t calls = 0;
  void add(const IpAddress& ip, std::uint32_t packets, std::uint64_t bytes) {
    if (++calls % 2 == 0) {
      tracker.prefetch(ip, ip.hash());
      tracker.add(ip, ip.hash(), packets, bytes);
    } else {
      tracker.add(ip, packets, bytes);
    }
    ref[ip].packets += packets;
    ref[ip].bytes += bytes;
  }
};

TEST(SourceTracker, CountsIpv4SourcesExactly) {
  ExactBudget budget(kBigBudget);
  SourceTracker t(&budget, kNoLimit);
  t.add(v4(0xC6336401), 1, 100);
  t.add(v4(0xC6336402), 3, 900);
  t.add(v4(0xC6336401), 2, 250);
  t.add(v4(0), 1, 60);  // 0.0.0.0 is a source like any other, not an empty slot
  t.add(v4(0), 1, 60);
  EXPECT_FALSE(t.estimated());
  EXPECT_EQ(t.distinct(), 3u);
  std::vector<ReflectorStat> top = t.top(10);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].ip, v4(0xC6336402));
  EXPECT_EQ(top[0].packets, 3u);
  EXPECT_EQ(top[0].bytes, 900u);
  EXPECT_EQ(top[1].ip, v4(0xC6336401));
  EXPECT_EQ(top[1].packets, 3u);
  EXPECT_EQ(top[1].bytes, 350u);
  EXPECT_EQ(top[2].ip, v4(0));
  EXPECT_EQ(top[2].packets, 2u);
  EXPECT_EQ(top[2].bytes, 120u);
  EXPECT_EQ(t.top(1).size(), 1u);
}

TEST(SourceTracker, CountsIpv6AndMixedSourcesExactly) {
  ExactBudget budget(kBigBudget);
  SourceTracker t(&budget, kNoLimit);
  Reference ref;
  Feeder f{t, ref};
  f.add(v6(0x20010db800000000, 1), 1, 1500);
  f.add(v6(0, 0), 2, 80);  // :: as well
  f.add(v4(0xC0000201), 1, 1500);
  f.add(v6(0x20010db800000000, 1), 4, 100);
  f.add(v6(0, 0xffff00000000 | 0xC0000201), 1, 10);  // ::ffff:192.0.2.1, the IPv4 source
  f.add(v6(0, 1), 1, 70);                            // ::1, not an IPv4 address
  EXPECT_EQ(t.distinct(), 4u);
  EXPECT_EQ(ref.size(), 4u);
  expectSame(t.top(100), ranked(ref));
}

TEST(SourceTracker, TiesAreRankedByAddress) {
  ExactBudget budget(kBigBudget);
  SourceTracker t(&budget, kNoLimit);
  t.add(v4(30), 1, 500);
  t.add(v4(10), 1, 500);
  t.add(v4(20), 1, 500);
  std::vector<ReflectorStat> top = t.top(2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].ip, v4(10));
  EXPECT_EQ(top[1].ip, v4(20));
}

TEST(SourceTracker, StaysExactAcrossManyDoublings) {
  ExactBudget budget(kBigBudget);
  SourceTracker t(&budget, kNoLimit);
  Reference ref;
  Feeder f{t, ref};
  for (std::uint32_t i = 0; i < 200'000; ++i) {
    f.add(v4(i * 0x9E3779B1u), 1, 40 + i % 1000);
    if (i % 8 == 0) f.add(v6(0x20010db8ull << 32, i), 2, 1200);
    if (i % 3 == 0) f.add(v4((i / 2) * 0x9E3779B1u), 1, 7);  // one seen before
  }
  EXPECT_FALSE(t.estimated());
  EXPECT_EQ(t.distinct(), ref.size());
  expectSame(t.top(ref.size()), ranked(ref));
}

TEST(SourceTracker, MatchesAnUnorderedMapOnRandomStreams) {
  for (std::uint32_t seed = 1; seed <= 5; ++seed) {
    std::mt19937_64 rng(seed);
    ExactBudget budget(kBigBudget);
    SourceTracker t(&budget, kNoLimit);
    Reference ref;
    Feeder f{t, ref};
    const std::uint32_t sources = 1000u << seed;  // 2,000 to 32,000
    for (int i = 0; i < 300'000; ++i) {
      // Skewed, as reflectors of unequal bandwidth are: three packets in four come from 64
      // hot sources.
      const std::uint64_t r = rng();
      const bool hot = (r >> 40) % 4 != 0;
      const auto k = static_cast<std::uint32_t>(hot ? (r >> 32) % 64 : r % sources);
      const IpAddress ip = (k % 5 == 0) ? v6(0x2001067c00000000 + seed, k) : v4(0x0A000000 + k);
      f.add(ip, 1 + static_cast<std::uint32_t>(rng() % 3), 28 + rng() % 1472);
    }
    ASSERT_FALSE(t.estimated());
    EXPECT_EQ(t.distinct(), ref.size());
    expectSame(t.top(ref.size() + 10), ranked(ref));
    std::vector<ReflectorStat> want = ranked(ref);
    want.resize(25);
    expectSame(t.top(25), want);
  }
}

TEST(SourceTracker, BudgetIsChargedForWhatTheTablesHoldAndReturnsToZero) {
  ExactBudget budget(kBigBudget);
  {
    std::vector<std::unique_ptr<SourceTracker>> trackers;
    for (int i = 0; i < 6; ++i)
      trackers.push_back(std::make_unique<SourceTracker>(&budget, i == 5 ? 1000 : kNoLimit));
    EXPECT_GT(budget.used(), 0u);
    for (std::uint32_t i = 0; i < 50'000; ++i) {
      trackers[0]->add(v4(i), 1, 64);                    // IPv4 only
      if (i < 5'000) trackers[1]->add(v6(1, i), 1, 64);  // IPv6 only
      if (i < 20'000) trackers[2]->add(v4(i), 1, 64);    // both
      if (i < 20'000) trackers[2]->add(v6(2, i), 1, 64);
      if (i < 10) trackers[3]->add(v4(i), 1, 64);  // small
      trackers[5]->add(v4(i), 1, 64);              // switches to the sketch
    }
    // At least 16 bytes per IPv4 source and 32 per IPv6 source are held and charged, and
    // no more than four times that (a doubling table is at least a quarter full).
    const std::size_t entries = 16 * (50'000 + 20'000 + 10) + 32 * (5'000 + 20'000);
    EXPECT_GE(budget.used(), entries);
    EXPECT_LE(budget.used(), 4 * entries + 6 * 4096);
    EXPECT_TRUE(trackers[5]->estimated());
    const std::size_t all = budget.used();
    trackers[5].reset();  // its frozen table: 1,000 sources
    EXPECT_LE(budget.used(), all - 16 * 1'000);
    EXPECT_GE(budget.used(), all - 4 * 16 * 1'000);
    trackers[0].reset();
    EXPECT_LE(budget.used(), all - 16 * 50'000);
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(SourceTracker, ExactLimitFreezesTheTablesAndCountsNewerSourcesInTheSketch) {
  ExactBudget budget(kBigBudget);
  SourceTracker t(&budget, 200);
  Reference ref;
  Feeder f{t, ref};
  for (std::uint32_t i = 1; i <= 200; ++i) {
    const IpAddress ip = i % 2 ? v4(0xC6336400 + i) : v6(0x20010db8ull << 32, i);
    f.add(ip, i, std::uint64_t{i} * 1000);
  }
  EXPECT_FALSE(t.estimated());
  EXPECT_EQ(t.distinct(), 200u);
  const std::size_t exact_bytes = budget.used();
  EXPECT_GT(exact_bytes, 0u);

  f.add(v4(0x08080808), 1, 1);  // the 201st source
  EXPECT_TRUE(t.estimated());
  EXPECT_NEAR(static_cast<double>(t.distinct()), 201.0, 2.0);
  // The tables stay, frozen, and a filter of one bit per 16 of the IPv4 table joins them.
  const std::size_t frozen_bytes = budget.used();
  EXPECT_GT(frozen_bytes, exact_bytes);
  EXPECT_LE(frozen_bytes, exact_bytes + exact_bytes / 16);
  // Known sources of both families still count exactly.
  f.add(v4(0xC6336401), 5, 5);
  f.add(v6(0x20010db8ull << 32, 2), 5, 5);
  std::vector<ReflectorStat> want = ranked(ref);
  expectSame(t.top(want.size() + 5), want);
  EXPECT_EQ(budget.used(), frozen_bytes);
}

// Once frozen, the tables rank the sources; the summary's entries count only what their own
// source sent, so a flood of new sources that each replace the lightest entry never makes one
// of them look heavy.
TEST(SourceTracker, SummaryEntriesReportWhatTheirSourceSentAtLeast) {
  ExactBudget budget(kBigBudget);
  SourceTracker t(&budget, 1000);
  Reference ref;
  Feeder f{t, ref};
  // 100,000 reflectors of 20 packets each, round robin (the first 1,000 fill the table).
  for (int round = 0; round < 20; ++round) {
    for (std::uint32_t r = 0; r < 100'000; ++r) f.add(v4(0x0A000000 + r * 7), 1, 1000);
  }
  ASSERT_TRUE(t.estimated());
  EXPECT_NEAR(static_cast<double>(t.distinct()), 100'000.0, 1'000.0);
  const std::vector<ReflectorStat> top = t.top(10);
  ASSERT_EQ(top.size(), 10u);
  for (const ReflectorStat& s : top) {
    EXPECT_LE(s.packets, ref[s.ip].packets) << s.ip.toString();
    EXPECT_LE(s.bytes, ref[s.ip].bytes) << s.ip.toString();
    EXPECT_EQ(s.packets, 20u) << s.ip.toString();  // the frozen table's exact counts
  }
  // Every reported count is a lower bound, summary entries included.
  for (const ReflectorStat& s : t.top(2000)) {
    EXPECT_LE(s.packets, ref[s.ip].packets) << s.ip.toString();
    EXPECT_LE(s.bytes, ref[s.ip].bytes) << s.ip.toString();
  }
}

TEST(SourceTracker, BudgetExhaustionFreezesTheTables) {
  // Room for the first table and one doubling of it: the second doubling is refused.
  ExactBudget budget(4096);
  SourceTracker t(&budget, kNoLimit);
  Reference ref;
  Feeder f{t, ref};
  std::uint32_t added = 0;
  while (!t.estimated() && added < 10'000) {
    ++added;
    f.add(v4(0x0A000000 + added), 1, 100 + added);
  }
  ASSERT_TRUE(t.estimated());
  EXPECT_LT(added, 256u);
  EXPECT_GT(budget.used(), 0u);
  // The newest source went to the summary, where it is exact (nothing inherited yet); every
  // other one is in the frozen table.
  std::vector<ReflectorStat> want = ranked(ref);
  expectSame(t.top(want.size()), want);

  // No budget at all: the sketch from the first packet.
  ExactBudget none(0);
  SourceTracker s(&none, kNoLimit);
  s.add(v4(1), 1, 100);
  EXPECT_TRUE(s.estimated());
  EXPECT_EQ(s.distinct(), 1u);
  ASSERT_EQ(s.top(5).size(), 1u);
  EXPECT_EQ(s.top(5)[0].bytes, 100u);
}

TEST(SourceTracker, SpaceSavingFindsEverySourceAboveOneSixtyFourthWithBoundedError) {
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    std::mt19937_64 rng(seed);
    ExactBudget budget(kBigBudget);
    SourceTracker t(&budget, 16);
    Reference ref;
    Feeder f{t, ref};
    std::uint64_t total = 0;
    // Zipf-like: source k gets weight ~ 1/k, over 100,000 sources, mixed families.
    std::vector<double> cdf;
    double sum = 0;
    for (int k = 1; k <= 100'000; ++k) cdf.push_back(sum += 1.0 / k);
    std::uniform_real_distribution<double> u(0, sum);
    for (int i = 0; i < 400'000; ++i) {
      const auto k = static_cast<std::uint32_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) -
                                                cdf.begin());
      const IpAddress ip = k % 3 == 0 ? v6(0x20010db8ull << 32, k) : v4(0xC0000000 + k * 7);
      const std::uint64_t bytes = 40 + rng() % 1460;
      f.add(ip, 1, bytes);
      total += bytes;
    }
    ASSERT_TRUE(t.estimated());
    // Everything the tracker can name: the 16 frozen sources and the summary's entries.
    const std::vector<ReflectorStat> all = t.top(1000);
    ASSERT_LE(all.size(), 16 + SourceTracker::kTopCapacity);
    int heavy = 0;
    for (const auto& [source, c] : ref) {
      if (c.bytes * SourceTracker::kTopCapacity <= total) continue;
      const IpAddress ip = source;
      ++heavy;
      auto it =
          std::find_if(all.begin(), all.end(), [&](const ReflectorStat& s) { return s.ip == ip; });
      ASSERT_NE(it, all.end()) << ip.toString() << " with " << c.bytes << " of " << total;
      EXPECT_LE(it->bytes, c.bytes);  // (not packets: the summary ranks by bytes alone)
      EXPECT_LE(c.bytes - it->bytes, total / SourceTracker::kTopCapacity);
    }
    EXPECT_GE(heavy, 3);  // the guarantee was exercised
    // Every entry counts at most its source's true bytes, and the heaviest come first.
    for (const ReflectorStat& s : all) EXPECT_LE(s.bytes, ref[s.ip].bytes);
    const std::vector<ReflectorStat> want = ranked(ref);
    EXPECT_EQ(all.front().ip, want.front().ip);
  }
}

TEST(SourceTracker, SpoofedMillionSourcesKeepTheFiveHeavyOnesOnTop) {
  ExactBudget budget(64u << 20);
  SourceTracker t(&budget, 1u << 16);
  const IpAddress heavy[5] = {v4(0xC6336401), v4(0xC6336402), v4(0xCB007101),
                              v6(0x20010db8ull << 32, 0x53), v4(0x08080808)};
  std::uint32_t spoofed = 0;
  for (std::uint32_t i = 0; spoofed < 1'000'000; ++i) {
    if (i % 100 == 0) {
      t.add(heavy[(i / 100) % 5], 1, 1400);
    } else {
      t.add(v4(++spoofed * 0x9E3779B1u), 1, 64);
    }
  }
  ASSERT_TRUE(t.estimated());
  EXPECT_NEAR(static_cast<double>(t.distinct()), 1'000'005.0, 20'000.0);
  std::vector<ReflectorStat> top = t.top(5);
  ASSERT_EQ(top.size(), 5u);
  for (const IpAddress& h : heavy) {
    EXPECT_TRUE(std::any_of(top.begin(), top.end(), [&](const ReflectorStat& s) {
      return s.ip == h;
    })) << h.toString();
  }
  // Each heavy source sent about 2,020 packets of 1,400 bytes, all seen before the tables
  // froze at the 65,536th source: their counts are exact.
  for (const ReflectorStat& s : top) {
    EXPECT_GE(s.bytes, 2'020u * 1400);
    EXPECT_LE(s.bytes, 2'021u * 1400);
  }
}

// A heavy reflector that joins after the tables froze is found by the summary, with at
// least what it sent less what the summary's lightest entry held when it came in.
TEST(SourceTracker, AHeavySourceAfterTheFreezeIsFoundByTheSummary) {
  ExactBudget budget(kBigBudget);
  SourceTracker t(&budget, 1u << 12);
  const IpAddress late = v4(0xC6336499);
  std::uint32_t spoofed = 0;
  for (std::uint32_t i = 0; i < 400'000; ++i) {
    if (i > 100'000 && i % 50 == 0) {
      t.add(late, 1, 1400);
    } else {
      t.add(v4(++spoofed * 0x9E3779B1u), 1, 64);
    }
  }
  ASSERT_TRUE(t.estimated());
  const std::vector<ReflectorStat> top = t.top(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].ip, late);
  EXPECT_LE(top[0].packets, 5'999u);  // (300,000 / 50, less the first at i = 100,000)
  EXPECT_GE(top[0].packets, 5'999u - 10);
}

TEST(SourceTracker, PacketCountsSaturateInsteadOfWrapping) {
  ExactBudget budget(kBigBudget);
  SourceTracker t(&budget, kNoLimit);
  t.add(v4(1), UINT32_MAX - 1, 100);
  t.add(v4(1), 5, 100);
  t.add(v4(1), UINT32_MAX, 100);
  t.add(v6(1, 1), UINT32_MAX, 100);
  t.add(v6(1, 1), 1, 100);
  std::vector<ReflectorStat> top = t.top(2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].ip, v4(1));
  EXPECT_EQ(top[0].packets, UINT32_MAX);
  EXPECT_EQ(top[0].bytes, 300u);
  EXPECT_EQ(top[1].packets, UINT32_MAX);
  EXPECT_EQ(top[1].bytes, 200u);
}

TEST(SourceTracker, NewSourceWithNoPacketsCountsAsOne) {
  ExactBudget budget(kBigBudget);
  SourceTracker t(&budget, kNoLimit);
  t.add(v4(9), 0, 100);
  t.add(v4(9), 0, 100);
  t.add(v6(9, 9), 0, 10);
  EXPECT_EQ(t.distinct(), 2u);
  std::vector<ReflectorStat> top = t.top(5);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].packets, 1u);
  EXPECT_EQ(top[0].bytes, 200u);
  EXPECT_EQ(top[1].packets, 1u);
}

}  // namespace
}  // namespace bw
