#include "detect/rate_table.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

namespace bw {

RateTable::RateTable(std::uint32_t capacity, int window_buckets)
    : mask_(std::bit_ceil(std::max<std::uint32_t>(capacity, kProbeLimit)) - 1),
      window_(std::clamp(window_buckets, 1, kMaxWindowBuckets)),
      slots_(std::size_t{mask_} + 1),
      tags_(std::size_t{mask_} + 1),
      rings_((std::size_t{mask_} + 1) * static_cast<std::size_t>(window_)),
      early_(std::size_t{mask_} + 1) {}

RateSlot* RateTable::find(std::uint64_t hash, const IpAddress& dst, Vector v, std::uint16_t port,
                          bool asked) noexcept {
  assert(hash == keyHash(dst, v, port, asked));
  const std::uint32_t tag = tagOf(hash);
  std::uint32_t i = static_cast<std::uint32_t>(hash) & mask_;
  for (std::uint32_t n = 0; n < kProbeLimit; ++n, i = (i + 1) & mask_) {
    const std::uint64_t t = tags_[i];
    if (t == 0) return nullptr;
    if ((t & kTagMask) != tag) continue;
    RateSlot& s = slots_[i];
    if (s.port == port && s.vector == v && s.asked == asked && s.dst == dst) return &s;
  }
  return nullptr;
}

RateSlot* RateTable::findOrCreate(std::uint64_t hash, const IpAddress& dst, Vector v,
                                  std::uint16_t port, bool asked, std::int64_t now_bucket,
                                  std::int64_t now_ns, bool* created, bool* evicted) noexcept {
  assert(hash == keyHash(dst, v, port, asked));
  *created = false;
  *evicted = false;
  const std::uint32_t tag = tagOf(hash);
  const std::uint32_t now_stamp = stampOf(now_ns);
  std::uint32_t i = static_cast<std::uint32_t>(hash) & mask_;
  std::uint32_t victim = kNone;
  std::uint32_t victim_age = 0;
  for (std::uint32_t n = 0; n < kProbeLimit; ++n, i = (i + 1) & mask_) {
    const std::uint64_t t = tags_[i];
    if (t == 0) {
      victim = i;
      break;
    }
    if ((t & kTagMask) == tag) {
      RateSlot& s = slots_[i];
      if (s.port == port && s.vector == v && s.asked == asked && s.dst == dst) return &s;
    }
    if (t & kPinned) continue;
    const std::uint32_t age = now_stamp - static_cast<std::uint32_t>(t >> 32);
    if (victim == kNone || age > victim_age) {
      victim = i;
      victim_age = age;
    }
  }
  if (victim == kNone) return nullptr;
  RateSlot& slot = slots_[victim];
  // A slot whose whole window has passed holds nothing worth keeping: reusing it is not an
  // eviction. (Slots are never emptied, so probe chains stay intact.)
  *evicted = tags_[victim] != 0 && slot.bucket + window_ > now_bucket;
  slot = RateSlot{};
  slot.dst = dst;
  slot.vector = v;
  slot.port = port;
  slot.asked = asked;
  slot.bucket = now_bucket;
  slot.head = static_cast<std::uint8_t>(ringIndex(now_bucket));
  std::memset(static_cast<void*>(ring(slot)), 0,
              static_cast<std::size_t>(window_) * sizeof(RateBucket));
  // Until a response touches it, a slot counts as the oldest in its probe window (a slot
  // holding only requests is the first to go, as it always was).
  tags_[victim] = tag | (std::uint64_t{now_stamp - (1u << 31)} << 32);
  ++claims_;
  *created = true;
  return &slot;
}

bool RateTable::advance(RateSlot& s, std::int64_t b, std::uint64_t* completed_packets,
                        std::uint64_t* completed_bytes) noexcept {
  if (b <= s.bucket) return false;
  *completed_packets = s.win_packets;
  *completed_bytes = s.win_bytes;
  RateBucket* r = ring(s);
  std::int64_t steps = b - s.bucket;
  if (steps >= window_) {
    std::memset(static_cast<void*>(r), 0, static_cast<std::size_t>(window_) * sizeof(RateBucket));
    s.win_packets = s.win_bytes = s.win_requests = s.win_request_bytes = 0;
  } else {
    for (std::int64_t k = 1; k <= steps; ++k) {
      RateBucket& old = r[ringIndex(s.bucket + k)];
      s.win_packets -= old.packets;
      s.win_bytes -= old.bytes;
      s.win_requests -= old.requests;
      s.win_request_bytes -= old.request_bytes;
      old = RateBucket{};
    }
  }
  s.bucket = b;
  s.head = static_cast<std::uint8_t>(ringIndex(b));
  return true;
}

}  // namespace bw
