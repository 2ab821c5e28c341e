// SourceTracker: who sends an attack (or a candidate) its traffic.
//
// Exact while it can be: an open-addressing map IpAddress -> {packets, bytes}, grown by
// doubling up to `exact_limit` sources and within a byte budget shared by all trackers
// (ExactBudget). Past either bound it switches for good to a HyperLogLog (p = 16, 0.4 %
// standard error) for the distinct count and a Space-Saving summary of the heaviest sources
// by bytes (Metwally et al. 2005), seeded with the exact map's heaviest entries. So memory per
// tracker is bounded and the total across trackers is bounded by the budget, whatever the
// number of spoofed sources.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/hyperloglog.h"
#include "core/ip_address.h"
#include "detect/attack.h"

namespace bw {

// Bytes of exact source maps all trackers may hold together.
class ExactBudget {
 public:
  explicit ExactBudget(std::size_t bytes) : limit_(bytes) {}
  bool take(std::size_t n) noexcept {
    if (used_ + n > limit_) return false;
    used_ += n;
    return true;
  }
  void give(std::size_t n) noexcept { used_ -= n; }
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
  void add(const IpAddress& src, std::uint32_t packets, std::uint64_t bytes) noexcept;

  std::uint64_t distinct() const noexcept;
  bool estimated() const noexcept { return sketch_ != nullptr; }
  // The `n` heaviest sources by bytes, descending (ties by address).
  std::vector<ReflectorStat> top(std::size_t n) const;

 private:
  struct Entry {
    IpAddress ip;
    std::uint64_t packets;  // 0 marks an empty slot
    std::uint64_t bytes;
  };
  struct Sketch {
    HyperLogLog hll{16};
    Entry top[kTopCapacity];
    std::uint64_t hashes[kTopCapacity];
    std::size_t used = 0;
  };

  bool grow() noexcept;
  void switchToSketch() noexcept;
  void sketchAdd(const IpAddress& src, std::uint64_t hash, std::uint32_t packets,
                 std::uint64_t bytes) noexcept;

  ExactBudget* budget_;
  std::size_t exact_limit_;
  std::vector<Entry> table_;  // power-of-two size; load factor <= 1/2
  std::size_t count_ = 0;
  std::unique_ptr<Sketch> sketch_;
};

}  // namespace bw
