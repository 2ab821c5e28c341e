// NetFlow v5: a 24-byte header and up to 30 fixed 48-byte records; no state, no templates.
// Times come from the header clock (unix_secs.unix_nsecs at SysUptime), the sampling
// interval from the header's low 14 bits.
#include <algorithm>

#include "flow/netflow.h"
#include "flow/netflow_template.h"  // unit conversions

namespace bw {
namespace {

constexpr std::size_t kV5Header = 24;
constexpr std::size_t kV5Record = 48;
constexpr std::size_t kV5MaxRecords = 30;

}  // namespace

bool decodeNetflowV5(const IpAddress& exporter, ByteSpan d, const FlowLimits& limits,
                     std::vector<FlowRecord>& out, FlowDecoderStats& stats,
                     NetflowDatagramInfo& info) {
  info = NetflowDatagramInfo{};
  const std::uint8_t* h = d.data();
  if (d.size() < kV5Header) {
    stats.count(FlowIssue::TruncatedHeader);
    return false;
  }
  const std::size_t n = loadBe16(h + 2);
  if (n > kV5MaxRecords || d.size() - kV5Header < n * kV5Record) {
    stats.count(FlowIssue::BadLength);
    return false;
  }
  const std::uint32_t uptime = loadBe32(h + 4);
  const std::int64_t export_ns =
      secondsToNs(loadBe32(h + 8)) + std::min<std::uint32_t>(loadBe32(h + 12), 999'999'999);
  info.protocol = FlowProtocol::NetflowV5;
  info.sequence = loadBe32(h + 16);
  info.domain = std::uint32_t{h[20]} << 8 | h[21];
  info.sequence_advance = static_cast<std::uint32_t>(n);
  // Low 14 bits: 1-in-N interval; the top two bits say how (deterministic, random), which
  // does not change the scaling.
  std::uint32_t rate = loadBe16(h + 22) & 0x3FFF;
  if (rate == 0) rate = 1;
  if (rate > limits.max_sampling_rate) {
    stats.count(FlowIssue::AbsurdSamplingRate);
    rate = 1;
  }
  if (n > 0) info.sampling_rate = rate;

  // Uptime stamps are up to ~24 days either side of the header's (signed difference), so a
  // flow that began before the 32-bit millisecond counter wrapped still lands right.
  const auto toNs = [&](std::uint32_t up) {
    return export_ns - std::int64_t{static_cast<std::int32_t>(uptime - up)} * kNsPerMs;
  };
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* r = h + kV5Header + i * kV5Record;
    FlowRecord& rec = out.emplace_back();
    PacketSummary& s = rec.summary;
    s.src = IpAddress::fromV4Bytes(r);
    s.dst = IpAddress::fromV4Bytes(r + 4);
    s.ip_proto = r[38];
    s.tcp_flags = r[37];
    setTransportPorts(s, loadBe16(r + 32), loadBe16(r + 34));
    s.ts_ns = toNs(loadBe32(r + 24));
    rec.last_ns = toNs(loadBe32(r + 28));
    rec.input_if = loadBe16(r + 12);
    rec.output_if = loadBe16(r + 14);
    rec.exported_packets = loadBe32(r + 16);
    rec.exported_bytes = loadBe32(r + 20);
    rec.packets = rec.exported_packets * rate;  // 32 x 32 bits: no overflow
    rec.bytes = rec.exported_bytes * rate;
    rec.sampling_rate = rate;
    if (rate > 1) rec.flags |= flowflag::kSampled;
    rec.exporter = exporter;
    rec.protocol = FlowProtocol::NetflowV5;
  }
  return true;
}

}  // namespace bw
