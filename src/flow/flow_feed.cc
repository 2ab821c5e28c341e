#include "flow/flow_feed.h"

#include <algorithm>
#include <limits>

namespace bw {
namespace {

constexpr std::size_t kBatch = 256;
constexpr std::uint64_t kMaxChunkPackets = std::numeric_limits<std::uint32_t>::max();

std::int64_t floorDiv(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : (a - b + 1) / b; }

}  // namespace

FlowFeed::FlowFeed(FlowFeedOptions options, Sink sink) : options_(options), sink_(std::move(sink)) {
  if (options_.cell_ns <= 0) options_.cell_ns = 100'000'000;
  if (options_.chunk_ns <= 0) options_.chunk_ns = 1'000'000'000;
  if (options_.max_holdback_ns < 0) options_.max_holdback_ns = 0;
  options_.max_chunks_per_record = std::max<std::uint32_t>(options_.max_chunks_per_record, 1);
  // Room for the longest holdback plus the longest record ahead of the watermark.
  std::size_t cells = static_cast<std::size_t>(options_.max_holdback_ns / options_.cell_ns) + 2;
  wheel_.resize(std::max<std::size_t>(cells * 2, 16));
  stats_.holdback_ns = 0;
}

void FlowFeed::add(const FlowRecord& r) {
  ++stats_.records;
  if (r.packets == 0) return;
  if (r.flags & flowflag::kSampledHeader || r.protocol == FlowProtocol::SflowV5) {
    PacketSummary p = r.summary;
    p.packets = static_cast<std::uint32_t>(std::min(r.packets, kMaxChunkPackets));
    p.ip_bytes = r.bytes;
    ++stats_.chunks;
    direct_.push_back(p);
    if (direct_.size() >= kBatch) {
      emit(direct_);
      direct_.clear();
    }
    return;
  }

  const std::int64_t first = r.summary.ts_ns;
  const std::int64_t last = std::max(r.last_ns, first);
  const std::int64_t span = last - first;
  stats_.holdback_ns =
      std::min(options_.max_holdback_ns, std::max(stats_.holdback_ns, span + options_.cell_ns));
  newest_end_ns_ = std::max(newest_end_ns_, last);
  if (next_cell_ == INT64_MIN) {
    next_cell_ = floorDiv(first - options_.max_holdback_ns, options_.cell_ns);
  }

  // Chunks at most chunk_ns apart, the first at `first` and the last at `last`.
  std::uint64_t n = static_cast<std::uint64_t>(span / options_.chunk_ns) +
                    (span % options_.chunk_ns != 0 ? 1 : 0) + 1;
  n = std::min<std::uint64_t>(n, options_.max_chunks_per_record);
  n = std::min<std::uint64_t>(n, r.packets);
  // Chunks carry 32-bit packet counts: absurd counts take more chunks, never overflow.
  n = std::max<std::uint64_t>(n, (r.packets + kMaxChunkPackets - 1) / kMaxChunkPackets);
  n = std::max<std::uint64_t>(n, 1);

  if (floorDiv(last, options_.cell_ns) < next_cell_) ++stats_.late_records;
  PacketSummary chunk = r.summary;
  chunk.payload = nullptr;
  chunk.payload_len = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    chunk.ts_ns = n == 1 ? first
                         : first + static_cast<std::int64_t>(static_cast<__int128>(span) *
                                                             static_cast<__int128>(i) /
                                                             static_cast<__int128>(n - 1));
    chunk.packets = static_cast<std::uint32_t>(r.packets / n + (i < r.packets % n ? 1 : 0));
    chunk.ip_bytes = r.bytes / n + (i < r.bytes % n ? 1 : 0);
    place(chunk);
  }
}

void FlowFeed::place(const PacketSummary& chunk) {
  ++stats_.chunks;
  const std::int64_t cell = floorDiv(chunk.ts_ns, options_.cell_ns);
  if (cell < next_cell_) {  // behind the watermark already: the engine counts it as late
    emit(std::span<const PacketSummary>(&chunk, 1));
    return;
  }
  const auto size = static_cast<std::int64_t>(wheel_.size());
  if (cell >= next_cell_ + size) releaseUpTo(cell - size + 1);
  while (pending_ >= options_.max_pending) {
    std::size_t before = pending_;
    releaseUpTo(next_cell_ + 1);
    stats_.forced_releases += before - pending_;
  }
  wheel_[slotOf(cell)].push_back(chunk);
  ++pending_;
}

void FlowFeed::release() {
  if (!direct_.empty()) {
    emit(direct_);
    direct_.clear();
  }
  if (next_cell_ == INT64_MIN || newest_end_ns_ == INT64_MIN) return;
  const std::int64_t watermark = newest_end_ns_ - stats_.holdback_ns;
  releaseUpTo(floorDiv(watermark, options_.cell_ns));
}

void FlowFeed::advanceTo(std::int64_t now_ns) {
  if (next_cell_ == INT64_MIN) return;  // nothing held yet, and no clock to move
  newest_end_ns_ = std::max(newest_end_ns_, now_ns);
  release();
}

void FlowFeed::flush() {
  if (!direct_.empty()) {
    emit(direct_);
    direct_.clear();
  }
  if (next_cell_ == INT64_MIN) return;
  releaseUpTo(next_cell_ + static_cast<std::int64_t>(wheel_.size()));
}

void FlowFeed::releaseUpTo(std::int64_t target) {
  const auto size = static_cast<std::int64_t>(wheel_.size());
  if (target <= next_cell_) return;
  // A jump past the whole wheel visits each cell once, oldest first.
  std::int64_t stop = std::min(target, next_cell_ + size);
  for (std::int64_t c = next_cell_; c < stop && pending_ > 0; ++c) {
    std::vector<PacketSummary>& cell = wheel_[slotOf(c)];
    if (cell.empty()) continue;
    // Chunks of one cell share the engine's bucket; order inside it still matters for the
    // first-packet times the engine records.
    std::sort(cell.begin(), cell.end(),
              [](const PacketSummary& a, const PacketSummary& b) { return a.ts_ns < b.ts_ns; });
    for (std::size_t i = 0; i < cell.size(); i += kBatch) {
      emit(std::span<const PacketSummary>(cell.data() + i, std::min(kBatch, cell.size() - i)));
    }
    pending_ -= cell.size();
    cell.clear();
  }
  next_cell_ = target;
}

std::size_t FlowFeed::slotOf(std::int64_t cell) const noexcept {
  const auto size = static_cast<std::int64_t>(wheel_.size());
  return static_cast<std::size_t>(((cell % size) + size) % size);
}

void FlowFeed::emit(std::span<const PacketSummary> batch) {
  if (!batch.empty()) sink_(batch);
}

}  // namespace bw
