// sFlow v5 decoder: a cursor walk over datagram -> samples -> records, each level bounded by
// the length its parent declared, so a lying length can only shorten the walk, never send a
// read past the datagram. Counts are walked, not trusted: a loop stops when the bytes end,
// whatever the sample or record count says, and every iteration consumes at least the 8-byte
// tag and length, so a hostile count costs at most (datagram size / 8) iterations.
#include "flow/sflow.h"

#include <algorithm>
#include <cstddef>

#include "capture/frame.h"  // linktype:: numbers (header only)
#include "decode/packet.h"

namespace bw {
namespace {

// Sample formats (enterprise 0).
constexpr std::uint32_t kFlowSample = 1;
constexpr std::uint32_t kCountersSample = 2;
constexpr std::uint32_t kFlowSampleExpanded = 3;
constexpr std::uint32_t kCountersSampleExpanded = 4;

// Flow record formats (enterprise 0).
constexpr std::uint32_t kRawHeader = 1;
constexpr std::uint32_t kSampledIpv4 = 3;
constexpr std::uint32_t kSampledIpv6 = 4;

// Counter record format (enterprise 0).
constexpr std::uint32_t kGenericInterface = 1;

// Raw header protocols we can hand to decodeFrame.
constexpr std::uint32_t kHeaderEthernet = 1;  // ETHERNET-ISO88023
constexpr std::uint32_t kHeaderIpv4 = 11;
constexpr std::uint32_t kHeaderIpv6 = 12;

constexpr std::uint32_t kAgentUnknown = 0;
constexpr std::uint32_t kAgentIpv4 = 1;
constexpr std::uint32_t kAgentIpv6 = 2;

// Fixed parts of the structures we decode, in bytes.
constexpr std::size_t kRawHeaderFixed = 16;  // protocol, frame_length, stripped, header length
constexpr std::size_t kSampledIpv4Size = 32;
constexpr std::size_t kSampledIpv6Size = 56;
constexpr std::size_t kGenericInterfaceSize = 88;

// An Ethernet frame_length includes the FCS even when the exporter's stripped count forgets it.
constexpr std::uint32_t kEthernetFcs = 4;

// Interface encodings: the top 2 bits of the compact form (and the format word of the
// expanded one) say what the value is; only format 0 is an ifIndex, and its maximum value
// means "no interface".
constexpr std::uint32_t kCompactNoInterface = 0x3FFFFFFF;
constexpr std::uint32_t kExpandedNoInterface = 0xFFFFFFFF;

// Checked XDR reader over [p, end).
class Xdr {
 public:
  Xdr() noexcept = default;
  Xdr(const std::uint8_t* p, std::size_t n) noexcept : p_(p), end_(p + n) {}

  std::size_t left() const noexcept { return static_cast<std::size_t>(end_ - p_); }
  const std::uint8_t* pos() const noexcept { return p_; }

  bool u32(std::uint32_t& v) noexcept {
    if (left() < 4) return false;
    v = loadBe32(p_);
    p_ += 4;
    return true;
  }
  bool u64(std::uint64_t& v) noexcept {
    if (left() < 8) return false;
    v = loadBe64(p_);
    p_ += 8;
    return true;
  }
  bool skip(std::size_t n) noexcept {
    if (left() < n) return false;
    p_ += n;
    return true;
  }
  // Takes `len` bytes of opaque data as `body` and moves past them and their padding. A
  // final item whose padding is missing is accepted: the data itself is whole.
  bool opaque(std::size_t len, Xdr& body) noexcept {
    if (left() < len) return false;
    body = Xdr(p_, len);
    p_ += std::min(left(), (len + 3) & ~std::size_t{3});
    return true;
  }
  // Reads an enterprise:format tag and its length, and takes the tagged body. False when the
  // bytes end before the tag or inside the body (the caller counts BadLength and stops).
  bool tagged(std::uint32_t& enterprise, std::uint32_t& format, Xdr& body) noexcept {
    std::uint32_t tag = 0, len = 0;
    if (!u32(tag) || !u32(len)) return false;
    enterprise = tag >> 12;
    format = tag & 0xFFF;
    return opaque(len, body);
  }

 private:
  const std::uint8_t* p_ = nullptr;
  const std::uint8_t* end_ = nullptr;
};

// Everything one decodeSflow() call shares with the sample walkers.
struct Walk {
  const IpAddress& exporter;
  std::int64_t received_ns;
  const FlowLimits& limits;
  SflowDatagramInfo& info;
  std::vector<FlowRecord>& out;
  std::vector<InterfaceCounters>& counters;
  FlowDecoderStats& stats;
};

inline std::uint32_t compactInterface(std::uint32_t v) noexcept {
  if ((v >> 30) != 0) return 0;  // discarded (1) or multiple outputs (2): no single ifIndex
  v &= 0x3FFFFFFF;
  return v == kCompactNoInterface ? 0 : v;
}
inline std::uint32_t expandedInterface(std::uint32_t format, std::uint32_t v) noexcept {
  return format != 0 || v == kExpandedNoInterface ? 0 : v;
}

// Raw packet header (0:1). True when `s` holds a decoded IP packet.
bool rawHeader(Xdr rec, Walk& w, PacketSummary& s) noexcept {
  std::uint32_t protocol = 0, frame_length = 0, stripped = 0, header_length = 0;
  if (rec.left() < kRawHeaderFixed) {
    w.stats.count(FlowIssue::TruncatedRecord);
    return false;
  }
  rec.u32(protocol);
  rec.u32(frame_length);
  rec.u32(stripped);
  rec.u32(header_length);
  if (header_length > rec.left()) {
    w.stats.count(FlowIssue::BadLength);
    return false;
  }
  std::uint32_t lt = 0;
  std::uint32_t trailer = stripped;  // bytes of frame_length that are not in the frame
  switch (protocol) {
    case kHeaderEthernet:
      lt = linktype::kEthernet;
      trailer = std::max(stripped, kEthernetFcs);
      break;
    case kHeaderIpv4:
      lt = linktype::kIpv4;
      break;
    case kHeaderIpv6:
      lt = linktype::kIpv6;
      break;
    default:
      w.stats.count(FlowIssue::UnknownRecordType);
      return false;
  }
  // The frame's length before truncation, FCS and stripped encapsulations removed. decodeFrame
  // only uses it when the IP header carries no length; it never reads past the header bytes.
  const std::uint32_t origlen = frame_length > trailer ? frame_length - trailer : 0;
  const DecodeStatus st =
      decodeFrame(lt, ByteSpan(rec.pos(), header_length), origlen, w.received_ns, s);
  if (st == DecodeStatus::Ok) return true;
  w.stats.count(st == DecodeStatus::NotIp ? FlowIssue::UnknownRecordType
                                          : FlowIssue::BadSampledHeader);
  return false;
}

inline void sampledPorts(Xdr& rec, PacketSummary& s) noexcept {
  std::uint32_t sport = 0, dport = 0, tcp_flags = 0;
  rec.u32(sport);
  rec.u32(dport);
  rec.u32(tcp_flags);
  if (s.ip_proto == ipproto::kUdp || s.ip_proto == ipproto::kTcp) {
    s.src_port = static_cast<std::uint16_t>(sport);
    s.dst_port = static_cast<std::uint16_t>(dport);
    s.flags |= pktflag::kHasPorts;
  }
  if (s.ip_proto == ipproto::kTcp) s.tcp_flags = static_cast<std::uint8_t>(tcp_flags);
}

// Sampled IPv4 (0:3) / IPv6 (0:4): the key fields without the packet. True when `s` is set.
bool sampledIp(Xdr rec, bool v6, Walk& w, PacketSummary& s) noexcept {
  if (rec.left() < (v6 ? kSampledIpv6Size : kSampledIpv4Size)) {
    w.stats.count(FlowIssue::TruncatedRecord);
    return false;
  }
  s = PacketSummary{};
  s.ts_ns = w.received_ns;
  std::uint32_t length = 0, protocol = 0;
  rec.u32(length);
  rec.u32(protocol);
  const std::uint8_t* a = rec.pos();
  if (v6) {
    s.src = IpAddress::fromV6Bytes(a);
    s.dst = IpAddress::fromV6Bytes(a + 16);
    s.flags |= pktflag::kIpv6;
    rec.skip(32);
  } else {
    s.src = IpAddress::fromV4Bytes(a);
    s.dst = IpAddress::fromV4Bytes(a + 4);
    rec.skip(8);
  }
  s.ip_proto = static_cast<std::uint8_t>(protocol);
  s.ip_bytes = length;
  sampledPorts(rec, s);
  return true;  // no payload, and payload_wire_len stays 0: no header lengths were seen
}

void flowSample(Xdr body, bool expanded, Walk& w) {
  std::uint32_t seq = 0, source = 0, rate = 0, pool = 0, drops = 0;
  std::uint32_t in_format = 0, in_value = 0, out_format = 0, out_value = 0, records = 0;
  bool ok = body.u32(seq) && body.u32(source);
  if (expanded) ok = ok && body.u32(source);  // source id type, then index
  ok = ok && body.u32(rate) && body.u32(pool) && body.u32(drops);
  if (expanded) {
    ok = ok && body.u32(in_format) && body.u32(in_value) && body.u32(out_format) &&
         body.u32(out_value);
  } else {
    ok = ok && body.u32(in_value) && body.u32(out_value);
  }
  ok = ok && body.u32(records);
  if (!ok) {
    w.stats.count(FlowIssue::TruncatedRecord);
    return;
  }

  if (rate == 0) rate = 1;
  if (rate > w.limits.max_sampling_rate) {
    w.stats.count(FlowIssue::AbsurdSamplingRate);
    rate = 1;
  }
  w.info.last_sampling_rate = rate;

  PacketSummary header_summary;  // from a raw header record
  PacketSummary ip_summary;      // from a sampled IPv4/IPv6 record
  bool have_header = false, have_ip = false;
  for (std::uint32_t i = 0; i < records; ++i) {
    std::uint32_t enterprise = 0, format = 0;
    Xdr rec;
    if (!body.tagged(enterprise, format, rec)) {
      w.stats.count(FlowIssue::BadLength);
      break;
    }
    if (enterprise == 0 && format == kRawHeader && !have_header) {
      have_header = rawHeader(rec, w, header_summary);
    } else if (enterprise == 0 && (format == kSampledIpv4 || format == kSampledIpv6) && !have_ip) {
      have_ip = sampledIp(rec, format == kSampledIpv6, w, ip_summary);
    } else {
      w.stats.count(FlowIssue::UnknownRecordType);
    }
  }
  if (!have_header && !have_ip) return;

  FlowRecord& r = w.out.emplace_back();
  r.summary = have_header ? header_summary : ip_summary;
  r.summary.ts_ns = w.received_ns;
  r.last_ns = w.received_ns;
  const std::uint64_t ip_len = r.summary.ip_bytes;
  r.packets = rate;
  r.bytes = rate * ip_len;
  r.exported_packets = 1;
  r.exported_bytes = ip_len;
  r.sampling_rate = rate;
  if (expanded) {
    r.input_if = expandedInterface(in_format, in_value);
    r.output_if = expandedInterface(out_format, out_value);
  } else {
    r.input_if = compactInterface(in_value);
    r.output_if = compactInterface(out_value);
  }
  r.exporter = w.exporter;
  r.protocol = FlowProtocol::SflowV5;
  r.flags = static_cast<std::uint8_t>((have_header ? flowflag::kSampledHeader : 0) |
                                      (rate > 1 ? flowflag::kSampled : 0));
}

// Generic interface counters (0:1).
void genericInterface(Xdr rec, Walk& w) {
  if (rec.left() < kGenericInterfaceSize) {
    w.stats.count(FlowIssue::TruncatedRecord);
    return;
  }
  InterfaceCounters& c = w.counters.emplace_back();
  const std::uint8_t* p = rec.pos();
  c.agent = w.info.agent;
  c.if_index = loadBe32(p);
  c.speed = loadBe64(p + 8);
  c.in_octets = loadBe64(p + 24);
  c.in_packets = loadBe32(p + 32);
  c.in_discards = loadBe32(p + 44);
  c.in_errors = loadBe32(p + 48);
  c.out_octets = loadBe64(p + 56);
  c.out_packets = loadBe32(p + 64);
  c.seen_ns = w.received_ns;
}

void countersSample(Xdr body, bool expanded, Walk& w) {
  std::uint32_t seq = 0, source = 0, records = 0;
  bool ok = body.u32(seq) && body.u32(source);
  if (expanded) ok = ok && body.u32(source);
  ok = ok && body.u32(records);
  if (!ok) {
    w.stats.count(FlowIssue::TruncatedRecord);
    return;
  }
  ++w.stats.counter_samples;
  for (std::uint32_t i = 0; i < records; ++i) {
    std::uint32_t enterprise = 0, format = 0;
    Xdr rec;
    if (!body.tagged(enterprise, format, rec)) {
      w.stats.count(FlowIssue::BadLength);
      break;
    }
    if (enterprise == 0 && format == kGenericInterface) {
      genericInterface(rec, w);
    } else {
      w.stats.count(FlowIssue::UnknownRecordType);
    }
  }
}

}  // namespace

bool decodeSflow(const IpAddress& exporter, ByteSpan datagram, std::int64_t received_ns,
                 const FlowLimits& limits, SflowDatagramInfo& info, std::vector<FlowRecord>& out,
                 std::vector<InterfaceCounters>& counters, FlowDecoderStats& stats) {
  info = SflowDatagramInfo{};
  Xdr d(datagram.data(), datagram.size());
  std::uint32_t version = 0, agent_type = 0;
  if (!d.u32(version) || !d.u32(agent_type)) {
    stats.count(FlowIssue::TruncatedHeader);
    return false;
  }
  if (version != 5) {
    stats.count(FlowIssue::UnknownVersion);
    return false;
  }
  if (agent_type == kAgentIpv4 || agent_type == kAgentIpv6) {
    const std::size_t n = agent_type == kAgentIpv4 ? 4 : 16;
    if (d.left() < n) {
      stats.count(FlowIssue::TruncatedHeader);
      return false;
    }
    info.agent = n == 4 ? IpAddress::fromV4Bytes(d.pos()) : IpAddress::fromV6Bytes(d.pos());
    d.skip(n);
  } else {
    // Type 0 is a legal "unknown" with no address bytes: the samples are still good. Any other
    // type leaves the address length, and so everything after it, unknown.
    stats.count(FlowIssue::BadAddress);
    if (agent_type != kAgentUnknown) return false;
  }
  std::uint32_t samples = 0;
  if (!d.u32(info.sub_agent) || !d.u32(info.sequence) || !d.u32(info.uptime_ms) ||
      !d.u32(samples)) {
    stats.count(FlowIssue::TruncatedHeader);
    return false;
  }
  info.samples = samples;

  Walk w{exporter, received_ns, limits, info, out, counters, stats};
  for (std::uint32_t i = 0; i < samples; ++i) {
    std::uint32_t enterprise = 0, format = 0;
    Xdr body;
    if (!d.tagged(enterprise, format, body)) {
      stats.count(FlowIssue::BadLength);  // fewer samples than counted, or one past the end
      break;
    }
    if (enterprise != 0) {
      stats.count(FlowIssue::UnknownRecordType);
      continue;
    }
    switch (format) {
      case kFlowSample:
      case kFlowSampleExpanded:
        flowSample(body, format == kFlowSampleExpanded, w);
        break;
      case kCountersSample:
      case kCountersSampleExpanded:
        countersSample(body, format == kCountersSampleExpanded, w);
        break;
      default:
        stats.count(FlowIssue::UnknownRecordType);
        break;
    }
  }
  return true;
}

}  // namespace bw
