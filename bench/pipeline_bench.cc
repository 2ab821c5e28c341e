// The whole analyze data path on one core without the file system: an in-memory pcap is read
// (CaptureFile::fromMemory), decoded (decodeFrame) and fed to the engine (Engine::process) in
// batches of 256, exactly as `breakwater analyze` does, minus report rendering. The gap between
// this figure and bench/compare.sh's is what mmap, page faults and reporting cost.
//
// Traffic: 96-byte snaplen frames at 2 Mpps of event time; a memcached flood from 1,000
// reflectors and a DNS flood from 20,000 to two victims, plus DNS and NTP answers to
// 20,000 hosts at 25 packets/s each (below every threshold).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <span>

#include "bench_frames.h"
#include "capture/capture_file.h"
#include "decode/packet.h"
#include "detect/engine.h"

namespace bw::bench {
namespace {

constexpr std::uint32_t kSnaplen = 96;
constexpr std::uint64_t kFrames = 1'000'000;

Bytes buildCapture() {
  Bytes file = pcapHeader(kSnaplen);
  const Bytes memcached = memcachedResponse(1400);
  const Bytes dns_big = dnsResponse(3000);
  const Bytes dns = dnsResponse(120);
  const Bytes ntp(48, 0x24);
  const std::int64_t t0 = 1'519'838'460'000'000'000;
  for (std::uint64_t i = 0; i < kFrames; ++i) {
    UdpFrameSpec s;
    s.dst_port = static_cast<std::uint16_t>(1024 + i % 60000);
    switch (i % 4) {
      case 0:
      case 1:
        s.src_v4 = spreadV4(i % 1000 + 1);
        s.payload = memcached;
        break;
      case 2:
        s.src_v4 = spreadV4(i % 20000 + 5000);
        s.dst_v4 = 0xC612000B;
        s.src_port = 53;
        s.payload = dns_big;  // cut by the snaplen; lengths on the wire stay whole
        break;
      default: {  // host k % 20,000 hears from server k % 300, DNS or NTP by k / 20,000
        const std::uint64_t k = i / 4;
        const bool use_dns = (k / 20000) % 2 == 0;
        s.src_v4 = spreadV4(k % 300 + 90000);
        s.dst_v4 = 0x0A000000u + static_cast<std::uint32_t>(k % 20000);
        s.src_port = use_dns ? 53 : 123;
        s.payload = use_dns ? dns : ntp;
        break;
      }
    }
    appendPcapRecord(file, t0 + static_cast<std::int64_t>(i) * 500, buildUdpFrame(s), kSnaplen);
  }
  return file;
}

void BM_AnalyzePipeline(benchmark::State& state) {
  const Bytes file = buildCapture();
  std::array<Frame, 256> frames;
  std::array<PacketSummary, 256> packets;
  std::uint64_t total = 0, decoded = 0, attacks = 0;
  for (auto _ : state) {
    auto reader = CaptureFile::fromMemory(std::span<const std::uint8_t>(file));
    if (!reader) {
      state.SkipWithError(reader.error().message.c_str());
      return;
    }
    Engine engine{DetectionConfig{}};
    while (std::size_t n = (*reader)->next(frames)) {
      std::size_t ok = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const Frame& f = frames[i];
        if (decodeFrame(f.linktype, ByteSpan(f.data, f.caplen), f.origlen, f.ts_ns, packets[ok]) ==
            DecodeStatus::Ok) {
          ++ok;
        }
      }
      total += n;
      decoded += ok;
      engine.process(std::span<const PacketSummary>(packets.data(), ok));
    }
    engine.finish();
    attacks = engine.attacks().size();
  }
  if (decoded != total) state.SkipWithError("some frames did not decode");
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * file.size()));
  state.counters["attacks"] = static_cast<double>(attacks);
}

BENCHMARK(BM_AnalyzePipeline)->Unit(benchmark::kMillisecond)->MinTime(3.0);

}  // namespace
}  // namespace bw::bench

BENCHMARK_MAIN();
