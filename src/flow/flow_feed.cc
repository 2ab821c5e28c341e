// FlowFeed: see flow_feed.h. The hot path is add() of one-chunk records (most records of a
// flood: one packet each) and release(); both avoid division by a run-time value when the
// options are the defaults, and nothing on them allocates once the block pool has filled.
#include "flow/flow_feed.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <limits>
#include <new>
#include <utility>

#include "core/saturate.h"
#include "core/slab_pool.h"
#include "flow/sort_keys.h"

namespace bw {
namespace {

constexpr std::size_t kBatch = 256;         // sFlow samples or late chunks sent together
constexpr std::size_t kSortedBlock = 4096;  // chunks of an unordered cell gathered at once
constexpr std::uint64_t kMaxChunkPackets = std::numeric_limits<std::uint32_t>::max();
constexpr std::int64_t kDefaultCellNs = FlowFeedOptions{}.cell_ns;
constexpr std::int64_t kDefaultChunkNs = FlowFeedOptions{}.chunk_ns;

// Division rounding towards minus infinity. Inlined with a constant divisor it is a
// multiplication; that is why callers pass the default as a literal when they can.
// REQUIRES: b > 0.
[[gnu::always_inline]] inline std::int64_t floorDiv(std::int64_t a, std::int64_t b) noexcept {
  return a >= 0 ? a / b : -(-(a + 1) / b) - 1;
}

}  // namespace

FlowFeed::FlowFeed(FlowFeedOptions options, Sink sink, CrowdedSink crowded)
    : options_(options), sink_(std::move(sink)), crowded_(std::move(crowded)) {
  if (options_.cell_ns <= 0) options_.cell_ns = kDefaultCellNs;
  if (options_.chunk_ns <= 0) options_.chunk_ns = kDefaultChunkNs;
  if (options_.max_holdback_ns < 0) options_.max_holdback_ns = 0;
  options_.min_holdback_ns =
      std::clamp<std::int64_t>(options_.min_holdback_ns, 0, options_.max_holdback_ns);
  options_.max_chunks_per_record = std::max<std::uint32_t>(options_.max_chunks_per_record, 1);
  default_cell_ = options_.cell_ns == kDefaultCellNs;
  // Room for the longest holdback plus the longest record ahead of the watermark.
  const std::size_t cells =
      static_cast<std::size_t>(options_.max_holdback_ns / options_.cell_ns) + 2;
  wheel_cells_ = static_cast<std::int64_t>(std::max<std::size_t>(cells * 2, 16));
  // Slots by mask: the cells in use span at most wheel_cells_, so no two share a slot.
  wheel_.resize(std::bit_ceil(static_cast<std::size_t>(wheel_cells_)));
  mask_ = wheel_.size() - 1;
  stats_.holdback_ns = options_.min_holdback_ns;
  if (crowded_) {
    returns_ = std::make_shared<Returns>();
    returns_->keep = options_.max_pending / 2 / kBlockChunks;
  }
}

FlowFeed::CrowdedCell::CrowdedCell(CrowdedCell&& other) noexcept
    : blocks_(std::move(other.blocks_)),
      size_(std::exchange(other.size_, 0)),
      returns_(std::move(other.returns_)) {}

FlowFeed::CrowdedCell& FlowFeed::CrowdedCell::operator=(CrowdedCell&& other) noexcept {
  if (this != &other) {
    giveBack();
    blocks_ = std::move(other.blocks_);
    size_ = std::exchange(other.size_, 0);
    returns_ = std::move(other.returns_);
  }
  return *this;
}

FlowFeed::CrowdedCell::~CrowdedCell() { giveBack(); }

void FlowFeed::CrowdedCell::giveBack() noexcept {
  if (returns_ && !blocks_.empty()) {
    std::lock_guard<std::mutex> lock(returns_->mu);
    returns_->out_blocks -= blocks_.size();
    for (std::unique_ptr<Block>& b : blocks_) {
      if (returns_->blocks.size() >= returns_->keep) break;
      returns_->blocks.push_back(std::move(b));
    }
  }
  blocks_.clear();  // what the pool had no room for
  size_ = 0;
}

std::int64_t FlowFeed::watermark() const noexcept {
  return newest_end_ns_ == INT64_MIN ? INT64_MIN : satSub(newest_end_ns_, stats_.holdback_ns);
}

std::int64_t FlowFeed::cellOf(std::int64_t ts_ns) const noexcept {
  return default_cell_ ? floorDiv(ts_ns, kDefaultCellNs) : floorDiv(ts_ns, options_.cell_ns);
}

void FlowFeed::add(const FlowRecord& r) {
  ++stats_.records;
  if (r.packets == 0) return;
  if (r.flags & flowflag::kSampledHeader || r.protocol == FlowProtocol::SflowV5) {
    PacketSummary& p = direct_.emplace_back(r.summary);
    p.packets = static_cast<std::uint32_t>(std::min(r.packets, kMaxChunkPackets));
    p.ip_bytes = r.bytes;
    ++stats_.chunks;
    if (direct_.size() >= kBatch) sendDirect();
    return;
  }

  // NetFlow v5/v9 and IPFIX records: held, which keeps no payload or fragment id (they
  // carry none).
  assert(HeldChunk::holds(r.summary));
  const std::int64_t first = r.summary.ts_ns;
  const std::int64_t last = std::max(r.last_ns, first);
  // Saturated: only absurd exporter clocks come near it, and then the chunks still lie
  // between first and last.
  const std::int64_t span = satSub(last, first);
  newest_end_ns_ = std::max(newest_end_ns_, last);
  // Held chunks wait for the records that start this far behind the newest end: a long
  // record's span, or a record exported late (flow caches emptied in bulk when a spoofed
  // flood fills them send minute-old one-packet flows after fresh ones).
  const std::int64_t behind = satSub(newest_end_ns_, first);
  stats_.holdback_ns = std::min(options_.max_holdback_ns,
                                std::max(stats_.holdback_ns, satAdd(behind, options_.cell_ns)));
  if (next_cell_ == INT64_MIN) next_cell_ = cellOf(satSub(first, options_.max_holdback_ns));

  const std::int64_t first_cell = cellOf(first);
  const bool late_record = (span == 0 ? first_cell : cellOf(last)) < next_cell_;
  if (late_record) ++stats_.late_records;

  // One chunk: a single packet, or a record with no duration.
  if ((span == 0 || r.packets == 1) && r.packets <= kMaxChunkPackets) {
    ++stats_.chunks;
    place(r.summary, first, static_cast<std::uint32_t>(r.packets), r.bytes, first_cell);
    return;
  }

  // Chunks at most chunk_ns apart, the first at `first` and the last at `last`.
  const std::int64_t steps = options_.chunk_ns == kDefaultChunkNs
                                 ? span / kDefaultChunkNs + (span % kDefaultChunkNs != 0)
                                 : span / options_.chunk_ns + (span % options_.chunk_ns != 0);
  std::uint64_t n = static_cast<std::uint64_t>(steps) + 1;
  n = std::min<std::uint64_t>(n, options_.max_chunks_per_record);
  n = std::min<std::uint64_t>(n, r.packets);
  // Chunks carry 32-bit packet counts: absurd counts take more chunks, never overflow.
  n = std::max<std::uint64_t>(n, (r.packets + kMaxChunkPackets - 1) / kMaxChunkPackets);
  n = std::max<std::uint64_t>(n, 1);

  // Chunk i is at first + floor(span * i / (n - 1)) and carries an even share of the counts
  // (the first `packets % n` chunks one more); both walked without a division per chunk.
  const std::uint64_t packets_each = r.packets / n, packets_extra = r.packets % n;
  const std::uint64_t bytes_each = r.bytes / n, bytes_extra = r.bytes % n;
  const std::uint64_t gaps = n - 1;
  const std::uint64_t uspan = static_cast<std::uint64_t>(span);  // span >= 0
  const std::uint64_t step_q = gaps != 0 ? uspan / gaps : 0;
  const std::uint64_t step_r = gaps != 0 ? uspan % gaps : 0;
  std::uint64_t offset = 0, remainder = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::int64_t ts = first + static_cast<std::int64_t>(offset);
    ++stats_.chunks;
    place(r.summary, ts, static_cast<std::uint32_t>(packets_each + (i < packets_extra ? 1 : 0)),
          bytes_each + (i < bytes_extra ? 1 : 0), i == 0 ? first_cell : cellOf(ts));
    offset += step_q;
    remainder += step_r;
    if (remainder >= gaps) {
      remainder -= gaps;
      ++offset;
    }
  }
}

// Writes the chunk straight into its cell (or the late batch): built elsewhere and copied,
// its freshly written fields would stall the copy.
void FlowFeed::place(const PacketSummary& key, std::int64_t ts_ns, std::uint32_t packets,
                     std::uint64_t ip_bytes, std::int64_t cell) {
  Cell* c = nullptr;
  // Behind the watermark already (the engine counts it as late), or a full wheel released
  // the chunk's own cell: late.
  if (cell >= next_cell_) {
    if (cell >= next_cell_ + wheel_cells_) releaseUpTo(cell - wheel_cells_ + 1);
    while (pending_ >= options_.max_pending) {
      std::size_t before = pending_;
      releaseUpTo(next_cell_ + 1);
      stats_.forced_releases += before - pending_;
    }
    if (cell >= next_cell_) {
      c = &wheel_[slotOf(cell)];
      if (c->empty()) {
        c->earliest_ns = c->latest_ns = ts_ns;
      } else if (ts_ns >= c->latest_ns) {
        c->latest_ns = ts_ns;
      } else {
        c->ordered = false;
        c->earliest_ns = std::min(c->earliest_ns, ts_ns);
      }
      ++pending_;
    }
  }
  if (c == nullptr) {
    PacketSummary& p = late_.emplace_back(key);
    p.ts_ns = ts_ns;
    p.packets = packets;
    p.ip_bytes = ip_bytes;
    if (late_.size() >= kBatch) sendLate();
    return;
  }
  if (c->next == c->end) addBlock(*c);
  ::new (static_cast<void*>(c->next++)) HeldChunk(key, ts_ns, packets, ip_bytes);
  // The cell's next slot, for writing: cells fill slowly and far apart, so without this
  // every append waits for its cache line.
  if (c->next != c->end) __builtin_prefetch(c->next, 1);
}

// Room for kSortedBlock chunks (>= kBlockChunks) expanded for the sink, allocated once.
PacketSummary* FlowFeed::expandBuffer() {
  static_assert(kSortedBlock >= kBlockChunks);
  if (expanded_.empty()) expanded_.resize(kSortedBlock);
  return expanded_.data();
}

void FlowFeed::sendLate() {
  if (late_.empty()) return;
  sink_(late_);
  late_.clear();
}

// Late chunks were due before any sample added after them.
void FlowFeed::sendDirect() {
  sendLate();
  if (direct_.empty()) return;
  sink_(direct_);
  direct_.clear();
}

void FlowFeed::release() {
  sendDirect();
  if (next_cell_ == INT64_MIN || newest_end_ns_ == INT64_MIN) return;
  releaseUpTo(cellOf(watermark()));
}

void FlowFeed::advanceTo(std::int64_t now_ns) {
  if (next_cell_ == INT64_MIN) return;  // nothing held yet, and no clock to move
  newest_end_ns_ = std::max(newest_end_ns_, now_ns);
  release();
}

void FlowFeed::flush() {
  sendDirect();
  if (next_cell_ == INT64_MIN) return;
  releaseUpTo(next_cell_ + wheel_cells_);
}

void FlowFeed::releaseUpTo(std::int64_t target) {
  if (target <= next_cell_) return;
  sendLate();  // they were due before anything released now
  // A jump past the whole wheel visits each cell once, oldest first.
  const std::int64_t stop = std::min(target, next_cell_ + wheel_cells_);
  for (std::int64_t c = next_cell_; c < stop && pending_ > 0; ++c) {
    Cell& cell = wheel_[slotOf(c)];
    if (!cell.empty()) sendCell(cell);
  }
  next_cell_ = target;
}

// Shared by every feed (blocks may be released on another thread) and never destroyed, so
// that blocks freed during static destruction still have somewhere to go.
SlabPool& FlowFeed::Block::slabs() {
  static SlabPool* const pool = new SlabPool(sizeof(Block));
  return *pool;
}

void* FlowFeed::Block::operator new(std::size_t bytes) {
  assert(bytes == sizeof(Block));
  void* p = slabs().allocate();
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void FlowFeed::Block::operator delete(void* p) noexcept { slabs().release(p); }

void FlowFeed::addBlock(Cell& cell) {
  if (pool_.empty() && returns_) {  // blocks of cells handed over, back from their reader
    std::lock_guard<std::mutex> lock(returns_->mu);
    pool_.swap(returns_->blocks);
    stats_.capacity_chunks += pool_.size() * kBlockChunks;
  }
  if (pool_.empty()) {
    cell.blocks.push_back(std::make_unique<Block>());
    stats_.capacity_chunks += kBlockChunks;
    stats_.allocated_chunks += kBlockChunks;
  } else {
    cell.blocks.push_back(std::move(pool_.back()));
    pool_.pop_back();
  }
  cell.next = cell.blocks.back()->chunks;
  cell.end = cell.next + kBlockChunks;
}

// Chunks of one cell share the engine's bucket; order inside it still matters for the
// first-packet times the engine records.
void FlowFeed::sendCell(Cell& cell) {
  const std::size_t n = cell.size();
  pending_ -= n;
  if (options_.group_min_chunks != 0 && n >= options_.group_min_chunks) {
    sendCrowded(cell, n);
  } else if (cell.ordered) {
    sendOrdered(cell, n);
  } else {
    sendSorted(cell, n);
  }
  const std::size_t keep = options_.max_pending / 2 / kBlockChunks;
  for (std::unique_ptr<Block>& b : cell.blocks) {
    if (pool_.size() < keep) {
      pool_.push_back(std::move(b));
    } else {
      stats_.capacity_chunks -= kBlockChunks;
    }
  }
  cell.blocks.clear();
  cell.next = cell.end = nullptr;
  cell.ordered = true;  // for the next bucket it holds: place() only ever clears it
}

// A block at a time, each expanded for the sink.
void FlowFeed::sendOrdered(Cell& cell, std::size_t n) {
  PacketSummary* out = expandBuffer();
  forEachSpan(cell.blocks, n, [&](std::span<const HeldChunk> s) {
    for (std::size_t i = 0; i < s.size(); ++i) s[i].expand(out[i]);
    sink_(std::span<const PacketSummary>(out, s.size()));
  });
}

void FlowFeed::sendSorted(Cell& cell, std::size_t n) {
  const auto at = [&cell](std::size_t i) -> const HeldChunk& {
    return cell.blocks[i / kBlockChunks]->chunks[i % kBlockChunks];
  };
  // Sort (time, arrival) keys packed in 64 bits: the time relative to the cell's earliest
  // (less than cell_ns) above the arrival index.
  const std::int64_t lo = cell.earliest_ns;
  const int index_bits = std::bit_width(n - 1);
  const int time_bits = std::bit_width(static_cast<std::uint64_t>(cell.latest_ns - lo));
  order_.resize(n);
  if (index_bits + time_bits <= 64) {
    for (std::size_t i = 0; i < n; ++i) {
      const auto rel = static_cast<std::uint64_t>(at(i).ts_ns - lo);
      order_[i] = rel << index_bits | i;
    }
    sortKeys(order_, scratch_, counts_, index_bits + time_bits);
    const std::uint64_t index_mask = index_bits == 64 ? ~0ull : (1ull << index_bits) - 1;
    for (std::uint64_t& k : order_) k &= index_mask;
  } else {  // a cell too long for the keys (cell_ns far from the default)
    for (std::size_t i = 0; i < n; ++i) order_[i] = i;
    std::sort(order_.begin(), order_.end(), [&](std::uint64_t a, std::uint64_t b) {
      return at(a).ts_ns != at(b).ts_ns ? at(a).ts_ns < at(b).ts_ns : a < b;
    });
  }
  // Gathered and sent a block at a time: the copy stays small however big the cell.
  PacketSummary* out = expandBuffer();
  for (std::size_t from = 0; from < n; from += kSortedBlock) {
    const std::size_t k = std::min(n - from, kSortedBlock);
    for (std::size_t i = 0; i < k; ++i) at(order_[from + i]).expand(out[i]);
    sink_(std::span<const PacketSummary>(out, k));
  }
}

// Whether `blocks` more may be handed over: see the constructor's comment.
bool FlowFeed::handOver(std::size_t blocks) {
  std::lock_guard<std::mutex> lock(returns_->mu);
  if ((returns_->out_blocks + blocks) * kBlockChunks > options_.max_pending) return false;
  returns_->out_blocks += blocks;
  return true;
}

// A crowded cell: handed over whole while the reader's share of memory allows, or grouped by
// key and merged here (see ChunkGrouper) on its way to the sink.
void FlowFeed::sendCrowded(Cell& cell, std::size_t n) {
  ++stats_.grouped_cells;
  if (crowded_ && handOver(cell.blocks.size())) {
    CrowdedCell handed;
    handed.size_ = n;
    handed.returns_ = returns_;
    stats_.capacity_chunks -= cell.blocks.size() * kBlockChunks;  // back through addBlock()
    handed.blocks_ = std::move(cell.blocks);
    cell.blocks.clear();
    crowded_(std::move(handed));
    return;
  }
  forEachSpan(cell.blocks, n, [this](std::span<const HeldChunk> s) { grouper_.add(s); });
  grouper_.flush(sink_);
}

}  // namespace bw
