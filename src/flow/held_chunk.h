// HeldChunk: one NetFlow/IPFIX chunk as FlowFeed holds it until its engine bucket is due.
//
// A PacketSummary less what telemetry records never carry (payload, payload lengths,
// fragment id): one 64-byte cache line where a PacketSummary takes 80 bytes and two lines. A
// flood's held chunks are tens of megabytes, written once and read back once in time or key
// order (ChunkGrouper gathers them at random), so every line saved is a miss saved.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/ip_address.h"
#include "decode/packet.h"

namespace bw {

// Laid out as the first 64 bytes of a PacketSummary (asserted below), so that expand() is
// one copy and a few zeroes.
struct alignas(64) HeldChunk {
  std::int64_t ts_ns;
  IpAddress src;
  IpAddress dst;
  std::uint64_t ip_bytes;
  std::uint32_t frag_id;  // always 0: where PacketSummary has it
  std::uint32_t packets;
  std::uint16_t src_port;
  std::uint16_t dst_port;
  std::uint8_t ip_proto;
  std::uint8_t flags;  // pktflag::
  std::uint8_t tcp_flags;

  // Whether a record's key fields fit: no payload, payload lengths or fragment id, as
  // NetFlow v5/v9 and IPFIX decode them.
  static bool holds(const PacketSummary& key) noexcept {
    return key.payload == nullptr && key.payload_len == 0 && key.payload_wire_len == 0 &&
           key.frag_id == 0;
  }

  // `key`'s fields with this time and share of the counts. REQUIRES: holds(key).
  HeldChunk(const PacketSummary& key, std::int64_t ts, std::uint32_t chunk_packets,
            std::uint64_t chunk_bytes) noexcept
      : ts_ns(ts),
        src(key.src),
        dst(key.dst),
        ip_bytes(chunk_bytes),
        frag_id(0),
        packets(chunk_packets),
        src_port(key.src_port),
        dst_port(key.dst_port),
        ip_proto(key.ip_proto),
        flags(key.flags),
        tcp_flags(key.tcp_flags) {}

  // Writes the chunk over `p` as the engine takes it, every field.
  void expand(PacketSummary& p) const noexcept {
    std::memcpy(static_cast<void*>(&p), this, kSharedBytes);
    p.payload_len = 0;
    p.payload_wire_len = 0;
    p.payload = nullptr;
  }

  static constexpr std::size_t kSharedBytes = offsetof(PacketSummary, payload_len);
};
static_assert(sizeof(HeldChunk) == 64, "a held chunk is one cache line");
static_assert(std::is_trivially_copyable_v<PacketSummary>);
static_assert(HeldChunk::kSharedBytes <= sizeof(HeldChunk));
static_assert(offsetof(HeldChunk, ts_ns) == offsetof(PacketSummary, ts_ns));
static_assert(offsetof(HeldChunk, src) == offsetof(PacketSummary, src));
static_assert(offsetof(HeldChunk, dst) == offsetof(PacketSummary, dst));
static_assert(offsetof(HeldChunk, ip_bytes) == offsetof(PacketSummary, ip_bytes));
static_assert(offsetof(HeldChunk, frag_id) == offsetof(PacketSummary, frag_id));
static_assert(offsetof(HeldChunk, packets) == offsetof(PacketSummary, packets));
static_assert(offsetof(HeldChunk, src_port) == offsetof(PacketSummary, src_port));
static_assert(offsetof(HeldChunk, dst_port) == offsetof(PacketSummary, dst_port));
static_assert(offsetof(HeldChunk, ip_proto) == offsetof(PacketSummary, ip_proto));
static_assert(offsetof(HeldChunk, flags) == offsetof(PacketSummary, flags));
static_assert(offsetof(HeldChunk, tcp_flags) == offsetof(PacketSummary, tcp_flags));

}  // namespace bw
