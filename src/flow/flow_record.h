// FlowRecord: one unit of router telemetry, whatever protocol carried it.
//
// A NetFlow v5/v9 or IPFIX flow record, or one sFlow v5 packet sample, already scaled by the
// sampling rate in force for its exporter and record. The key fields live in a PacketSummary
// so that the engine's classification (vectors, fragments, memcached payload evidence) works
// unchanged: for sFlow raw-header samples it is the decoded sampled header, payload included;
// for NetFlow and IPFIX it holds the record's key fields and no payload.
#pragma once

#include <cstdint>

#include "core/ip_address.h"
#include "decode/packet.h"

namespace bw {

enum class FlowProtocol : std::uint8_t { Unknown, SflowV5, NetflowV5, NetflowV9, Ipfix, kCount };
// "sflow5", "netflow5", "netflow9", "ipfix", "unknown".
const char* flowProtocolName(FlowProtocol p) noexcept;

namespace flowflag {
inline constexpr std::uint8_t kSampledHeader = 1;  // sFlow raw packet header: summary has payload
inline constexpr std::uint8_t kReverse = 2;        // RFC 5103 reverse direction of a biflow
inline constexpr std::uint8_t kSampled = 4;        // counts are estimates scaled by sampling_rate
}  // namespace flowflag

struct FlowRecord {
  // Key fields and first-packet time (summary.ts_ns, absolute UTC nanoseconds).
  // summary.packets / summary.ip_bytes are not used here: see packets / bytes below.
  // summary.payload, when set, points into the datagram and is valid until the next decode.
  PacketSummary summary;
  std::int64_t last_ns = 0;            // last packet; equal to summary.ts_ns for sFlow samples
  std::uint64_t packets = 0;           // scaled by sampling_rate
  std::uint64_t bytes = 0;             // IP bytes (IP header included, no link layer), scaled
  std::uint64_t exported_packets = 0;  // as carried in the datagram
  std::uint64_t exported_bytes = 0;
  std::uint32_t sampling_rate = 1;  // 1 in N; 1 when unsampled or unknown
  std::uint32_t input_if = 0;
  std::uint32_t output_if = 0;
  IpAddress exporter;  // the datagram's UDP source address
  FlowProtocol protocol = FlowProtocol::Unknown;
  std::uint8_t flags = 0;  // flowflag::
};

}  // namespace bw
