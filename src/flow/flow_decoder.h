// FlowDecoder: export datagrams (sFlow v5, NetFlow v5, NetFlow v9, IPFIX) -> FlowRecords.
//
// One decoder serves every exporter a collector hears from. The protocol is recognised from
// the datagram's first bytes (NetFlow/IPFIX: 16-bit version 5, 9 or 10; sFlow: 32-bit
// version 5). State kept per exporter: v9/IPFIX templates and options templates keyed by
// (exporter address, source id / observation domain, template id), the sampling rate in
// force (from headers, options data or records), the last sequence number (gaps are counted
// as lost telemetry). Data that arrives before its template is held briefly and decoded
// when the template comes, or counted as dropped.
//
// Every read is bounds-checked: hostile datagrams (template bombs, zero-length fields,
// lengths past the end, absurd sampling rates) are counted by reason in stats() and never
// crash the decoder or grow its memory past FlowLimits.
// Thread-safety: none; one decoder per collector thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/bytes.h"
#include "core/ip_address.h"
#include "flow/flow_record.h"

namespace bw {

struct FlowLimits {
  std::uint32_t max_exporters = 4096;   // (address, protocol, domain) triples
  std::uint32_t max_templates = 65536;  // v9 + IPFIX templates over all exporters
  std::uint32_t max_template_fields = 512;
  // IPFIX over UDP: a template not refreshed for this long is forgotten (RFC 7011 8.4).
  std::int64_t template_lifetime_ns = 1800'000'000'000;
  std::size_t max_pending_bytes = 4u << 20;  // data sets waiting for their template
  std::int64_t max_pending_ns = 10'000'000'000;
  std::uint32_t max_sampling_rate = 1u << 24;  // above: treated as absurd, counted, not applied
};

enum class FlowIssue : std::uint8_t {
  TruncatedHeader,
  UnknownVersion,
  BadLength,        // a length field past the datagram or its enclosing structure
  BadSetId,         // v9/IPFIX set id 2..255 reserved
  BadTemplate,      // zero fields, too many fields, zero-length template, bad field lengths
  TemplateLimit,    // template not stored: max_templates reached
  ExporterLimit,    // exporter not tracked: max_exporters reached
  MissingTemplate,  // data held for a template that never came (or no room to hold it)
  TruncatedRecord,  // record shorter than its template or record type says
  BadAddress,       // missing or malformed address fields
  AbsurdSamplingRate,
  BadSampledHeader,   // sFlow raw header that does not decode as a packet
  UnknownRecordType,  // sFlow record skipped by length (not an error, still counted)
  kCount
};
const char* flowIssueName(FlowIssue i) noexcept;  // "truncated_header", ...

struct FlowDecoderStats {
  std::array<std::uint64_t, static_cast<std::size_t>(FlowProtocol::kCount)> datagrams{};
  std::uint64_t records = 0;          // FlowRecords produced
  std::uint64_t counter_samples = 0;  // sFlow counter samples seen
  std::uint64_t templates = 0;        // templates and options templates received
  std::uint64_t lost_telemetry = 0;   // sum of sequence gaps, in each protocol's unit
  std::array<std::uint64_t, static_cast<std::size_t>(FlowIssue::kCount)> issues{};

  void count(FlowIssue issue) noexcept { ++issues[static_cast<std::size_t>(issue)]; }
};

struct ExporterInfo {
  IpAddress address;  // the datagram's UDP source address
  IpAddress agent;    // sFlow agent address (unset for NetFlow/IPFIX)
  FlowProtocol protocol = FlowProtocol::Unknown;
  std::uint32_t domain = 0;  // v9 source id, IPFIX observation domain, sFlow sub-agent id
  std::uint64_t datagrams = 0;
  std::uint64_t records = 0;
  // Missing telemetry from sequence gaps: v5 flows, v9 export packets, IPFIX data records,
  // sFlow datagrams.
  std::uint64_t lost = 0;
  std::uint32_t sampling_rate = 1;  // the last rate in force (1: unsampled or unknown)
  std::int64_t last_seen_ns = 0;
};

// sFlow v5 interface counters (generic interface counters, format 1), kept for rates and
// loss accounting.
struct InterfaceCounters {
  IpAddress agent;
  std::uint32_t if_index = 0;
  std::uint64_t speed = 0;
  std::uint64_t in_octets = 0, out_octets = 0;
  std::uint32_t in_packets = 0, out_packets = 0;  // unicast packets
  std::uint32_t in_discards = 0, in_errors = 0;
  std::int64_t seen_ns = 0;
};

class FlowDecoder {
 public:
  explicit FlowDecoder(FlowLimits limits = {});
  ~FlowDecoder();
  FlowDecoder(const FlowDecoder&) = delete;
  FlowDecoder& operator=(const FlowDecoder&) = delete;

  // Decodes one export datagram sent from `exporter` and received at `received_ns` (socket
  // or capture time). Appends its records, and any held records whose template it brought,
  // to `out`. Returns the number appended. Payload pointers in the appended records point
  // into `datagram` (or into the decoder's held data) and stay valid until the next call.
  std::size_t decode(const IpAddress& exporter, ByteSpan datagram, std::int64_t received_ns,
                     std::vector<FlowRecord>& out);

  const FlowDecoderStats& stats() const noexcept;
  std::vector<ExporterInfo> exporters() const;
  // Latest generic interface counters per (agent, ifIndex), bounded like the exporters.
  std::vector<InterfaceCounters> interfaceCounters() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw
