// libFuzzer target for FlowDecoder: sFlow v5, NetFlow v5/v9 and IPFIX datagrams.
//
// The input is a sequence of datagrams, so state carried between them is reached: templates
// learned from one datagram and used by the next, data held for a template that comes later,
// sequence tracking, template lifetime and hold-time expiry. Each datagram is framed as
//   [selector: 1 byte][length: 2 bytes big-endian][length bytes]
// (a length past the input takes what is left). The selector's low 2 bits pick one of three
// exporter addresses; its high 6 bits advance the clock by that many seconds. Small limits
// make the table bounds reachable. Every record is checked against the invariants the engine
// relies on.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/bytes.h"
#include "core/ip_address.h"
#include "flow/flow_decoder.h"

namespace {

constexpr std::int64_t kSec = 1'000'000'000;

bw::FlowLimits smallLimits() {
  bw::FlowLimits l;
  l.max_exporters = 4;
  l.max_templates = 16;
  l.max_template_fields = 64;
  l.template_lifetime_ns = 30 * kSec;
  l.max_pending_bytes = 4096;
  l.max_pending_ns = 5 * kSec;
  l.max_sampling_rate = 1u << 16;
  return l;
}

void check(const bw::FlowRecord& r, const bw::IpAddress& exporter, bw::ByteSpan datagram,
           const bw::FlowLimits& limits) {
  using bw::FlowProtocol;
  if (r.protocol == FlowProtocol::Unknown || r.protocol >= FlowProtocol::kCount) __builtin_trap();
  if (!(r.exporter == exporter)) __builtin_trap();
  if (r.sampling_rate < 1 || r.sampling_rate > limits.max_sampling_rate) __builtin_trap();
  if (((r.flags & bw::flowflag::kSampled) != 0) != (r.sampling_rate > 1)) __builtin_trap();
  if (r.packets < r.exported_packets || r.bytes < r.exported_bytes) __builtin_trap();
  if ((r.flags & bw::flowflag::kReverse) && r.protocol != FlowProtocol::Ipfix) __builtin_trap();
  const bw::PacketSummary& s = r.summary;
  if (s.hasPorts()) {
    if (s.ip_proto != bw::ipproto::kUdp && s.ip_proto != bw::ipproto::kTcp) __builtin_trap();
    if (s.isNonFirstFragment()) __builtin_trap();
  }
  if (s.payload_len > 0) {
    // Payload only comes from sFlow sampled headers and points into the datagram.
    if (s.payload < datagram.data() ||
        s.payload + s.payload_len > datagram.data() + datagram.size()) {
      __builtin_trap();
    }
    volatile std::uint8_t sink = 0;
    for (std::size_t i = 0; i < s.payload_len; ++i) sink = sink + s.payload[i];
    (void)sink;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bw::FlowLimits limits = smallLimits();
  bw::FlowDecoder decoder(limits);
  const bw::IpAddress exporters[] = {bw::IpAddress::fromV4(0xC0000201),
                                     bw::IpAddress::fromV4(0xC0000202),
                                     *bw::IpAddress::parse("2001:db8::9")};
  std::vector<bw::FlowRecord> out;
  std::int64_t now = 1'700'000'000 * kSec;
  std::uint64_t records = 0;
  std::size_t pos = 0;
  while (pos + 3 <= size) {
    const std::uint8_t selector = data[pos];
    std::size_t len = bw::loadBe16(data + pos + 1);
    pos += 3;
    if (len > size - pos) len = size - pos;
    // A copy of exactly the datagram's bytes, so ASan sees any read past its end.
    const std::vector<std::uint8_t> datagram(data + pos, data + pos + len);
    pos += len;
    now += std::int64_t{selector >> 2} * kSec;
    const bw::IpAddress& exporter = exporters[(selector & 3) % 3];
    out.clear();
    const bw::ByteSpan span(datagram.data(), datagram.size());
    const std::size_t n = decoder.decode(exporter, span, now, out);
    if (n != out.size()) __builtin_trap();
    records += n;
    for (const bw::FlowRecord& r : out) check(r, exporter, span, limits);
  }
  const bw::FlowDecoderStats& st = decoder.stats();
  if (st.records != records) __builtin_trap();
  for (std::size_t i = 0; i < st.issues.size(); ++i) {
    if (bw::flowIssueName(static_cast<bw::FlowIssue>(i)) == nullptr) __builtin_trap();
  }
  if (decoder.exporters().size() > limits.max_exporters) __builtin_trap();
  if (decoder.interfaceCounters().size() > std::size_t{limits.max_exporters} * 16) __builtin_trap();
  return 0;
}
