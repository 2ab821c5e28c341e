// ChunkGrouper: see chunk_grouper.h. One pass computes each chunk's sort key (group key on
// top, index below), a counting sort orders the keys, and a gather in that order merges each
// run of equal keys into the chunk that opened it.
#include "flow/chunk_grouper.h"

#include <algorithm>
#include <bit>
#include <limits>

#include "decode/vector.h"
#include "flow/sort_keys.h"

namespace bw {
namespace {

constexpr std::size_t kOutBlock = 4096;  // merged chunks sent together
constexpr std::uint64_t kMaxChunkPackets = std::numeric_limits<std::uint32_t>::max();

// Whether the engine reads this chunk's destination port: not for a response from a vector's
// port to a port of no service, where the port only tells that the datagram is no request.
bool readsDstPort(const HeldChunk& c) noexcept {
  const PortVectors v = classifyPorts(c.ip_proto, c.flags, c.src_port, c.dst_port);
  return v.response == Vector::None || v.request != Vector::None;
}

// Everything the engine reads of a chunk but its time and counts, given readsDstPort(),
// which is the same for two chunks alike in everything else (it depends on the ports and
// the protocol only, and for a response on its source port, which they share).
bool sameKey(const PacketSummary& a, const HeldChunk& b, bool dst_port_read) noexcept {
  return a.src == b.src && a.dst == b.dst && a.src_port == b.src_port &&
         (!dst_port_read || a.dst_port == b.dst_port) && a.ip_proto == b.ip_proto &&
         a.flags == b.flags && a.tcp_flags == b.tcp_flags;
}

// The group key, top to bottom: 20 bits of the source's hash, in the order in which the
// engine's per-source tables (indexed by the hash's low bits, up to 2^20 slots) lay sources
// out; then a hash of the rest of the key, so that chunks of one key end next to each other.
std::uint64_t groupKey(const HeldChunk& p, bool dst_port_read) noexcept {
  const std::uint64_t dst_port = dst_port_read ? p.dst_port : 0;
  std::uint64_t rest =
      p.dst.hash() ^
      (std::uint64_t{p.src_port} << 48 | dst_port << 32 | std::uint64_t{p.ip_proto} << 24 |
       std::uint64_t{p.flags} << 16 | std::uint64_t{p.tcp_flags} << 8);
  rest *= 0xD6E8FEB86659FD93ULL;
  rest ^= rest >> 32;
  return (p.src.hash() & 0xFFFFF) << 44 | rest >> 20;
}

}  // namespace

void ChunkGrouper::send(const Sink& sink) {
  if (out_n_ == 0) return;
  for (std::size_t i = 0; i < out_n_; ++i) out_[i].flags |= pktflag::kUnordered;
  sink(std::span<const PacketSummary>(out_.data(), out_n_));
  out_n_ = 0;
}

void ChunkGrouper::add(std::span<const HeldChunk> chunks) {
  constexpr std::size_t kSpanMax = std::size_t{1} << kSpanBits;
  while (!chunks.empty()) {
    const std::size_t take = std::min(chunks.size(), kSpanMax);
    spans_.push_back(chunks.data());
    lengths_.push_back(static_cast<std::uint32_t>(take));
    stats_.chunks += take;
    chunks = chunks.subspan(take);
  }
}

void ChunkGrouper::flush(const Sink& sink) {
  if (spans_.empty()) return;
  ++stats_.buckets;
  // Sort keys: the group key's top bits, readsDstPort() in one bit, the chunk's index.
  const int index_bits = kSpanBits + std::bit_width(spans_.size() - 1);
  const std::uint64_t index_mask = (std::uint64_t{1} << index_bits) - 1;
  const std::uint64_t read_bit = std::uint64_t{1} << index_bits;
  const std::uint64_t key_mask = ~(read_bit | index_mask);
  keys_.clear();
  for (std::size_t s = 0; s < spans_.size(); ++s) {
    const HeldChunk* span = spans_[s];
    for (std::uint32_t i = 0; i < lengths_[s]; ++i) {
      const bool read = readsDstPort(span[i]);
      keys_.push_back((groupKey(span[i], read) & key_mask) | (read ? read_bit : 0) |
                      std::uint64_t{s} << kSpanBits | i);
    }
  }
  sortKeys(keys_, scratch_, counts_, 64);

  if (out_.empty()) out_.resize(kOutBlock);  // once: then written in place
  out_n_ = 0;
  PacketSummary* open = nullptr;  // the last chunk gathered, which the next may join
  std::uint64_t open_key = 0;     // its sort key without the index
  // The gather reads chunks all over the bucket, and whether one joins the last is a branch
  // on a load that misses: without the prefetch every misprediction would wait out a miss.
  // A flood's bucket is tens of megabytes, so these are misses to memory: 64 chunks ahead
  // keeps enough of them in flight (16 and 32 ahead gathered 13 % and 3 % slower, 128 no
  // faster; docs/performance-flows.md).
  constexpr std::size_t kAhead = 64;
  const std::size_t n = keys_.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      __builtin_prefetch(&at(keys_[i + kAhead] & index_mask));
    }
    const std::uint64_t k = keys_[i];
    const HeldChunk& c = at(k & index_mask);
    if (open != nullptr && (k & ~index_mask) == open_key && sameKey(*open, c, k & read_bit) &&
        std::uint64_t{open->packets} + c.packets <= kMaxChunkPackets &&
        c.ip_bytes <= std::numeric_limits<std::uint64_t>::max() - open->ip_bytes) {
      open->packets += c.packets;
      open->ip_bytes += c.ip_bytes;
      open->ts_ns = std::min(open->ts_ns, c.ts_ns);
      ++stats_.merged;
      continue;
    }
    if (out_n_ == kOutBlock) send(sink);
    open = &out_[out_n_++];
    c.expand(*open);
    open_key = k & ~index_mask;
  }
  send(sink);
  spans_.clear();
  lengths_.clear();
}

}  // namespace bw
