// ChunkGrouper: a crowded engine bucket of flow chunks, grouped by key and merged.
//
// At a flood's rate of records (millions a second) one 100 ms bucket holds hundreds of
// thousands of chunks, and they come from a bounded set of reflectors, each many times over:
// a reflected flood's sources are real servers, and exporters split their traffic into one
// record per victim port. Inside one bucket the engine counts the same whatever the order,
// so the grouper hands it the bucket's chunks by key instead of by time:
//  - chunks alike in everything the engine reads but their time and counts are merged into
//    one (the earliest time, the summed counts): the engine does one update where it did
//    several. A reflected response's destination port is not part of the key, since the
//    engine reads it only to tell that the datagram is no request;
//  - the merged chunks leave in the order of their source's hash, which walks the engine's
//    per-source tables (indexed by the hash's low bits) in order instead of at random.
// The chunks sent are marked pktflag::kUnordered, so that the engine takes their times as
// precise to the bucket only: an attack's end and the moment of its detection may move by
// less than one bucket; its start (the earliest packet) does not.
//
// Counts are exact: packets and bytes are summed, never estimated, and a merge that would
// overflow a chunk's 32-bit packet count starts a new chunk instead.
// Memory: 16 bytes per chunk collected (its sort key and the sort's scratch space), kept for
// the next bucket; the chunks stay where the caller has them.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "decode/packet.h"
#include "flow/held_chunk.h"

namespace bw {

struct ChunkGrouperStats {
  std::uint64_t buckets = 0;  // flush() calls with chunks to send
  std::uint64_t chunks = 0;   // chunks taken
  std::uint64_t merged = 0;   // chunks folded into another chunk of their key
};

class ChunkGrouper {
 public:
  using Sink = std::function<void(std::span<const PacketSummary>)>;

  // Collects chunks of the bucket, by reference: they must stay in place until flush().
  // REQUIRES: they all lie in one engine bucket.
  void add(std::span<const HeldChunk> chunks);
  // Groups and sends what was collected (in spans of any length), and starts over.
  void flush(const Sink& sink);

  const ChunkGrouperStats& stats() const noexcept { return stats_; }

 private:
  // A chunk's index: its span's place in spans_ above kSpanBits, its place in the span below.
  static constexpr int kSpanBits = 16;
  void send(const Sink& sink);  // out_, marked pktflag::kUnordered
  const HeldChunk& at(std::uint64_t index) const noexcept {
    return spans_[index >> kSpanBits][index & ((std::uint64_t{1} << kSpanBits) - 1)];
  }

  std::vector<const HeldChunk*> spans_;  // the bucket: spans of up to 2^kSpanBits chunks
  std::vector<std::uint32_t> lengths_;
  std::vector<std::uint64_t> keys_;  // sort keys: group key, index
  std::vector<std::uint64_t> scratch_;
  std::vector<std::uint32_t> counts_;
  // Merged chunks, sent a block at a time: room for a block, the first out_n_ in use.
  std::vector<PacketSummary> out_;
  std::size_t out_n_ = 0;
  ChunkGrouperStats stats_;
};

}  // namespace bw
