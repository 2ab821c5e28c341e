// RateTable: per-(destination, vector, service port) packet and byte counters in a ring of
// short time buckets, in one fixed-capacity open-addressing table.
//
// Each slot keeps the last `window` buckets of responses (what reflectors send the
// destination) and of requests (what the destination itself sent to that service port), plus
// running window sums so the onset check is O(1) per packet. Lookups probe at most
// kProbeLimit slots; when none is free the least recently active slot that is not in an
// attack is taken over and the eviction is counted. Memory is capacity * sizeof(RateSlot),
// fixed at construction.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "core/ip_address.h"
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

struct RateSlot {
  IpAddress dst;
  std::uint16_t port = 0;
  Vector vector = Vector::None;
  bool used = false;
  bool dst_protected = true;  // dst inside --networks (or no networks given)
  // Answers from servers the destination asked (and its requests) live in their own slot, so
  // a host's own conversations neither mask nor inflate a flood from sources it never asked.
  bool asked = false;
  std::int64_t last_request_ns = INT64_MIN / 2;  // newest request by the destination on this key
  std::uint32_t tracker = kNone;                 // SourceTracker index
  std::uint32_t attack = kNone;                  // index of the active attack, if any
  double threshold_packets = 0;                  // per window
  double threshold_bytes = 0;                    // per window
  double threshold_pps = 0;
  double threshold_bps = 0;
  std::int64_t bucket = 0;        // index (ts / bucket_ns) of the newest bucket
  std::int64_t last_ns = 0;       // newest response packet
  std::int64_t run_gap_ns = 0;    // silence that restarts a run (see Engine)
  std::int64_t run_start_ns = 0;  // first packet of the current run
  std::uint64_t run_packets = 0;
  std::uint64_t run_bytes = 0;
  std::uint64_t win_packets = 0;
  std::uint64_t win_bytes = 0;
  std::uint64_t win_requests = 0;
  std::uint64_t win_request_bytes = 0;
  std::uint8_t early_count = 0;
  IpAddress early_src[kEarlySources];
  std::uint32_t early_packets[kEarlySources] = {};
  std::uint32_t early_bytes[kEarlySources] = {};
  RateBucket ring[kMaxWindowBuckets];
};

class RateTable {
 public:
  static constexpr std::uint32_t kProbeLimit = 16;

  RateTable(std::uint32_t capacity, int window_buckets);

  // Finds the slot for the key or claims one (fresh or evicted). `*created` tells which; the
  // caller initialises thresholds of created slots. Returns nullptr only when every slot in
  // the probe window is in an attack.
  RateSlot* findOrCreate(const IpAddress& dst, Vector v, std::uint16_t port, bool asked,
                         std::int64_t now_bucket, bool* created, bool* evicted) noexcept;
  RateSlot* find(const IpAddress& dst, Vector v, std::uint16_t port, bool asked) noexcept;
  RateSlot& at(std::uint32_t index) noexcept { return slots_[index]; }
  const RateSlot& at(std::uint32_t index) const noexcept { return slots_[index]; }
  std::uint32_t indexOf(const RateSlot* s) const noexcept {
    return static_cast<std::uint32_t>(s - slots_.data());
  }

  // Moves the slot's ring forward to bucket `b`, clearing buckets that leave the window.
  // Returns true when at least one bucket was completed (the window sums before the move
  // were a complete window ending at the old bucket: *completed_* receive them).
  bool advance(RateSlot& s, std::int64_t b, std::uint64_t* completed_packets,
               std::uint64_t* completed_bytes) noexcept;

  std::uint32_t capacity() const noexcept { return static_cast<std::uint32_t>(slots_.size()); }
  int windowBuckets() const noexcept { return window_; }
  std::size_t memoryBytes() const noexcept { return slots_.size() * sizeof(RateSlot); }

 private:
  std::uint64_t keyHash(const IpAddress& dst, Vector v, std::uint16_t port,
                        bool asked) const noexcept {
    std::uint64_t k =
        (std::uint64_t{asked} << 24) | (std::uint64_t{static_cast<std::uint8_t>(v)} << 16) | port;
    return dst.hash() ^ k * 0x9E3779B97F4A7C15ULL;
  }

  static std::uint32_t tagOf(std::uint64_t hash) noexcept {
    return static_cast<std::uint32_t>(hash >> 32) | 1;  // 0 marks a free slot
  }

  std::vector<RateSlot> slots_;
  // One 32-bit tag per slot, probed first: a probe window of 16 tags is one or two cache
  // lines, where the slots themselves are several hundred bytes each.
  std::vector<std::uint32_t> tags_;
  std::uint32_t mask_;
  int window_;
};

}  // namespace bw
