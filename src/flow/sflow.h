// sFlow v5 datagram decoder (sflow.org, sflow_version_5.txt): one datagram -> one FlowRecord
// per flow sample, and generic interface counters per counter sample.
//
// sFlow is XDR: big-endian 32-bit words, opaque data padded to 4 bytes, every sample and
// record tagged enterprise:format and carrying its own length, so anything we do not decode
// is skipped by that length. The decoder is a single bounds-checked cursor walk over the
// datagram: it keeps no state between datagrams (sequence tracking and per-exporter state
// belong to FlowDecoder), allocates nothing but the growth of the output vectors, and counts
// every skipped or damaged part in FlowDecoderStats::issues.
//
// What a flow sample becomes:
// - A raw packet header record (0:1) of header protocol Ethernet (1), IPv4 (11) or IPv6 (12)
//   is run through decodeFrame(), so the summary is the sampled packet's own decode, payload
//   included (kSampledHeader): payload evidence such as memcached's "VALUE " works on samples
//   as on captured packets. Its IP length comes from the IP header (IPv4 total length, IPv6
//   payload length + 40), not from frame_length, which also counts the link header and FCS.
//   Only when the IP header gives no length (0: segmentation offload, jumbogram) does the
//   wire length come from frame_length minus stripped bytes (at least the 4-byte FCS for
//   Ethernet) minus the link header the sampled header shows (14 bytes, 4 per VLAN tag).
// - Otherwise a sampled IPv4 (0:3) or IPv6 (0:4) record supplies the key fields and the IP
//   length; it has no payload.
// - A raw header is preferred when a sample carries both; a second record of a kind already
//   decoded in the sample is skipped. A sample with neither produces no record.
// - Header protocols other than the three above, and sampled frames that carry no IP (ARP,
//   LLDP, MPLS), are skipped and counted as UnknownRecordType like any other record kind we
//   do not decode (ethernet 0:2, extended switch 1001, router 1002, gateway 1003...); a
//   header that claims to be IP but does not decode as such counts BadSampledHeader.
// - packets = sampling_rate (0 read as 1), bytes = sampling_rate x IP length. A rate above
//   FlowLimits::max_sampling_rate counts AbsurdSamplingRate and is not applied (rate 1).
//
// Thread-safety: a pure function of its arguments, safe from any thread.
#pragma once

#include <cstdint>
#include <vector>

#include "core/bytes.h"
#include "core/ip_address.h"
#include "flow/flow_decoder.h"
#include "flow/flow_record.h"

namespace bw {

// The datagram header, for sequence tracking and the exporter table.
struct SflowDatagramInfo {
  IpAddress agent;  // unset when the agent address type is 0 (unknown)
  std::uint32_t sub_agent = 0;
  std::uint32_t sequence = 0;
  std::uint32_t uptime_ms = 0;
  std::uint32_t samples = 0;  // sample count as the header states it
  // Rate applied to the last flow sample (1: unsampled, or absurd and not applied); 0 when
  // the datagram held no flow sample.
  std::uint32_t last_sampling_rate = 0;
};

// Decodes one sFlow v5 datagram sent from `exporter` (its UDP source address) and received at
// `received_ns`. Appends one FlowRecord per usable flow sample to `out` (payload pointers into
// `datagram`) and one InterfaceCounters per generic interface counters record to `counters`.
// Counts problems in stats.issues and counter samples in stats.counter_samples; datagrams and
// records are the caller's to count. Returns false, appending nothing, when the datagram
// header is unusable (truncated, not version 5, or an agent address type other than 0, 1, 2).
// REQUIRES: the caller recognised the datagram as sFlow (first 32-bit word 5).
bool decodeSflow(const IpAddress& exporter, ByteSpan datagram, std::int64_t received_ns,
                 const FlowLimits& limits, SflowDatagramInfo& info, std::vector<FlowRecord>& out,
                 std::vector<InterfaceCounters>& counters, FlowDecoderStats& stats);

}  // namespace bw
