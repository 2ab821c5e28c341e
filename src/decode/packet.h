// PacketSummary: the flat, fixed-size result of decoding one frame, and the frame decoder.
//
// decodeFrame() walks link layer (Ethernet, 802.1Q/802.1ad/QinQ, PPPoE session, Linux cooked
// v1/v2, raw IP, BSD/OpenBSD loopback), IPv4 or IPv6 (hop-by-hop, routing, destination options,
// fragment, AH extension headers), and the UDP/TCP header when present. Every read is
// bounds-checked; it never allocates and never throws. Counters are the caller's: the returned
// status is an index into a counter array (see DecodeStatus).
#pragma once

#include <array>
#include <cstdint>

#include "core/bytes.h"
#include "core/ip_address.h"

namespace bw {

enum class DecodeStatus : std::uint8_t {
  Ok,
  NotIp,  // valid frame that carries no IP (ARP, LLDP, ...): not malformed
  UnsupportedLinkType,
  TruncatedLinkHeader,
  TruncatedIpHeader,         // captured bytes end inside the IPv4/IPv6 header
  BadIpVersion,              // version nibble disagrees with the link layer's ethertype
  BadIpHeaderLength,         // IPv4 IHL < 5
  BadIpTotalLength,          // IPv4 total length < header length
  BadIpv6ExtensionHeader,    // truncated or over-long IPv6 extension header chain
  TruncatedTransportHeader,  // first fragment / whole datagram cut inside UDP/TCP header
                             // (also a TCP data offset < 5 or past the datagram)
  kCount
};
const char* decodeStatusName(DecodeStatus s) noexcept;  // "truncated_ip_header", ...
// True for statuses that mean damaged input (everything but Ok and NotIp).
constexpr bool isMalformed(DecodeStatus s) noexcept {
  return s != DecodeStatus::Ok && s != DecodeStatus::NotIp;
}

namespace pktflag {
inline constexpr std::uint8_t kFragment = 1;       // part of a fragmented IP datagram
inline constexpr std::uint8_t kFirstFragment = 2;  // offset 0 (carries the L4 header)
inline constexpr std::uint8_t kHasPorts = 4;       // src_port/dst_port are valid
inline constexpr std::uint8_t kIpv6 = 8;
// One of a bucket's flow chunks sent grouped by key, not in time order (ChunkGrouper): the
// engine takes its time as precise to the bucket only.
inline constexpr std::uint8_t kUnordered = 16;
}  // namespace pktflag

namespace ipproto {
inline constexpr std::uint8_t kIcmp = 1;
inline constexpr std::uint8_t kTcp = 6;
inline constexpr std::uint8_t kUdp = 17;
inline constexpr std::uint8_t kIcmpv6 = 58;
}  // namespace ipproto

struct PacketSummary {
  std::int64_t ts_ns = 0;
  IpAddress src;
  IpAddress dst;
  // IP bytes of the `packets` packets this summary stands for: one packet's IPv4 total length
  // or IPv6 payload length + 40 (as flow records count them).
  std::uint64_t ip_bytes = 0;
  std::uint32_t frag_id = 0;  // IPv4 identification / IPv6 fragment identification
  // How many packets this summary stands for: 1 for a captured packet; the sampling rate for
  // a sampled packet, a flow record's share of packets for telemetry (see src/flow).
  std::uint32_t packets = 1;
  std::uint16_t src_port = 0;  // valid when flags & kHasPorts
  std::uint16_t dst_port = 0;
  std::uint8_t ip_proto = 0;  // final upper-layer protocol after extension headers
  std::uint8_t flags = 0;     // pktflag::
  std::uint8_t tcp_flags = 0;
  std::uint16_t payload_len = 0;  // L4 payload bytes captured at `payload` (<= on the wire)
  // L4 payload length per the headers: this packet's IP length minus its headers (a first
  // fragment's share, not the reassembled datagram's); clamped to 65535 like payload_len.
  // Non-first fragments and protocols without a parsed header report the whole IP payload.
  std::uint16_t payload_wire_len = 0;
  const std::uint8_t* payload = nullptr;  // points into the frame; valid while the frame is

  bool isFragment() const noexcept { return flags & pktflag::kFragment; }
  bool isNonFirstFragment() const noexcept {
    return (flags & pktflag::kFragment) && !(flags & pktflag::kFirstFragment);
  }
  bool hasPorts() const noexcept { return flags & pktflag::kHasPorts; }
  ByteSpan payloadSpan() const noexcept { return {payload, payload_len}; }
  // Every field, payload pointer included (two decodes of one frame agree on it).
  bool operator==(const PacketSummary&) const = default;
};

// Decodes one frame. `origlen` is the on-wire length (used when an IPv4 total length of 0
// means TSO/LRO). On any status other than Ok, `out` is partially filled and must not be used.
DecodeStatus decodeFrame(std::uint32_t linktype, ByteSpan frame, std::uint32_t origlen,
                         std::int64_t ts_ns, PacketSummary& out) noexcept;

bool isSupportedLinkType(std::uint32_t linktype) noexcept;

}  // namespace bw
