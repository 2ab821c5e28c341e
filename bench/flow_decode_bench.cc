// FlowDecoder::decode on real NetFlow v9 export datagrams: softflowd's export of the flows
// fixture (peers/flows/fixtures/nf9_softflowd.pcap, about 30 records per datagram), decoded
// in a loop by one decoder that learned the templates first. items/s is flow records per
// second; bytes/s is datagram bytes.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "capture/capture_file.h"
#include "decode/packet.h"
#include "flow/flow_decoder.h"

namespace bw::bench {
namespace {

struct Datagram {
  IpAddress source;
  std::vector<std::uint8_t> payload;
};

std::vector<Datagram> loadDatagrams(const std::string& path) {
  std::vector<Datagram> v;
  auto file = CaptureFile::open(path);
  if (!file.ok()) return v;
  std::array<Frame, 64> frames;
  while (const std::size_t n = (*file)->next(frames)) {
    for (std::size_t i = 0; i < n; ++i) {
      PacketSummary s;
      const Frame& f = frames[i];
      if (decodeFrame(f.linktype, ByteSpan(f.data, f.caplen), f.origlen, f.ts_ns, s) ==
              DecodeStatus::Ok &&
          s.ip_proto == ipproto::kUdp) {
        v.push_back({s.src, {s.payload, s.payload + s.payload_len}});
      }
    }
  }
  return v;
}

void BM_FlowDecodeNetflowV9(benchmark::State& state) {
  const auto datagrams =
      loadDatagrams(std::string(BW_SHARED_DIR) + "/peers/flows/fixtures/nf9_softflowd.pcap");
  if (datagrams.empty()) {
    state.SkipWithError("nf9_softflowd.pcap not found");
    return;
  }
  FlowDecoder decoder;
  std::vector<FlowRecord> out;
  out.reserve(1024);
  for (const Datagram& d : datagrams) {  // learn the templates
    out.clear();
    decoder.decode(d.source, ByteSpan(d.payload.data(), d.payload.size()), 0, out);
  }
  std::size_t records = 0, bytes = 0, i = 0;
  for (auto _ : state) {
    const Datagram& d = datagrams[i];
    i = i + 1 == datagrams.size() ? 0 : i + 1;
    out.clear();
    records += decoder.decode(d.source, ByteSpan(d.payload.data(), d.payload.size()), 0, out);
    bytes += d.payload.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(records));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["records_per_datagram"] =
      static_cast<double>(records) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_FlowDecodeNetflowV9);

}  // namespace
}  // namespace bw::bench

BENCHMARK_MAIN();
