// SourceTracker::add on batches of 256 IPv4 sources (the batch size `breakwater analyze` uses),
// in the shapes the engine feeds it:
//   BM_Exact/*/N      one tracker, N distinct sources (800, 5,000, 50,000) in random order:
//                     exact tables from L1-sized to larger than L2.
//   BM_FourFloods/*   4 trackers of 5,000 sources each, packets dealt round-robin, as in a
//                     capture with 4 concurrent floods: their tables compete for the cache.
//   BM_Spoofed/*      every packet from a new source: the tracker is in sketch mode
//                     (HyperLogLog and Space-Saving) before timing starts.
//   BM_Exact/*/100000 more sources than the exact limit: 65,536 frozen, the rest in the
//                     sketch, the shape of a 100,000-reflector flood.
//   BM_Report/N       top(10) and distinct() of a tracker that saw N sources (not per packet:
//                     the engine asks once a second per attack).
// Each shape runs in two forms: `plain` calls add(src, packets, bytes); `prefetch` is the
// engine's form: the hash is computed once per packet, and prefetch() is issued for packet
// i + 8 while packet i is added. Sources are generated into the batch before each round of
// adds (a few ns per packet, like the engine's decoded batch); BM_GenerateOnly measures that
// alone, to subtract. ns/packet = 1e9 / items_per_second.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "bench_frames.h"
#include "core/ip_address.h"
#include "detect/source_tracker.h"

namespace bw::bench {
namespace {

constexpr std::size_t kBatch = 256;
constexpr std::size_t kAhead = 8;             // how far ahead the engine prefetches
constexpr std::size_t kBudget = 64ull << 20;  // DetectionConfig defaults
constexpr std::size_t kExactLimit = 1u << 16;
constexpr std::uint32_t kPacketBytes = 64;

// splitmix64: a cheap, well-spread stream of source choices.
struct Rng {
  std::uint64_t state = 0x243F6A8885A308D3ull;
  std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint32_t below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
  }
};

// A source, chosen at random, of the flood tracker `t` follows: `sources` reflectors per
// tracker, disjoint between trackers.
struct Floods {
  std::uint32_t sources;
  std::uint32_t trackers;
  Rng rng;
  IpAddress make(std::uint32_t t) noexcept {
    return IpAddress::fromV4(spreadV4(t * 1'000'000u + rng.below(sources) + 1));
  }
};

// Every source new (spreadV4 is a bijection on 32 bits).
struct Spoofed {
  std::uint32_t trackers = 1;
  std::uint32_t next = 1;
  IpAddress make(std::uint32_t) noexcept { return IpAddress::fromV4(spreadV4(next++)); }
};

template <typename Traffic>
void run(benchmark::State& state, Traffic traffic, bool prefetch, std::size_t warmup) {
  ExactBudget budget(kBudget);
  std::vector<std::unique_ptr<SourceTracker>> trackers;
  for (std::uint32_t t = 0; t < traffic.trackers; ++t)
    trackers.push_back(std::make_unique<SourceTracker>(&budget, kExactLimit));
  std::uint32_t next = 0;  // packets are dealt to the trackers round-robin
  auto deal = [&] {
    const std::uint32_t to = next;
    if (++next == traffic.trackers) next = 0;
    return to;
  };
  for (std::size_t i = 0; i < warmup; ++i) {
    const std::uint32_t to = deal();
    trackers[to]->add(traffic.make(to), 1, kPacketBytes);
  }

  // Each packet comes with its tracker, as the engine finds it through the packet's rate slot.
  std::array<IpAddress, kBatch> batch;
  std::array<SourceTracker*, kBatch> owner;
  std::array<std::uint64_t, kBatch> hashes;
  for (auto _ : state) {
    for (std::size_t k = 0; k < kBatch; ++k) {
      const std::uint32_t to = deal();
      batch[k] = traffic.make(to);
      owner[k] = trackers[to].get();
    }
    if (!prefetch) {
      for (std::size_t k = 0; k < kBatch; ++k) owner[k]->add(batch[k], 1, kPacketBytes);
      continue;
    }
    for (std::size_t k = 0; k < kAhead; ++k) {
      hashes[k] = batch[k].hash();
      owner[k]->prefetch(batch[k], hashes[k]);
    }
    for (std::size_t k = 0; k < kBatch; ++k) {
      if (k + kAhead < kBatch) {
        hashes[k + kAhead] = batch[k + kAhead].hash();
        owner[k + kAhead]->prefetch(batch[k + kAhead], hashes[k + kAhead]);
      }
      owner[k]->add(batch[k], hashes[k], 1, kPacketBytes);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  state.counters["estimated"] = trackers[0]->estimated() ? 1 : 0;
  state.counters["distinct"] = static_cast<double>(trackers[0]->distinct());
  state.counters["budget_MiB"] = static_cast<double>(budget.used()) / (1 << 20);
}

void BM_Exact(benchmark::State& state, bool prefetch) {
  const auto sources = static_cast<std::uint32_t>(state.range(0));
  // Enough packets that nearly every source is in the table before timing.
  run(state, Floods{sources, 1, {}}, prefetch, std::size_t{sources} * 16);
}

void BM_FourFloods(benchmark::State& state, bool prefetch) {
  run(state, Floods{5'000, 4, {}}, prefetch, 4 * 5'000 * 16);
}

void BM_Spoofed(benchmark::State& state, bool prefetch) {
  run(state, Spoofed{}, prefetch, 2 * kExactLimit);
}

void BM_GenerateOnly(benchmark::State& state) {
  Floods traffic{50'000, 1, {}};
  std::array<IpAddress, kBatch> batch;
  for (auto _ : state) {
    for (IpAddress& src : batch) src = traffic.make(0);
    benchmark::DoNotOptimize(batch);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}

// What an attack update costs the engine once a second: the top reflectors and the distinct
// count of a tracker that saw N sources of one flood, all of equal weight (ties are the rule in
// a flood, and the ranking then goes by address).
void BM_Report(benchmark::State& state) {
  const auto sources = static_cast<std::uint32_t>(state.range(0));
  ExactBudget budget(kBudget);
  SourceTracker tracker(&budget, kExactLimit);
  Floods traffic{sources, 1, {}};
  for (std::size_t i = 0; i < std::size_t{sources} * 16; ++i)
    tracker.add(traffic.make(0), 1, kPacketBytes);
  for (auto _ : state) {
    benchmark::DoNotOptimize(tracker.top(10));
    benchmark::DoNotOptimize(tracker.distinct());
  }
  state.counters["estimated"] = tracker.estimated() ? 1 : 0;
}

BENCHMARK(BM_Report)->Arg(5'000)->Arg(50'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Exact, plain, false)->Arg(800)->Arg(5'000)->Arg(50'000)->Arg(100'000);
BENCHMARK_CAPTURE(BM_Exact, prefetch, true)->Arg(800)->Arg(5'000)->Arg(50'000)->Arg(100'000);
BENCHMARK_CAPTURE(BM_FourFloods, plain, false);
BENCHMARK_CAPTURE(BM_FourFloods, prefetch, true);
BENCHMARK_CAPTURE(BM_Spoofed, plain, false);
BENCHMARK_CAPTURE(BM_Spoofed, prefetch, true);
BENCHMARK(BM_GenerateOnly);

}  // namespace
}  // namespace bw::bench

BENCHMARK_MAIN();
