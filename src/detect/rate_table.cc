#include "detect/rate_table.h"

#include <algorithm>
#include <bit>

namespace bw {

RateTable::RateTable(std::uint32_t capacity, int window_buckets)
    : window_(std::clamp(window_buckets, 1, kMaxWindowBuckets)) {
  std::uint32_t size = std::bit_ceil(std::max<std::uint32_t>(capacity, kProbeLimit));
  slots_.resize(size);
  tags_.assign(size, 0);
  mask_ = size - 1;
}

RateSlot* RateTable::find(const IpAddress& dst, Vector v, std::uint16_t port, bool asked) noexcept {
  const std::uint64_t h = keyHash(dst, v, port, asked);
  const std::uint32_t tag = tagOf(h);
  std::uint32_t i = static_cast<std::uint32_t>(h) & mask_;
  for (std::uint32_t n = 0; n < kProbeLimit; ++n, i = (i + 1) & mask_) {
    const std::uint32_t t = tags_[i];
    if (t == 0) return nullptr;
    if (t != tag) continue;
    RateSlot& s = slots_[i];
    if (s.port == port && s.vector == v && s.asked == asked && s.dst == dst) return &s;
  }
  return nullptr;
}

RateSlot* RateTable::findOrCreate(const IpAddress& dst, Vector v, std::uint16_t port, bool asked,
                                  std::int64_t now_bucket, bool* created, bool* evicted) noexcept {
  *created = false;
  *evicted = false;
  const std::uint64_t h = keyHash(dst, v, port, asked);
  const std::uint32_t tag = tagOf(h);
  std::uint32_t i = static_cast<std::uint32_t>(h) & mask_;
  std::uint32_t victim = kNone;
  for (std::uint32_t n = 0; n < kProbeLimit; ++n, i = (i + 1) & mask_) {
    const std::uint32_t t = tags_[i];
    if (t == 0) {
      victim = i;
      break;
    }
    RateSlot& s = slots_[i];
    if (t == tag && s.port == port && s.vector == v && s.asked == asked && s.dst == dst) return &s;
    if (s.attack == kNone && s.tracker == kNone &&
        (victim == kNone || s.last_ns < slots_[victim].last_ns)) {
      victim = i;
    }
  }
  if (victim == kNone) return nullptr;
  RateSlot& slot = slots_[victim];
  // A slot whose whole window has passed holds nothing worth keeping: reusing it is not an
  // eviction. (Slots are never emptied, so probe chains stay intact.)
  *evicted = tags_[victim] != 0 && slot.bucket + window_ > now_bucket;
  slot = RateSlot{};
  slot.used = true;
  slot.dst = dst;
  slot.vector = v;
  slot.port = port;
  slot.asked = asked;
  slot.bucket = now_bucket;
  tags_[victim] = tag;
  *created = true;
  return &slot;
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
