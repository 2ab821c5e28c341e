#include "flow/chunk_grouper.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "decode/vector.h"
#include "detect/engine.h"
#include "flow/flow_feed.h"

namespace bw {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kT0 = 1'700'000'000 * kSec;

PacketSummary chunk(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport,
                    std::int64_t ts, std::uint32_t packets, std::uint64_t bytes) {
  PacketSummary p;
  p.ts_ns = ts;
  p.src = IpAddress::fromV4(src);
  p.dst = IpAddress::fromV4(dst);
  p.src_port = sport;
  p.dst_port = dport;
  p.ip_proto = ipproto::kUdp;
  p.flags = pktflag::kHasPorts;
  p.packets = packets;
  p.ip_bytes = bytes;
  return p;
}

// As the feed holds them.
std::vector<HeldChunk> held(const std::vector<PacketSummary>& chunks) {
  std::vector<HeldChunk> out;
  for (const PacketSummary& p : chunks) out.emplace_back(p, p.ts_ns, p.packets, p.ip_bytes);
  return out;
}

struct Sent {
  std::vector<PacketSummary> chunks;
  ChunkGrouper::Sink sink() {
    return [this](std::span<const PacketSummary> s) {
      chunks.insert(chunks.end(), s.begin(), s.end());
    };
  }
};

// What a chunk's key is for the engine, written out independently of the grouper: the
// destination port counts unless the chunk is a response from a vector's port to a port of
// no service.
using Key = std::tuple<IpAddress, IpAddress, std::uint16_t, std::uint16_t>;
Key keyOf(const PacketSummary& p) {
  const bool response = classifyResponse(p).vector != Vector::None;
  const bool request = classifyRequest(p) != Vector::None;
  const std::uint16_t dport = response && !request ? 0 : p.dst_port;
  return {p.src, p.dst, p.src_port, dport};
}

struct Totals {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::int64_t first = std::numeric_limits<std::int64_t>::max();
  int chunks = 0;
};

std::map<Key, Totals> totalsByKey(const std::vector<PacketSummary>& chunks) {
  std::map<Key, Totals> m;
  for (const PacketSummary& p : chunks) {
    Totals& t = m[keyOf(p)];
    t.packets += p.packets;
    t.bytes += p.ip_bytes;
    t.first = std::min(t.first, p.ts_ns);
    ++t.chunks;
  }
  return m;
}

// A bucket of a flood's records: memcached responses to random victim ports from a few
// hundred reflectors, requests to service ports, and generic traffic whose destination port
// the engine reads. Every key comes out once, with every count and its earliest time.
TEST(ChunkGrouper, MergesEachKeyOnceAndKeepsEveryCount) {
  std::mt19937_64 rng(7);
  std::vector<PacketSummary> in;
  for (int i = 0; i < 60'000; ++i) {
    const auto ts = kT0 + static_cast<std::int64_t>(rng() % 100'000'000);
    const auto src = 0x0a000000u + static_cast<std::uint32_t>(rng() % 300);
    const auto dst = 0xc6120000u + static_cast<std::uint32_t>(rng() % 3);
    const auto packets = static_cast<std::uint32_t>(1 + rng() % 4);
    const std::uint64_t bytes = packets * (100 + rng() % 1300);
    switch (rng() % 4) {
      case 0:  // a client's request to a service: its destination port is read
        in.push_back(chunk(src, dst, static_cast<std::uint16_t>(1024 + rng() % 3),
                           rng() % 2 ? 11211 : 53, ts, packets, bytes));
        break;
      case 1:  // no vector's port: the generic class reads the destination port
        in.push_back(chunk(src, dst, 40000, static_cast<std::uint16_t>(2000 + rng() % 5), ts,
                           packets, bytes));
        break;
      default:  // reflected responses to random victim ports
        in.push_back(chunk(src, dst, rng() % 3 ? 11211 : 123,
                           static_cast<std::uint16_t>(1024 + rng() % 60000), ts, packets, bytes));
        break;
    }
  }
  ChunkGrouper g;
  Sent out;
  // In pieces, as the feed's blocks come.
  const std::vector<HeldChunk> in_held = held(in);
  for (std::size_t from = 0; from < in.size(); from += 256) {
    g.add(std::span<const HeldChunk>(in_held).subspan(
        from, std::min<std::size_t>(256, in.size() - from)));
  }
  g.flush(out.sink());

  const std::map<Key, Totals> want = totalsByKey(in);
  const std::map<Key, Totals> got = totalsByKey(out.chunks);
  ASSERT_EQ(out.chunks.size(), want.size());  // one chunk per key
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [key, w] : want) {
    const auto it = got.find(key);
    ASSERT_NE(it, got.end());
    EXPECT_EQ(it->second.packets, w.packets);
    EXPECT_EQ(it->second.bytes, w.bytes);
    EXPECT_EQ(it->second.first, w.first);
  }
  EXPECT_EQ(g.stats().chunks, in.size());
  EXPECT_EQ(g.stats().merged, in.size() - want.size());
  EXPECT_EQ(g.stats().buckets, 1u);
  // Destination ports the engine reads were never merged away: each such key kept its own.
  int requests = 0, generic = 0;
  for (const auto& [key, t] : want) {
    if (std::get<3>(key) == 11211 || std::get<3>(key) == 53) ++requests;
    if (std::get<2>(key) == 40000) ++generic;
  }
  EXPECT_GE(requests, 2 * 3 * 3);  // both services, from up to three client ports each
  EXPECT_GE(generic, 5 * 3 * 2);
}

// The engine's per-source tables are indexed by the low bits of the source's hash: the
// grouped chunks come in that order, so those tables are walked in order.
TEST(ChunkGrouper, SendsChunksInTheOrderOfTheirSourcesHash) {
  std::mt19937_64 rng(11);
  std::vector<PacketSummary> in;
  for (int i = 0; i < 20'000; ++i) {
    in.push_back(chunk(static_cast<std::uint32_t>(rng()), 0xc6120001, 11211,
                       static_cast<std::uint16_t>(rng()), kT0 + i, 1, 1400));
  }
  ChunkGrouper g;
  Sent out;
  const std::vector<HeldChunk> in_held = held(in);
  g.add(in_held);
  g.flush(out.sink());
  ASSERT_EQ(out.chunks.size(), in.size());
  for (std::size_t i = 1; i < out.chunks.size(); ++i) {
    ASSERT_LE(out.chunks[i - 1].src.hash() & 0xFFFFF, out.chunks[i].src.hash() & 0xFFFFF) << i;
  }
}

TEST(ChunkGrouper, NeverOverflowsAChunksPacketCount) {
  const std::uint32_t big = std::numeric_limits<std::uint32_t>::max() - 10;
  std::vector<PacketSummary> in = {chunk(1, 2, 11211, 5000, kT0 + 5, big, 1),
                                   chunk(1, 2, 11211, 5001, kT0 + 3, 20, 2),
                                   chunk(1, 2, 11211, 5002, kT0 + 9, 7, 4)};
  ChunkGrouper g;
  Sent out;
  const std::vector<HeldChunk> in_held = held(in);
  g.add(in_held);
  g.flush(out.sink());
  ASSERT_EQ(out.chunks.size(), 2u);  // the second could not join the first
  std::uint64_t packets = 0, bytes = 0;
  for (const PacketSummary& p : out.chunks) {
    packets += p.packets;
    bytes += p.ip_bytes;
  }
  EXPECT_EQ(packets, std::uint64_t{big} + 27);
  EXPECT_EQ(bytes, 7u);
}

// Spans longer than the grouper's per-span index are split; chunks from all of them merge.
TEST(ChunkGrouper, LongSpansAndManySpans) {
  std::vector<PacketSummary> in;
  for (int i = 0; i < 150'000; ++i) {
    // Victim ports 20000-39999: no service's, so the engine never reads them.
    in.push_back(chunk(0x0a000000u + static_cast<std::uint32_t>(i % 1000), 0xc6120001, 11211,
                       static_cast<std::uint16_t>(20000 + i % 20000), kT0 + i, 1, 100));
  }
  ChunkGrouper g;
  Sent out;
  const std::vector<HeldChunk> in_held = held(in);
  g.add(in_held);
  g.flush(out.sink());
  ASSERT_EQ(out.chunks.size(), 1000u);
  for (const PacketSummary& p : out.chunks) {
    EXPECT_EQ(p.packets, 150u);
    EXPECT_EQ(p.ip_bytes, 15'000u);
  }
  // Empty and starting over.
  g.flush(out.sink());
  EXPECT_EQ(out.chunks.size(), 1000u);
  EXPECT_EQ(g.stats().buckets, 1u);
}

// What the engine makes of a flood at a few million records a second is the same whether
// crowded cells are grouped or not: the same attacks, packets, bytes, reflectors and top
// reflectors; the start and end may move by less than one bucket.
TEST(ChunkGrouper, TheEngineReportsTheSameFloods) {
  std::vector<FlowRecord> records;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 600'000; ++i) {  // 3 s at 200 k records/s: 20,000 per bucket
    FlowRecord r;
    const auto ts =
        kT0 + static_cast<std::int64_t>(i) * 5'000 + static_cast<std::int64_t>(rng() % 5'000);
    const int kind = static_cast<int>(rng() % 10);
    if (kind < 6) {  // memcached from 4,000 reflectors to one victim, random ports
      r.summary = chunk(0x0b000000u + static_cast<std::uint32_t>(rng() % 4000), 0xc6120010, 11211,
                        static_cast<std::uint16_t>(rng()), ts, 1, 0);
      r.bytes = 1428;
    } else if (kind < 8) {  // NTP to a second victim
      r.summary = chunk(0x0c000000u + static_cast<std::uint32_t>(rng() % 800), 0xc6120020, 123,
                        static_cast<std::uint16_t>(1024 + rng() % 60000), ts, 1, 0);
      r.bytes = 468;
    } else {  // benign: clients' DNS queries and web traffic
      r.summary = chunk(0xc6120100u + static_cast<std::uint32_t>(rng() % 200),
                        0x08080800u + static_cast<std::uint32_t>(rng() % 4),
                        static_cast<std::uint16_t>(1024 + rng() % 60000), 53, ts, 1, 0);
      r.bytes = 80;
    }
    r.last_ns = r.summary.ts_ns;
    r.packets = 1;
    r.protocol = FlowProtocol::NetflowV9;
    records.push_back(r);
  }
  auto run = [&](std::size_t group_min, std::uint64_t* merged) {
    Engine engine(DetectionConfig{});
    FlowFeedOptions o;
    o.group_min_chunks = group_min;
    FlowFeed feed(o, [&](std::span<const PacketSummary> s) { engine.process(s); });
    for (std::size_t i = 0; i < records.size(); ++i) {
      feed.add(records[i]);
      if (i % 30 == 29) feed.release();
    }
    feed.flush();
    engine.finish();
    *merged = feed.grouperStats().merged;
    return engine.attacks();
  };
  std::uint64_t merged_plain = 0, merged_grouped = 0;
  const std::vector<AttackRecord> plain = run(0, &merged_plain);
  const std::vector<AttackRecord> grouped = run(16'384, &merged_grouped);
  EXPECT_EQ(merged_plain, 0u);
  EXPECT_GT(merged_grouped, 300'000u);
  ASSERT_EQ(plain.size(), 2u);
  ASSERT_EQ(grouped.size(), plain.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    const AttackRecord& a = plain[i];
    const AttackRecord& b = grouped[i];
    EXPECT_EQ(b.victim, a.victim);
    EXPECT_EQ(b.vector, a.vector);
    EXPECT_EQ(b.packets, a.packets);
    EXPECT_EQ(b.bytes, a.bytes);
    EXPECT_EQ(b.reflectors, a.reflectors);
    EXPECT_EQ(b.start_ns, a.start_ns);
    EXPECT_NEAR(static_cast<double>(b.end_ns), static_cast<double>(a.end_ns), 100'000'000.0);
    EXPECT_DOUBLE_EQ(b.peak_pps, a.peak_pps);
    ASSERT_EQ(b.top_reflectors.size(), a.top_reflectors.size());
    for (std::size_t k = 0; k < a.top_reflectors.size(); ++k) {
      EXPECT_EQ(b.top_reflectors[k].ip, a.top_reflectors[k].ip);
      EXPECT_EQ(b.top_reflectors[k].packets, a.top_reflectors[k].packets);
      EXPECT_EQ(b.top_reflectors[k].bytes, a.top_reflectors[k].bytes);
    }
  }
}

}  // namespace
}  // namespace bw
