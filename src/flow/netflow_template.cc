// Template compilation: field specifiers -> (offset, length, op) steps. Runs once per
// template received, so it may take its time; the record loop it feeds may not.
#include "flow/netflow_template.h"

#include <algorithm>
#include <array>
#include <optional>

namespace bw {
namespace {

constexpr std::uint32_t kReversePen = 29305;  // RFC 5103 reverse information elements
constexpr std::uint16_t kVariableLength = 0xFFFF;
constexpr std::uint16_t kV9ScopeInterface = 2;
// Largest record a set can carry: a 16-bit set length minus the 4-byte set header.
constexpr std::uint32_t kMaxRecordBytes = 0xFFFF - 4;

// Information elements (IANA IPFIX registry; NetFlow v9 uses the same numbers below 128 and
// exporters such as pmacct also send the 150.. time elements in v9).
namespace ie {
constexpr std::uint16_t kOctetDelta = 1;
constexpr std::uint16_t kPacketDelta = 2;
constexpr std::uint16_t kProtocol = 4;
constexpr std::uint16_t kTcpFlags = 6;
constexpr std::uint16_t kSrcPort = 7;
constexpr std::uint16_t kSrcV4 = 8;
constexpr std::uint16_t kIngressIf = 10;
constexpr std::uint16_t kDstPort = 11;
constexpr std::uint16_t kDstV4 = 12;
constexpr std::uint16_t kEgressIf = 14;
constexpr std::uint16_t kEndUptime = 21;
constexpr std::uint16_t kStartUptime = 22;
constexpr std::uint16_t kSrcV6 = 27;
constexpr std::uint16_t kDstV6 = 28;
constexpr std::uint16_t kSamplingInterval = 34;
constexpr std::uint16_t kSamplerId = 48;
constexpr std::uint16_t kSamplerRandomInterval = 50;
constexpr std::uint16_t kOctetTotal = 85;
constexpr std::uint16_t kPacketTotal = 86;
constexpr std::uint16_t kFragmentOffset = 88;
constexpr std::uint16_t kStartSeconds = 150;
constexpr std::uint16_t kEndSeconds = 151;
constexpr std::uint16_t kStartMillis = 152;
constexpr std::uint16_t kEndMillis = 153;
constexpr std::uint16_t kStartMicros = 154;
constexpr std::uint16_t kEndMicros = 155;
constexpr std::uint16_t kStartNanos = 156;
constexpr std::uint16_t kEndNanos = 157;
constexpr std::uint16_t kStartDeltaUs = 158;
constexpr std::uint16_t kEndDeltaUs = 159;
constexpr std::uint16_t kSystemInitMillis = 160;
constexpr std::uint16_t kUdpSrcPort = 180;
constexpr std::uint16_t kUdpDstPort = 181;
constexpr std::uint16_t kTcpSrcPort = 182;
constexpr std::uint16_t kTcpDstPort = 183;
constexpr std::uint16_t kFragmentFlags = 197;
constexpr std::uint16_t kSelectorId = 302;
constexpr std::uint16_t kPacketInterval = 305;
constexpr std::uint16_t kPacketSpace = 306;
constexpr std::uint16_t kSamplingSize = 309;
constexpr std::uint16_t kSamplingPopulation = 310;
}  // namespace ie

// Which counters a template carries, so delta counters can win over totals.
struct Presence {
  bool octet_delta = false, packet_delta = false;
  bool rev_octet_delta = false, rev_packet_delta = false;
};

std::optional<FieldOp> standardOp(std::uint16_t id, const Presence& has) {
  switch (id) {
    case ie::kOctetDelta:
      return FieldOp::Bytes;
    case ie::kPacketDelta:
      return FieldOp::Packets;
    case ie::kOctetTotal:
      if (has.octet_delta) return std::nullopt;
      return FieldOp::Bytes;
    case ie::kPacketTotal:
      if (has.packet_delta) return std::nullopt;
      return FieldOp::Packets;
    case ie::kProtocol:
      return FieldOp::Proto;
    case ie::kTcpFlags:
      return FieldOp::TcpFlags;
    case ie::kSrcPort:
    case ie::kUdpSrcPort:
    case ie::kTcpSrcPort:
      return FieldOp::SrcPort;
    case ie::kDstPort:
    case ie::kUdpDstPort:
    case ie::kTcpDstPort:
      return FieldOp::DstPort;
    case ie::kSrcV4:
      return FieldOp::SrcV4;
    case ie::kDstV4:
      return FieldOp::DstV4;
    case ie::kSrcV6:
      return FieldOp::SrcV6;
    case ie::kDstV6:
      return FieldOp::DstV6;
    case ie::kIngressIf:
      return FieldOp::InIf;
    case ie::kEgressIf:
      return FieldOp::OutIf;
    case ie::kStartUptime:
      return FieldOp::StartUptime;
    case ie::kEndUptime:
      return FieldOp::EndUptime;
    case ie::kStartSeconds:
      return FieldOp::StartSeconds;
    case ie::kEndSeconds:
      return FieldOp::EndSeconds;
    case ie::kStartMillis:
      return FieldOp::StartMillis;
    case ie::kEndMillis:
      return FieldOp::EndMillis;
    case ie::kStartMicros:
    case ie::kStartNanos:
      return FieldOp::StartNtp;
    case ie::kEndMicros:
    case ie::kEndNanos:
      return FieldOp::EndNtp;
    case ie::kStartDeltaUs:
      return FieldOp::StartDeltaUs;
    case ie::kEndDeltaUs:
      return FieldOp::EndDeltaUs;
    case ie::kSystemInitMillis:
      return FieldOp::SystemInitMillis;
    case ie::kSamplingInterval:
      return FieldOp::SamplingInterval;
    case ie::kSamplerId:
    case ie::kSelectorId:
      return FieldOp::SamplerId;
    case ie::kSamplerRandomInterval:
      return FieldOp::SamplerRandomInterval;
    case ie::kPacketInterval:
      return FieldOp::PacketInterval;
    case ie::kPacketSpace:
      return FieldOp::PacketSpace;
    case ie::kSamplingSize:
      return FieldOp::SamplingSize;
    case ie::kSamplingPopulation:
      return FieldOp::SamplingPopulation;
    case ie::kFragmentOffset:
      return FieldOp::FragmentOffset;
    case ie::kFragmentFlags:
      return FieldOp::FragmentFlags;
    default:
      return std::nullopt;
  }
}

std::optional<FieldOp> reverseOp(std::uint16_t id, const Presence& has) {
  switch (id) {
    case ie::kOctetDelta:
      return FieldOp::RevBytes;
    case ie::kPacketDelta:
      return FieldOp::RevPackets;
    case ie::kOctetTotal:
      if (has.rev_octet_delta) return std::nullopt;
      return FieldOp::RevBytes;
    case ie::kPacketTotal:
      if (has.rev_packet_delta) return std::nullopt;
      return FieldOp::RevPackets;
    case ie::kTcpFlags:
      return FieldOp::RevTcpFlags;
    default:
      return std::nullopt;
  }
}

std::optional<FieldOp> opFor(const FieldSpec& f, TemplateKind kind, const Presence& has) {
  if (f.scope) {
    if (kind == TemplateKind::V9Options) {
      // v9 scope types are their own number space (1 system, 2 interface, 3 line card...).
      if (f.id == kV9ScopeInterface) return FieldOp::ScopeInterface;
      return std::nullopt;
    }
    if (f.enterprise == 0 && (f.id == ie::kIngressIf || f.id == ie::kEgressIf)) {
      return FieldOp::ScopeInterface;
    }
  }
  if (f.enterprise == kReversePen) return reverseOp(f.id, has);
  if (f.enterprise != 0) return std::nullopt;
  return standardOp(f.id, has);
}

bool lengthFits(FieldOp op, std::uint16_t length) {
  switch (op) {
    case FieldOp::SrcV4:
    case FieldOp::DstV4:
      return length == 4;
    case FieldOp::SrcV6:
    case FieldOp::DstV6:
      return length == 16;
    case FieldOp::StartNtp:
    case FieldOp::EndNtp:
      return length == 8;
    default:
      return length >= 1 && length <= 8;
  }
}

// The RecordFields value a step fills: the start (and end) time ops share one.
FieldOp valueOf(FieldOp op) {
  switch (op) {
    case FieldOp::StartMillis:
    case FieldOp::StartNtp:
      return FieldOp::StartSeconds;
    case FieldOp::EndMillis:
    case FieldOp::EndNtp:
      return FieldOp::EndSeconds;
    default:
      return op;
  }
}

FixedField* namedField(FixedLayout& l, FieldOp op) {
  switch (op) {
    case FieldOp::SrcV4:
      return &l.src4;
    case FieldOp::DstV4:
      return &l.dst4;
    case FieldOp::SrcV6:
      return &l.src6;
    case FieldOp::DstV6:
      return &l.dst6;
    case FieldOp::SrcPort:
      return &l.src_port;
    case FieldOp::DstPort:
      return &l.dst_port;
    case FieldOp::Proto:
      return &l.proto;
    case FieldOp::TcpFlags:
      return &l.tcp_flags;
    case FieldOp::Bytes:
      return &l.bytes;
    case FieldOp::Packets:
      return &l.packets;
    case FieldOp::InIf:
      return &l.in_if;
    case FieldOp::OutIf:
      return &l.out_if;
    case FieldOp::StartUptime:
      return &l.start_uptime;
    case FieldOp::EndUptime:
      return &l.end_uptime;
    default:
      return nullptr;
  }
}

// Keeps, for each value, the last step that fills it (the one reading in order leaves), and
// sorts the survivors into named fields and the rest.
void buildFixedLayout(const std::vector<FieldStep>& steps, FixedLayout& l) {
  std::array<std::size_t, static_cast<std::size_t>(FieldOp::kCount)> last{};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    last[static_cast<std::size_t>(valueOf(steps[i].op))] = i;
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const FieldStep& s = steps[i];
    if (last[static_cast<std::size_t>(valueOf(s.op))] != i) continue;  // filled again later
    if (FixedField* f = namedField(l, s.op)) {
      *f = FixedField{s.offset, s.length};
    } else {
      l.other.push_back(s);
    }
  }
}

}  // namespace

CompileResult compileTemplate(std::span<const FieldSpec> fields, TemplateKind kind,
                              CompiledTemplate& out) {
  // Reset, keeping the vectors' memory: templates are refreshed every few datagrams.
  std::vector<FieldStep> steps = std::move(out.steps);
  std::vector<FieldStep> other = std::move(out.fixed.other);
  out = CompiledTemplate{};
  steps.clear();
  other.clear();
  out.steps = std::move(steps);
  out.fixed.other = std::move(other);
  out.options = kind == TemplateKind::V9Options || kind == TemplateKind::IpfixOptions;
  out.field_count = static_cast<std::uint16_t>(fields.size());
  const bool ipfix = kind == TemplateKind::Ipfix || kind == TemplateKind::IpfixOptions;

  Presence has;
  for (const FieldSpec& f : fields) {
    if (f.scope) continue;
    if (f.enterprise == 0 && f.id == ie::kOctetDelta) has.octet_delta = true;
    if (f.enterprise == 0 && f.id == ie::kPacketDelta) has.packet_delta = true;
    if (f.enterprise == kReversePen && f.id == ie::kOctetDelta) has.rev_octet_delta = true;
    if (f.enterprise == kReversePen && f.id == ie::kPacketDelta) has.rev_packet_delta = true;
  }

  std::uint32_t segment = 0;  // fixed bytes since the record start or the last VarLen field
  std::uint32_t total = 0;    // minimum record bytes
  std::size_t varlen_step = SIZE_MAX;
  for (const FieldSpec& f : fields) {
    if (ipfix && f.length == kVariableLength) {
      if (varlen_step != SIZE_MAX)
        out.steps[varlen_step].length = static_cast<std::uint16_t>(segment);
      out.steps.push_back({static_cast<std::uint16_t>(segment), 0, FieldOp::VarLen});
      varlen_step = out.steps.size() - 1;
      out.variable = true;
      segment = 0;
      total += 1;  // the length byte of an empty value
      continue;
    }
    if (const std::optional<FieldOp> op = opFor(f, kind, has)) {
      if (!lengthFits(*op, f.length)) return CompileResult::BadTemplate;
      out.steps.push_back({static_cast<std::uint16_t>(segment), f.length, *op});
      out.have |= haveBit(*op);
    }
    segment += f.length;
    total += f.length;
    if (segment > kMaxRecordBytes || total > kMaxRecordBytes) return CompileResult::BadTemplate;
  }
  if (varlen_step != SIZE_MAX) out.steps[varlen_step].length = static_cast<std::uint16_t>(segment);
  out.tail_length = segment;
  out.min_length = total;
  if (total == 0) return CompileResult::BadTemplate;  // records of no bytes never end
  if (!out.variable) buildFixedLayout(out.steps, out.fixed);
  return CompileResult::Ok;
}

std::uint64_t samplingRateOf(const CompiledTemplate& t, const RecordFields& f) noexcept {
  if (t.has(FieldOp::SamplingPopulation) && f.sampling_population > 0) {
    const std::uint64_t size =
        t.has(FieldOp::SamplingSize) && f.sampling_size > 0 ? f.sampling_size : 1;
    return std::max<std::uint64_t>(1, f.sampling_population / size);
  }
  if (t.has(FieldOp::PacketInterval) && f.packet_interval > 0) {
    const std::uint64_t space = t.has(FieldOp::PacketSpace) ? f.packet_space : 0;
    std::uint64_t period;
    if (__builtin_add_overflow(f.packet_interval, space, &period)) period = UINT64_MAX;
    return period / f.packet_interval;
  }
  if (t.has(FieldOp::SamplerRandomInterval) && f.random_interval > 0) return f.random_interval;
  if (t.has(FieldOp::SamplingInterval) && f.sampling_interval > 0) return f.sampling_interval;
  return 0;
}

}  // namespace bw
