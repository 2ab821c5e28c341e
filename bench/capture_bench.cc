// CaptureFile::fromMemory + next() over a capture assembled in memory: the reader's cost per
// frame without the file system. Small frames (96-byte snaplen, the small-packet benchmark's
// shape) in classic pcap and pcapng, and whole 1,442-byte frames in pcap. Frames are read in
// batches of 256, as `breakwater analyze` does; items/s is frames/s, bytes/s is file bytes/s.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>

#include "bench_frames.h"
#include "capture/capture_file.h"

namespace bw::bench {
namespace {

enum class Container { Pcap, PcapNg };

struct Capture {
  Bytes file;
  std::uint64_t frames = 0;
};

// `count` memcached-response frames (1,442 bytes on the wire) cut to `snaplen`.
Capture buildCapture(Container c, std::uint32_t snaplen, std::uint64_t count) {
  Capture cap;
  cap.file = c == Container::Pcap ? pcapHeader(snaplen) : pcapngHeader(snaplen);
  UdpFrameSpec s;
  s.payload = memcachedResponse(1400);
  const Bytes frame = buildUdpFrame(s);
  const std::int64_t t0 = 1'519'838'460'000'000'000;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::int64_t ts = t0 + static_cast<std::int64_t>(i) * 500;  // 2 Mpps
    if (c == Container::Pcap) {
      appendPcapRecord(cap.file, ts, frame, snaplen);
    } else {
      appendPcapngRecord(cap.file, ts, frame, snaplen);
    }
  }
  cap.frames = count;
  return cap;
}

void BM_CaptureRead(benchmark::State& state, Container c, std::uint32_t snaplen,
                    std::uint64_t count) {
  const Capture cap = buildCapture(c, snaplen, count);
  std::array<Frame, 256> frames;
  std::uint64_t seen = 0, caplen_sum = 0;
  for (auto _ : state) {
    auto reader = CaptureFile::fromMemory(std::span<const std::uint8_t>(cap.file));
    if (!reader) {
      state.SkipWithError(reader.error().message.c_str());
      return;
    }
    while (std::size_t n = (*reader)->next(frames)) {
      seen += n;
      for (std::size_t i = 0; i < n; ++i) caplen_sum += frames[i].caplen;
    }
  }
  benchmark::DoNotOptimize(caplen_sum);
  if (seen != state.iterations() * cap.frames) state.SkipWithError("frame count mismatch");
  state.SetItemsProcessed(static_cast<std::int64_t>(seen));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * cap.file.size()));
}

// 1M small frames (112 MB of pcap) and 100k whole frames (146 MB): larger than any cache.
BENCHMARK_CAPTURE(BM_CaptureRead, pcap_snap96, Container::Pcap, 96, 1'000'000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CaptureRead, pcapng_snap96, Container::PcapNg, 96, 1'000'000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CaptureRead, pcap_1442, Container::Pcap, 65535, 100'000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace bw::bench

BENCHMARK_MAIN();
