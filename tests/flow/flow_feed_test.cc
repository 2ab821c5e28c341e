#include "flow/flow_feed.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace bw
