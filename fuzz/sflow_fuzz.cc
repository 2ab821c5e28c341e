// libFuzzer target for the sFlow v5 datagram decoder.
//
// Input: a datagram. Its first word is forced to 5 (the dispatcher only hands over datagrams
// that start so), which keeps the fuzzer from spending its time on the version check. Every
// payload byte a record points at is read, so a pointer or length outside the datagram shows
// up under ASan; the invariants the collector relies on are checked with traps.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "flow/flow_decoder.h"
#include "flow/flow_record.h"
#include "flow/sflow.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> d(data, data + size);
  if (d.size() >= 4) bw::storeBe32(d.data(), 5);
  const bw::ByteSpan datagram(d.data(), d.size());

  const bw::FlowLimits limits;
  const bw::IpAddress exporter = bw::IpAddress::fromV4(0xC0000201);
  bw::SflowDatagramInfo info;
  std::vector<bw::FlowRecord> out;
  std::vector<bw::InterfaceCounters> counters;
  bw::FlowDecoderStats stats;
  const bool ok = bw::decodeSflow(exporter, datagram, 1, limits, info, out, counters, stats);
  if (!ok && (!out.empty() || !counters.empty())) __builtin_trap();
  // Each record and counter set costs at least a tag and a length word in the datagram.
  if ((out.size() + counters.size()) * 8 > size) __builtin_trap();
  if (stats.counter_samples * 8 > size) __builtin_trap();

  volatile std::uint8_t sink = 0;
  for (const bw::FlowRecord& r : out) {
    const bw::PacketSummary& s = r.summary;
    if (r.protocol != bw::FlowProtocol::SflowV5 || !(r.exporter == exporter)) __builtin_trap();
    if (r.sampling_rate == 0 || r.sampling_rate > limits.max_sampling_rate) __builtin_trap();
    if (r.packets != r.sampling_rate || r.exported_packets != 1) __builtin_trap();
    if (r.bytes != std::uint64_t{r.sampling_rate} * r.exported_bytes) __builtin_trap();
    if (s.payload != nullptr) {
      if (!(r.flags & bw::flowflag::kSampledHeader)) __builtin_trap();
      if (s.payload < d.data() || s.payload + s.payload_len > d.data() + d.size()) {
        __builtin_trap();
      }
      for (std::size_t i = 0; i < s.payload_len; ++i) sink = sink + s.payload[i];
    }
  }
  if (!out.empty() &&
      (info.last_sampling_rate == 0 || info.last_sampling_rate > limits.max_sampling_rate)) {
    __builtin_trap();
  }
  (void)sink;
  return 0;
}
