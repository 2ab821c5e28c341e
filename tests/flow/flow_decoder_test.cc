// FlowDecoder as a dispatcher: protocol recognition, datagram and record counts, the
// exporter table (sFlow sequence gaps per agent and sub-agent, sampling rate, bounds) and
// the interface counter table. sFlow datagrams are built here from sflow_version_5.txt.
#include "flow/flow_decoder.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "flow/netflow_builder.h"

namespace bw {
namespace {

using test::addr;
using test::Bytes;

constexpr std::int64_t kSec = 1'000'000'000;

std::uint64_t issue(const FlowDecoder& d, FlowIssue i) {
  return d.stats().issues[static_cast<std::size_t>(i)];
}
std::uint64_t datagrams(const FlowDecoder& d, FlowProtocol p) {
  return d.stats().datagrams[static_cast<std::size_t>(p)];
}

// One flow sample with a sampled IPv4 record (0:3).
Bytes flowSample(std::uint32_t rate, const char* src, const char* dst, std::uint32_t length) {
  Bytes rec;
  rec.u32(length).u32(17).ip(src).ip(dst).u32(11211).u32(4444).u32(0).u32(0);
  Bytes body;
  body.u32(1).u32(3).u32(rate).u32(rate * 10).u32(0).u32(5).u32(6).u32(1);
  body.u32(3).u32(rec.size()).raw(rec.data());
  Bytes s;
  s.u32(1).u32(body.size()).raw(body.data());
  return s;
}

// One counters sample with generic interface counters (0:1).
Bytes counterSample(std::uint32_t if_index, std::uint64_t in_octets) {
  Bytes rec;
  rec.u32(if_index)
      .u32(6)
      .u64(10'000'000'000)
      .u32(1)
      .u32(3)
      .u64(in_octets)
      .u32(100)
      .u32(0)
      .u32(0)
      .u32(2)
      .u32(1)
      .u32(0)
      .u64(555)
      .u32(200)
      .u32(0)
      .u32(0)
      .u32(0)
      .u32(0)
      .u32(0);
  Bytes body;
  body.u32(7).u32(if_index).u32(1).u32(1).u32(rec.size()).raw(rec.data());
  Bytes s;
  s.u32(2).u32(body.size()).raw(body.data());
  return s;
}

std::vector<std::uint8_t> sflow(const char* agent, std::uint32_t sub_agent, std::uint32_t seq,
                                const std::vector<Bytes>& samples) {
  Bytes b;
  b.u32(5).u32(1).ip(agent).u32(sub_agent).u32(seq).u32(123'456).u32(samples.size());
  for (const Bytes& s : samples) b.raw(s.data());
  return b.data();
}

std::size_t send(FlowDecoder& d, const std::vector<std::uint8_t>& b, std::vector<FlowRecord>& out,
                 const char* exporter = "192.0.2.1", std::int64_t now = 0) {
  return d.decode(addr(exporter), ByteSpan(b.data(), b.size()), now, out);
}

TEST(FlowDecoder, NamesAreDistinct) {
  EXPECT_STREQ(flowProtocolName(FlowProtocol::SflowV5), "sflow5");
  EXPECT_STREQ(flowProtocolName(FlowProtocol::NetflowV5), "netflow5");
  EXPECT_STREQ(flowProtocolName(FlowProtocol::NetflowV9), "netflow9");
  EXPECT_STREQ(flowProtocolName(FlowProtocol::Ipfix), "ipfix");
  EXPECT_STREQ(flowProtocolName(FlowProtocol::Unknown), "unknown");
  std::set<std::string> names;
  for (std::size_t i = 0; i < static_cast<std::size_t>(FlowIssue::kCount); ++i) {
    const std::string n = flowIssueName(static_cast<FlowIssue>(i));
    EXPECT_NE(n, "unknown") << i;
    names.insert(n);
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(FlowIssue::kCount));
  EXPECT_STREQ(flowIssueName(FlowIssue::MissingTemplate), "missing_template");
}

TEST(FlowDecoder, UnrecognisedDatagramsAreCounted) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  send(d, {0x00, 0x07, 0x00, 0x01, 0, 0, 0, 0}, out);
  send(d, {0x00, 0x00, 0x00, 0x06}, out);  // sFlow-like but version 6
  send(d, {0x00}, out);
  send(d, {}, out);
  EXPECT_EQ(datagrams(d, FlowProtocol::Unknown), 4u);
  EXPECT_EQ(issue(d, FlowIssue::UnknownVersion), 2u);
  EXPECT_EQ(issue(d, FlowIssue::TruncatedHeader), 2u);
  EXPECT_TRUE(d.exporters().empty());
  EXPECT_TRUE(out.empty());
}

TEST(FlowDecoder, SflowIsDispatchedAndAccounted) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  ASSERT_EQ(
      send(d, sflow("10.0.0.1", 0, 1, {flowSample(10, "203.0.113.5", "198.18.0.10", 1400)}), out),
      1u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].protocol, FlowProtocol::SflowV5);
  EXPECT_EQ(out[0].summary.dst, addr("198.18.0.10"));
  EXPECT_EQ(out[0].packets, 10u);
  EXPECT_EQ(datagrams(d, FlowProtocol::SflowV5), 1u);
  EXPECT_EQ(d.stats().records, 1u);
  const auto ex = d.exporters();
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].protocol, FlowProtocol::SflowV5);
  EXPECT_EQ(ex[0].address, addr("192.0.2.1"));
  EXPECT_EQ(ex[0].agent, addr("10.0.0.1"));
  EXPECT_EQ(ex[0].records, 1u);
  EXPECT_EQ(ex[0].sampling_rate, 10u);
}

TEST(FlowDecoder, SflowSequenceGapsPerAgentAndSubAgent) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  for (const std::uint32_t seq : {1u, 2u, 5u, 3u, 4u, 7u})
    send(d, sflow("10.0.0.1", 0, seq, {}), out);
  // The same agent's second sub-agent, and the same agent behind another address, are
  // separate sequence spaces.
  send(d, sflow("10.0.0.1", 1, 100, {}), out);
  send(d, sflow("10.0.0.1", 1, 101, {}), out);
  send(d, sflow("10.0.0.1", 0, 50, {}), out, "192.0.2.2");
  // An agent restart (sequence back to 1) is a reset, not 2^32 lost datagrams.
  send(d, sflow("10.0.0.1", 1, 1, {}), out);
  const auto ex = d.exporters();
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[0].address, addr("192.0.2.1"));
  EXPECT_EQ(ex[0].domain, 0u);
  EXPECT_EQ(ex[0].lost, 4u);  // 3 and 4 missing at 5; back to 3 resets; 5 and 6 missing at 7
  EXPECT_EQ(ex[0].datagrams, 6u);
  EXPECT_EQ(ex[1].domain, 1u);
  EXPECT_EQ(ex[1].lost, 0u);
  EXPECT_EQ(ex[2].address, addr("192.0.2.2"));
  EXPECT_EQ(ex[2].lost, 0u);
  EXPECT_EQ(d.stats().lost_telemetry, 4u);
}

TEST(FlowDecoder, KeepsTheLatestInterfaceCountersBounded) {
  FlowLimits limits;
  limits.max_exporters = 1;  // 16 interfaces' worth of counters
  FlowDecoder d(limits);
  std::vector<FlowRecord> out;
  send(d, sflow("10.0.0.1", 0, 1, {counterSample(3, 1000), counterSample(4, 2000)}), out,
       "192.0.2.1", 1 * kSec);
  send(d, sflow("10.0.0.1", 0, 2, {counterSample(3, 5000)}), out, "192.0.2.1", 2 * kSec);
  auto c = d.interfaceCounters();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].agent, addr("10.0.0.1"));
  EXPECT_EQ(c[0].if_index, 3u);
  EXPECT_EQ(c[0].in_octets, 5000u);
  EXPECT_EQ(c[0].out_octets, 555u);
  EXPECT_EQ(c[0].seen_ns, 2 * kSec);
  EXPECT_EQ(c[1].in_octets, 2000u);
  EXPECT_EQ(d.stats().counter_samples, 3u);

  std::vector<Bytes> many;
  for (std::uint32_t i = 100; i < 120; ++i) many.push_back(counterSample(i, i));
  send(d, sflow("10.0.0.1", 0, 3, many), out, "192.0.2.1", 3 * kSec);
  EXPECT_EQ(d.interfaceCounters().size(), 16u);
  EXPECT_EQ(issue(d, FlowIssue::ExporterLimit), 6u);
}

TEST(FlowDecoder, ExporterTableIsBoundedAndForgetsIdleExporters) {
  FlowLimits limits;
  limits.max_exporters = 2;
  FlowDecoder d(limits);
  std::vector<FlowRecord> out;
  const std::vector<std::uint8_t> empty = sflow("10.0.0.1", 0, 1, {});
  send(d, empty, out, "192.0.2.1", 0);
  send(d, empty, out, "192.0.2.2", 0);
  send(d, empty, out, "192.0.2.3", kSec);
  EXPECT_EQ(issue(d, FlowIssue::ExporterLimit), 1u);
  EXPECT_EQ(d.exporters().size(), 2u);
  // Two hours later the old ones are idle and make room.
  send(d, empty, out, "192.0.2.3", 7200 * kSec);
  const auto ex = d.exporters();
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].address, addr("192.0.2.3"));
  EXPECT_EQ(ex[0].last_seen_ns, 7200 * kSec);
}

TEST(FlowDecoder, AllProtocolsShareOneDecoder) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  send(d, test::v5Datagram(test::V5Header{}, {test::V5Record{}}), out);
  send(d, sflow("10.0.0.1", 0, 1, {flowSample(1, "10.0.0.1", "10.0.0.2", 100)}), out);
  Bytes rec;
  rec.ip("10.0.0.1").ip("10.0.0.2").u32(1);
  const std::vector<test::Field> t = {
      {test::ie::kSrcV4, 4}, {test::ie::kDstV4, 4}, {test::ie::kPackets, 4}};
  send(d, test::Message::v9(0, 0, 0, 0).templ(256, t).data(256, rec).bytes(), out);
  send(d, test::Message::ipfix(0, 0, 0).templ(256, t).data(256, rec).bytes(), out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].protocol, FlowProtocol::NetflowV5);
  EXPECT_EQ(out[1].protocol, FlowProtocol::SflowV5);
  EXPECT_EQ(out[2].protocol, FlowProtocol::NetflowV9);
  EXPECT_EQ(out[3].protocol, FlowProtocol::Ipfix);
  EXPECT_EQ(d.stats().records, 4u);
  EXPECT_EQ(d.exporters().size(), 4u);  // one per protocol
  for (FlowProtocol p : {FlowProtocol::SflowV5, FlowProtocol::NetflowV5, FlowProtocol::NetflowV9,
                         FlowProtocol::Ipfix}) {
    EXPECT_EQ(datagrams(d, p), 1u) << flowProtocolName(p);
  }
}

}  // namespace
}  // namespace bw
