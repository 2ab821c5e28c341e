// Engine::process on batches of 256 PacketSummary values (the batch size `breakwater
// analyze` uses), in three traffic shapes:
//   reflector_flood   memcached responses (1,400-byte values) from 1,000 reflectors to one
//                     victim: one hot rate slot, one attack, exact source tracking, ransom scans.
//   spoofed_5m        64-byte DNS responses from 5 million distinct sources to one victim: the
//                     source tracker overflows into HyperLogLog + Space-Saving.
//   benign_50k        TCP, DNS, QUIC and NTP to and from 50,000 hosts, each far below the
//                     thresholds: many cold rate slots, no attack.
// Event time advances 1 us per packet (1 Mpps), so bucket sweeps run as in a real capture.
// Summaries are generated into the batch just before each process() call; that costs a few
// ns per packet and is included in the figure (it stands in for the decoder's output).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <span>
#include <utility>

#include "bench_frames.h"
#include "decode/packet.h"
#include "detect/engine.h"

namespace bw::bench {
namespace {

constexpr std::size_t kBatch = 256;
constexpr std::int64_t kStartNs = 1'519'838'460'000'000'000;
constexpr std::int64_t kSpacingNs = 1'000;  // 1 Mpps of event time

const IpAddress kVictim = IpAddress::fromV4(0xC612000A);  // 198.18.0.10

PacketSummary udp(std::uint64_t i, IpAddress src, IpAddress dst, std::uint16_t sport,
                  std::uint16_t dport, const Bytes& payload) {
  PacketSummary p;
  p.ts_ns = kStartNs + static_cast<std::int64_t>(i) * kSpacingNs;
  p.src = src;
  p.dst = dst;
  p.ip_proto = ipproto::kUdp;
  p.flags = pktflag::kHasPorts;
  p.src_port = sport;
  p.dst_port = dport;
  p.payload = payload.data();
  p.payload_len = static_cast<std::uint16_t>(payload.size());
  p.payload_wire_len = p.payload_len;
  p.ip_bytes = 28 + p.payload_len;
  return p;
}

struct ReflectorFlood {
  Bytes payload = memcachedResponse(1400);
  PacketSummary make(std::uint64_t i) const {
    return udp(i, IpAddress::fromV4(spreadV4(i % 1000 + 1)), kVictim, 11211,
               static_cast<std::uint16_t>(1024 + i % 50000), payload);
  }
};

struct Spoofed5M {
  Bytes payload = dnsResponse(64);
  PacketSummary make(std::uint64_t i) const {
    return udp(i, IpAddress::fromV4(spreadV4(i % 5'000'000 + 1)), kVictim, 53,
               static_cast<std::uint16_t>(1024 + i % 50000), payload);
  }
};

// Our 50,000 hosts (10.0.0.0/8) and 2,000 servers. Packet i is of kind i % 10 and belongs to
// conversation j = i / 10, which fixes its host and server (so every host sees every kind, at
// about 20 packets/s in all, and every server about 500): TCP 443 both ways, DNS queries and
// their answers, QUIC-like UDP 443 both ways, NTP client/server 123 <-> 123. Every response a
// host receives answers its own requests, so none of it is an attack.
struct Benign50k {
  Bytes dns = dnsResponse(180);
  Bytes dns_query = dnsResponse(40);
  Bytes quic = Bytes(1200, 0x40);
  Bytes ntp_client = ntpPacket(3);
  Bytes ntp_server = ntpPacket(4);
  Bytes empty;
  static Bytes ntpPacket(std::uint8_t mode) {
    Bytes b(48, 0);
    b[0] = static_cast<std::uint8_t>(0x20 | mode);  // version 4
    return b;
  }
  PacketSummary make(std::uint64_t i) const {
    const std::uint64_t j = i / 10;
    const IpAddress host =
        IpAddress::fromV4(0x0A000000u + static_cast<std::uint32_t>((j * 7919) % 50'000 + 1));
    const IpAddress server = IpAddress::fromV4(spreadV4(j % 2'000 + 7));
    const auto eph = static_cast<std::uint16_t>(32768 + j % 28000);
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
      case 3: {  // TCP 443 both ways
        PacketSummary p = udp(i, server, host, 443, eph, empty);
        if (i & 1) {
          std::swap(p.src, p.dst);
          std::swap(p.src_port, p.dst_port);
        }
        p.ip_proto = ipproto::kTcp;
        p.ip_bytes = 40 + static_cast<std::uint32_t>(i % 1400);
        return p;
      }
      case 4:
        return udp(i, host, server, eph, 53, dns_query);
      case 5:
        return udp(i, server, host, 53, eph, dns);
      case 6:
        return udp(i, host, server, eph, 443, quic);
      case 7:
        return udp(i, server, host, 443, eph, quic);
      case 8:
        return udp(i, host, server, 123, 123, ntp_client);
      default:
        return udp(i, server, host, 123, 123, ntp_server);
    }
  }
};

template <typename Traffic>
void BM_EngineProcess(benchmark::State& state) {
  const Traffic traffic;
  Engine engine{DetectionConfig{}};
  std::array<PacketSummary, kBatch> batch;
  std::uint64_t i = 0;
  for (auto _ : state) {
    for (PacketSummary& p : batch) p = traffic.make(i++);
    engine.process(std::span<const PacketSummary>(batch.data(), batch.size()));
  }
  engine.finish();
  const EngineStats& s = engine.stats();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  state.counters["attacks"] = static_cast<double>(engine.attacks().size());
  state.counters["evictions"] = static_cast<double>(s.destination_evictions);
  state.counters["table_full"] = static_cast<double>(s.destination_table_full);
  state.counters["tracker_overflows"] = static_cast<double>(s.tracker_overflows);
}

// The generator alone, to subtract from the figures above.
template <typename Traffic>
void BM_GenerateOnly(benchmark::State& state) {
  const Traffic traffic;
  std::array<PacketSummary, kBatch> batch;
  std::uint64_t i = 0;
  for (auto _ : state) {
    for (PacketSummary& p : batch) p = traffic.make(i++);
    benchmark::DoNotOptimize(batch);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}

// 5M sources need 5M packets before every source has been seen once: run long enough.
BENCHMARK_TEMPLATE(BM_EngineProcess, ReflectorFlood)->Name("BM_EngineProcess/reflector_flood");
BENCHMARK_TEMPLATE(BM_EngineProcess, Spoofed5M)->Name("BM_EngineProcess/spoofed_5m")->MinTime(3.0);
BENCHMARK_TEMPLATE(BM_EngineProcess, Benign50k)->Name("BM_EngineProcess/benign_50k");
BENCHMARK_TEMPLATE(BM_GenerateOnly, ReflectorFlood)->Name("BM_GenerateOnly/reflector_flood");
BENCHMARK_TEMPLATE(BM_GenerateOnly, Spoofed5M)->Name("BM_GenerateOnly/spoofed_5m");
BENCHMARK_TEMPLATE(BM_GenerateOnly, Benign50k)->Name("BM_GenerateOnly/benign_50k");

}  // namespace
}  // namespace bw::bench

BENCHMARK_MAIN();
