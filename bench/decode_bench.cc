// decodeFrame (and the per-packet vector classification the engine does after it) on frames
// built here: Ethernet/IPv4/UDP memcached responses (whole, and cut to a 96-byte snaplen),
// 802.1Q and QinQ tagged DNS responses, IPv6, and IPv4/IPv6 fragment trains.
//
// Each benchmark decodes a ring of 4,096 distinct frames (different sources and request ids)
// so branch predictors and caches see realistic variety; items/s is frames decoded per second.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "bench_frames.h"
#include "capture/frame.h"
#include "decode/memcached.h"
#include "decode/packet.h"
#include "decode/vector.h"

namespace bw::bench {
namespace {

constexpr std::size_t kRing = 4096;

enum class Shape {
  MemcachedV4,        // 1,400-byte memcached response, whole frame captured
  MemcachedV4Snap96,  // the same cut to 96 captured bytes (origlen stays 1,442)
  DnsVlan,            // 802.1Q tagged DNS response
  DnsQinQ,            // 802.1ad + 802.1Q tagged DNS response
  DnsV6,              // IPv6 DNS response
  FragmentsV4,        // 4,000-byte DNS response in 3 IPv4 fragments (first + 2 non-first)
  FragmentsV6,        // the same over IPv6 with a fragment extension header
};

struct Ring {
  std::vector<Bytes> frames;
  std::vector<std::uint32_t> origlen;
};

Ring buildRing(Shape shape) {
  Ring r;
  for (std::size_t i = 0; r.frames.size() < kRing; ++i) {
    UdpFrameSpec s;
    s.src_v4 = spreadV4(i + 1);
    s.dst_port = static_cast<std::uint16_t>(1024 + i % 60000);
    switch (shape) {
      case Shape::MemcachedV4:
      case Shape::MemcachedV4Snap96: {
        s.payload = memcachedResponse(1400, static_cast<std::uint16_t>(i));
        Bytes f = buildUdpFrame(s);
        r.origlen.push_back(static_cast<std::uint32_t>(f.size()));
        if (shape == Shape::MemcachedV4Snap96) f.resize(96);
        r.frames.push_back(std::move(f));
        break;
      }
      case Shape::DnsVlan:
      case Shape::DnsQinQ:
      case Shape::DnsV6: {
        s.src_port = 53;
        s.vlan_tags = shape == Shape::DnsVlan ? 1 : shape == Shape::DnsQinQ ? 2 : 0;
        s.ipv6 = shape == Shape::DnsV6;
        if (s.ipv6) {
          auto b = s.src_v6.bytes();
          storeBe32(&b[12], spreadV4(i + 1));
          s.src_v6 = IpAddress::fromV6Bytes(b.data());
        }
        s.payload = dnsResponse(512, static_cast<std::uint16_t>(i));
        r.frames.push_back(buildUdpFrame(s));
        r.origlen.push_back(static_cast<std::uint32_t>(r.frames.back().size()));
        break;
      }
      case Shape::FragmentsV4:
      case Shape::FragmentsV6: {
        // 4,000 bytes of DNS payload: 1,472 + 1,480 + 1,048 over IPv4 (1,500 MTU).
        s.src_port = 53;
        s.ipv6 = shape == Shape::FragmentsV6;
        s.fragment = true;
        s.frag_id = static_cast<std::uint32_t>(i);
        s.datagram_payload = 4000;
        const Bytes whole = dnsResponse(4000, static_cast<std::uint16_t>(i));
        const std::uint32_t first = s.ipv6 ? 1448 - 8 : 1472;  // after UDP (and frag) header
        const std::uint32_t step = s.ipv6 ? 1448 : 1480;
        std::uint32_t at = 0;
        for (int k = 0; k < 3 && r.frames.size() < kRing; ++k) {
          const std::uint32_t len = k == 0 ? first : std::min<std::uint32_t>(step, 4000 - at);
          s.frag_offset = k == 0 ? 0 : at + 8;  // the UDP header occupies the first 8 bytes
          s.more_fragments = at + len < 4000;
          s.payload.assign(whole.begin() + at, whole.begin() + at + len);
          r.frames.push_back(buildUdpFrame(s));
          r.origlen.push_back(static_cast<std::uint32_t>(r.frames.back().size()));
          at += len;
        }
        break;
      }
    }
  }
  return r;
}

void BM_DecodeFrame(benchmark::State& state, Shape shape) {
  const Ring ring = buildRing(shape);
  PacketSummary out;
  std::uint64_t ok = 0;
  std::int64_t ts = 1'519'838'460'000'000'000;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kRing; ++i) {
      const Bytes& f = ring.frames[i];
      DecodeStatus st = decodeFrame(linktype::kEthernet, ByteSpan(f.data(), f.size()),
                                    ring.origlen[i], ts + static_cast<std::int64_t>(i), out);
      ok += st == DecodeStatus::Ok;
      benchmark::DoNotOptimize(out);
    }
  }
  if (ok != state.iterations() * kRing) state.SkipWithError("a frame did not decode");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRing));
}

// decodeFrame + classifyResponse + classifyRequest: what every UDP packet costs before the
// engine's tables are touched.
void BM_DecodeAndClassify(benchmark::State& state, Shape shape) {
  const Ring ring = buildRing(shape);
  PacketSummary out;
  std::uint64_t matched = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kRing; ++i) {
      const Bytes& f = ring.frames[i];
      if (decodeFrame(linktype::kEthernet, ByteSpan(f.data(), f.size()), ring.origlen[i], 0, out) !=
          DecodeStatus::Ok) {
        continue;
      }
      if (out.isNonFirstFragment()) continue;
      VectorMatch m = classifyResponse(out);
      Vector req = classifyRequest(out);
      matched += m.vector != Vector::None;
      benchmark::DoNotOptimize(m);
      benchmark::DoNotOptimize(req);
    }
  }
  benchmark::DoNotOptimize(matched);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRing));
}

// The engine scans memcached payloads for ransom demands (every datagram for the first 4,096
// of an attack, then every 128th): the cost of one scan of a 1,400-byte value with no note.
void BM_FindRansomNoteMiss(benchmark::State& state) {
  const Bytes payload = memcachedResponse(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto note = findRansomNote(ByteSpan(payload.data(), payload.size()));
    benchmark::DoNotOptimize(note);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

BENCHMARK_CAPTURE(BM_DecodeFrame, ipv4_memcached_1400, Shape::MemcachedV4);
BENCHMARK_CAPTURE(BM_DecodeFrame, ipv4_memcached_snap96, Shape::MemcachedV4Snap96);
BENCHMARK_CAPTURE(BM_DecodeFrame, vlan_dns, Shape::DnsVlan);
BENCHMARK_CAPTURE(BM_DecodeFrame, qinq_dns, Shape::DnsQinQ);
BENCHMARK_CAPTURE(BM_DecodeFrame, ipv6_dns, Shape::DnsV6);
BENCHMARK_CAPTURE(BM_DecodeFrame, ipv4_fragments, Shape::FragmentsV4);
BENCHMARK_CAPTURE(BM_DecodeFrame, ipv6_fragments, Shape::FragmentsV6);
BENCHMARK_CAPTURE(BM_DecodeAndClassify, ipv4_memcached_snap96, Shape::MemcachedV4Snap96);
BENCHMARK_CAPTURE(BM_DecodeAndClassify, ipv6_dns, Shape::DnsV6);
BENCHMARK_CAPTURE(BM_DecodeAndClassify, ipv4_fragments, Shape::FragmentsV4);
BENCHMARK(BM_FindRansomNoteMiss)->Arg(88)->Arg(1400);

}  // namespace
}  // namespace bw::bench

BENCHMARK_MAIN();
