// FlowFeed: flow records -> the engine's time-ordered PacketSummary stream.
//
// The engine runs on event time and expects packets roughly in order. Telemetry breaks that
// in two ways, and this stage repairs both:
//  - A NetFlow/IPFIX record covers [first, last] (up to the exporter's active timeout) and
//    arrives after `last`. Its packets are spread evenly over that span, as chunks at most
//    one second apart (first chunk at `first`, last at `last`), so rates over the engine's
//    one-second window are the flow's own rate rather than a spike at export time.
//  - Records of different flows arrive out of order. Chunks wait in a wheel of engine buckets
//    until the watermark (newest record end seen, minus the holdback) passes them, then leave
//    in time order. The holdback adapts to the longest record span seen (the exporter's
//    active timeout, in effect), up to `max_holdback_ns`.
// sFlow samples are packets sampled as they pass and carry payload bytes that live only as
// long as their datagram: they go to the sink at once, unspread and unheld.
//
// Memory is bounded by `max_pending` chunks: past it the oldest wheel cells leave early
// (their chunks may then reach the engine late, where they are counted as late packets).
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "decode/packet.h"
#include "flow/flow_record.h"

namespace bw {

struct FlowFeedOptions {
  std::int64_t cell_ns = 100'000'000;             // wheel resolution: the engine's bucket
  std::int64_t chunk_ns = 1'000'000'000;          // at most this far apart inside one record
  std::int64_t max_holdback_ns = 65'000'000'000;  // a bit over the common 60 s active timeout
  std::uint32_t max_chunks_per_record = 128;      // longer records get coarser chunks
  std::size_t max_pending = 2'000'000;            // chunks held in the wheel
};

struct FlowFeedStats {
  std::uint64_t records = 0;
  std::uint64_t chunks = 0;
  std::uint64_t late_records = 0;     // ended before the watermark: sent at once
  std::uint64_t forced_releases = 0;  // chunks released early because the wheel was full
  std::int64_t holdback_ns = 0;       // current holdback
};

class FlowFeed {
 public:
  using Sink = std::function<void(std::span<const PacketSummary>)>;

  FlowFeed(FlowFeedOptions options, Sink sink);

  // Takes one record. sFlow samples go to the sink immediately; flow records are spread
  // and held. Call release() after each datagram's records.
  void add(const FlowRecord& record);
  // Sends every held chunk older than the watermark to the sink, in time order.
  void release();
  // End of input: sends everything held.
  void flush();
  // Live sources: time has reached `now_ns` even if no record says so (an exporter that went
  // quiet). Moves the watermark as a record ending at `now_ns` would, and releases.
  void advanceTo(std::int64_t now_ns);
  // Chunks older than this have been sent; INT64_MIN before the first record.
  std::int64_t watermark() const noexcept {
    return newest_end_ns_ == INT64_MIN ? INT64_MIN : newest_end_ns_ - stats_.holdback_ns;
  }

  // The newest record end seen (or passed to advanceTo()): the exporters' clock; INT64_MIN
  // before the first record.
  std::int64_t clock() const noexcept { return newest_end_ns_; }

  const FlowFeedStats& stats() const noexcept { return stats_; }

 private:
  void place(const PacketSummary& chunk);
  void releaseUpTo(std::int64_t cell);  // cells with index < `cell`
  void emit(std::span<const PacketSummary> batch);
  std::size_t slotOf(std::int64_t cell) const noexcept;

  FlowFeedOptions options_;
  Sink sink_;
  std::vector<std::vector<PacketSummary>> wheel_;  // cell index % size
  std::int64_t next_cell_ = INT64_MIN;             // oldest cell not yet released
  std::int64_t newest_end_ns_ = INT64_MIN;
  std::size_t pending_ = 0;
  std::vector<PacketSummary> direct_;  // sFlow samples of the current call
  FlowFeedStats stats_;
};

}  // namespace bw
