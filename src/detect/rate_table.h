// RateTable: per-(destination, vector, service port) packet and byte counters in a ring of
// short time buckets, in one fixed-capacity open-addressing table.
//
// Each slot keeps the last `window` buckets of responses (what reflectors send the
// destination) and of requests (what the destination itself sent to that service port), plus
// running window sums so the onset check is O(1) per packet. Lookups probe at most
// kProbeLimit slots; when none is free the least recently active slot that is not pinned (in
// an attack or tracking its sources) is taken over and the eviction is counted.
//
// Layout, for the per-packet path: a probe reads only the 8-byte tag words (tag, pinned bit,
// last activity), eight to a cache line, so neither a miss nor an eviction scan touches the
// slots; a slot's hot part (RateSlot: key, window sums, thresholds) is three cache lines, and
// its bucket ring and early-source buffer live in separate arrays, touched one bucket at a
// time. The arrays come zeroed from the allocator and are initialised per slot when it is
// claimed, so a large table costs no start-up time. Memory is capacity * (sizeof(RateSlot) +
// window * sizeof(RateBucket) + sizeof(EarlySources)) + 8 bytes per slot, fixed at
// construction.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "core/ip_address.h"
#include "core/zeroed_array.h"
#include "decode/vector.h"
#include "detect/config.h"

namespace bw {

inline constexpr std::uint32_t kNone = 0xffffffffu;

struct RateBucket {
  std::uint32_t packets = 0;
  std::uint32_t requests = 0;
  std::uint64_t bytes = 0;
  std::uint64_t request_bytes = 0;
  std::int64_t first_ns = 0;  // first response packet in the bucket (when packets > 0)
};

// Sources of the packets a slot receives before it has a SourceTracker (trackers start at
// this many packets in the window), replayed into the tracker so attribution stays exact.
inline constexpr int kEarlySources = 8;

struct EarlySources {
  IpAddress src[kEarlySources];
  std::uint32_t packets[kEarlySources];
  std::uint32_t bytes[kEarlySources];
};

// The per-packet part of a slot. Fields read for every packet come first.
struct alignas(64) RateSlot {
  IpAddress dst;
  std::uint16_t port = 0;
  Vector vector = Vector::None;
  // Answers from servers the destination asked (and its requests) live in their own slot, so
  // a host's own conversations neither mask nor inflate a flood from sources it never asked.
  bool asked = false;
  bool dst_protected = true;  // dst inside --networks (or no networks given)
  std::uint8_t early_count = 0;
  std::uint8_t head = 0;                         // ring position of `bucket`
  std::uint32_t tracker = kNone;                 // SourceTracker index
  std::uint32_t attack = kNone;                  // index of the active attack, if any
  std::int64_t bucket = 0;                       // index (ts / bucket_ns) of the newest bucket
  std::int64_t last_ns = 0;                      // newest response packet
  std::int64_t last_request_ns = INT64_MIN / 2;  // newest request by the destination on this key
  std::uint64_t win_packets = 0;
  // -- second line
  std::uint64_t win_bytes = 0;
  double threshold_packets = 0;   // per window
  double threshold_bytes = 0;     // per window
  std::int64_t run_gap_ns = 0;    // silence that restarts a run (see Engine)
  std::int64_t run_start_ns = 0;  // first packet of the current run
  std::uint64_t run_packets = 0;
  std::uint64_t run_bytes = 0;
  // For a slot of unasked traffic: where the same key's asked slot was last found (see
  // RateTable::holding()).
  std::uint32_t asked_twin = kNone;
  // -- third line: requests, onset and reporting
  std::uint64_t win_requests = 0;
  std::uint64_t win_request_bytes = 0;
  double threshold_pps = 0;
  double threshold_bps = 0;
};

class RateTable {
 public:
  static constexpr std::uint32_t kProbeLimit = 16;

  RateTable(std::uint32_t capacity, int window_buckets);

  // The hash every look-up below takes; compute it once per packet.
  static std::uint64_t keyHash(const IpAddress& dst, Vector v, std::uint16_t port,
                               bool asked) noexcept {
    return keyHash(dst.hash(), v, port, asked);
  }
  static std::uint64_t keyHash(std::uint64_t dst_hash, Vector v, std::uint16_t port,
                               bool asked) noexcept {
    std::uint64_t k =
        (std::uint64_t{asked} << 24) | (std::uint64_t{static_cast<std::uint8_t>(v)} << 16) | port;
    return dst_hash ^ k * 0x9E3779B97F4A7C15ULL;
  }

  // Finds the slot for the key or claims one (fresh or evicted). `*created` tells which; the
  // caller initialises thresholds of created slots. Returns nullptr only when every slot in
  // the probe window is pinned. `hash` is keyHash() of the same key.
  RateSlot* findOrCreate(std::uint64_t hash, const IpAddress& dst, Vector v, std::uint16_t port,
                         bool asked, std::int64_t now_bucket, std::int64_t now_ns, bool* created,
                         bool* evicted) noexcept;
  RateSlot* find(std::uint64_t hash, const IpAddress& dst, Vector v, std::uint16_t port,
                 bool asked) noexcept;
  RateSlot* find(const IpAddress& dst, Vector v, std::uint16_t port, bool asked) noexcept {
    return find(keyHash(dst, v, port, asked), dst, v, port, asked);
  }

  // prefetchSlot()'s answer when an empty tag ended the probe: the key had no slot.
  static constexpr std::uint32_t kAbsent = kNone - 1;

  // Prefetch hints for a packet a few places ahead in a batch (no effect on results):
  // the tag words a look-up of `hash` probes first, then (once those are cached) the hot
  // lines of the slot whose tag matches, which is returned; kAbsent when the key has no slot,
  // kNone when the short probe could not tell.
  void prefetchTags(std::uint64_t hash) const noexcept {
    __builtin_prefetch(&tags_[static_cast<std::uint32_t>(hash) & mask_]);
  }
  // Inline at each call site on purpose: whether a key exists depends on which key it is (a
  // flood's own key nearly always, its reflector's generic key nearly never), and one shared
  // copy of the probe's branches was mispredicted for a quarter of the packets.
  [[gnu::always_inline]] std::uint32_t prefetchSlot(std::uint64_t hash) const noexcept {
    const std::uint32_t tag = tagOf(hash);
    std::uint32_t i = static_cast<std::uint32_t>(hash) & mask_;
    for (std::uint32_t n = 0; n < 4; ++n, i = (i + 1) & mask_) {  // the common short probes
      const std::uint64_t t = tags_[i];
      if (t == 0) return kAbsent;
      if ((t & kTagMask) != tag) continue;
      const char* line = reinterpret_cast<const char*>(&slots_[i]);
      __builtin_prefetch(line);
      __builtin_prefetch(line + 64);
      return i;
    }
    return kNone;
  }
  // Slots claimed so far (wrapping). Keys enter the table only by a claim, so a key absent
  // when this read n is absent for as long as it still reads n.
  std::uint32_t claims() const noexcept { return claims_; }
  // The slot at `index` when it holds the key, else nullptr (also for kNone and kAbsent):
  // what find() would return, for an index prefetchSlot() gave a few packets earlier or one
  // remembered (the slot may have changed hands since). A key is in one slot at most.
  RateSlot* holding(std::uint32_t index, const IpAddress& dst, Vector v, std::uint16_t port,
                    bool asked) noexcept {
    if (index > mask_) return nullptr;
    RateSlot& s = slots_[index];
    if (s.port == port && s.vector == v && s.asked == asked && s.dst == dst && tags_[index] != 0)
      return &s;
    return nullptr;
  }
  // find() for a key prefetchSlot() answered `hint` for when claims() read `claims`: no
  // look-up when the slot found still holds the key, or when the key was absent and nothing
  // has been claimed since.
  RateSlot* findHinted(std::uint32_t hint, std::uint32_t claims, std::uint64_t hash,
                       const IpAddress& dst, Vector v, std::uint16_t port, bool asked) noexcept {
    if (RateSlot* s = holding(hint, dst, v, port, asked)) return s;
    if (hint == kAbsent && claims == claims_) return nullptr;
    return find(hash, dst, v, port, asked);
  }

  RateSlot& at(std::uint32_t index) noexcept { return slots_[index]; }
  const RateSlot& at(std::uint32_t index) const noexcept { return slots_[index]; }
  std::uint32_t indexOf(const RateSlot* s) const noexcept {
    return static_cast<std::uint32_t>(s - slots_.data());
  }
  bool used(std::uint32_t index) const noexcept { return tags_[index] != 0; }

  // The slot's bucket ring (windowBuckets() entries) and early-source buffer.
  RateBucket* ring(const RateSlot& s) noexcept {
    return &rings_[std::size_t{indexOf(&s)} * static_cast<std::size_t>(window_)];
  }
  const RateBucket* ring(const RateSlot& s) const noexcept {
    return &rings_[std::size_t{indexOf(&s)} * static_cast<std::size_t>(window_)];
  }
  // Position of bucket `b` in a ring (buckets before 1970 included).
  std::size_t ringIndex(std::int64_t b) const noexcept {
    std::int64_t m = b % window_;
    return static_cast<std::size_t>(m < 0 ? m + window_ : m);
  }
  RateBucket& bucketAt(RateSlot& s) noexcept { return ring(s)[s.head]; }
  EarlySources& early(const RateSlot& s) noexcept { return early_[indexOf(&s)]; }

  // A slot with an attack or a source tracker is never evicted: both are set here, which
  // keeps the slot's pinned bit in step with them.
  void setAttack(RateSlot& s, std::uint32_t attack) noexcept {
    s.attack = attack;
    setPinned(s);
  }
  void setTracker(RateSlot& s, std::uint32_t tracker) noexcept {
    s.tracker = tracker;
    setPinned(s);
  }
  // Records a response at `ts_ns` (the eviction order is least recent activity first).
  void touch(const RateSlot& s, std::int64_t ts_ns) noexcept {
    std::uint64_t& t = tags_[indexOf(&s)];
    t = (t & 0xffffffffu) | (std::uint64_t{stampOf(ts_ns)} << 32);
  }

  // Moves the slot's ring forward to bucket `b`, clearing buckets that leave the window.
  // Returns true when at least one bucket was completed (the window sums before the move
  // were a complete window ending at the old bucket: *completed_* receive them).
  bool advance(RateSlot& s, std::int64_t b, std::uint64_t* completed_packets,
               std::uint64_t* completed_bytes) noexcept;

  std::uint32_t capacity() const noexcept { return mask_ + 1; }
  int windowBuckets() const noexcept { return window_; }
  std::size_t memoryBytes() const noexcept {
    return std::size_t{capacity()} *
           (sizeof(RateSlot) + sizeof(std::uint64_t) + sizeof(EarlySources) +
            static_cast<std::size_t>(window_) * sizeof(RateBucket));
  }

 private:
  // Tag word: bits 0-30 the key's tag (never 0 for a used slot), bit 31 pinned, bits 32-63
  // the last activity stamp (ms, modulo 2^32: ages are compared as unsigned differences).
  static constexpr std::uint64_t kPinned = 1ULL << 31;
  static constexpr std::uint64_t kTagMask = kPinned - 1;
  static std::uint32_t tagOf(std::uint64_t hash) noexcept {
    return (static_cast<std::uint32_t>(hash >> 32) & static_cast<std::uint32_t>(kTagMask)) | 1;
  }
  static std::uint32_t stampOf(std::int64_t ts_ns) noexcept {
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(ts_ns) >> 20);
  }
  void setPinned(const RateSlot& s) noexcept {
    std::uint64_t& t = tags_[indexOf(&s)];
    t = s.attack != kNone || s.tracker != kNone ? t | kPinned : t & ~kPinned;
  }

  std::uint32_t mask_;
  int window_;
  std::uint32_t claims_ = 0;
  // Zeroed storage: pages are committed when first written, so a table larger than its
  // traffic costs little.
  ZeroedArray<RateSlot> slots_;
  ZeroedArray<std::uint64_t> tags_;
  ZeroedArray<RateBucket> rings_;
  ZeroedArray<EarlySources> early_;
};

}  // namespace bw
