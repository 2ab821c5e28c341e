// ScannerTracker: sources probing an amplification port across many destinations — the early
// warning seen before the 2018 memcached floods (a sweep of 11211/udp).
//
// A probe is a request to a vector's port (classifyRequest). Distinct (source, port,
// destination) triples live in a two-generation set of 64-bit fingerprints (when the young
// generation fills, the old one is dropped: memory is fixed and recent triples stay exact).
// Per (source, port) a bounded table counts targets and how many answered from the probed
// port; a busy client (a resolver querying many servers) is answered, a sweep mostly is not.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "core/ip_address.h"
#include "decode/vector.h"
#include "detect/attack.h"
#include "detect/config.h"

namespace bw {

class ScannerTracker {
 public:
  explicit ScannerTracker(const DetectionConfig& config);

  void onRequest(const IpAddress& src, const IpAddress& dst, std::uint16_t port, Vector v,
                 std::int64_t ts_ns) noexcept;
  // A response from `responder`:port to `dst`; credits an answer if `dst` probed it.
  void onResponse(const IpAddress& responder, const IpAddress& dst, std::uint16_t port,
                  std::int64_t ts_ns) noexcept;

  // True when `requester` recently sent a request to `server`:port (the triple set holds the
  // last ~half million distinct requests; answers come within seconds).
  bool asked(const IpAddress& requester, std::uint16_t port, const IpAddress& server) noexcept;

  // Sources that qualify as scanners (finished episodes and current ones), by start time.
  std::vector<ScannerRecord> scanners() const;
  std::uint64_t evictions() const noexcept { return evictions_; }

 private:
  struct Entry {
    IpAddress src;
    std::uint16_t port = 0;
    Vector vector = Vector::None;
    bool used = false;
    std::uint64_t targets = 0;
    std::uint64_t packets = 0;
    std::uint64_t responders = 0;
    std::int64_t start_ns = 0;
    std::int64_t end_ns = 0;
  };
  static constexpr std::uint32_t kProbeLimit = 8;
  static constexpr std::uint64_t kAnswered = 1ULL << 63;

  Entry* find(const IpAddress& src, std::uint16_t port) noexcept;
  Entry* findOrCreate(const IpAddress& src, std::uint16_t port, std::int64_t ts_ns) noexcept;
  bool qualifies(const Entry& e) const noexcept;
  void retire(const Entry& e);
  // Triple set: returns the stored word (0 if absent); inserts when `insert`.
  std::uint64_t* tripleFind(std::uint64_t fp, bool insert, bool* inserted) noexcept;

  const DetectionConfig& config_;
  std::vector<Entry> entries_;
  std::uint32_t mask_;
  std::vector<std::uint64_t> young_, old_;
  std::size_t young_count_ = 0;
  std::vector<std::uint64_t> filter_;  // bit per hash(src, port) that has an entry
  std::vector<ScannerRecord> finished_;
  std::uint64_t evictions_ = 0;
};

}  // namespace bw
