#include "detect/source_tracker.h"

#include <algorithm>
#include <cmath>

namespace bw {
namespace {

// Maximum load kLoadNum / kLoadDen. 1/2 rather than 3/4: with 5,000 sources (16,384 slots,
// 256 KiB, against 8,192 at 3/4) add() measured about a quarter faster, alone and with four
// trackers, because the longer probe runs of a fuller table cost mispredicted branches.
constexpr std::size_t kLoadNum = 1;
constexpr std::size_t kLoadDen = 2;

constexpr std::size_t kIndexSlots = 256;  // the summary's index: load <= 1/4
constexpr std::uint8_t kNoEntry = 0xff;
constexpr std::uint64_t kNoKey = ~std::uint64_t{0};

}  // namespace

// Space-Saving over bytes. entries[] never move; heap[] orders them as a min-heap on bytes
// (heap[0] is the lightest) and pos[] is each entry's place in it; index[] maps a source's
// hash to its id (linear probing, kNoEntry when empty, deletion by backward shift).
struct SourceTracker::Sketch {
  static_assert(kTopCapacity == 64, "heap keys hold an entry's id in 6 bits");
  struct Counter {
    IpAddress ip;
    std::uint64_t hash;
    std::uint64_t packets;
    std::uint64_t bytes;
    // Inherited from the entry it replaced: the source sent at least packets - lent_packets.
    std::uint64_t lent_packets;
    std::uint64_t lent_bytes;
  };

  HyperLogLog hll{16};
  Counter entries[kTopCapacity];
  // Keys (see key()); the places from `used` on hold kNoKey, heavier than any key, so the
  // lighter of two children can be picked without checking that the second one exists.
  std::uint64_t heap[kTopCapacity + 1];
  std::uint8_t pos[kTopCapacity];
  std::uint8_t index[kIndexSlots];
  std::size_t used = 0;

  Sketch() {
    std::fill(std::begin(heap), std::end(heap), kNoKey);
    std::fill(std::begin(index), std::end(index), kNoEntry);
  }

  static std::size_t home(std::uint64_t hash) noexcept { return hash >> 56; }

  // The index slot holding the entry for `src`, or the empty slot that ends its probe.
  std::size_t find(const IpAddress& src, std::uint64_t hash) const noexcept {
    std::size_t i = home(hash);
    while (index[i] != kNoEntry) {
      const Counter& c = entries[index[i]];
      if (c.hash == hash && c.ip == src) break;
      i = (i + 1) % kIndexSlots;
    }
    return i;
  }

  // Removes `id` from the index, shifting later entries of its run back so that every probe
  // sequence stays unbroken.
  void unindex(std::uint8_t id) noexcept {
    std::size_t hole = home(entries[id].hash);
    while (index[hole] != id) hole = (hole + 1) % kIndexSlots;
    for (std::size_t j = (hole + 1) % kIndexSlots; index[j] != kNoEntry;
         j = (j + 1) % kIndexSlots) {
      // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
      const std::size_t h = home(entries[index[j]].hash);
      const bool stays = hole < j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (stays) continue;
      index[hole] = index[j];
      hole = j;
    }
    index[hole] = kNoEntry;
  }

  // A heap key: the entry's bytes (saturated at 2^58 - 2) above its id, so one compare orders
  // two entries and the key names its entry.
  static std::uint64_t key(const Counter& c, std::uint8_t id) noexcept {
    constexpr std::uint64_t kMaxBytes = (kNoKey >> 6) - 1;  // so no key is kNoKey
    return (std::min(c.bytes, kMaxBytes) << 6) | id;
  }
  void place(std::size_t at, std::uint64_t k) noexcept {
    heap[at] = k;
    pos[k & (kTopCapacity - 1)] = static_cast<std::uint8_t>(at);
  }
  // Puts `k` into the hole at `hole`, moving it up no further than `top`.
  void rise(std::size_t hole, std::size_t top, std::uint64_t k) noexcept {
    while (hole > top && heap[(hole - 1) / 2] > k) {
      place(hole, heap[(hole - 1) / 2]);
      hole = (hole - 1) / 2;
    }
    place(hole, k);
  }
  // Entry `id` got heavier. Floyd's way: the hole at its place sinks to a leaf along the
  // lighter children, then its key rises back to where it belongs. Under a spoofed flood the
  // key nearly always belongs near the bottom, and the sinking has no hard-to-predict exit
  // test at every level.
  void raised(std::uint8_t id) noexcept {
    const std::size_t top = pos[id];
    std::size_t hole = top;
    for (std::size_t c = 2 * hole + 1; c < used; c = 2 * hole + 1) {
      c += heap[c + 1] < heap[c];  // without a branch: which child is lighter is a coin toss
      place(hole, heap[c]);
      hole = c;
    }
    rise(hole, top, key(entries[id], id));
  }

  // REQUIRES: used < kTopCapacity and `src` is not in the summary.
  void insert(const IpAddress& src, std::uint64_t hash, std::uint64_t packets,
              std::uint64_t bytes) noexcept {
    const auto id = static_cast<std::uint8_t>(used++);
    entries[id] = Counter{src, hash, packets, bytes, 0, 0};
    index[find(src, hash)] = id;
    rise(id, 0, key(entries[id], id));
  }
};

SourceTracker::SourceTracker(ExactBudget* budget, std::size_t exact_limit)
    : budget_(budget), exact_limit_(exact_limit) {
  if (!grow(v4_)) switchToSketch();
}

SourceTracker::~SourceTracker() {
  release(v4_);
  release(v6_);
  release(frozen4_);
  budget_->give(frozen_filter_.size() * sizeof(std::uint64_t));
}

template <typename Entry>
void SourceTracker::release(Table<Entry>& table) noexcept {
  budget_->give(table.bytes());
  std::vector<Entry>().swap(table.slots);
  table.mask = 0;
  table.count = 0;
}

void SourceTracker::addSlow(const IpAddress& src, std::uint64_t hash, std::uint32_t packets,
                            std::uint64_t bytes) noexcept {
  if (!sketch_) {
    const bool kept = src.isV4() ? addExact(v4_, src.v4(), hash, packets, bytes)
                                 : addExact(v6_, src, hash, packets, bytes);
    if (kept) return;
    switchToSketch();
  } else if (src.isV4() ? mayBeFrozen(hash) && addKnown(frozen4_, src.v4(), hash, packets, bytes)
                        : addKnown(v6_, src, hash, packets, bytes)) {
    return;
  }
  sketchAdd(src, hash, packets, bytes);
}

// Adds to `key`'s entry, or makes one. False when a new entry would pass exact_limit or the
// budget: the caller then switches to the sketch.
template <typename Entry, typename Key>
bool SourceTracker::addExact(Table<Entry>& table, const Key& key, std::uint64_t hash,
                             std::uint32_t packets, std::uint64_t bytes) noexcept {
  if (addKnown(table, key, hash, packets, bytes)) return true;
  if (v4_.count + v6_.count >= exact_limit_) return false;
  if ((table.count + 1) * kLoadDen > table.slots.size() * kLoadNum && !grow(table)) return false;
  table.slots[probe(table, key, hash)] = Entry{key, std::max<std::uint32_t>(packets, 1), bytes};
  ++table.count;
  return true;
}

// Doubles the table (or makes the first one), if the budget allows.
template <typename Entry>
bool SourceTracker::grow(Table<Entry>& table) noexcept {
  const std::size_t old_slots = table.slots.size();
  const std::size_t new_slots = old_slots == 0 ? table.initial : 2 * old_slots;
  // Old and new tables coexist while entries move: the budget is charged for both.
  if (!budget_->take(new_slots * sizeof(Entry))) return false;
  std::vector<Entry> old(new_slots, Entry{});
  old.swap(table.slots);
  table.mask = new_slots - 1;
  for (const Entry& e : old) {
    if (e.packets == 0) continue;
    std::size_t i = hashOf(e) & table.mask;
    while (table.slots[i].packets != 0) i = (i + 1) & table.mask;
    table.slots[i] = e;
  }
  budget_->give(old_slots * sizeof(Entry));
  return true;
}

void SourceTracker::switchToSketch() noexcept {
  sketch_ = std::make_unique<Sketch>();
  // The tables stay, frozen, with their exact counts; the HLL counts their sources too.
  frozen4_.slots.swap(v4_.slots);
  frozen4_.mask = v4_.mask;
  frozen4_.count = v4_.count;
  v4_.mask = 0;
  v4_.count = 0;
  // IPv4 table slots are 128 bits and at most half full: 8 filter bits per slot are 16 per
  // source, which lets through about 6 % of the sources not in the table.
  const std::size_t words = frozen4_.slots.size() / 8;
  if (words > 0 && budget_->take(words * sizeof(std::uint64_t))) {
    frozen_filter_.assign(words, 0);
    filter_mask_ = words * 64 - 1;
  }
  for (const Entry4& e : frozen4_.slots) {
    if (e.packets == 0) continue;
    const std::uint64_t h = hashOf(e);
    sketch_->hll.add(mix64(h));
    if (!frozen_filter_.empty()) {
      const std::uint64_t bit = filterBit(h);
      frozen_filter_[bit >> 6] |= std::uint64_t{1} << (bit & 63);
    }
  }
  for (const Entry6& e : v6_.slots) {
    if (e.packets != 0) sketch_->hll.add(mix64(hashOf(e)));
  }
}

void SourceTracker::sketchAdd(const IpAddress& src, std::uint64_t hash, std::uint32_t packets,
                              std::uint64_t bytes) noexcept {
  Sketch& s = *sketch_;
  s.hll.add(mix64(hash));
  const std::size_t slot = s.find(src, hash);
  if (s.index[slot] != kNoEntry) {
    const std::uint8_t id = s.index[slot];
    s.entries[id].packets += packets;
    s.entries[id].bytes += bytes;
    s.raised(id);
    return;
  }
  if (s.used < kTopCapacity) {
    s.insert(src, hash, packets, bytes);
    return;
  }
  // Space-Saving: the newcomer replaces the lightest entry and inherits its counts, which
  // bounds its overestimate by the lightest count.
  const auto id = static_cast<std::uint8_t>(s.heap[0] & (kTopCapacity - 1));
  s.unindex(id);
  Sketch::Counter& c = s.entries[id];
  c.ip = src;
  c.hash = hash;
  c.lent_packets = c.packets;
  c.lent_bytes = c.bytes;
  c.packets += packets;
  c.bytes += bytes;
  s.index[s.find(src, hash)] = id;
  s.raised(id);
}

std::uint64_t SourceTracker::distinct() const noexcept {
  if (sketch_) return static_cast<std::uint64_t>(std::llround(sketch_->hll.estimate()));
  return v4_.count + v6_.count;
}

// The n heaviest through a heap of n (its lightest on top): most entries cost one comparison,
// and nothing the size of the whole table is allocated. The live sensor asks once a second
// for every attack in progress, each of which may hold 262,144 sources.
std::vector<ReflectorStat> SourceTracker::top(std::size_t n) const {
  auto heavier = [](const ReflectorStat& a, const ReflectorStat& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.ip < b.ip;
  };
  std::vector<ReflectorStat> heap;
  if (n == 0) return heap;
  heap.reserve(std::min<std::size_t>(n, 1024));
  auto offer = [&](std::uint64_t bytes, auto&& make) {
    if (heap.size() < n) {
      heap.push_back(make());
      std::push_heap(heap.begin(), heap.end(), heavier);
    } else if (bytes >= heap.front().bytes) {
      ReflectorStat st = make();
      if (!heavier(st, heap.front())) return;
      std::pop_heap(heap.begin(), heap.end(), heavier);
      heap.back() = st;
      std::push_heap(heap.begin(), heap.end(), heavier);
    }
  };
  for (const Table<Entry4>* table : {&v4_, &frozen4_}) {  // (one of them is empty)
    for (const Entry4& e : table->slots) {
      if (e.packets != 0) {
        offer(e.bytes, [&] {
          return ReflectorStat{IpAddress::fromV4(e.addr), e.packets, e.bytes};
        });
      }
    }
  }
  for (const Entry6& e : v6_.slots) {
    if (e.packets != 0) offer(e.bytes, [&] { return ReflectorStat{e.ip, e.packets, e.bytes}; });
  }
  if (sketch_) {
    for (std::size_t i = 0; i < sketch_->used; ++i) {
      const Sketch::Counter& c = sketch_->entries[i];
      if (c.bytes > c.lent_bytes) {
        offer(c.bytes - c.lent_bytes, [&] {
          return ReflectorStat{c.ip, std::max<std::uint64_t>(c.packets - c.lent_packets, 1),
                               c.bytes - c.lent_bytes};
        });
      }
    }
  }
  std::sort_heap(heap.begin(), heap.end(), heavier);  // heaviest first
  return heap;
}

}  // namespace bw
