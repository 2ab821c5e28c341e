// ScannerTracker on the engine's per-packet calls, one call (or one response's pair of calls)
// per iteration, so the reported time is ns per operation:
//   BM_Response/asked     onResponse + asked for answers from servers 64 clients asked (100,000
//                         distinct requests on 53/udp): the triple is present, a benign client.
//   BM_Response/unasked   onResponse + asked for responses to the same clients from sources
//                         they never asked: a reflection flood aimed at hosts that also query.
//   BM_Response/no_entry  onResponse for destinations that never sent a request on the port.
//   BM_Request/sweep      onRequest from one source to ever new targets (a sweep of 11211/udp):
//                         every call inserts, and generations age.
// The *_prefetch variants compute each response's ResponseKey once and call prefetchResponse
// 8 responses ahead, as a batch does.
// Responses are generated in the loop (a few ns, the same in every variant).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "core/ip_address.h"
#include "decode/vector.h"
#include "detect/config.h"
#include "detect/scanner_tracker.h"

namespace bw::bench {
namespace {

constexpr std::uint16_t kDnsPort = 53;
constexpr std::uint32_t kClients = 64;
constexpr std::uint32_t kRequests = 100'000;  // distinct (client, server) pairs
constexpr std::size_t kAhead = 8;
constexpr std::int64_t kStartNs = 1'519'838'460'000'000'000;

IpAddress client(std::uint32_t c) { return IpAddress::fromV4(0x0A000001u + c); }
// Request r goes from client r % kClients to server r: 100,000 distinct triples.
IpAddress server(std::uint32_t r) { return IpAddress::fromV4(0xC0000000u + r * 2654435761u); }

enum class Shape { Asked, Unasked, NoEntry };

struct Response {
  IpAddress responder;
  IpAddress dst;
};

// Response i: request r (a scattered function of i) answered by its server, to the client that
// sent it (Asked), to the next client (Unasked: a server it never asked) or to a host that
// sent nothing (NoEntry).
Response response(Shape shape, std::uint64_t i) noexcept {
  const std::uint64_t mixed = (i * 0x9E3779B97F4A7C15ULL) >> 32;
  const auto r = static_cast<std::uint32_t>((mixed * kRequests) >> 32);
  Response x;
  x.responder = server(r);
  switch (shape) {
    case Shape::Asked:
      x.dst = client(r % kClients);
      break;
    case Shape::Unasked:
      x.dst = client((r + 1) % kClients);
      break;
    case Shape::NoEntry:
      x.dst = IpAddress::fromV4(0x0B000001u + r % kClients);
      break;
  }
  return x;
}

void sendRequests(ScannerTracker& tracker) {
  for (std::uint32_t r = 0; r < kRequests; ++r) {
    tracker.onRequest(client(r % kClients), server(r), kDnsPort, Vector::Dns, kStartNs + r);
  }
}

// What the engine does without batching: both calls per classified response.
template <Shape S>
void BM_Response(benchmark::State& state) {
  DetectionConfig config;
  ScannerTracker tracker(config);
  sendRequests(tracker);
  std::uint64_t i = 0;
  std::uint64_t asked = 0;
  for (auto _ : state) {
    const Response x = response(S, i++);
    tracker.onResponse(x.responder, x.dst, kDnsPort, kStartNs);
    if (S != Shape::NoEntry) asked += tracker.asked(x.dst, kDnsPort, x.responder);
  }
  benchmark::DoNotOptimize(asked);
  state.counters["asked"] =
      benchmark::Counter(static_cast<double>(asked), benchmark::Counter::kAvgIterations);
}

// As a batch does it: per packet one ResponseKey from the address hashes, prefetched kAhead
// packets before onResponse and asked use it.
template <Shape S>
void BM_ResponsePrefetch(benchmark::State& state) {
  DetectionConfig config;
  ScannerTracker tracker(config);
  sendRequests(tracker);
  IpAddress dsts[kAhead];
  ScannerTracker::ResponseKey keys[kAhead];
  // Slot n % kAhead holds response n; the ring holds responses i .. i + kAhead - 1.
  auto prepare = [&](std::uint64_t n) {
    const Response x = response(S, n);
    dsts[n % kAhead] = x.dst;
    keys[n % kAhead] = ScannerTracker::responseKey(x.responder.hash(), x.dst.hash(), kDnsPort);
    tracker.prefetchResponse(keys[n % kAhead]);
  };
  for (std::uint64_t n = 0; n < kAhead; ++n) prepare(n);
  std::uint64_t i = 0;
  std::uint64_t asked = 0;
  for (auto _ : state) {
    const std::size_t k = i % kAhead;
    tracker.onResponse(dsts[k], keys[k], kStartNs);
    if (S != Shape::NoEntry) asked += tracker.asked(keys[k]);
    prepare(i + kAhead);
    ++i;
  }
  benchmark::DoNotOptimize(asked);
  state.counters["asked"] =
      benchmark::Counter(static_cast<double>(asked), benchmark::Counter::kAvgIterations);
}

void BM_RequestSweep(benchmark::State& state) {
  DetectionConfig config;
  ScannerTracker tracker(config);
  const IpAddress scanner = IpAddress::fromV4(0xCB007105);  // 203.0.113.5
  std::uint32_t i = 0;
  for (auto _ : state) {
    tracker.onRequest(scanner, IpAddress::fromV4(0x01000000u + i * 2654435761u), 11211,
                      Vector::Memcached, kStartNs + i);
    ++i;
  }
  benchmark::DoNotOptimize(tracker.evictions());
}

BENCHMARK_TEMPLATE(BM_Response, Shape::Asked)->Name("BM_Response/asked");
BENCHMARK_TEMPLATE(BM_Response, Shape::Unasked)->Name("BM_Response/unasked");
BENCHMARK_TEMPLATE(BM_Response, Shape::NoEntry)->Name("BM_Response/no_entry");
BENCHMARK_TEMPLATE(BM_ResponsePrefetch, Shape::Asked)->Name("BM_Response/asked_prefetch");
BENCHMARK_TEMPLATE(BM_ResponsePrefetch, Shape::Unasked)->Name("BM_Response/unasked_prefetch");
BENCHMARK_TEMPLATE(BM_ResponsePrefetch, Shape::NoEntry)->Name("BM_Response/no_entry_prefetch");
BENCHMARK(BM_RequestSweep)->Name("BM_Request/sweep");

}  // namespace
}  // namespace bw::bench

BENCHMARK_MAIN();
