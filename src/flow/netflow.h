// NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export datagrams -> FlowRecords.
//
// NetflowDecoder owns what decoding v9 and IPFIX needs between datagrams, per session
// (exporter address, protocol, source id / observation domain): the templates, compiled
// once into field steps (netflow_template.h); the sampling rates learned from options data
// (per sampler/selector id, per interface, and the latest for the whole session); the
// system init time (IE 160) that anchors uptime-relative timestamps; and data sets that came
// before their template, held (bounded) until it arrives. Sequence numbers are not judged
// here: each datagram's (sequence, advance) goes back to FlowDecoder, which keeps the
// per-exporter accounting for every protocol.
//
// Memory is bounded whatever exporters send: sessions by FlowLimits::max_exporters,
// templates by max_templates in total and kMaxTemplatesPerSession each, fields per template
// by max_template_fields, held data by max_pending_bytes (and kMaxPendingSets). Everything
// refused is counted in FlowDecoderStats::issues.
// Thread-safety: none; owned by one FlowDecoder.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/bytes.h"
#include "core/ip_address.h"
#include "flow/flow_decoder.h"
#include "flow/flow_record.h"

namespace bw {

inline constexpr std::uint32_t kMaxTemplatesPerSession = 4096;
inline constexpr std::size_t kMaxPendingSets = 1024;

// What FlowDecoder needs from a NetFlow/IPFIX datagram header for its exporter table.
struct NetflowDatagramInfo {
  FlowProtocol protocol = FlowProtocol::Unknown;
  // v5: engine type << 8 | engine id; v9: source id; IPFIX: observation domain.
  std::uint32_t domain = 0;
  std::uint32_t sequence = 0;
  // How far this datagram moves the sequence: v5 its flow count, v9 one export packet,
  // IPFIX its data records (options data records included).
  std::uint32_t sequence_advance = 0;
  // False when a data set could not be counted (its template is missing), so the next
  // datagram's sequence cannot be predicted.
  bool advance_known = true;
  std::uint32_t sampling_rate = 0;  // rate applied to the last record; 0: no record
};

// Sequence-gap accounting, shared by every protocol. Lost units are the forward distance
// from the expected number; a backwards jump, or one of 2^31 or more, is the exporter
// restarting (or reordering) and only resynchronises.
//
// The expected number is normally the previous one plus the previous datagram's advance
// (RFC 7011: records sent before this message). Some exporters count the current message's
// records too (softflowd's IPFIX), which looks like loss whenever message sizes change. Each
// datagram where exactly one convention fits votes for it, and gaps are measured by the
// convention with more votes. Where the two agree (every v9 and sFlow datagram: the advance
// is always one) nothing changes.
struct SequenceTracker {
  bool known = false;
  std::uint32_t last = 0;
  std::uint32_t last_advance = 0;
  std::int32_t inclusive_votes = 0;  // > 0: the sequence includes the current datagram

  // Returns the units lost before this datagram.
  std::uint64_t update(std::uint32_t sequence, std::uint32_t advance, bool advance_known) noexcept {
    constexpr std::int32_t kMaxVotes = 16;
    std::uint64_t lost = 0;
    if (known) {
      const std::uint32_t before = sequence - (last + last_advance);
      const std::uint32_t including = sequence - (last + advance);
      if (advance_known && before != including) {
        if (including == 0) inclusive_votes = std::min(inclusive_votes + 1, kMaxVotes);
        if (before == 0) inclusive_votes = std::max(inclusive_votes - 1, -kMaxVotes);
      }
      const bool inclusive = inclusive_votes > 0;
      const std::uint32_t delta = inclusive ? including : before;
      if (delta < 0x80000000u && (advance_known || !inclusive)) lost = delta;
    }
    known = advance_known;
    last = sequence;
    last_advance = advance;
    return lost;
  }
};

// Sets the ports (and kHasPorts) when the summary's protocol is UDP or TCP.
inline void setTransportPorts(PacketSummary& s, std::uint16_t sport, std::uint16_t dport) noexcept {
  if (s.ip_proto == ipproto::kUdp || s.ip_proto == ipproto::kTcp) {
    s.src_port = sport;
    s.dst_port = dport;
    s.flags |= pktflag::kHasPorts;
  }
}

// NetFlow v5 (stateless, so callable on its own). Returns false, with nothing appended, when
// the header is cut short or the record count is above 30 or past the datagram.
// REQUIRES: the datagram's first 16-bit word is 5.
bool decodeNetflowV5(const IpAddress& exporter, ByteSpan datagram, const FlowLimits& limits,
                     std::vector<FlowRecord>& out, FlowDecoderStats& stats,
                     NetflowDatagramInfo& info);

class NetflowDecoder {
 public:
  explicit NetflowDecoder(const FlowLimits& limits);
  ~NetflowDecoder();
  NetflowDecoder(const NetflowDecoder&) = delete;
  NetflowDecoder& operator=(const NetflowDecoder&) = delete;

  // Decodes one datagram whose first 16-bit word is 5, 9 or 10. Appends its records, and
  // those of held data sets whose template it brought, to `out`; counts problems, templates
  // in `stats` (not datagrams or records: the caller counts those). Returns false, with
  // nothing appended, when the header is unusable or the session table is full.
  bool decode(const IpAddress& exporter, ByteSpan datagram, std::int64_t received_ns,
              std::vector<FlowRecord>& out, FlowDecoderStats& stats, NetflowDatagramInfo& info);

  std::size_t sessionCount() const noexcept;
  std::size_t templateCount() const noexcept;
  std::size_t pendingBytes() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw
