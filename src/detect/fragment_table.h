// FragmentTable: remembers which vector each fragmented datagram belongs to, so non-first
// fragments (which carry no UDP header) are attributed to the same vector and victim.
//
// Direct-mapped on (source, destination, IP id): a newer datagram overwrites an older one in
// its slot, so memory is fixed (kSlots entries). Non-first fragments that arrive before their
// first fragment are parked in the slot as pending counts and credited when it arrives.
// Not thread-safe.
#pragma once

#include <cstdint>

#include "core/ip_address.h"
#include "core/zeroed_array.h"
#include "decode/vector.h"

namespace bw {

class FragmentTable {
 public:
  static constexpr std::uint32_t kSlots = 1u << 16;
  static constexpr std::int64_t kLifetimeNs = 30'000'000'000;  // RFC 791's reassembly bound

  struct Entry {
    std::uint64_t key = 0;  // 0: empty
    std::int64_t ts_ns = 0;
    Vector vector = Vector::None;  // None: first fragment not seen yet
    std::uint16_t port = 0;
    std::uint32_t pending_packets = 0;
    std::uint64_t pending_bytes = 0;
  };

  FragmentTable() : entries_(kSlots) {}

  static std::uint64_t keyOf(const IpAddress& src, const IpAddress& dst,
                             std::uint32_t id) noexcept {
    std::uint64_t k = src.hash() * 31 ^ dst.hash() ^ (std::uint64_t{id} * 0x9E3779B97F4A7C15ULL);
    return k | 1;
  }
  // The slot for `key`: the caller inspects and rewrites it. Entries older than the lifetime,
  // or holding another key, count as empty; `*overwritten_pending` receives any pending counts
  // of a different datagram that this call discards.
  Entry& slot(std::uint64_t key, std::int64_t now_ns, std::uint64_t* overwritten_pending) noexcept {
    Entry& e = entries_[(key ^ (key >> 29)) & (kSlots - 1)];
    *overwritten_pending = 0;
    if (e.key != key || now_ns - e.ts_ns > kLifetimeNs) {
      if (e.key != 0 && e.vector == Vector::None) *overwritten_pending = e.pending_packets;
      e = Entry{};
      e.key = key;
      e.ts_ns = now_ns;
    }
    return e;
  }

 private:
  ZeroedArray<Entry> entries_;  // zeroed storage: only slots of fragmented traffic are touched
};

}  // namespace bw
