// decodeFrame (and the per-packet vector classification the engine does after it) on frames
// built here: Ethernet/IPv4/UDP memcached responses (whole, and cut to a 96-byte snaplen),
// 802.1Q and QinQ tagged DNS responses, IPv6, IPv4/IPv6 fragment trains, and a small-packet
// mix as a flood capture holds it (memcached, DNS, udp:3074 and chargen responses with 40-74
// byte payloads plus benign UDP and TCP, cut to a 96-byte snaplen).
//
// Each benchmark decodes a ring of 4,096 distinct frames (different sources and request ids)
// so branch predictors and caches see realistic variety; items/s is frames decoded per second.
#include <benchmark/benchmark.h>

#include <cstddef>
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
  SmallMixV4,         // the small-packet flood mix above, snaplen 96
};

struct Ring {
  std::vector<Bytes> frames;
  std::vector<std::uint32_t> origlen;
};

// A TCP segment in Ethernet/IPv4 (20-byte TCP header, ACK|PSH) with `payload`.
Bytes buildTcpFrame(std::uint32_t src, std::uint16_t sport, std::uint16_t dport,
                    const Bytes& payload) {
  UdpFrameSpec s;
  s.src_v4 = src;
  s.src_port = sport;
  s.dst_port = dport;
  s.payload = payload;
  Bytes f = buildUdpFrame(s);
  constexpr std::size_t kIp = 14;
  constexpr std::size_t kL4 = kIp + 20;
  f[kIp + 9] = 6;
  storeBe16(&f[kIp + 2], static_cast<std::uint16_t>(20 + 20 + payload.size()));
  storeBe16(&f[kIp + 10], 0);
  storeBe16(&f[kIp + 10], ipv4Checksum(&f[kIp], 20));
  // Replace the 8-byte UDP header by a 20-byte TCP header.
  const Bytes tcp = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0xFF, 0xFF, 0, 0, 0, 0};
  f.erase(f.begin() + kL4, f.begin() + kL4 + 8);
  f.insert(f.begin() + kL4, tcp.begin(), tcp.end());
  storeBe16(&f[kL4], sport);
  storeBe16(&f[kL4 + 2], dport);
  return f;
}

// One frame of the small-packet mix (i picks the kind and the payload size deterministically).
Bytes smallMixFrame(std::size_t i) {
  std::uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull;
  x ^= x >> 29;
  const unsigned kind = static_cast<unsigned>(x % 100);
  const std::size_t size = 40 + static_cast<std::size_t>((x >> 8) % 35);  // 40..74
  UdpFrameSpec s;
  s.src_v4 = spreadV4(i + 1);
  s.dst_port = static_cast<std::uint16_t>(1024 + (x >> 16) % 60000);
  Bytes text;
  for (std::size_t k = 0; k < size; ++k)
    text.push_back(static_cast<std::uint8_t>(' ' + (i + k) % 95));
  Bytes noise;
  for (std::size_t k = 0; k < size; ++k) noise.push_back(static_cast<std::uint8_t>(x >> (k % 56)));
  if (kind < 30) {
    s.src_port = 11211;
    s.payload = memcachedResponse(size, static_cast<std::uint16_t>(i));
  } else if (kind < 55) {
    s.src_port = 53;
    s.payload = dnsResponse(size, static_cast<std::uint16_t>(i));
  } else if (kind < 70) {
    s.src_port = 3074;
    s.payload = noise;
  } else if (kind < 80) {
    s.src_port = 19;
    s.payload = text;
  } else if (kind < 87) {  // QUIC-like benign UDP
    s.src_port = 443;
    s.payload = noise;
  } else if (kind < 92) {  // a client's DNS query
    s.src_port = s.dst_port;
    s.dst_port = 53;
    s.payload = dnsResponse(size, static_cast<std::uint16_t>(i));
    s.payload[2] = 0x01;
  } else {
    return buildTcpFrame(s.src_v4, 443, s.dst_port, noise);
  }
  return buildUdpFrame(s);
}

Ring buildRing(Shape shape) {
  Ring r;
  if (shape == Shape::SmallMixV4) {
    for (std::size_t i = 0; i < kRing; ++i) {
      Bytes f = smallMixFrame(i);
      r.origlen.push_back(static_cast<std::uint32_t>(f.size()));
      if (f.size() > 96) f.resize(96);
      r.frames.push_back(std::move(f));
    }
    return r;
  }
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
      case Shape::SmallMixV4:
        break;  // built above
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

// The ring's frames decoded beforehand, non-first fragments left out (they carry no ports).
// Payloads point into `ring`, which must outlive the summaries.
std::vector<PacketSummary> decodedSummaries(const Ring& ring) {
  std::vector<PacketSummary> summaries;
  for (std::size_t i = 0; i < kRing; ++i) {
    const Bytes& f = ring.frames[i];
    PacketSummary p;
    if (decodeFrame(linktype::kEthernet, ByteSpan(f.data(), f.size()), ring.origlen[i], 0, p) ==
            DecodeStatus::Ok &&
        !p.isNonFirstFragment()) {
      summaries.push_back(p);
    }
  }
  return summaries;
}

// classifyResponse + classifyRequest alone, on summaries decoded beforehand.
void BM_Classify(benchmark::State& state, Shape shape) {
  const Ring ring = buildRing(shape);  // the summaries' payloads point into it
  const std::vector<PacketSummary> summaries = decodedSummaries(ring);
  std::uint64_t matched = 0;
  for (auto _ : state) {
    for (const PacketSummary& p : summaries) {
      VectorMatch m = classifyResponse(p);
      Vector req = classifyRequest(p);
      matched += m.vector != Vector::None;
      benchmark::DoNotOptimize(m);
      benchmark::DoNotOptimize(req);
    }
  }
  benchmark::DoNotOptimize(matched);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * summaries.size()));
}

// classify(): both classifications in one call, on the same summaries.
void BM_ClassifyFused(benchmark::State& state, Shape shape) {
  const Ring ring = buildRing(shape);  // the summaries' payloads point into it
  const std::vector<PacketSummary> summaries = decodedSummaries(ring);
  std::uint64_t matched = 0;
  for (auto _ : state) {
    for (const PacketSummary& p : summaries) {
      Classification c = classify(p);
      matched += c.response.vector != Vector::None;
      benchmark::DoNotOptimize(c);
    }
  }
  benchmark::DoNotOptimize(matched);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * summaries.size()));
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
BENCHMARK_CAPTURE(BM_DecodeFrame, small_mix_snap96, Shape::SmallMixV4);
BENCHMARK_CAPTURE(BM_DecodeAndClassify, ipv4_memcached_snap96, Shape::MemcachedV4Snap96);
BENCHMARK_CAPTURE(BM_DecodeAndClassify, ipv6_dns, Shape::DnsV6);
BENCHMARK_CAPTURE(BM_DecodeAndClassify, ipv4_fragments, Shape::FragmentsV4);
BENCHMARK_CAPTURE(BM_DecodeAndClassify, small_mix_snap96, Shape::SmallMixV4);
BENCHMARK_CAPTURE(BM_Classify, ipv4_memcached_snap96, Shape::MemcachedV4Snap96);
BENCHMARK_CAPTURE(BM_Classify, small_mix_snap96, Shape::SmallMixV4);
BENCHMARK_CAPTURE(BM_ClassifyFused, ipv4_memcached_snap96, Shape::MemcachedV4Snap96);
BENCHMARK_CAPTURE(BM_ClassifyFused, small_mix_snap96, Shape::SmallMixV4);
BENCHMARK(BM_FindRansomNoteMiss)->Arg(88)->Arg(1400);

}  // namespace
}  // namespace bw::bench

BENCHMARK_MAIN();
