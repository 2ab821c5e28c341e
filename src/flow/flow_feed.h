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
//    in time order. The holdback adapts to the furthest a record has started behind the
//    newest end seen before it: the longest record span (the exporter's active timeout, in
//    effect) or the longest export delay, from `min_holdback_ns` up to `max_holdback_ns`.
//    Chunks of a record later than that reach the engine late and are counted there.
// sFlow samples are packets sampled as they pass and carry payload bytes that live only as
// long as their datagram: they go to the sink at once, unspread and unheld.
//
// Memory is bounded by `max_pending` chunks: past it the oldest wheel cells leave early
// (their chunks may then reach the engine late, where they are counted as late packets).
// Cells hold their chunks (HeldChunk: one cache line each, no payload) in fixed blocks
// drawn from one pool. An emptied cell's blocks go back to the pool, which keeps at most
// max_pending / 2 chunks' worth for the next cells to fill: steady input reuses memory
// already touched (fresh pages cost a fault and a clear each), and a flood that fills each
// cell in turn does not leave every cell of the wheel with a flood's worth of memory.
//
// Order: held chunks reach the sink in time order, cell by cell, and chunks of equal time in
// the order they were added, so the output depends on the input alone. A cell crowded past
// `group_min_chunks` (a flood's rate of records) is the exception: inside it chunks leave
// grouped by key and merged, marked pktflag::kUnordered (see ChunkGrouper); cells still
// leave in time order. Late chunks (behind the
// watermark) and sFlow samples are not held: they go out in batches, late chunks ahead of
// anything sent after them, samples at release() or when a batch of them is full. The sink is
// called with spans of any length.
//
// Cost: a record of one chunk (one packet, or first == last) is one append to a wheel cell;
// a cell added to in time order is sent in that order, others are sorted through 8-byte
// (time, arrival) keys, never by moving the chunks themselves; a crowded cell is sorted
// through 8-byte (key, place) keys and gathered once, merging as it goes. Each chunk is
// turned back into a PacketSummary (HeldChunk::expand, one 64-byte copy) as it is sent.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "decode/packet.h"
#include "flow/chunk_grouper.h"
#include "flow/flow_record.h"
#include "flow/held_chunk.h"

namespace bw {

class SlabPool;

struct FlowFeedOptions {
  std::int64_t cell_ns = 100'000'000;             // wheel resolution: the engine's bucket
  std::int64_t chunk_ns = 1'000'000'000;          // at most this far apart inside one record
  std::int64_t max_holdback_ns = 65'000'000'000;  // a bit over the common 60 s active timeout
  // The holdback never drops below this (capped by max_holdback_ns). Live input learns its
  // holdback from 0 so that detection waits no longer than the exporters make it; a capture
  // file has no one waiting, and holding from the start keeps records that a bulk-flushing
  // exporter sends long after fresher ones in order.
  std::int64_t min_holdback_ns = 0;
  std::uint32_t max_chunks_per_record = 128;  // longer records get coarser chunks
  std::size_t max_pending = 2'000'000;        // chunks held in the wheel
  // A cell holding at least this many chunks (a flood's rate of records: 16,384 in 100 ms
  // is 164 k a second) leaves grouped by key rather than in time order, chunks of one key
  // merged into one: see ChunkGrouper. 0: never.
  std::size_t group_min_chunks = 16'384;
};

struct FlowFeedStats {
  std::uint64_t records = 0;
  std::uint64_t chunks = 0;
  std::uint64_t late_records = 0;     // ended before the watermark: sent at once
  std::uint64_t forced_releases = 0;  // chunks released early because the wheel was full
  std::int64_t holdback_ns = 0;       // current holdback
  // Chunks the wheel has memory for, held or pooled: at most about 1.5 * max_pending plus
  // one block per wheel cell (a cell's last block is partly filled).
  std::uint64_t capacity_chunks = 0;
  // Chunks' worth of memory allocated so far: grows while the wheel warms up, then only when
  // held chunks outgrow what emptied cells handed back.
  std::uint64_t allocated_chunks = 0;
  std::uint64_t grouped_cells = 0;  // crowded cells sent through a ChunkGrouper
};

class FlowFeed {
  // Chunks are stored in blocks of this many: small enough that a cell's partly filled last
  // block wastes little, large enough that the sink gets long spans.
  static constexpr std::size_t kBlockChunks = 256;
  struct Block {
    // Leaves the chunks unconstructed: place() constructs each one as it hands it out, so
    // a fresh block's memory is written once.
    Block() noexcept {}  // NOLINT(modernize-use-equals-default)
    // From 2 MiB slabs (core/slab_pool.h): a flood's held records fault in huge pages, not
    // one 4 KiB page at a time.
    static void* operator new(std::size_t bytes);
    static void operator delete(void* p) noexcept;
    static SlabPool& slabs();
    union {  // a variant member: not constructed by Block()
      HeldChunk chunks[kBlockChunks];
    };
  };
  // Blocks of handed-over cells on their way back to the feed's pool (any thread).
  struct Returns {
    std::mutex mu;
    std::vector<std::unique_ptr<Block>> blocks;
    std::size_t keep = 0;        // at most this many; the rest are freed
    std::size_t out_blocks = 0;  // handed over and not given back yet
  };

 public:
  using Sink = std::function<void(std::span<const PacketSummary>)>;

  // A crowded cell's chunks, in arrival order, handed over whole (see CrowdedSink). Its
  // memory goes back to the feed's pool when it is destroyed, on whatever thread.
  class CrowdedCell {
   public:
    CrowdedCell() = default;
    CrowdedCell(CrowdedCell&& other) noexcept;
    CrowdedCell& operator=(CrowdedCell&& other) noexcept;
    ~CrowdedCell();

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    // Calls f(std::span<const HeldChunk>) for each block's chunks, in order.
    template <typename F>
    void forEachSpan(F&& f) const {
      FlowFeed::forEachSpan(blocks_, size_, f);
    }

   private:
    friend class FlowFeed;
    void giveBack() noexcept;
    std::vector<std::unique_ptr<Block>> blocks_;
    std::size_t size_ = 0;
    std::shared_ptr<Returns> returns_;
  };
  // Receives crowded cells whole, for a ChunkGrouper of the caller's before the engine: a
  // caller whose engine runs on another thread does that work there.
  using CrowdedSink = std::function<void(CrowdedCell)>;

  // Crowded cells (options.group_min_chunks) go through the feed's own ChunkGrouper to
  // `sink`, unless `crowded` is given. Cells handed over and not yet destroyed hold at most
  // max_pending chunks' worth of memory: past that (a reader fallen behind) the feed groups
  // crowded cells itself again, which slows its own caller instead of growing memory.
  FlowFeed(FlowFeedOptions options, Sink sink, CrowdedSink crowded = nullptr);

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
  std::int64_t watermark() const noexcept;
  // The newest record end seen (or passed to advanceTo()): the exporters' clock; INT64_MIN
  // before the first record.
  std::int64_t clock() const noexcept { return newest_end_ns_; }

  const FlowFeedStats& stats() const noexcept { return stats_; }
  // How much crowded cells merged in the feed's own grouper (no CrowdedSink).
  const ChunkGrouperStats& grouperStats() const noexcept { return grouper_.stats(); }

 private:
  // One wheel cell: the chunks of one engine bucket, in arrival order.
  struct Cell {
    std::vector<std::unique_ptr<Block>> blocks;  // all full but the last
    HeldChunk* next = nullptr;                   // the next chunk's place in the last block
    HeldChunk* end = nullptr;                    // the end of the last block
    std::int64_t earliest_ns = 0;                // of its chunks
    std::int64_t latest_ns = 0;
    bool ordered = true;  // chunks were added in non-decreasing time

    bool empty() const noexcept { return blocks.empty(); }
    std::size_t size() const noexcept {
      return blocks.empty() ? 0
                            : (blocks.size() - 1) * kBlockChunks +
                                  static_cast<std::size_t>(next - blocks.back()->chunks);
    }
  };

  // Calls f(std::span<const HeldChunk>) for the first `n` chunks of `blocks`, a block
  // at a time: all full but the last.
  template <typename F>
  static void forEachSpan(const std::vector<std::unique_ptr<Block>>& blocks, std::size_t n, F&& f) {
    for (const std::unique_ptr<Block>& b : blocks) {
      const std::size_t k = std::min(n, kBlockChunks);
      f(std::span<const HeldChunk>(b->chunks, k));
      n -= k;
    }
  }

  // One chunk: `key`'s fields with this time and share of the counts, in `cell`.
  void place(const PacketSummary& key, std::int64_t ts_ns, std::uint32_t packets,
             std::uint64_t ip_bytes, std::int64_t cell);
  void releaseUpTo(std::int64_t cell);  // cells with index < `cell`
  void sendCell(Cell& cell);
  void sendOrdered(Cell& cell, std::size_t n);  // a cell whose chunks came in time order
  void sendSorted(Cell& cell, std::size_t n);   // an unordered cell, in (time, arrival) order
  void sendCrowded(Cell& cell, std::size_t n);  // through grouper_ or crowded_
  bool handOver(std::size_t blocks);            // counts them out if there is room
  void addBlock(Cell& cell);                    // from the pool, or new
  PacketSummary* expandBuffer();
  void sendDirect();
  void sendLate();
  std::int64_t cellOf(std::int64_t ts_ns) const noexcept;
  std::size_t slotOf(std::int64_t cell) const noexcept {
    return static_cast<std::size_t>(cell) & mask_;
  }

  FlowFeedOptions options_;
  Sink sink_;
  CrowdedSink crowded_;
  ChunkGrouper grouper_;                      // crowded cells, without crowded_
  std::shared_ptr<Returns> returns_;          // with crowded_
  bool default_cell_ = true;                  // cell_ns is the default: division by a constant
  std::vector<Cell> wheel_;                   // cell index & mask_; a power of two >= wheel_cells_
  std::vector<std::unique_ptr<Block>> pool_;  // emptied blocks, at most max_pending / 2 chunks
  std::int64_t wheel_cells_ = 0;              // cells a chunk may be ahead of next_cell_
  std::size_t mask_ = 0;
  std::int64_t next_cell_ = INT64_MIN;  // oldest cell not yet released
  std::int64_t newest_end_ns_ = INT64_MIN;
  std::size_t pending_ = 0;
  std::vector<PacketSummary> direct_;  // sFlow samples not yet sent
  std::vector<PacketSummary> late_;    // late chunks not yet sent
  std::vector<std::uint64_t> order_;   // sort keys of an unordered cell
  std::vector<std::uint64_t> scratch_;
  std::vector<std::uint32_t> counts_;
  std::vector<PacketSummary> expanded_;  // held chunks on their way to the sink
  FlowFeedStats stats_;
};

}  // namespace bw
