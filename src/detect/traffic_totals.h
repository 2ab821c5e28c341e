// TrafficTotals: packets, bytes and records per destination address over a whole input,
// the figure operators compare with `nfdump -A dstip` or pmacct's dst_host aggregate.
//
// Exact for up to `max_destinations` distinct destinations (an open-addressing map grown by
// doubling); traffic to destinations beyond that is counted in `untracked_*` so totals still
// add up and memory stays bounded whatever the input.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/ip_address.h"

namespace bw {

struct DestinationTotal {
  IpAddress ip;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t records = 0;  // packets seen, or flow records/samples for telemetry
};

class TrafficTotals {
 public:
  explicit TrafficTotals(std::size_t max_destinations = 1u << 20)
      : max_(std::max<std::size_t>(max_destinations, 1)), table_(kInitial) {}

  void add(const IpAddress& dst, std::uint64_t packets, std::uint64_t bytes) noexcept {
    // A flood sends run after run to one destination: its entry is found without hashing.
    DestinationTotal& last = table_[last_];
    if (last.records != 0 && last.ip == dst) {
      last.packets += packets;
      last.bytes += bytes;
      ++last.records;
      return;
    }
    std::size_t mask = table_.size() - 1;
    for (std::size_t i = dst.hash() & mask;; i = (i + 1) & mask) {
      DestinationTotal& e = table_[i];
      if (e.records == 0) {
        if (count_ >= max_ || ((count_ + 1) * 2 > table_.size() && !grow())) {
          untracked_packets_ += packets;
          untracked_bytes_ += bytes;
          return;
        }
        if (table_.size() - 1 != mask) {  // grown: probe again
          add(dst, packets, bytes);
          return;
        }
        e.ip = dst;
        ++count_;
      } else if (!(e.ip == dst)) {
        continue;
      }
      e.packets += packets;
      e.bytes += bytes;
      ++e.records;
      last_ = i;
      return;
    }
  }

  // The `n` heaviest destinations by bytes, descending (ties by address).
  std::vector<DestinationTotal> top(std::size_t n) const {
    std::vector<DestinationTotal> out;
    out.reserve(count_);
    for (const DestinationTotal& e : table_) {
      if (e.records != 0) out.push_back(e);
    }
    std::size_t keep = std::min(n, out.size());
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(keep), out.end(),
                      [](const DestinationTotal& a, const DestinationTotal& b) {
                        if (a.bytes != b.bytes) return a.bytes > b.bytes;
                        return a.ip < b.ip;
                      });
    out.resize(keep);
    return out;
  }

  std::size_t destinations() const noexcept { return count_; }
  std::uint64_t untrackedPackets() const noexcept { return untracked_packets_; }
  std::uint64_t untrackedBytes() const noexcept { return untracked_bytes_; }

 private:
  static constexpr std::size_t kInitial = 1024;

  bool grow() {
    if (count_ + 1 > max_) return false;
    std::vector<DestinationTotal> old(table_.size() * 2);
    old.swap(table_);
    last_ = 0;
    std::size_t mask = table_.size() - 1;
    for (const DestinationTotal& e : old) {
      if (e.records == 0) continue;
      std::size_t i = e.ip.hash() & mask;
      while (table_[i].records != 0) i = (i + 1) & mask;
      table_[i] = e;
    }
    return true;
  }

  std::size_t max_;
  std::vector<DestinationTotal> table_;
  std::size_t count_ = 0;
  std::size_t last_ = 0;  // the entry the last add() updated
  std::uint64_t untracked_packets_ = 0;
  std::uint64_t untracked_bytes_ = 0;
};

}  // namespace bw
