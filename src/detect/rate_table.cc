#include "detect/rate_table.h"

#include <algorithm>
#include <bit>

namespace bw {

RateTable::RateTable(std::uint32_t capacity, int window_buckets)
    : window_(std::clamp(window_buckets, 1, kMaxWindowBuckets)) {
  std::uint32_t size = std::bit_ceil(std::max<std::uint32_t>(capacity, kProbeLimit));
  slots_.resize(size);
  mask_ = size - 1;
}

RateSlot* RateTable::find(const IpAddress& dst, Vector v, std::uint16_t port, bool asked) noexcept {
  std::uint32_t i = static_cast<std::uint32_t>(keyHash(dst, v, port, asked)) & mask_;
  for (std::uint32_t n = 0; n < kProbeLimit; ++n, i = (i + 1) & mask_) {
    RateSlot& s = slots_[i];
    if (!s.used) return nullptr;
    if (s.port == port && s.vector == v && s.asked == asked && s.dst == dst) return &s;
  }
  return nullptr;
}

RateSlot* RateTable::findOrCreate(const IpAddress& dst, Vector v, std::uint16_t port, bool asked,
                                  std::int64_t now_bucket, bool* created, bool* evicted) noexcept {
  *created = false;
  *evicted = false;
  std::uint32_t i = static_cast<std::uint32_t>(keyHash(dst, v, port, asked)) & mask_;
  RateSlot* victim = nullptr;
  for (std::uint32_t n = 0; n < kProbeLimit; ++n, i = (i + 1) & mask_) {
    RateSlot& s = slots_[i];
    if (!s.used) {
      victim = &s;
      break;
    }
    if (s.port == port && s.vector == v && s.asked == asked && s.dst == dst) return &s;
    if (s.attack == kNone && s.tracker == kNone && (!victim || s.last_ns < victim->last_ns)) {
      victim = &s;
    }
  }
  if (!victim) return nullptr;
  // A slot whose whole window has passed holds nothing worth keeping: reusing it is not an
  // eviction. (Slots are never emptied, so probe chains stay intact.)
  *evicted = victim->used && victim->bucket + window_ > now_bucket;
  *victim = RateSlot{};
  victim->used = true;
  victim->dst = dst;
  victim->vector = v;
  victim->port = port;
  victim->asked = asked;
  victim->bucket = now_bucket;
  *created = true;
  return victim;
}

bool RateTable::advance(RateSlot& s, std::int64_t b, std::uint64_t* completed_packets,
                        std::uint64_t* completed_bytes) noexcept {
  if (b <= s.bucket) return false;
  *completed_packets = s.win_packets;
  *completed_bytes = s.win_bytes;
  std::int64_t steps = b - s.bucket;
  if (steps >= window_) {
    for (int k = 0; k < window_; ++k) s.ring[k] = RateBucket{};
    s.win_packets = s.win_bytes = s.win_requests = s.win_request_bytes = 0;
  } else {
    for (std::int64_t k = 1; k <= steps; ++k) {
      RateBucket& old = s.ring[(s.bucket + k) % window_];
      s.win_packets -= old.packets;
      s.win_bytes -= old.bytes;
      s.win_requests -= old.requests;
      s.win_request_bytes -= old.request_bytes;
      old = RateBucket{};
    }
  }
  s.bucket = b;
  return true;
}

}  // namespace bw
