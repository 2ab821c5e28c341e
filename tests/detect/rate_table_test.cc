#include "detect/rate_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

namespace bw {
namespace {

constexpr std::int64_t kBucketNs = 100'000'000;

IpAddress host(std::uint32_t i) { return IpAddress::fromV4(0x0A000000u + i); }

RateSlot* claim(RateTable& t, const IpAddress& dst, std::int64_t ts_ns, bool* created = nullptr,
                bool* evicted = nullptr) {
  bool c = false, e = false;
  RateSlot* s = t.findOrCreate(RateTable::keyHash(dst, Vector::Dns, 53, false), dst, Vector::Dns,
                               53, false, ts_ns / kBucketNs, ts_ns, &c, &e);
  if (created) *created = c;
  if (evicted) *evicted = e;
  return s;
}

TEST(RateTable, FindsWhatItCreatedAndKeysDiffer) {
  RateTable t(1024, 10);
  bool created = false;
  RateSlot* a = claim(t, host(1), 1'000'000'000, &created);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(created);
  EXPECT_EQ(a->dst, host(1));
  EXPECT_EQ(claim(t, host(1), 1'000'000'000, &created), a);
  EXPECT_FALSE(created);
  EXPECT_EQ(t.find(host(1), Vector::Dns, 53, false), a);
  EXPECT_EQ(t.find(host(1), Vector::Dns, 53, true), nullptr);
  EXPECT_EQ(t.find(host(1), Vector::Ntp, 53, false), nullptr);
  EXPECT_EQ(t.find(host(2), Vector::Dns, 53, false), nullptr);
  EXPECT_TRUE(t.used(t.indexOf(a)));
}

// With every slot of a tiny table taken, a new key takes the least recently touched unpinned
// slot, and never a pinned one.
TEST(RateTable, EvictsLeastRecentlyActiveAndNeverPinned) {
  RateTable t(16, 10);  // one probe window covers the whole table
  std::vector<RateSlot*> slots;
  const std::int64_t t0 = 1'700'000'000'000'000'000;
  for (std::uint32_t i = 0; i < 16; ++i) {
    RateSlot* s = claim(t, host(i), t0);
    ASSERT_NE(s, nullptr);
    t.touch(*s, t0 + (i + 1) * 10'000'000);  // host 0 is the least recent
    slots.push_back(s);
  }
  t.setAttack(*slots[0], 0);  // the oldest is in an attack: the next oldest goes
  bool created = false, evicted = false;
  const std::int64_t now = t0 + 200'000'000;
  RateSlot* n = claim(t, host(100), now, &created, &evicted);
  ASSERT_NE(n, nullptr);
  EXPECT_TRUE(created);
  EXPECT_TRUE(evicted);  // host 1's window has not passed yet
  EXPECT_EQ(n, slots[1]);
  EXPECT_EQ(t.find(host(1), Vector::Dns, 53, false), nullptr);
  EXPECT_NE(t.find(host(0), Vector::Dns, 53, false), nullptr);

  // An attack or a source tracker pins a slot.
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (i % 2 == 0) {
      t.setAttack(*slots[i], 0);
    } else {
      t.setTracker(*slots[i], 0);
    }
  }
  EXPECT_EQ(claim(t, host(200), now), nullptr);  // all pinned: nothing to take
  t.setTracker(*slots[7], kNone);
  EXPECT_EQ(claim(t, host(200), now), slots[7]);
}

// holding() answers for an index prefetchSlot() gave earlier: the slot only while it still
// holds the key, never an unused slot, and nullptr once the slot has changed hands.
TEST(RateTable, HoldingIsFindForAnIndexGivenEarlier) {
  RateTable t(16, 10);  // one probe window covers the whole table
  const std::int64_t t0 = 1'700'000'000'000'000'000;
  RateSlot* a = claim(t, host(1), t0);
  ASSERT_NE(a, nullptr);
  const std::uint32_t hint = t.prefetchSlot(RateTable::keyHash(host(1), Vector::Dns, 53, false));
  ASSERT_EQ(hint, t.indexOf(a));
  EXPECT_EQ(t.holding(hint, host(1), Vector::Dns, 53, false), a);
  EXPECT_EQ(t.holding(hint, host(1), Vector::Dns, 53, true), nullptr);
  EXPECT_EQ(t.holding(hint, host(1), Vector::Ntp, 53, false), nullptr);
  EXPECT_EQ(t.holding(hint, host(1), Vector::Dns, 123, false), nullptr);
  EXPECT_EQ(t.holding(hint, host(2), Vector::Dns, 53, false), nullptr);
  EXPECT_EQ(t.holding(kNone, host(1), Vector::Dns, 53, false), nullptr);  // no hint
  for (std::uint32_t i = 0; i < t.capacity(); ++i) {
    if (!t.used(i)) {
      EXPECT_EQ(t.holding(i, IpAddress{}, Vector::None, 0, false), nullptr);
    }
  }
  // Fill the table and let host 1's slot, the least recent, go to another key.
  for (std::uint32_t i = 2; i < 17; ++i) t.touch(*claim(t, host(i), t0), t0 + 10'000'000);
  RateSlot* b = claim(t, host(100), t0 + 20'000'000);
  ASSERT_EQ(b, a);
  EXPECT_EQ(t.holding(hint, host(1), Vector::Dns, 53, false), nullptr);
  EXPECT_EQ(t.holding(hint, host(100), Vector::Dns, 53, false), b);
}

// findHinted() skips the look-up only while the hint still answers for the key: the slot
// found, or the key's absence as long as no slot has been claimed since.
TEST(RateTable, FindHintedTrustsAbsenceOnlyUntilTheNextClaim) {
  RateTable t(1024, 10);
  const std::int64_t t0 = 1'700'000'000'000'000'000;
  const auto hash = [](std::uint32_t i) {
    return RateTable::keyHash(host(i), Vector::Dns, 53, false);
  };
  RateSlot* a = claim(t, host(1), t0);
  const std::uint32_t claims = t.claims();
  const std::uint32_t found = t.prefetchSlot(hash(1));
  const std::uint32_t absent = t.prefetchSlot(hash(2));
  EXPECT_EQ(found, t.indexOf(a));
  EXPECT_EQ(absent, RateTable::kAbsent);
  EXPECT_EQ(t.holding(absent, host(2), Vector::Dns, 53, false), nullptr);
  EXPECT_EQ(t.findHinted(found, claims, hash(1), host(1), Vector::Dns, 53, false), a);
  EXPECT_EQ(t.findHinted(absent, claims, hash(2), host(2), Vector::Dns, 53, false), nullptr);
  // Host 2's key is claimed after the hint: the absence no longer holds.
  RateSlot* b = claim(t, host(2), t0);
  EXPECT_NE(t.claims(), claims);
  EXPECT_EQ(t.findHinted(absent, claims, hash(2), host(2), Vector::Dns, 53, false), b);
  // A stale or unknown hint falls back to the look-up.
  EXPECT_EQ(t.findHinted(kNone, claims, hash(1), host(1), Vector::Dns, 53, false), a);
  EXPECT_EQ(t.findHinted(t.indexOf(b), t.claims(), hash(1), host(1), Vector::Dns, 53, false), a);
  EXPECT_EQ(t.findHinted(found, t.claims(), hash(3), host(3), Vector::Dns, 53, false), nullptr);
}

// A slot created for requests only (never touched by a response) is the first to go.
TEST(RateTable, UntouchedSlotsGoFirst) {
  RateTable t(16, 10);
  const std::int64_t t0 = 1'700'000'000'000'000'000;
  std::vector<RateSlot*> slots;
  for (std::uint32_t i = 0; i < 16; ++i) {
    RateSlot* s = claim(t, host(i), t0);
    if (i != 9) t.touch(*s, t0);
    slots.push_back(s);
  }
  EXPECT_EQ(claim(t, host(300), t0 + 1'000'000), slots[9]);
}

TEST(RateTable, ReuseAfterTheWindowIsNotAnEviction) {
  RateTable t(16, 10);
  const std::int64_t t0 = 1'700'000'000'000'000'000;
  for (std::uint32_t i = 0; i < 16; ++i) t.touch(*claim(t, host(i), t0), t0);
  bool created = false, evicted = true;
  ASSERT_NE(claim(t, host(400), t0 + 11 * kBucketNs, &created, &evicted), nullptr);
  EXPECT_TRUE(created);
  EXPECT_FALSE(evicted);
}

TEST(RateTable, RingAdvancesAndClearsBuckets) {
  RateTable t(64, 4);
  RateSlot* s = claim(t, host(1), 0);
  ASSERT_NE(s, nullptr);
  for (int b = 0; b < 4; ++b) {
    std::uint64_t p = 0, by = 0;
    if (b > 0) t.advance(*s, b, &p, &by);
    RateBucket& k = t.bucketAt(*s);
    k.packets += 10;
    k.bytes += 100;
    s->win_packets += 10;
    s->win_bytes += 100;
  }
  EXPECT_EQ(s->win_packets, 40u);
  std::uint64_t p = 0, by = 0;
  ASSERT_TRUE(t.advance(*s, 5, &p, &by));  // buckets 0 and 1 leave the window
  EXPECT_EQ(p, 40u);
  EXPECT_EQ(by, 400u);
  EXPECT_EQ(s->win_packets, 20u);
  EXPECT_EQ(s->win_bytes, 200u);
  EXPECT_EQ(t.bucketAt(*s).packets, 0u);
  ASSERT_TRUE(t.advance(*s, 100, &p, &by));  // a long silence empties everything
  EXPECT_EQ(s->win_packets, 0u);
  for (int k = 0; k < t.windowBuckets(); ++k) EXPECT_EQ(t.ring(*s)[k].packets, 0u);
  EXPECT_FALSE(t.advance(*s, 99, &p, &by));  // never backwards
}

// Buckets before 1970 (negative indices) still map inside the ring.
TEST(RateTable, NegativeBucketsStayInsideTheRing) {
  RateTable t(64, 10);
  std::set<std::size_t> seen;
  for (std::int64_t b = -25; b < 25; ++b) {
    const std::size_t i = t.ringIndex(b);
    EXPECT_LT(i, 10u);
    seen.insert(i);
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(t.ringIndex(-1), 9u);
  EXPECT_EQ(t.ringIndex(-10), 0u);
}

// A claimed slot starts empty even where an evicted one had counts.
TEST(RateTable, ClaimedSlotStartsEmpty) {
  RateTable t(16, 10);
  const std::int64_t t0 = 1'700'000'000'000'000'000;
  std::vector<RateSlot*> slots;
  for (std::uint32_t i = 0; i < 16; ++i) {
    RateSlot* s = claim(t, host(i), t0);
    t.touch(*s, t0 + i);
    t.bucketAt(*s).packets = 77;
    s->win_packets = 77;
    t.early(*s).packets[0] = 5;
    s->early_count = 1;
    slots.push_back(s);
  }
  RateSlot* n = claim(t, host(500), t0 + 1);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->win_packets, 0u);
  EXPECT_EQ(n->early_count, 0u);
  EXPECT_EQ(n->tracker, kNone);
  EXPECT_EQ(n->attack, kNone);
  for (int k = 0; k < t.windowBuckets(); ++k) EXPECT_EQ(t.ring(*n)[k].packets, 0u);
}

TEST(RateTable, MemoryIsFixedByCapacity) {
  RateTable t(1000, 10);
  EXPECT_EQ(t.capacity(), 1024u);
  EXPECT_EQ(t.memoryBytes(),
            1024u * (sizeof(RateSlot) + 8 + sizeof(EarlySources) + 10 * sizeof(RateBucket)));
  EXPECT_EQ(sizeof(RateSlot), 192u);  // three cache lines
}

}  // namespace
}  // namespace bw
