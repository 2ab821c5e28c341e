// ScannerTracker: sources probing an amplification port across many destinations — the early
// warning seen before the 2018 memcached floods (a sweep of 11211/udp).
//
// A probe is a request to a vector's port (classifyRequest). Distinct (source, port,
// destination) triples live in a two-generation set of 64-bit fingerprints (when the young
// generation fills, the old one is dropped: memory is fixed and recent triples stay exact).
// Per (source, port) a bounded table counts targets and how many answered from the probed
// port; a busy client (a resolver querying many servers) is answered, a sweep mostly is not.
//
// Speed: the triple set (4 MiB) does not fit in L2, and most responses ask it about triples it
// does not hold. Each generation therefore has a blocked Bloom filter (128 KiB: three bits in
// one 64-bit word per triple, cleared with its generation); a triple's words in the two
// generations share a cache line, so "not asked" costs one L2 hit. The set stays the truth:
// the filter answers only "maybe" or "certainly not". Per packet the caller computes a
// ResponseKey once (from address hashes it has anyway), prefetches with it a few packets ahead
// and hands it to onResponse() and asked().
//
// Memory is fixed at construction: 4 MiB of triples, 384 KiB of filters and 64 bytes per
// max_scanner_sources entry (rounded up to a power of two), plus at most 10,000 finished records.
// Not thread-safe.
#pragma once

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/hyperloglog.h"
#include "core/ip_address.h"
#include "core/zeroed_array.h"
#include "decode/vector.h"
#include "detect/attack.h"
#include "detect/config.h"

namespace bw {

class ScannerTracker {
 public:
  // Distinct requests a generation takes before it ages: asked() remembers the last
  // kTriplesPerGeneration to 2 * kTriplesPerGeneration of them.
  static constexpr std::size_t kTriplesPerGeneration = 1u << 17;

  // A response from `responder`:port to `dst`, hashed once: the (dst, port) requester and the
  // (dst, port, responder) request the response may answer.
  class ResponseKey {
   private:
    friend class ScannerTracker;
    std::uint64_t source_key_ = 0;
    std::uint64_t fp_ = 0;
    std::uint16_t port_ = 0;
  };
  // REQUIRES (here and below): each `*_hash` is IpAddress::hash() of the address it names.
  static ResponseKey responseKey(std::uint64_t responder_hash, std::uint64_t dst_hash,
                                 std::uint16_t port) noexcept {
    ResponseKey k;
    k.source_key_ = sourceKey(dst_hash, port);
    k.fp_ = fingerprint(k.source_key_, responder_hash);
    k.port_ = port;
    return k;
  }

  explicit ScannerTracker(const DetectionConfig& config);

  void onRequest(const IpAddress& src, const IpAddress& dst, std::uint16_t port, Vector v,
                 std::int64_t ts_ns) noexcept {
    onRequest(src, src.hash(), dst, dst.hash(), port, v, ts_ns);
  }
  void onRequest(const IpAddress& src, std::uint64_t src_hash, const IpAddress& dst,
                 std::uint64_t dst_hash, std::uint16_t port, Vector v, std::int64_t ts_ns) noexcept;

  // A response from `responder`:port to `dst`; credits an answer if `dst` probed it. Returns
  // what asked() would, which the look-up has found out anyway.
  // REQUIRES: `key` is responseKey() of this response (so `dst` is its destination).
  bool onResponse(const IpAddress& dst, const ResponseKey& key, std::int64_t ts_ns) noexcept {
    // Inline, since nearly every response ends here: `dst` sent no request to this port (and
    // so none of its triples is in the set: a source's filter bit is set before its first).
    return sourceMaybe(key.source_key_) && onAskingResponse(dst, key, ts_ns);
  }
  bool onResponse(const IpAddress& responder, std::uint64_t responder_hash, const IpAddress& dst,
                  std::uint64_t dst_hash, std::uint16_t port, std::int64_t ts_ns) noexcept {
    assert(responder_hash == responder.hash() && dst_hash == dst.hash());
    return onResponse(dst, responseKey(responder_hash, dst_hash, port), ts_ns);
  }
  bool onResponse(const IpAddress& responder, const IpAddress& dst, std::uint16_t port,
                  std::int64_t ts_ns) noexcept {
    return onResponse(dst, responseKey(responder.hash(), dst.hash(), port), ts_ns);
  }

  // True when the response's destination recently sent a request to its source on that port
  // (one of the last kTriplesPerGeneration or more distinct requests; answers come within
  // seconds). The address forms name the request: `requester` asked `server`:port.
  bool asked(const ResponseKey& key) const noexcept;
  bool asked(const IpAddress& requester, std::uint64_t requester_hash, std::uint16_t port,
             const IpAddress& server, std::uint64_t server_hash) const noexcept {
    assert(requester_hash == requester.hash() && server_hash == server.hash());
    return asked(responseKey(server_hash, requester_hash, port));
  }
  bool asked(const IpAddress& requester, std::uint16_t port,
             const IpAddress& server) const noexcept {
    return asked(responseKey(server.hash(), requester.hash(), port));
  }

  // Starts loading what onResponse() and asked() will read for this response: the source
  // filter word, the triple's filter line and, where its filter word says "maybe", the triple's
  // home slot in that generation. Changes nothing; a batch calls it a few packets ahead.
  void prefetchResponse(const ResponseKey& key) const noexcept;
  void prefetchResponse(const IpAddress& responder, std::uint64_t responder_hash,
                        const IpAddress& dst, std::uint64_t dst_hash,
                        std::uint16_t port) const noexcept {
    assert(responder_hash == responder.hash() && dst_hash == dst.hash());
    prefetchResponse(responseKey(responder_hash, dst_hash, port));
  }

  // Sources that qualify as scanners (finished episodes and current ones), by start time.
  std::vector<ScannerRecord> scanners() const;
  std::uint64_t evictions() const noexcept { return evictions_; }
  // Bytes held: the fixed tables plus the finished records.
  std::size_t memoryBytes() const noexcept;

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
  static constexpr std::size_t kTripleSlots = 2 * kTriplesPerGeneration;  // 2 MiB each
  static constexpr std::size_t kFilterWords = 1u << 14;                   // 128 KiB each
  static constexpr std::size_t kSourceFilterBits = 1u << 20;

  // The address hash is already well mixed, so one rotation and the port spread by an odd
  // multiplier make the key; the rotation is what keeps a triple's fingerprint from being
  // the same read in either direction (A asking B, B asking A).
  static std::uint64_t sourceKey(std::uint64_t src_hash, std::uint16_t port) noexcept {
    return std::rotl(src_hash, 23) ^ (std::uint64_t{port} * 0x9E3779B97F4A7C15ULL);
  }
  // A triple's fingerprint: odd (never 0, the empty slot) and below 2^63 (kAnswered). Its
  // home slot, filter word and filter bits come from disjoint bits of it.
  static std::uint64_t fingerprint(std::uint64_t source_key, std::uint64_t dst_hash) noexcept {
    return (mix64(source_key ^ dst_hash) & ~kAnswered) | 1;
  }
  static std::size_t home(std::uint64_t fp) noexcept { return (fp >> 1) & (kTripleSlots - 1); }
  // Index of the young and old generations' word pair; the young one is at + young_word_.
  static std::size_t filterPair(std::uint64_t fp) noexcept {
    return 2 * ((fp >> 19) & (kFilterWords - 1));
  }
  static std::uint64_t filterBits(std::uint64_t fp) noexcept {
    return (1ULL << ((fp >> 33) & 63)) | (1ULL << ((fp >> 39) & 63)) | (1ULL << ((fp >> 45) & 63));
  }
  std::size_t sourceWord(std::uint64_t source_key) const noexcept {
    return (source_key >> 6) & (source_filter_.size() - 1);
  }
  bool sourceMaybe(std::uint64_t source_key) const noexcept {
    return (source_filter_[sourceWord(source_key)] >> (source_key & 63)) & 1;
  }

  // onResponse() once the source filter says `dst` may have asked on the port.
  bool onAskingResponse(const IpAddress& dst, const ResponseKey& key, std::int64_t ts_ns) noexcept;
  Entry* find(const IpAddress& src, std::uint16_t port, std::uint64_t source_key) noexcept;
  Entry* findOrCreate(const IpAddress& src, std::uint16_t port, std::uint64_t source_key,
                      std::int64_t ts_ns) noexcept;
  bool qualifies(const Entry& e) const noexcept;
  void retire(const Entry& e);
  // The word holding `fp` in one generation (kAnswered may be set), or nullptr.
  static const std::uint64_t* probe(const ZeroedArray<std::uint64_t>& gen,
                                    std::uint64_t fp) noexcept;
  // The same in either generation, asking each one's filter first.
  const std::uint64_t* findTriple(std::uint64_t fp) const noexcept;
  // Adds `fp` to the young generation unless it is there already; true when neither
  // generation held it (a new target).
  bool insertTriple(std::uint64_t fp) noexcept;
  void age() noexcept;

  // The tables are zeroed storage (core/zeroed_array.h): megabytes sized for the worst case,
  // of which a capture without requests touches next to nothing.
  const DetectionConfig& config_;
  ZeroedArray<Entry> entries_;
  std::vector<std::uint32_t> used_slots_;  // each slot of entries_ ever used, once
  std::uint32_t mask_;
  ZeroedArray<std::uint64_t> young_, old_;
  std::size_t young_count_ = 0;
  ZeroedArray<std::uint64_t> filter_;         // word pairs, see filterPair()
  std::size_t young_word_ = 0;                // 0 or 1: which word of each pair is the young one's
  ZeroedArray<std::uint64_t> source_filter_;  // bit per sourceKey that has had an entry
  std::vector<ScannerRecord> finished_;
  std::uint64_t evictions_ = 0;
};

inline void ScannerTracker::prefetchResponse(const ResponseKey& key) const noexcept {
  __builtin_prefetch(&source_filter_[sourceWord(key.source_key_)]);
  const std::uint64_t* pair = &filter_[filterPair(key.fp_)];
  const std::uint64_t bits = filterBits(key.fp_);
  if ((pair[young_word_] & bits) == bits) __builtin_prefetch(&young_[home(key.fp_)]);
  if ((pair[young_word_ ^ 1] & bits) == bits) __builtin_prefetch(&old_[home(key.fp_)]);
}

}  // namespace bw
