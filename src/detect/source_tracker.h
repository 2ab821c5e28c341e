// SourceTracker: who sends an attack (or a candidate) its traffic.
//
// Exact while it can be: two open-addressing tables (linear probing, power-of-two sizes, load
// <= 1/2) of source -> {packets, bytes}, one of 16-byte entries for IPv4 sources and one of
// 32-byte entries for IPv6 sources (created on the first IPv6 source), so the tables of a few
// thousand reflectors stay within L2. Both grow by doubling while the number of distinct
// sources stays within `exact_limit` and their bytes within a budget shared by all trackers
// (ExactBudget, charged exactly what the tables hold). Past either bound the tables freeze:
// the sources already in them keep exact counts, and every newer source goes to a
// HyperLogLog (p = 16, 0.4 % standard error; it also holds the frozen sources) for the
// distinct count and to a Space-Saving summary of the 64 heaviest newer sources by bytes
// (Metwally et al. 2005). The summary finds a known source through a 256-slot index and its
// lightest entry through a min-heap, so a spoofed flood costs O(log 64) per packet. Each
// summary entry remembers the counts it inherited, so what top() reports is what the source
// sent at least: under millions of spoofed sources of a few packets each the summary's counts
// are nearly all inherited, and the ranking comes from the frozen exact counts instead. (Before,
// the tables were dropped for the summary alone, whose inherited counts made every one of
// 100,000 reflectors of 20 packets look like one of 5,766.) Memory per tracker is bounded,
// and the total of the exact tables across trackers is bounded by the budget, whatever the
// number of spoofed sources.
//
// Exact packet counts saturate at 2^32 - 1 per source; a new source added with 0 packets is
// recorded with 1 (0 marks an empty slot).
// Not thread-safe.
#pragma once

#include <cassert>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/hyperloglog.h"
#include "core/ip_address.h"
#include "core/saturate.h"
#include "detect/attack.h"

namespace bw {

// Bytes of exact source tables all trackers may hold together.
class ExactBudget {
 public:
  explicit ExactBudget(std::size_t bytes) : limit_(bytes) {}
  bool take(std::size_t n) noexcept {
    if (n > limit_ - used_) return false;
    used_ += n;
    return true;
  }
  // REQUIRES: `n` bytes were taken and not yet given back.
  void give(std::size_t n) noexcept {
    assert(n <= used_);
    used_ -= n;
  }
  std::size_t used() const noexcept { return used_; }

 private:
  std::size_t limit_;
  std::size_t used_ = 0;
};

class SourceTracker {
 public:
  static constexpr std::size_t kTopCapacity = 64;

  SourceTracker(ExactBudget* budget, std::size_t exact_limit);
  ~SourceTracker();
  SourceTracker(const SourceTracker&) = delete;
  SourceTracker& operator=(const SourceTracker&) = delete;

  // `packets` packets of `bytes` IP bytes in all (more than one for sampled or flow data).
  void add(const IpAddress& src, std::uint32_t packets, std::uint64_t bytes) noexcept {
    add(src, src.hash(), packets, bytes);
  }
  // The same, for a caller that already has the source's hash.
  // REQUIRES: hash == src.hash().
  inline void add(const IpAddress& src, std::uint64_t hash, std::uint32_t packets,
                  std::uint64_t bytes) noexcept;
  // Starts loading the cache line add(src, hash, ...) will probe first, so a caller can
  // overlap the misses of several packets (the summary is small and stays cached). The engine
  // no longer calls it: with maps of a few thousand sources it made no difference (see
  // docs/performance.md); source_tracker_bench measures where it does.
  // REQUIRES: hash == src.hash().
  inline void prefetch(const IpAddress& src, std::uint64_t hash) const noexcept;

  std::uint64_t distinct() const noexcept;
  bool estimated() const noexcept { return sketch_ != nullptr; }
  // The `n` heaviest sources by bytes, descending (ties by address): exact counts for the
  // sources of the exact tables, and what a summary entry's source sent at least (its counts
  // less those it inherited) for the others, which are left out when that is nothing.
  std::vector<ReflectorStat> top(std::size_t n) const;

 private:
  struct alignas(16) Entry4 {
    std::uint32_t addr;     // host byte order
    std::uint32_t packets;  // 0 marks an empty slot
    std::uint64_t bytes;
  };
  struct alignas(32) Entry6 {
    IpAddress ip;
    std::uint32_t packets;  // 0 marks an empty slot
    std::uint64_t bytes;
  };
  static_assert(sizeof(Entry4) == 16 && sizeof(Entry6) == 32);  // 4 and 2 to a cache line
  static std::uint32_t keyOf(const Entry4& e) noexcept { return e.addr; }
  static const IpAddress& keyOf(const Entry6& e) noexcept { return e.ip; }
  static std::uint64_t hashOf(const Entry4& e) noexcept { return IpAddress::fromV4(e.addr).hash(); }
  static std::uint64_t hashOf(const Entry6& e) noexcept { return e.ip.hash(); }

  template <typename Entry>
  struct Table {
    explicit Table(std::size_t initial_slots) : initial(initial_slots) {}
    const std::size_t initial;  // slots of the first table
    std::vector<Entry> slots;   // power-of-two size, or empty (none yet, or sketch mode)
    std::size_t mask = 0;       // slots.size() - 1
    std::size_t count = 0;      // full slots
    std::size_t bytes() const noexcept { return slots.size() * sizeof(Entry); }
  };
  struct Sketch;

  void addSlow(const IpAddress& src, std::uint64_t hash, std::uint32_t packets,
               std::uint64_t bytes) noexcept;
  template <typename Entry, typename Key>
  bool addExact(Table<Entry>& table, const Key& key, std::uint64_t hash, std::uint32_t packets,
                std::uint64_t bytes) noexcept;
  template <typename Entry, typename Key>
  static inline std::size_t probe(const Table<Entry>& table, const Key& key,
                                  std::uint64_t hash) noexcept;
  // Adds to `key`'s entry if the table has one; never makes one.
  template <typename Entry, typename Key>
  inline bool addKnown(Table<Entry>& table, const Key& key, std::uint64_t hash,
                       std::uint32_t packets, std::uint64_t bytes) noexcept;
  template <typename Entry>
  bool grow(Table<Entry>& table) noexcept;
  template <typename Entry>
  void release(Table<Entry>& table) noexcept;
  void switchToSketch() noexcept;
  void sketchAdd(const IpAddress& src, std::uint64_t hash, std::uint32_t packets,
                 std::uint64_t bytes) noexcept;

  Table<Entry4> v4_{64};  // 1 KiB; empty exactly in sketch mode
  Table<Entry6> v6_{16};  // 512 bytes, from the first IPv6 source: most have none; frozen in
                          // sketch mode
  // In sketch mode, the IPv4 table frozen: apart from v4_, so that the inline exact path of
  // add() pays nothing for it.
  Table<Entry4> frozen4_{0};
  ExactBudget* budget_;
  std::size_t exact_limit_;
  std::unique_ptr<Sketch> sketch_;
  // Once frozen: one bit per 16 bits of frozen4_, set for its sources, so that most
  // new sources of a spoofed flood skip the probe of a table too large for the cache (a miss
  // for nearly every packet). Empty when the budget had no room for it.
  std::vector<std::uint64_t> frozen_filter_;
  std::uint64_t filter_mask_ = 0;  // bits - 1
  // The table's slot comes from the hash's low bits; the filter's bit from its high ones.
  std::uint64_t filterBit(std::uint64_t hash) const noexcept { return (hash >> 32) & filter_mask_; }
  bool mayBeFrozen(std::uint64_t hash) const noexcept {
    if (frozen_filter_.empty()) return !frozen4_.slots.empty();
    const std::uint64_t bit = filterBit(hash);
    return frozen_filter_[bit >> 6] >> (bit & 63) & 1;
  }
};

// The slot of `key`'s entry, or the empty slot that ends its probe.
// REQUIRES: the table has slots.
template <typename Entry, typename Key>
std::size_t SourceTracker::probe(const Table<Entry>& table, const Key& key,
                                 std::uint64_t hash) noexcept {
  std::size_t i = hash & table.mask;
  while (table.slots[i].packets != 0 && !(keyOf(table.slots[i]) == key)) i = (i + 1) & table.mask;
  return i;
}

template <typename Entry, typename Key>
bool SourceTracker::addKnown(Table<Entry>& table, const Key& key, std::uint64_t hash,
                             std::uint32_t packets, std::uint64_t bytes) noexcept {
  if (table.slots.empty()) return false;
  Entry& e = table.slots[probe(table, key, hash)];
  if (e.packets == 0) return false;
  e.packets = satAdd(e.packets, packets);
  e.bytes += bytes;
  return true;
}

// The common case stays inline: a known IPv4 source in exact mode. Its home slot and the
// next are tested together, without a branch each: a probe loop's length varies from source
// to source, and the loop's exit was mispredicted for about a third of the packets of a flood
// whose table is near half full; a source displaced further is rare.
void SourceTracker::add(const IpAddress& src, std::uint64_t hash, std::uint32_t packets,
                        std::uint64_t bytes) noexcept {
  assert(hash == src.hash());
  if (src.isV4()) {
    if (!v4_.slots.empty()) {
      const std::uint32_t key = src.v4();
      Entry4& home = v4_.slots[hash & v4_.mask];
      Entry4& next = v4_.slots[(hash + 1) & v4_.mask];
      // The next slot can hold the source only if the home slot is taken (linear probing).
      const bool at_home = (home.addr == key) & (home.packets != 0);
      const bool at_next = (next.addr == key) & (next.packets != 0) & (home.packets != 0);
      if (at_home | at_next) {
        Entry4& e = at_home ? home : next;
        e.packets = satAdd(e.packets, packets);
        e.bytes += bytes;
        return;
      }
    }
    if (addKnown(v4_, src.v4(), hash, packets, bytes)) return;
  }
  addSlow(src, hash, packets, bytes);
}

void SourceTracker::prefetch(const IpAddress& src, std::uint64_t hash) const noexcept {
  if (v4_.slots.empty()) {  // sketch mode
    // The filter is small enough to stay in L2, and it says whether the frozen table is
    // worth loading.
    if (src.isV4() && mayBeFrozen(hash)) __builtin_prefetch(&frozen4_.slots[hash & frozen4_.mask]);
    return;
  }
  if (src.isV4()) {
    __builtin_prefetch(&v4_.slots[hash & v4_.mask]);
  } else if (!v6_.slots.empty()) {
    __builtin_prefetch(&v6_.slots[hash & v6_.mask]);
  }
}

}  // namespace bw
