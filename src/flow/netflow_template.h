// NetFlow v9 / IPFIX templates compiled for the record loop.
//
// A template arrives as a list of field specifiers (element id, length, enterprise number).
// compileTemplate() turns it, once, into the few steps the record loop needs: one
// (offset, length, op) per field we use, fields we do not use folded into the offsets, and
// one VarLen step per IPFIX variable-length field. Decoding a record is then a walk over
// those steps with no lookup, hash or allocation; the record length is checked once per
// record (fixed templates) or once per variable-length field.
//
// Which field carries what is decided at compile time too: delta counters win over total
// counters, reduced-size integers (RFC 7011 6.2) read as their declared length, RFC 5103
// reverse counters (enterprise 29305) get their own ops, NetFlow v9 scope fields map to
// scope ops (their type numbers collide with element ids). `have` records which ops a record
// carries, so the code after the loop branches on template constants only.
//
// Templates without variable-length fields (nearly all) also get a FixedLayout: the fields
// most templates carry at fixed offsets, read by straight-line code whose branches depend on
// the template only, so a set's records do not pay an unpredictable jump per field. Where
// two fields would fill the same value (a start time in seconds and in milliseconds), only
// the later one is kept, which is what reading them in order would leave.
// Thread-safety: plain values; compileTemplate() is a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "core/ip_address.h"

namespace bw {

enum class FieldOp : std::uint8_t {
  SrcV4,
  DstV4,
  SrcV6,
  DstV6,
  SrcPort,
  DstPort,
  Proto,
  TcpFlags,
  Bytes,
  Packets,
  RevBytes,  // RFC 5103 reverse direction
  RevPackets,
  RevTcpFlags,
  InIf,
  OutIf,
  StartUptime,  // milliseconds of exporter uptime (v9 21/22, IPFIX flow*SysUpTime)
  EndUptime,
  StartSeconds,  // absolute (IE 150/151)
  EndSeconds,
  StartMillis,  // absolute (IE 152/153), also sent by some v9 exporters
  EndMillis,
  StartNtp,  // NTP 64-bit timestamps (IE 154..157)
  EndNtp,
  StartDeltaUs,  // microseconds before the export time (IE 158/159)
  EndDeltaUs,
  SystemInitMillis,       // IE 160: absolute time of uptime 0
  SamplingInterval,       // IE 34 (v9 SAMPLING_INTERVAL)
  SamplerId,              // IE 48 samplerId (v9 FLOW_SAMPLER_ID), IE 302 selectorId
  SamplerRandomInterval,  // IE 50
  PacketInterval,         // IE 305 samplingPacketInterval
  PacketSpace,            // IE 306 samplingPacketSpace
  SamplingSize,           // IE 309 (n of n-out-of-N)
  SamplingPopulation,     // IE 310 (N)
  FragmentOffset,         // IE 88
  FragmentFlags,          // IE 197
  ScopeInterface,         // options scope: the interface the options apply to
  VarLen,  // IPFIX variable-length field: skipped; `length` is the fixed bytes after it
  kCount
};
static_assert(static_cast<int>(FieldOp::kCount) <= 64, "have mask is 64 bits");

constexpr std::uint64_t haveBit(FieldOp op) noexcept {
  return std::uint64_t{1} << static_cast<unsigned>(op);
}

struct FieldSpec {
  std::uint16_t id = 0;      // element id (enterprise bit cleared) or v9 field / scope type
  std::uint16_t length = 0;  // 0xFFFF: IPFIX variable length
  std::uint32_t enterprise = 0;
  bool scope = false;
  friend bool operator==(const FieldSpec&, const FieldSpec&) = default;
};

struct FieldStep {
  std::uint16_t offset = 0;  // from the record start, or from the end of the last VarLen field
  std::uint16_t length = 0;  // field bytes; for VarLen the fixed bytes that follow it
  FieldOp op = FieldOp::VarLen;
};

enum class TemplateKind : std::uint8_t { V9, V9Options, Ipfix, IpfixOptions };

// A field at a fixed offset of the record; length 0: the template does not carry it.
struct FixedField {
  std::uint16_t offset = 0;
  std::uint16_t length = 0;
};

// The record layout of a template without variable-length fields. Every value is filled by
// at most one of the named fields and `other` steps together.
struct FixedLayout {
  FixedField src4, dst4, src6, dst6, src_port, dst_port, proto, tcp_flags, bytes, packets, in_if,
      out_if, start_uptime, end_uptime;
  std::vector<FieldStep> other;  // the rarer fields, in template order
};

struct CompiledTemplate {
  std::vector<FieldStep> steps;
  FixedLayout fixed;              // when !variable
  std::uint64_t have = 0;         // haveBit() of every op the record carries
  std::uint32_t min_length = 0;   // record bytes with every variable-length field empty
  std::uint32_t tail_length = 0;  // fixed bytes after the last VarLen field (all: no VarLen)
  std::uint16_t field_count = 0;
  bool variable = false;
  bool options = false;

  bool has(FieldOp op) const noexcept { return have & haveBit(op); }
};

enum class CompileResult : std::uint8_t { Ok, BadTemplate };

// REQUIRES: fields.size() <= 65535. Rejects field lengths that cannot hold what we read
// (addresses of the wrong size, integers of 0 or more than 8 bytes, NTP times not 8 bytes)
// and templates whose records would be empty or longer than a set can be.
CompileResult compileTemplate(std::span<const FieldSpec> fields, TemplateKind kind,
                              CompiledTemplate& out);

// Fields of one decoded record. Only those whose op the template has are meaningful.
struct RecordFields {
  IpAddress src4, dst4, src6, dst6;
  std::uint64_t bytes, packets, rev_bytes, rev_packets;
  std::int64_t start_abs_ns, end_abs_ns;
  std::uint32_t start_uptime_ms, end_uptime_ms;
  std::uint32_t start_delta_us, end_delta_us;
  std::uint64_t system_init_ms;
  std::uint64_t sampling_interval, sampler_id, random_interval, packet_interval, packet_space,
      sampling_size, sampling_population;
  std::uint32_t in_if, out_if, scope_if;
  std::uint16_t src_port, dst_port, frag_offset;
  std::uint8_t proto, tcp_flags, rev_tcp_flags, frag_flags;
};

// Big-endian unsigned integer of 1..8 bytes (reduced-size encoding).
inline std::uint64_t readUint(const std::uint8_t* p, unsigned n) noexcept {
  switch (n) {
    case 1:
      return p[0];
    case 2:
      return loadBe16(p);
    case 4:
      return loadBe32(p);
    case 8:
      return loadBe64(p);
    default: {
      std::uint64_t v = 0;
      for (unsigned i = 0; i < n; ++i) v = v << 8 | p[i];
      return v;
    }
  }
}

constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerSecond = 1'000'000'000;

// Saturating unit conversions: exporters may send any 64-bit value.
inline std::int64_t secondsToNs(std::uint64_t s) noexcept {
  constexpr std::uint64_t kMax = INT64_MAX / kNsPerSecond;
  return s > kMax ? INT64_MAX : static_cast<std::int64_t>(s) * kNsPerSecond;
}
inline std::int64_t millisToNs(std::uint64_t ms) noexcept {
  constexpr std::uint64_t kMax = INT64_MAX / kNsPerMs;
  return ms > kMax ? INT64_MAX : static_cast<std::int64_t>(ms) * kNsPerMs;
}
// NTP timestamp (seconds since 1900 . 32-bit fraction) to Unix nanoseconds.
inline std::int64_t ntpToNs(std::uint64_t ntp) noexcept {
  constexpr std::int64_t kNtpToUnix = 2'208'988'800;
  const auto secs = static_cast<std::int64_t>(ntp >> 32) - kNtpToUnix;
  const auto frac = static_cast<std::int64_t>(((ntp & 0xFFFFFFFFu) * 1'000'000'000u) >> 32);
  return secs * kNsPerSecond + frac;
}

// Runs the template's non-VarLen steps over a record at `base`.
// REQUIRES: every step's bytes lie inside the record (checked by the caller).
[[gnu::always_inline]] inline void applyStep(const FieldStep& s, const std::uint8_t* base,
                                             RecordFields& f) noexcept {
  const std::uint8_t* p = base + s.offset;
  switch (s.op) {
    case FieldOp::SrcV4:
      f.src4 = IpAddress::fromV4Bytes(p);
      break;
    case FieldOp::DstV4:
      f.dst4 = IpAddress::fromV4Bytes(p);
      break;
    case FieldOp::SrcV6:
      f.src6 = IpAddress::fromV6Bytes(p);
      break;
    case FieldOp::DstV6:
      f.dst6 = IpAddress::fromV6Bytes(p);
      break;
    case FieldOp::SrcPort:
      f.src_port = static_cast<std::uint16_t>(readUint(p, s.length));
      break;
    case FieldOp::DstPort:
      f.dst_port = static_cast<std::uint16_t>(readUint(p, s.length));
      break;
    case FieldOp::Proto:
      f.proto = static_cast<std::uint8_t>(readUint(p, s.length));
      break;
    case FieldOp::TcpFlags:  // tcpControlBits may be 2 bytes; the classic flags are the low 8
      f.tcp_flags = static_cast<std::uint8_t>(readUint(p, s.length));
      break;
    case FieldOp::Bytes:
      f.bytes = readUint(p, s.length);
      break;
    case FieldOp::Packets:
      f.packets = readUint(p, s.length);
      break;
    case FieldOp::RevBytes:
      f.rev_bytes = readUint(p, s.length);
      break;
    case FieldOp::RevPackets:
      f.rev_packets = readUint(p, s.length);
      break;
    case FieldOp::RevTcpFlags:
      f.rev_tcp_flags = static_cast<std::uint8_t>(readUint(p, s.length));
      break;
    case FieldOp::InIf:
      f.in_if = static_cast<std::uint32_t>(readUint(p, s.length));
      break;
    case FieldOp::OutIf:
      f.out_if = static_cast<std::uint32_t>(readUint(p, s.length));
      break;
    case FieldOp::StartUptime:
      f.start_uptime_ms = static_cast<std::uint32_t>(readUint(p, s.length));
      break;
    case FieldOp::EndUptime:
      f.end_uptime_ms = static_cast<std::uint32_t>(readUint(p, s.length));
      break;
    case FieldOp::StartSeconds:
      f.start_abs_ns = secondsToNs(readUint(p, s.length));
      break;
    case FieldOp::EndSeconds:
      f.end_abs_ns = secondsToNs(readUint(p, s.length));
      break;
    case FieldOp::StartMillis:
      f.start_abs_ns = millisToNs(readUint(p, s.length));
      break;
    case FieldOp::EndMillis:
      f.end_abs_ns = millisToNs(readUint(p, s.length));
      break;
    case FieldOp::StartNtp:
      f.start_abs_ns = ntpToNs(loadBe64(p));
      break;
    case FieldOp::EndNtp:
      f.end_abs_ns = ntpToNs(loadBe64(p));
      break;
    case FieldOp::StartDeltaUs:
      f.start_delta_us = static_cast<std::uint32_t>(readUint(p, s.length));
      break;
    case FieldOp::EndDeltaUs:
      f.end_delta_us = static_cast<std::uint32_t>(readUint(p, s.length));
      break;
    case FieldOp::SystemInitMillis:
      f.system_init_ms = readUint(p, s.length);
      break;
    case FieldOp::SamplingInterval:
      f.sampling_interval = readUint(p, s.length);
      break;
    case FieldOp::SamplerId:
      f.sampler_id = readUint(p, s.length);
      break;
    case FieldOp::SamplerRandomInterval:
      f.random_interval = readUint(p, s.length);
      break;
    case FieldOp::PacketInterval:
      f.packet_interval = readUint(p, s.length);
      break;
    case FieldOp::PacketSpace:
      f.packet_space = readUint(p, s.length);
      break;
    case FieldOp::SamplingSize:
      f.sampling_size = readUint(p, s.length);
      break;
    case FieldOp::SamplingPopulation:
      f.sampling_population = readUint(p, s.length);
      break;
    case FieldOp::FragmentOffset:
      f.frag_offset = static_cast<std::uint16_t>(readUint(p, s.length));
      break;
    case FieldOp::FragmentFlags:
      f.frag_flags = static_cast<std::uint8_t>(readUint(p, s.length));
      break;
    case FieldOp::ScopeInterface:
      f.scope_if = static_cast<std::uint32_t>(readUint(p, s.length));
      break;
    case FieldOp::VarLen:
    case FieldOp::kCount:
      break;
  }
}

// Reads a fixed-length record at `base` as the template's steps would.
// REQUIRES: the template is not variable and the record's min_length bytes are readable.
[[gnu::always_inline]] inline void applyFixed(const FixedLayout& l, const std::uint8_t* base,
                                              RecordFields& f) noexcept {
  const auto uint = [base](const FixedField& x) { return readUint(base + x.offset, x.length); };
  if (l.src4.length) f.src4 = IpAddress::fromV4Bytes(base + l.src4.offset);
  if (l.dst4.length) f.dst4 = IpAddress::fromV4Bytes(base + l.dst4.offset);
  if (l.src6.length) f.src6 = IpAddress::fromV6Bytes(base + l.src6.offset);
  if (l.dst6.length) f.dst6 = IpAddress::fromV6Bytes(base + l.dst6.offset);
  if (l.src_port.length) f.src_port = static_cast<std::uint16_t>(uint(l.src_port));
  if (l.dst_port.length) f.dst_port = static_cast<std::uint16_t>(uint(l.dst_port));
  if (l.proto.length) f.proto = static_cast<std::uint8_t>(uint(l.proto));
  if (l.tcp_flags.length) f.tcp_flags = static_cast<std::uint8_t>(uint(l.tcp_flags));
  if (l.bytes.length) f.bytes = uint(l.bytes);
  if (l.packets.length) f.packets = uint(l.packets);
  if (l.in_if.length) f.in_if = static_cast<std::uint32_t>(uint(l.in_if));
  if (l.out_if.length) f.out_if = static_cast<std::uint32_t>(uint(l.out_if));
  if (l.start_uptime.length) f.start_uptime_ms = static_cast<std::uint32_t>(uint(l.start_uptime));
  if (l.end_uptime.length) f.end_uptime_ms = static_cast<std::uint32_t>(uint(l.end_uptime));
  for (const FieldStep& s : l.other) applyStep(s, base, f);
}

// The sampling rate (1 in N) the record's own sampling fields describe, 0 when they describe
// none. Precedence: n-out-of-N (309/310), interval + space (305/306), random interval (50),
// sampling interval (34).
std::uint64_t samplingRateOf(const CompiledTemplate& t, const RecordFields& f) noexcept;

// True when the template carries any field samplingRateOf() reads.
inline bool carriesSamplingRate(const CompiledTemplate& t) noexcept {
  return t.have & (haveBit(FieldOp::SamplingInterval) | haveBit(FieldOp::SamplerRandomInterval) |
                   haveBit(FieldOp::PacketInterval) | haveBit(FieldOp::SamplingPopulation));
}

}  // namespace bw
