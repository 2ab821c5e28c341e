// NetFlow v5 through FlowDecoder, on hand-built datagrams: fields, timestamps from the
// header clock, header sampling, length checks and flow-sequence gaps.
#include <gtest/gtest.h>

#include <vector>

#include "flow/flow_decoder.h"
#include "flow/netflow_builder.h"

namespace bw {
namespace {

using test::addr;
using test::V5Header;
using test::V5Record;

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kMs = 1'000'000;

std::uint64_t issue(const FlowDecoder& d, FlowIssue i) {
  return d.stats().issues[static_cast<std::size_t>(i)];
}

std::size_t decode(FlowDecoder& d, const std::vector<std::uint8_t>& bytes,
                   std::vector<FlowRecord>& out, const char* exporter = "192.0.2.1") {
  return d.decode(addr(exporter), ByteSpan(bytes.data(), bytes.size()), 0, out);
}

TEST(NetflowV5, DecodesKeysCountersAndInterfaces) {
  V5Header h;
  h.uptime_ms = 60'000;
  h.unix_secs = 1'700'000'059;
  V5Record udp;
  udp.src = "198.51.100.7";
  udp.dst = "198.18.0.10";
  udp.sport = 11211;
  udp.dport = 4444;
  udp.packets = 3;
  udp.octets = 4200;
  udp.input = 7;
  udp.output = 9;
  V5Record icmp;
  icmp.proto = 1;
  icmp.dport = 0x0800;  // exporters put ICMP type/code in the port field
  FlowDecoder d;
  std::vector<FlowRecord> out;
  ASSERT_EQ(decode(d, test::v5Datagram(h, {udp, icmp}), out), 2u);
  ASSERT_EQ(out.size(), 2u);
  const FlowRecord& r = out[0];
  EXPECT_EQ(r.summary.src, addr("198.51.100.7"));
  EXPECT_EQ(r.summary.dst, addr("198.18.0.10"));
  EXPECT_TRUE(r.summary.src.isV4());
  EXPECT_EQ(r.summary.ip_proto, 17);
  EXPECT_TRUE(r.summary.hasPorts());
  EXPECT_FALSE(r.summary.flags & pktflag::kIpv6);
  EXPECT_EQ(r.summary.src_port, 11211);
  EXPECT_EQ(r.summary.dst_port, 4444);
  EXPECT_EQ(r.packets, 3u);
  EXPECT_EQ(r.bytes, 4200u);
  EXPECT_EQ(r.exported_packets, 3u);
  EXPECT_EQ(r.exported_bytes, 4200u);
  EXPECT_EQ(r.sampling_rate, 1u);
  EXPECT_EQ(r.flags, 0);
  EXPECT_EQ(r.input_if, 7u);
  EXPECT_EQ(r.output_if, 9u);
  EXPECT_EQ(r.exporter, addr("192.0.2.1"));
  EXPECT_EQ(r.protocol, FlowProtocol::NetflowV5);
  EXPECT_EQ(out[1].summary.ip_proto, 1);
  EXPECT_FALSE(out[1].summary.hasPorts());
  EXPECT_EQ(d.stats().records, 2u);
  EXPECT_EQ(d.stats().datagrams[static_cast<std::size_t>(FlowProtocol::NetflowV5)], 1u);
}

TEST(NetflowV5, TimesAreHeaderClockMinusUptimeDifference) {
  V5Header h;
  h.uptime_ms = 60'000;
  h.unix_secs = 1'700'000'059;
  h.unix_nsecs = 500'000'000;
  V5Record r;
  r.first = 1'000;
  r.last = 59'000;
  // Uptime wrapped 1 s ago; the flow started 256 ms before the wrap.
  V5Header wrapped = h;
  wrapped.uptime_ms = 1'000;
  V5Record before_wrap;
  before_wrap.first = 0xFFFFFF00u;
  before_wrap.last = 500;
  FlowDecoder d;
  std::vector<FlowRecord> out;
  decode(d, test::v5Datagram(h, {r}), out);
  decode(d, test::v5Datagram(wrapped, {before_wrap}), out);
  ASSERT_EQ(out.size(), 2u);
  const std::int64_t header = 1'700'000'059 * kSec + 500 * kMs;
  EXPECT_EQ(out[0].summary.ts_ns, header - 59'000 * kMs);
  EXPECT_EQ(out[0].last_ns, header - 1'000 * kMs);
  EXPECT_EQ(out[1].summary.ts_ns, header - 1'256 * kMs);
  EXPECT_EQ(out[1].last_ns, header - 500 * kMs);
}

TEST(NetflowV5, HeaderSamplingScalesCounts) {
  V5Header h;
  h.sampling = (1u << 14) | 100;  // mode 1 (deterministic), 1 in 100
  V5Record r;
  r.packets = 2;
  r.octets = 300;
  FlowDecoder d;
  std::vector<FlowRecord> out;
  decode(d, test::v5Datagram(h, {r}), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sampling_rate, 100u);
  EXPECT_EQ(out[0].packets, 200u);
  EXPECT_EQ(out[0].bytes, 30'000u);
  EXPECT_EQ(out[0].exported_packets, 2u);
  EXPECT_EQ(out[0].exported_bytes, 300u);
  EXPECT_TRUE(out[0].flags & flowflag::kSampled);
  ASSERT_EQ(d.exporters().size(), 1u);
  EXPECT_EQ(d.exporters()[0].sampling_rate, 100u);

  // A mode without an interval means unsampled.
  h.sampling = 2u << 14;
  out.clear();
  decode(d, test::v5Datagram(h, {r}), out);
  EXPECT_EQ(out.at(0).sampling_rate, 1u);
  EXPECT_EQ(out[0].packets, 2u);
  EXPECT_FALSE(out[0].flags & flowflag::kSampled);
}

TEST(NetflowV5, AbsurdSamplingRateIsCountedNotApplied) {
  FlowLimits limits;
  limits.max_sampling_rate = 50;
  FlowDecoder d(limits);
  V5Header h;
  h.sampling = 100;
  std::vector<FlowRecord> out;
  decode(d, test::v5Datagram(h, {V5Record{}}), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sampling_rate, 1u);
  EXPECT_EQ(out[0].packets, out[0].exported_packets);
  EXPECT_EQ(issue(d, FlowIssue::AbsurdSamplingRate), 1u);
}

TEST(NetflowV5, LengthsAreChecked) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  // 31 records is more than v5 allows, even when the bytes are there.
  std::vector<V5Record> many(31);
  decode(d, test::v5Datagram(V5Header{}, many), out);
  EXPECT_EQ(issue(d, FlowIssue::BadLength), 1u);
  // The count says 2, the datagram holds 1.
  std::vector<std::uint8_t> short_one = test::v5Datagram(V5Header{}, {V5Record{}});
  short_one[3] = 2;
  decode(d, short_one, out);
  EXPECT_EQ(issue(d, FlowIssue::BadLength), 2u);
  // Cut inside the header.
  short_one.resize(23);
  decode(d, short_one, out);
  EXPECT_EQ(issue(d, FlowIssue::TruncatedHeader), 1u);
  EXPECT_TRUE(out.empty());
  // No records is a valid, empty export.
  decode(d, test::v5Datagram(V5Header{}, {}), out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.stats().datagrams[static_cast<std::size_t>(FlowProtocol::NetflowV5)], 4u);
  ASSERT_EQ(d.exporters().size(), 1u);
  EXPECT_EQ(d.exporters()[0].datagrams, 1u);  // only the decodable one is the exporter's
}

TEST(NetflowV5, FlowSequenceGapsCountMissingFlows) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  const auto send = [&](std::uint32_t seq, std::size_t n, std::uint8_t engine = 0) {
    V5Header h;
    h.sequence = seq;
    h.engine_id = engine;
    decode(d, test::v5Datagram(h, std::vector<V5Record>(n)), out);
  };
  send(0, 2);
  send(2, 2);               // expected
  send(10, 1);              // 6 flows missing
  send(5, 1);               // backwards: exporter restart, not loss
  send(6, 3);               // expected after the restart
  send(9 + (1u << 31), 1);  // more than 2^31 ahead: treated as a reset too
  send(100, 1, 1);          // another engine is another sequence space
  const auto ex = d.exporters();
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].domain, 0u);
  EXPECT_EQ(ex[0].lost, 6u);
  EXPECT_EQ(ex[0].datagrams, 6u);
  EXPECT_EQ(ex[0].records, 10u);
  EXPECT_EQ(ex[1].domain, 1u);
  EXPECT_EQ(ex[1].lost, 0u);
  EXPECT_EQ(d.stats().lost_telemetry, 6u);
}

}  // namespace
}  // namespace bw
