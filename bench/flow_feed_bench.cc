// FlowFeed::add + release(): real NetFlow v9 records (softflowd's export of the flows fixture,
// peers/flows/fixtures/nf9_softflowd.pcap) or synthetic ones, decoded once up front, then fed one
// datagram's records at a time, with release() after each datagram as the collectors do. The sink
// only counts. items/s is flow records per second; counters: chunks per record, chunks sent
// per record (after crowded cells merged).
//
//   BM_FlowFeedNetflowV9   each pass over the capture is shifted forward in time, so the feed
//                          sees a live exporter: records held in the wheel (about a minute
//                          of them: softflowd's active timeout), released in order.
//   BM_FlowFeedLate        each pass is shifted back in time: after the first, every record
//                          is behind the watermark and goes out at once, as when a collector
//                          benchmark loops over one capture.
//   BM_FlowFeedShuffled    synthetic: 100 ms (one wheel cell) of a 6 M flows/s flood, 600,000
//                          one-packet records whose times are shuffled within the cell (flow
//                          caches export in expiry order, not by start), 30 to a datagram; each
//                          pass 1.1 s after the one before. The records come from 100,000
//                          reflectors to random victim ports: the cell, far larger than the
//                          cache, leaves grouped by key, six chunks merged into one on average.
//   BM_FlowFeedShuffledInTimeOrder  the same cell with grouping off: sorted by time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "capture/capture_file.h"
#include "decode/packet.h"
#include "flow/flow_decoder.h"
#include "flow/flow_feed.h"
#include "flow/netflow.h"

namespace bw::bench {
namespace {

// One datagram's records, payload pointers cleared (NetFlow records carry none).
std::vector<std::vector<FlowRecord>> loadRecords(const std::string& path) {
  std::vector<std::vector<FlowRecord>> v;
  auto file = CaptureFile::open(path);
  if (!file.ok()) return v;
  FlowDecoder decoder;
  std::array<Frame, 64> frames;
  while (const std::size_t n = (*file)->next(frames)) {
    for (std::size_t i = 0; i < n; ++i) {
      PacketSummary s;
      const Frame& f = frames[i];
      if (decodeFrame(f.linktype, ByteSpan(f.data, f.caplen), f.origlen, f.ts_ns, s) !=
              DecodeStatus::Ok ||
          s.ip_proto != ipproto::kUdp) {
        continue;
      }
      std::vector<FlowRecord> records;
      decoder.decode(s.src, s.payloadSpan(), f.ts_ns, records);
      for (FlowRecord& r : records) r.summary.payload = nullptr;
      if (!records.empty()) v.push_back(std::move(records));
    }
  }
  return v;
}

std::vector<std::vector<FlowRecord>> shuffledCell() {
  constexpr std::size_t kRecords = 600'000, kPerDatagram = 30;
  constexpr std::int64_t kStart = 1'519'838'460'000'000'000, kCellNs = 100'000'000;
  std::mt19937_64 rng(42);
  std::vector<std::vector<FlowRecord>> v;
  for (std::size_t i = 0; i < kRecords; ++i) {
    if (i % kPerDatagram == 0) v.emplace_back();
    FlowRecord r;
    r.summary.src = IpAddress::fromV4(0x0a000000u + static_cast<std::uint32_t>(rng() % 100'000));
    r.summary.dst = IpAddress::fromV4(0xc6120010u);
    r.summary.ip_proto = ipproto::kUdp;
    setTransportPorts(r.summary, 11211, static_cast<std::uint16_t>(rng()));
    r.summary.ts_ns = kStart + static_cast<std::int64_t>(rng() % kCellNs);
    r.last_ns = r.summary.ts_ns;
    r.packets = 1;
    r.bytes = 1428;
    r.protocol = FlowProtocol::NetflowV9;
    v.back().push_back(r);
  }
  return v;
}

std::vector<std::vector<FlowRecord>> softflowdRecords() {
  return loadRecords(std::string(BW_SHARED_DIR) + "/peers/flows/fixtures/nf9_softflowd.pcap");
}

void run(benchmark::State& state, std::vector<std::vector<FlowRecord>> datagrams, int direction,
         FlowFeedOptions options = {}) {
  if (datagrams.empty()) {
    state.SkipWithError("no records (is nf9_softflowd.pcap there?)");
    return;
  }
  std::int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (const auto& d : datagrams) {
    for (const FlowRecord& r : d) {
      lo = std::min(lo, r.summary.ts_ns);
      hi = std::max(hi, r.last_ns);
    }
  }
  const std::int64_t pass_ns = hi - lo + 1'000'000'000;  // one pass's event time, and a gap

  std::uint64_t chunks = 0;
  FlowFeed feed(options,
                [&chunks](std::span<const PacketSummary> batch) { chunks += batch.size(); });
  std::size_t records = 0, i = 0;
  for (auto _ : state) {
    for (const FlowRecord& r : datagrams[i]) feed.add(r);
    feed.release();
    records += datagrams[i].size();
    if (++i == datagrams.size()) {
      i = 0;
      state.PauseTiming();
      for (auto& d : datagrams) {
        for (FlowRecord& r : d) {
          r.summary.ts_ns += direction * pass_ns;
          r.last_ns += direction * pass_ns;
        }
      }
      state.ResumeTiming();
    }
  }
  feed.flush();
  benchmark::DoNotOptimize(chunks);
  state.SetItemsProcessed(static_cast<std::int64_t>(records));
  state.counters["chunks_per_record"] =
      static_cast<double>(feed.stats().chunks) / static_cast<double>(feed.stats().records);
  state.counters["late_records"] = static_cast<double>(feed.stats().late_records);
  state.counters["chunks_sent_per_record"] =
      static_cast<double>(chunks) / static_cast<double>(feed.stats().records);
}

void BM_FlowFeedNetflowV9(benchmark::State& state) { run(state, softflowdRecords(), 1); }
BENCHMARK(BM_FlowFeedNetflowV9);

void BM_FlowFeedLate(benchmark::State& state) { run(state, softflowdRecords(), -1); }
BENCHMARK(BM_FlowFeedLate);

// The crowded cell grouped by key and merged (the default), and sent in time order instead.
void BM_FlowFeedShuffled(benchmark::State& state) { run(state, shuffledCell(), 1); }
BENCHMARK(BM_FlowFeedShuffled);

void BM_FlowFeedShuffledInTimeOrder(benchmark::State& state) {
  run(state, shuffledCell(), 1, FlowFeedOptions{.group_min_chunks = 0});
}
BENCHMARK(BM_FlowFeedShuffledInTimeOrder);

}  // namespace
}  // namespace bw::bench

BENCHMARK_MAIN();
