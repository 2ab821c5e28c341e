#include "flow/flow_feed.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace bw {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kT0 = 1'700'000'000 * kSec;

FlowRecord flowRecord(std::uint32_t src, std::uint32_t dst, std::int64_t first, std::int64_t last,
                      std::uint64_t packets, std::uint64_t bytes) {
  FlowRecord r;
  r.summary.src = IpAddress::fromV4(src);
  r.summary.dst = IpAddress::fromV4(dst);
  r.summary.src_port = 11211;
  r.summary.dst_port = 80;
  r.summary.ip_proto = ipproto::kUdp;
  r.summary.flags = pktflag::kHasPorts;
  r.summary.ts_ns = first;
  r.last_ns = last;
  r.packets = packets;
  r.bytes = bytes;
  r.protocol = FlowProtocol::NetflowV9;
  return r;
}

struct Collected {
  std::vector<PacketSummary> chunks;
  FlowFeed::Sink sink() {
    return [this](std::span<const PacketSummary> b) {
      chunks.insert(chunks.end(), b.begin(), b.end());
    };
  }
  std::uint64_t packets() const {
    std::uint64_t n = 0;
    for (const auto& c : chunks) n += c.packets;
    return n;
  }
  std::uint64_t bytes() const {
    std::uint64_t n = 0;
    for (const auto& c : chunks) n += c.ip_bytes;
    return n;
  }
};

TEST(FlowFeed, SpreadsARecordEvenlyOverItsSpan) {
  Collected out;
  FlowFeed feed(FlowFeedOptions{}, out.sink());
  feed.add(flowRecord(0x0a000001, 0xc6120001, kT0, kT0 + 10 * kSec, 1001, 1'401'403));
  feed.flush();
  ASSERT_EQ(out.chunks.size(), 11u);  // one chunk a second, first and last included
  EXPECT_EQ(out.chunks.front().ts_ns, kT0);
  EXPECT_EQ(out.chunks.back().ts_ns, kT0 + 10 * kSec);
  for (std::size_t i = 1; i < out.chunks.size(); ++i) {
    EXPECT_LE(out.chunks[i].ts_ns - out.chunks[i - 1].ts_ns, kSec);
    EXPECT_GE(out.chunks[i].ts_ns, out.chunks[i - 1].ts_ns);
  }
  EXPECT_EQ(out.packets(), 1001u);
  EXPECT_EQ(out.bytes(), 1'401'403u);
  // Even: no chunk differs from another by more than one packet.
  for (const auto& c : out.chunks) EXPECT_NEAR(c.packets, 1001.0 / 11, 1.0);
}

TEST(FlowFeed, FewPacketsMakeFewChunks) {
  Collected out;
  FlowFeed feed(FlowFeedOptions{}, out.sink());
  feed.add(flowRecord(1, 2, kT0, kT0 + 30 * kSec, 3, 300));
  feed.add(flowRecord(1, 2, kT0, kT0, 1, 60));
  feed.flush();
  EXPECT_EQ(out.chunks.size(), 4u);
  EXPECT_EQ(out.packets(), 4u);
  EXPECT_EQ(out.bytes(), 360u);
}

TEST(FlowFeed, ReleasesOutOfOrderRecordsInTimeOrderAfterTheHoldback) {
  Collected out;
  FlowFeed feed(FlowFeedOptions{}, out.sink());
  // Records of a 10 s active timeout arrive by end time, not start time.
  feed.add(flowRecord(1, 9, kT0 + 5 * kSec, kT0 + 15 * kSec, 100, 1000));
  feed.release();
  feed.add(flowRecord(2, 9, kT0, kT0 + 10 * kSec, 100, 1000));
  feed.release();
  feed.add(flowRecord(3, 9, kT0 + 20 * kSec, kT0 + 30 * kSec, 100, 1000));
  feed.release();
  EXPECT_GE(feed.stats().holdback_ns, 10 * kSec);
  // The watermark (30 s - holdback) let the early chunks out already, in order.
  std::size_t released_early = out.chunks.size();
  EXPECT_GT(released_early, 0u);
  feed.flush();
  EXPECT_EQ(out.packets(), 300u);
  for (std::size_t i = 1; i < out.chunks.size(); ++i)
    EXPECT_LE(out.chunks[i - 1].ts_ns, out.chunks[i].ts_ns) << i;
  EXPECT_EQ(feed.stats().late_records, 0u);
}

// A live exporter that goes quiet: the wall clock moves the watermark, so held chunks leave
// (and the engine's clock with them) without a newer record.
TEST(FlowFeed, AdvanceToReleasesWhatTheClockHasPassed) {
  Collected out;
  FlowFeed feed(FlowFeedOptions{}, out.sink());
  feed.advanceTo(kT0);  // nothing held yet: no clock to move, nothing happens
  EXPECT_EQ(feed.watermark(), INT64_MIN);
  feed.add(flowRecord(1, 9, kT0, kT0 + 10 * kSec, 110, 1100));
  feed.release();
  const std::size_t before = out.chunks.size();
  EXPECT_LT(before, 11u);  // held behind the 10 s holdback
  feed.advanceTo(kT0 + 15 * kSec);
  EXPECT_LT(out.chunks.size(), 11u);  // the watermark is at 5 s: the first chunks only
  EXPECT_GT(out.chunks.size(), before);
  feed.advanceTo(kT0 + 21 * kSec);
  EXPECT_EQ(out.chunks.size(), 11u);
  EXPECT_EQ(out.packets(), 110u);
  EXPECT_GE(feed.watermark(), kT0 + 10 * kSec);
  // Time never goes back.
  feed.advanceTo(kT0);
  EXPECT_GE(feed.watermark(), kT0 + 10 * kSec);
}

TEST(FlowFeed, SflowSamplesPassAtOnceWithTheirWeight) {
  Collected out;
  FlowFeed feed(FlowFeedOptions{}, out.sink());
  FlowRecord r = flowRecord(1, 2, kT0, kT0, 10, 14000);
  r.protocol = FlowProtocol::SflowV5;
  r.flags = flowflag::kSampledHeader | flowflag::kSampled;
  r.sampling_rate = 10;
  feed.add(r);
  EXPECT_TRUE(out.chunks.empty());  // batched until release()
  feed.release();
  ASSERT_EQ(out.chunks.size(), 1u);
  EXPECT_EQ(out.chunks[0].packets, 10u);
  EXPECT_EQ(out.chunks[0].ip_bytes, 14000u);
}

TEST(FlowFeed, MemoryStaysBoundedAndNothingIsLost) {
  Collected out;
  FlowFeedOptions o;
  o.max_pending = 1000;
  std::uint64_t sent = 0;
  FlowFeed feed(o, out.sink());
  // A long record first makes the holdback long, so everything after it waits.
  feed.add(flowRecord(1, 2, kT0, kT0 + 60 * kSec, 61, 61 * 100));
  sent += 61;
  for (int i = 0; i < 20000; ++i) {
    feed.add(
        flowRecord(100 + i, 2, kT0 + 60 * kSec + i * 1000, kT0 + 60 * kSec + i * 1000, 1, 100));
    ++sent;
    feed.release();
  }
  EXPECT_GT(feed.stats().forced_releases, 0u);
  feed.flush();
  EXPECT_EQ(out.packets(), sent);
}

// Counts the packets reaching the sink without keeping the chunks.
FlowFeed::Sink packetCounter(std::uint64_t& received) {
  return [&received](std::span<const PacketSummary> b) {
    for (const PacketSummary& p : b) received += p.packets;
  };
}

// One record spanning `holdback_ns` (the feed learns that holdback), then `cells` 100 ms
// wheel cells filled in turn with `per_cell` one-packet records each, released after each
// cell; `after_cell(cell)` runs then. Returns the packets sent.
std::uint64_t fillCellsInTurn(FlowFeed& feed, std::int64_t holdback_ns, int cells, int per_cell,
                              const std::function<void(int)>& after_cell) {
  const std::uint64_t first = static_cast<std::uint64_t>(holdback_ns / kSec) + 1;
  feed.add(flowRecord(1, 2, kT0, kT0 + holdback_ns, first, first * 100));
  std::uint64_t sent = first;
  std::uint32_t src = 10;
  for (int cell = 0; cell < cells; ++cell) {
    const std::int64_t t = kT0 + holdback_ns + cell * 100'000'000ll;
    for (int i = 0; i < per_cell; ++i) feed.add(flowRecord(src++, 2, t + i, t + i, 1, 100));
    sent += static_cast<std::uint64_t>(per_cell);
    feed.release();
    after_cell(cell);
  }
  return sent;
}

// A flood that fills each wheel cell in turn with thousands of chunks, behind a long
// holdback: emptied cells give their memory back, so the wheel keeps a bounded number of
// chunks' worth, not a flood's worth in every one of its cells.
TEST(FlowFeed, EmptiedCellsDoNotKeepAFloodsWorthOfMemoryEach) {
  FlowFeedOptions o;
  o.max_pending = 5'000;
  std::uint64_t received = 0, most = 0;
  FlowFeed feed(o, packetCounter(received));
  // 150 s of cells, 1,000 chunks each, behind a 60 s holdback.
  const std::uint64_t sent = fillCellsInTurn(feed, 60 * kSec, 1500, 1000, [&](int) {
    most = std::max(most, feed.stats().capacity_chunks);
  });
  feed.flush();
  EXPECT_EQ(received, sent);
  EXPECT_GT(feed.stats().forced_releases, 0u);
  // Cells fill to 1,000 in turn: kept, each of the 1,500 would hold 1,024 chunks' worth.
  EXPECT_LE(most, 5 * o.max_pending / 2 + 64 * 2048);
}

// Steady input held past max_pending / 2 chunks: emptied cells hand their memory to the
// cells that fill next, so once the wheel has warmed up it allocates nothing more (fresh
// memory costs a page fault and a clear per page, a fifth of a busy sensor's time).
TEST(FlowFeed, SteadyInputReusesTheMemoryOfEmptiedCells) {
  FlowFeedOptions o;
  o.max_pending = 8'192;
  std::uint64_t received = 0, warm = 0;
  int allocated_at = -1;  // the first cell after warm-up that allocated
  FlowFeed feed(o, packetCounter(received));
  // 600 chunks per cell behind a holdback of about 1.1 s: some 6,600 held at a time.
  const std::uint64_t sent = fillCellsInTurn(feed, kSec, 200, 600, [&](int cell) {
    if (cell == 50) warm = feed.stats().allocated_chunks;
    if (cell > 50 && allocated_at < 0 && feed.stats().allocated_chunks != warm) allocated_at = cell;
  });
  EXPECT_EQ(allocated_at, -1);
  EXPECT_GT(warm, o.max_pending / 2);  // the held chunks alone need more than the pool keeps
  EXPECT_LE(feed.stats().capacity_chunks, 3 * o.max_pending / 2 + 2048);
  EXPECT_EQ(feed.stats().forced_releases, 0u);
  feed.flush();
  EXPECT_EQ(received, sent);
}

TEST(FlowFeed, HugeCountsSplitWithoutOverflow) {
  Collected out;
  FlowFeed feed(FlowFeedOptions{}, out.sink());
  const std::uint64_t packets = 20'000'000'000ull;  // more than 32 bits
  feed.add(flowRecord(1, 2, kT0, kT0, packets, packets * 1500));
  feed.flush();
  EXPECT_EQ(out.packets(), packets);
  EXPECT_EQ(out.bytes(), packets * 1500);
}

TEST(FlowFeed, LateRecordsAreCountedAndStillDelivered) {
  Collected out;
  FlowFeed feed(FlowFeedOptions{}, out.sink());
  feed.add(flowRecord(1, 2, kT0, kT0 + 2 * kSec, 10, 100));
  feed.add(flowRecord(1, 2, kT0 + 600 * kSec, kT0 + 602 * kSec, 10, 100));
  feed.release();
  feed.add(flowRecord(3, 2, kT0 + kSec, kT0 + 2 * kSec, 5, 50));  // long behind the watermark
  feed.release();
  feed.flush();
  EXPECT_EQ(feed.stats().late_records, 1u);
  EXPECT_EQ(out.packets(), 25u);
}

// One-packet records (no span) exported 15 s after fresher ones, as from a router whose flow
// cache a spoofed flood fills and which empties it in bulk. Until the watermark has moved past
// what the first rounds released, their delayed records are late; from then on the learned
// holdback keeps every delayed record, and they leave in time order instead of reaching the
// engine late, all at once. (Learning from record spans alone, they would all stay late.)
TEST(FlowFeed, ExportDelaysAreLearnedNotOnlyRecordSpans) {
  Collected out;
  FlowFeed feed(FlowFeedOptions{}, out.sink());
  std::uint32_t src = 1;
  std::size_t settled_chunks = 0;
  std::uint64_t settled_late = 0;
  for (int s = 20; s < 100; ++s) {
    const std::int64_t now = kT0 + s * kSec;
    feed.add(flowRecord(src++, 9, now, now, 1, 100));  // a fresh flow
    feed.release();
    for (int i = 0; i < 100; ++i) {  // a second of flood, 15 s old
      const std::int64_t t = now - 15 * kSec + i * 10'000'000;
      feed.add(flowRecord(src++, 9, t, t, 1, 100));
    }
    feed.release();
    if (s == 40) {
      settled_chunks = out.chunks.size();
      settled_late = feed.stats().late_records;
    }
  }
  feed.flush();
  EXPECT_EQ(out.packets(), 80u * 101u);
  EXPECT_GE(feed.stats().holdback_ns, 15 * kSec);
  EXPECT_EQ(feed.stats().late_records, settled_late);
  EXPECT_LT(settled_late, 20u * 100u);
  for (std::size_t i = settled_chunks + 1; i < out.chunks.size(); ++i) {
    ASSERT_LE(out.chunks[i - 1].ts_ns, out.chunks[i].ts_ns) << i;
  }
}

// The same exporter read from a capture file, with the holdback held from the start: records
// sent 15 s after fresher ones are never late, not even in the first rounds.
TEST(FlowFeed, AMinimumHoldbackKeepsDelayedRecordsFromTheStart) {
  for (const std::int64_t min_holdback : {std::int64_t{0}, 20 * kSec}) {
    FlowFeedOptions o;
    o.min_holdback_ns = min_holdback;
    Collected out;
    FlowFeed feed(o, out.sink());
    std::uint32_t src = 1;
    for (int s = 20; s < 40; ++s) {
      const std::int64_t now = kT0 + s * kSec;
      feed.add(flowRecord(src++, 9, now, now, 1, 100));
      feed.release();
      for (int i = 0; i < 100; ++i) {
        const std::int64_t t = now - 15 * kSec + i * 10'000'000;
        feed.add(flowRecord(src++, 9, t, t, 1, 100));
      }
      feed.release();
    }
    feed.flush();
    EXPECT_EQ(out.packets(), 20u * 101u);
    if (min_holdback == 0) {
      EXPECT_GT(feed.stats().late_records, 0u);
      continue;
    }
    EXPECT_EQ(feed.stats().late_records, 0u);
    EXPECT_EQ(feed.stats().holdback_ns, min_holdback);
    for (std::size_t i = 1; i < out.chunks.size(); ++i) {
      ASSERT_LE(out.chunks[i - 1].ts_ns, out.chunks[i].ts_ns) << i;
    }
  }
}

// The feed's contract written the plain way: the same spreading and holdback, every chunk
// copied into its cell and each cell stable-sorted on release, late chunks sent one by one.
class ReferenceFeed {
 public:
  explicit ReferenceFeed(FlowFeedOptions o) : o_(o) {
    const auto cells = static_cast<std::size_t>(o_.max_holdback_ns / o_.cell_ns) + 2;
    wheel_.resize(std::max<std::size_t>(cells * 2, 16));
  }
  std::vector<PacketSummary> out;

  void add(const FlowRecord& r) {
    if (r.packets == 0) return;
    if (r.protocol == FlowProtocol::SflowV5) {
      PacketSummary p = r.summary;
      p.packets = static_cast<std::uint32_t>(std::min<std::uint64_t>(r.packets, kMax32));
      p.ip_bytes = r.bytes;
      direct_.push_back(p);
      if (direct_.size() >= 256) sendDirect();
      return;
    }
    const std::int64_t first = r.summary.ts_ns, last = std::max(r.last_ns, first);
    const std::int64_t span = last - first;
    newest_ = std::max(newest_, last);
    holdback_ = std::min(o_.max_holdback_ns, std::max(holdback_, newest_ - first + o_.cell_ns));
    if (next_ == INT64_MIN) next_ = floorDiv(first - o_.max_holdback_ns);
    std::uint64_t n =
        static_cast<std::uint64_t>(span / o_.chunk_ns) + (span % o_.chunk_ns != 0 ? 1 : 0) + 1;
    n = std::min<std::uint64_t>({n, o_.max_chunks_per_record, r.packets});
    n = std::max<std::uint64_t>({n, (r.packets + kMax32 - 1) / kMax32, 1});
    PacketSummary c = r.summary;
    for (std::uint64_t i = 0; i < n; ++i) {
      c.ts_ns = n == 1 ? first
                       : first + static_cast<std::int64_t>(static_cast<__int128>(span) * i /
                                                           static_cast<__int128>(n - 1));
      c.packets = static_cast<std::uint32_t>(r.packets / n + (i < r.packets % n ? 1 : 0));
      c.ip_bytes = r.bytes / n + (i < r.bytes % n ? 1 : 0);
      place(c);
    }
  }
  void release() {
    sendDirect();
    if (next_ != INT64_MIN) releaseUpTo(floorDiv(newest_ - holdback_));
  }
  void flush() {
    sendDirect();
    if (next_ != INT64_MIN) releaseUpTo(next_ + static_cast<std::int64_t>(wheel_.size()));
  }

 private:
  static constexpr std::uint64_t kMax32 = std::numeric_limits<std::uint32_t>::max();
  std::int64_t floorDiv(std::int64_t a) const {
    return a >= 0 ? a / o_.cell_ns : (a - o_.cell_ns + 1) / o_.cell_ns;
  }
  std::vector<PacketSummary>& cellAt(std::int64_t c) {
    const auto size = static_cast<std::int64_t>(wheel_.size());
    return wheel_[static_cast<std::size_t>(((c % size) + size) % size)];
  }
  void place(const PacketSummary& c) {
    const std::int64_t cell = floorDiv(c.ts_ns);
    if (cell < next_) {
      out.push_back(c);
      return;
    }
    const auto size = static_cast<std::int64_t>(wheel_.size());
    if (cell >= next_ + size) releaseUpTo(cell - size + 1);
    while (pending_ >= o_.max_pending) releaseUpTo(next_ + 1);
    if (cell < next_) {
      out.push_back(c);
      return;
    }
    cellAt(cell).push_back(c);
    ++pending_;
  }
  void releaseUpTo(std::int64_t target) {
    if (target <= next_) return;
    const std::int64_t stop = std::min(target, next_ + static_cast<std::int64_t>(wheel_.size()));
    for (std::int64_t c = next_; c < stop; ++c) {
      std::vector<PacketSummary>& v = cellAt(c);
      std::stable_sort(v.begin(), v.end(), [](const PacketSummary& a, const PacketSummary& b) {
        return a.ts_ns < b.ts_ns;
      });
      out.insert(out.end(), v.begin(), v.end());
      pending_ -= v.size();
      v.clear();
    }
    next_ = target;
  }
  void sendDirect() {
    out.insert(out.end(), direct_.begin(), direct_.end());
    direct_.clear();
  }

  FlowFeedOptions o_;
  std::vector<std::vector<PacketSummary>> wheel_;
  std::vector<PacketSummary> direct_;
  std::int64_t next_ = INT64_MIN, newest_ = INT64_MIN, holdback_ = o_.min_holdback_ns;
  std::size_t pending_ = 0;
};

// Random exporters: bursts of one-packet records sharing a time, long records, records far
// behind and far ahead, sFlow samples, a wheel small enough to overflow. The feed must send
// exactly what the plain version sends, in the same order.
TEST(FlowFeed, SendsWhatThePlainAlgorithmSendsInTheSameOrder) {
  // Times before 1970 too: exporters' clocks can say anything.
  for (const std::int64_t t0 : {kT0, -37 * kSec - 12'345}) {
    for (const std::int64_t cell_ns : {std::int64_t{100'000'000}, std::int64_t{70'000'000}}) {
      for (const std::size_t max_pending : {std::size_t{2'000'000}, std::size_t{300}}) {
        FlowFeedOptions o;
        o.cell_ns = cell_ns;
        o.max_holdback_ns = 20 * kSec;
        // Learned from 0 (live input) or held from the start (capture files).
        o.min_holdback_ns = max_pending == 300 ? 0 : 5 * kSec;
        o.max_pending = max_pending;
        Collected got;
        FlowFeed feed(o, got.sink());
        ReferenceFeed want(o);
        std::mt19937_64 rng(static_cast<std::uint64_t>(cell_ns) ^ max_pending);
        std::int64_t now = t0;
        std::uint32_t id = 0;
        for (int datagram = 0; datagram < 3000; ++datagram) {
          now += static_cast<std::int64_t>(rng() % (kSec / 20));
          const std::int64_t shared = now - static_cast<std::int64_t>(rng() % (3 * kSec));
          for (int i = 0, n = static_cast<int>(rng() % 40); i < n; ++i) {
            std::int64_t first = shared;
            std::int64_t last = shared;
            std::uint64_t packets = 1;
            switch (rng() % 7) {
              case 0:  // a long flow
                first = now - static_cast<std::int64_t>(rng() % (15 * kSec));
                last = first + static_cast<std::int64_t>(rng() % (12 * kSec));
                packets = 1 + rng() % 400;
                break;
              case 1:  // far behind the watermark
                first = last = now - 40 * kSec - static_cast<std::int64_t>(rng() % kSec);
                packets = 1 + rng() % 3;
                break;
              case 2:  // a few packets within a second
                last = first + static_cast<std::int64_t>(rng() % kSec);
                packets = 1 + rng() % 5;
                break;
              default:
                break;
            }
            if (datagram == 2700 && i == 0) first = last = now + 200 * kSec;  // a clock far ahead
            FlowRecord r = flowRecord(++id, 9, first, last, packets, packets * 100 + rng() % 7);
            if (rng() % 40 == 0) r.protocol = FlowProtocol::SflowV5;
            feed.add(r);
            want.add(r);
          }
          feed.release();
          want.release();
          ASSERT_EQ(got.chunks.size(), want.out.size()) << "datagram " << datagram;
        }
        feed.flush();
        want.flush();
        ASSERT_EQ(got.chunks.size(), want.out.size());
        for (std::size_t i = 0; i < want.out.size(); ++i) {
          ASSERT_EQ(got.chunks[i].ts_ns, want.out[i].ts_ns) << i;
          ASSERT_EQ(got.chunks[i].src, want.out[i].src) << i;
          ASSERT_EQ(got.chunks[i].packets, want.out[i].packets) << i;
          ASSERT_EQ(got.chunks[i].ip_bytes, want.out[i].ip_bytes) << i;
        }
        if (max_pending < 1000) {
          EXPECT_GT(feed.stats().forced_releases, 0u);
        }
        EXPECT_GT(feed.stats().late_records, 0u);
      }
    }
  }
}

// One cell holding thousands of chunks, their times interleaved a few nanoseconds apart and
// repeated: the order must still be (time, arrival) exactly, as the plain version sends it.
TEST(FlowFeed, CrowdedCellsKeepTimeAndArrivalOrder) {
  for (const int distinct : {2, 7, 1000}) {
    Collected got;
    FlowFeed feed(FlowFeedOptions{}, got.sink());
    ReferenceFeed want(FlowFeedOptions{});
    for (int i = 0; i < 5000; ++i) {
      const std::int64_t t = kT0 + (i * 7919) % distinct;
      FlowRecord r = flowRecord(static_cast<std::uint32_t>(i), 9, t, t, 1, 100);
      feed.add(r);
      want.add(r);
      if (i % 30 == 29) {
        feed.release();
        want.release();
      }
    }
    feed.flush();
    want.flush();
    ASSERT_EQ(got.chunks.size(), want.out.size());
    for (std::size_t i = 0; i < want.out.size(); ++i) {
      ASSERT_EQ(got.chunks[i].ts_ns, want.out[i].ts_ns) << distinct << " " << i;
      ASSERT_EQ(got.chunks[i].src, want.out[i].src) << distinct << " " << i;
    }
  }
}

// Cells so long that (time, arrival) no longer fits one 64-bit key take the slower sort and
// keep the same order.
TEST(FlowFeed, HugeCellsKeepTimeAndArrivalOrder) {
  FlowFeedOptions o;
  o.cell_ns = 4'000'000'000'000'000'000;
  Collected got;
  FlowFeed feed(o, got.sink());
  ReferenceFeed want(o);
  for (int i = 0; i < 24; ++i) {
    const std::int64_t t = std::int64_t{(i * 7) % 12} << 58;  // each time twice, interleaved
    FlowRecord r = flowRecord(static_cast<std::uint32_t>(i), 9, t, t, 1, 100);
    feed.add(r);
    want.add(r);
  }
  feed.flush();
  want.flush();
  ASSERT_EQ(got.chunks.size(), 24u);
  ASSERT_EQ(want.out.size(), 24u);
  for (std::size_t i = 0; i < want.out.size(); ++i) {
    EXPECT_EQ(got.chunks[i].ts_ns, want.out[i].ts_ns) << i;
    EXPECT_EQ(got.chunks[i].src, want.out[i].src) << i;
  }
}

// Crowded wheel cells. A flood's record: one 1,400-byte memcached response from reflector
// number `reflector` to a random-looking port of no service, the i-th record of wheel cell
// `cell` (i ns into it).
FlowRecord floodRecord(int reflector, std::int64_t cell, int i) {
  FlowRecord r = flowRecord(0x0a000000u + static_cast<std::uint32_t>(reflector), 0xc6120001,
                            kT0 + cell * 100'000'000 + i, kT0 + cell * 100'000'000 + i, 1, 1400);
  r.summary.dst_port = static_cast<std::uint16_t>(20000 + i % 20000);
  return r;
}

// Through the feed: a cell crowded past group_min_chunks is grouped, a quieter one is not.
TEST(FlowFeed, TheFeedGroupsOnlyCrowdedCells) {
  for (const std::size_t group_min : {std::size_t{0}, std::size_t{16'384}}) {
    Collected got;
    FlowFeed feed(FlowFeedOptions{.group_min_chunks = group_min}, got.sink());
    // Cell 0: 20,000 records from 500 reflectors; cell 1 (100 ms later): 1,000 records.
    for (int i = 0; i < 21'000; ++i) {
      const std::int64_t cell = i < 20'000 ? 0 : 1;
      feed.add(floodRecord(i % 500, cell, i));
    }
    feed.flush();
    const std::vector<PacketSummary>& out = got.chunks;
    EXPECT_EQ(got.packets(), 21'000u);
    if (group_min == 0) {
      EXPECT_EQ(out.size(), 21'000u);
      EXPECT_EQ(feed.stats().grouped_cells, 0u);
    } else {
      EXPECT_EQ(out.size(), 500u + 1'000u);  // cell 0 merged per reflector, cell 1 as it came
      EXPECT_EQ(feed.stats().grouped_cells, 1u);
      EXPECT_EQ(feed.grouperStats().merged, 19'500u);
      for (std::size_t i = 0; i < out.size(); ++i) {
        EXPECT_EQ((out[i].flags & pktflag::kUnordered) != 0, i < 500) << i;
        if (i > 500) {
          EXPECT_GE(out[i].ts_ns, out[i - 1].ts_ns) << i;
        }
      }
    }
  }
}

// A feed whose engine runs on another thread hands crowded cells over whole, in arrival
// order and after what was sent before them; their memory comes back to the feed once the
// reader lets go of them, so a flood does not keep allocating.
TEST(FlowFeed, TheFeedHandsCrowdedCellsOverWholeAndGetsTheirMemoryBack) {
  std::vector<std::string> order;  // what reached which sink, in order
  std::vector<FlowFeed::CrowdedCell> handed;
  std::uint64_t plain_packets = 0;
  FlowFeed feed(
      FlowFeedOptions{},
      [&](std::span<const PacketSummary> s) {
        order.push_back("plain");
        for (const PacketSummary& p : s) plain_packets += p.packets;
      },
      [&](FlowFeed::CrowdedCell c) {
        order.push_back("crowded");
        handed.push_back(std::move(c));
      });
  auto fill = [&](int cell, int n) {
    for (int i = 0; i < n; ++i) {
      feed.add(floodRecord(i, cell, i));
      if (i % 30 == 29) feed.release();
    }
  };
  fill(0, 100);  // quiet
  fill(1, 20'000);
  fill(2, 20'000);
  fill(3, 100);
  feed.flush();
  ASSERT_EQ(order, (std::vector<std::string>{"plain", "crowded", "crowded", "plain"}));
  EXPECT_EQ(plain_packets, 200u);
  ASSERT_EQ(handed.size(), 2u);
  {
    FlowFeed::CrowdedCell moved(std::move(handed[1]));
    EXPECT_TRUE(handed[1].empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(moved.size(), 20'000u);
    handed[1] = std::move(moved);
    EXPECT_TRUE(moved.empty());  // NOLINT(bugprone-use-after-move)
  }
  for (const FlowFeed::CrowdedCell& c : handed) {
    EXPECT_EQ(c.size(), 20'000u);
    std::uint32_t next = 0x0a000000u;  // arrival order
    std::size_t seen = 0;
    c.forEachSpan([&](std::span<const HeldChunk> s) {
      for (const HeldChunk& p : s) {
        EXPECT_EQ(p.src, IpAddress::fromV4(next++));
        EXPECT_EQ(p.packets, 1u);
        EXPECT_EQ(p.ip_bytes, 1400u);
      }
      seen += s.size();
    });
    EXPECT_EQ(seen, 20'000u);
  }
  EXPECT_EQ(feed.stats().grouped_cells, 2u);
  // Let go of them, as the engine thread does after grouping: the next crowded cells reuse
  // their memory.
  handed.clear();
  const std::uint64_t allocated = feed.stats().allocated_chunks;
  for (int cell = 100'000; cell < 100'010; ++cell) {  // past what flush() closed
    fill(cell, 20'000);
    handed.clear();
  }
  feed.flush();
  handed.clear();
  EXPECT_EQ(feed.stats().grouped_cells, 12u);
  // Ten more cells of 20,000 chunks took at most one more cell's worth (the wheel holds the
  // next cell while the last is handed over), not ten.
  EXPECT_LE(feed.stats().allocated_chunks, allocated + 20'000 + 256);
}

// A reader that falls behind (an engine thread holding cells it has not grouped yet) holds
// at most max_pending chunks' worth: past that, the feed groups crowded cells itself and
// sends them to its plain sink, and hands cells over again once memory came back.
TEST(FlowFeed, TheFeedGroupsCellsItselfWhileItsReaderHoldsTooMuch) {
  std::vector<FlowFeed::CrowdedCell> held;
  Collected got;
  const std::vector<PacketSummary>& plain = got.chunks;
  FlowFeedOptions o;
  o.max_pending = 60'000;  // room for two handed-over cells of 20,000 chunks, not three
  FlowFeed feed(o, got.sink(), [&](FlowFeed::CrowdedCell c) { held.push_back(std::move(c)); });
  auto fill = [&](int cell) {
    for (int i = 0; i < 20'000; ++i) {
      feed.add(floodRecord(i % 400, cell, i));
      if (i % 30 == 29) feed.release();
    }
  };
  for (int cell = 0; cell < 5; ++cell) fill(cell);
  feed.flush();
  EXPECT_EQ(feed.stats().grouped_cells, 5u);
  EXPECT_EQ(held.size(), 2u);
  // The other three went through the feed's own grouper: 400 merged chunks each.
  EXPECT_EQ(plain.size(), 3u * 400u);
  for (const PacketSummary& p : plain) EXPECT_TRUE(p.flags & pktflag::kUnordered);
  EXPECT_EQ(got.packets(), 3u * 20'000u);
  EXPECT_EQ(feed.grouperStats().merged, 3u * (20'000u - 400u));
  // Memory given back: cells are handed over again.
  held.clear();
  for (int cell = 100'000; cell < 100'002; ++cell) fill(cell);
  feed.flush();
  EXPECT_EQ(held.size(), 2u);
  EXPECT_EQ(plain.size(), 3u * 400u);
}

}  // namespace
}  // namespace bw
