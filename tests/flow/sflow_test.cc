// sFlow v5 decoder. Hand-built datagrams (a small XDR writer below) pin every structure and
// every rejection; real datagrams are checked against tshark: pmacct's sfprobe fixture for
// the scaled per-destination sums, and public sample captures for headers, sample counts,
// sampling rates, interfaces and counters, datagram by datagram.
#include "flow/sflow.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "capture/capture_file.h"
#include "decode/frame_builder.h"
#include "decode/memcached.h"
#include "decode/packet.h"
#include "decode/vector.h"

namespace bw {
namespace {

using test::append;
using test::Bytes;
using test::put16;
using test::put32;

// ---------------------------------------------------------------------------------------------
// XDR writer: big-endian words, opaque data as length + bytes + zero padding to 4.

void put64(Bytes& b, std::uint64_t v) {
  put32(b, static_cast<std::uint32_t>(v >> 32));
  put32(b, static_cast<std::uint32_t>(v));
}
void opaque(Bytes& b, const Bytes& data) {
  put32(b, static_cast<std::uint32_t>(data.size()));
  append(b, data);
  while (b.size() % 4 != 0) b.push_back(0);
}
Bytes words(std::initializer_list<std::uint32_t> ws) {
  Bytes b;
  for (std::uint32_t w : ws) put32(b, w);
  return b;
}
// A sample or record: enterprise:format tag, then its body as opaque data.
Bytes tagged(std::uint32_t enterprise, std::uint32_t format, const Bytes& body) {
  Bytes b;
  put32(b, enterprise << 12 | format);
  opaque(b, body);
  return b;
}
Bytes concat(const std::vector<Bytes>& parts) {
  Bytes b;
  for (const Bytes& p : parts) append(b, p);
  return b;
}

struct Header {
  std::uint32_t agent_type = 1;
  Bytes agent = {192, 0, 2, 200};
  std::uint32_t sub_agent = 3;
  std::uint32_t sequence = 77;
  std::uint32_t uptime_ms = 123456;
  long count = -1;  // sample count to write; -1: the real one
};

Bytes datagram(const std::vector<Bytes>& samples, const Header& h = {}) {
  Bytes b = words({5, h.agent_type});
  append(b, h.agent);
  append(b, words({h.sub_agent, h.sequence, h.uptime_ms}));
  put32(b, h.count >= 0 ? static_cast<std::uint32_t>(h.count)
                        : static_cast<std::uint32_t>(samples.size()));
  append(b, concat(samples));
  return b;
}

// flow_sample (0:1): compact source id and interfaces.
Bytes flowSample(std::uint32_t rate, const std::vector<Bytes>& records, std::uint32_t input = 5,
                 std::uint32_t output = 7) {
  Bytes b = words({901, 0x00000005, rate, rate * 40, 0, input, output});
  put32(b, static_cast<std::uint32_t>(records.size()));
  append(b, concat(records));
  return tagged(0, 1, b);
}
// flow_sample_expanded (0:3): source id and interfaces as format/value pairs.
Bytes flowSampleExpanded(std::uint32_t rate, const std::vector<Bytes>& records,
                         std::uint32_t in_format, std::uint32_t in_value, std::uint32_t out_format,
                         std::uint32_t out_value) {
  Bytes b = words({902, 0, 70000, rate, rate * 40, 3, in_format, in_value, out_format, out_value});
  put32(b, static_cast<std::uint32_t>(records.size()));
  append(b, concat(records));
  return tagged(0, 3, b);
}
// Raw packet header (0:1); `header` is stored whole (cut it before passing it).
Bytes rawHeader(std::uint32_t protocol, std::uint32_t frame_length, std::uint32_t stripped,
                const Bytes& header) {
  Bytes b = words({protocol, frame_length, stripped});
  opaque(b, header);
  return tagged(0, 1, b);
}
Bytes cut(const Bytes& frame, std::size_t n) {
  return Bytes(frame.begin(), frame.begin() + static_cast<long>(std::min(n, frame.size())));
}
Bytes sampledIpv4(std::uint32_t length, std::uint32_t proto, std::uint32_t src, std::uint32_t dst,
                  std::uint32_t sport, std::uint32_t dport, std::uint32_t tcp_flags = 0) {
  return tagged(0, 3, words({length, proto, src, dst, sport, dport, tcp_flags, 0}));
}
Bytes sampledIpv6(std::uint32_t length, std::uint32_t proto, std::uint16_t src_last,
                  std::uint16_t dst_last, std::uint32_t sport, std::uint32_t dport) {
  Bytes b = words({length, proto});
  append(b, test::v6addr(src_last));
  append(b, test::v6addr(dst_last));
  append(b, words({sport, dport, 0, 0}));
  return tagged(0, 4, b);
}
Bytes extendedSwitch() { return tagged(0, 1001, words({100, 0, 200, 0})); }

Bytes countersSample(const std::vector<Bytes>& records, bool expanded = false) {
  Bytes b = expanded ? words({31, 0, 9}) : words({30, 9});
  put32(b, static_cast<std::uint32_t>(records.size()));
  append(b, concat(records));
  return tagged(0, expanded ? 4 : 2, b);
}
struct Generic {
  std::uint32_t if_index = 9;
  std::uint64_t speed = 10'000'000'000;
  std::uint64_t in_octets = 0x1'0000'0010;  // above 32 bits: must be read as a hyper
  std::uint32_t in_ucast = 1000, in_discards = 3, in_errors = 2;
  std::uint64_t out_octets = 987654321;
  std::uint32_t out_ucast = 2000;
};
Bytes genericCounters(const Generic& g) {
  Bytes b = words({g.if_index, 6});
  put64(b, g.speed);
  append(b, words({1, 3}));  // full duplex, up/up
  put64(b, g.in_octets);
  append(b, words({g.in_ucast, 11, 12, g.in_discards, g.in_errors, 13}));
  put64(b, g.out_octets);
  append(b, words({g.out_ucast, 21, 22, 23, 24, 0}));
  return tagged(0, 1, b);
}
Bytes ethernetCounters() {  // 0:2, thirteen dot3 counters: decoded by nobody here
  Bytes b;
  for (int i = 0; i < 13; ++i) put32(b, static_cast<std::uint32_t>(i));
  return tagged(0, 2, b);
}

// A memcached reflection reply as a router sees it: UDP from 11211, the 8-byte UDP frame
// header, then a "VALUE" line and the stored value, 1400 IP bytes in all.
constexpr std::uint32_t kReflector = 0xCB007105;  // 203.0.113.5
constexpr std::uint32_t kVictim = 0xC6336409;     // 198.51.100.9
Bytes memcachedReplyFrame(const std::vector<std::uint16_t>& tags = {}) {
  Bytes payload = {0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
  append(payload, test::text("VALUE a 0 1364\r\n"));
  payload.resize(1400 - 20 - 8, 'x');
  test::V4 v4;
  v4.src = kReflector;
  v4.dst = kVictim;
  v4.proto = ipproto::kUdp;
  return test::ethernet(0x0800, test::ipv4(v4, test::udp(11211, 41000, payload)), tags);
}

// ---------------------------------------------------------------------------------------------
// Decoding helpers.

const IpAddress kExporter = IpAddress::fromV4(0xC0000264);  // 192.0.2.100
constexpr std::int64_t kNow = 1'700'000'000'123'456'789;

struct Decoded {
  bool ok = false;
  SflowDatagramInfo info;
  std::vector<FlowRecord> records;
  std::vector<InterfaceCounters> counters;
  FlowDecoderStats stats;

  std::uint64_t issue(FlowIssue i) const { return stats.issues[static_cast<std::size_t>(i)]; }
  std::uint64_t allIssues() const {
    std::uint64_t n = 0;
    for (std::uint64_t v : stats.issues) n += v;
    return n;
  }
};

Decoded decode(const Bytes& d, const FlowLimits& limits = {}) {
  Decoded r;
  r.ok = decodeSflow(kExporter, ByteSpan(d.data(), d.size()), kNow, limits, r.info, r.records,
                     r.counters, r.stats);
  return r;
}

bool inside(const std::uint8_t* p, std::size_t n, const Bytes& d) {
  return p >= d.data() && p + n <= d.data() + d.size();
}

// ---------------------------------------------------------------------------------------------
// Hand-built datagrams.

TEST(Sflow, MemcachedReplyInRawEthernetHeader) {
  const Bytes frame = memcachedReplyFrame();
  ASSERT_EQ(frame.size(), 14u + 1400u);
  // frame_length counts the 4-byte FCS, which the agent reports as stripped; 128 bytes kept.
  const Bytes d = datagram({flowSample(512, {rawHeader(1, 1418, 4, cut(frame, 128))})});
  const Decoded r = decode(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.allIssues(), 0u);
  EXPECT_EQ(r.info.agent, IpAddress::fromV4(0xC00002C8));
  EXPECT_EQ(r.info.sub_agent, 3u);
  EXPECT_EQ(r.info.sequence, 77u);
  EXPECT_EQ(r.info.uptime_ms, 123456u);
  EXPECT_EQ(r.info.samples, 1u);
  EXPECT_EQ(r.info.last_sampling_rate, 512u);
  ASSERT_EQ(r.records.size(), 1u);

  const FlowRecord& f = r.records[0];
  EXPECT_EQ(f.summary.src, IpAddress::fromV4(kReflector));
  EXPECT_EQ(f.summary.dst, IpAddress::fromV4(kVictim));
  EXPECT_EQ(f.summary.ip_proto, ipproto::kUdp);
  ASSERT_TRUE(f.summary.hasPorts());
  EXPECT_EQ(f.summary.src_port, 11211);
  EXPECT_EQ(f.summary.dst_port, 41000);
  EXPECT_EQ(f.summary.ts_ns, kNow);
  EXPECT_EQ(f.last_ns, kNow);
  EXPECT_EQ(f.packets, 512u);
  EXPECT_EQ(f.bytes, 512u * 1400u);  // IP bytes, not 512 x frame_length
  EXPECT_EQ(f.exported_packets, 1u);
  EXPECT_EQ(f.exported_bytes, 1400u);
  EXPECT_EQ(f.sampling_rate, 512u);
  EXPECT_EQ(f.input_if, 5u);
  EXPECT_EQ(f.output_if, 7u);
  EXPECT_EQ(f.exporter, kExporter);
  EXPECT_EQ(f.protocol, FlowProtocol::SflowV5);
  EXPECT_EQ(f.flags, flowflag::kSampledHeader | flowflag::kSampled);

  // The payload is the sampled bytes after the UDP header, read in place in the datagram.
  ASSERT_NE(f.summary.payload, nullptr);
  EXPECT_TRUE(inside(f.summary.payload, f.summary.payload_len, d));
  EXPECT_EQ(f.summary.payload_len, 128u - 14 - 20 - 8);
  EXPECT_EQ(f.summary.payload_wire_len, 1400u - 20 - 8);
  const ByteSpan payload = f.summary.payloadSpan();
  MemcachedFrameHeader mh;
  ASSERT_TRUE(parseMemcachedFrame(payload, &mh));
  EXPECT_EQ(mh.request_id, 0x1234);
  EXPECT_EQ(std::string(payload.begin() + 8, payload.begin() + 14), "VALUE ");
  const VectorMatch m = classifyResponse(f.summary);
  EXPECT_EQ(m.vector, Vector::Memcached);
  EXPECT_TRUE(m.evidence & evidence::kMemcachedText);
}

TEST(Sflow, Ipv6AgentWithRawIpv6Header) {
  Bytes dns(200, 0xAB);
  const Bytes packet = test::ipv6(ipproto::kUdp, test::udp(53, 33000, dns), -1, 0x53, 0x99);
  ASSERT_EQ(packet.size(), 40u + 208u);
  Header h;
  h.agent_type = 2;
  h.agent = test::v6addr(0x77);
  const Bytes d = datagram({flowSample(100, {rawHeader(12, 248, 0, cut(packet, 96))})}, h);
  const Decoded r = decode(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.allIssues(), 0u);
  EXPECT_FALSE(r.info.agent.isV4());
  EXPECT_EQ(r.info.agent.toString(), "2001:db8::77");
  ASSERT_EQ(r.records.size(), 1u);
  const FlowRecord& f = r.records[0];
  EXPECT_TRUE(f.summary.flags & pktflag::kIpv6);
  EXPECT_EQ(f.summary.src.toString(), "2001:db8::53");
  EXPECT_EQ(f.summary.dst.toString(), "2001:db8::99");
  EXPECT_EQ(f.summary.src_port, 53);
  EXPECT_EQ(f.exported_bytes, 248u);  // payload length + 40
  EXPECT_EQ(f.bytes, 100u * 248u);
  EXPECT_EQ(f.exporter, kExporter);  // the UDP source, not the agent
}

TEST(Sflow, RawIpv4HeaderProtocol) {
  test::V4 v4;
  v4.proto = ipproto::kUdp;
  const Bytes packet = test::ipv4(v4, test::udp(123, 123, Bytes(460, 0)));  // 488 IP bytes
  const Bytes d = datagram({flowSample(1, {rawHeader(11, 488, 0, cut(packet, 64))})});
  const Decoded r = decode(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.allIssues(), 0u);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].summary.src, IpAddress::fromV4(v4.src));
  EXPECT_EQ(r.records[0].summary.src_port, 123);
  EXPECT_EQ(r.records[0].packets, 1u);
  EXPECT_EQ(r.records[0].bytes, 488u);
  EXPECT_EQ(r.records[0].flags, flowflag::kSampledHeader);  // rate 1: not an estimate
}

TEST(Sflow, ExpandedFlowSample) {
  const Bytes frame = memcachedReplyFrame();
  const Bytes hdr = rawHeader(1, 1418, 4, cut(frame, 128));
  // An input ifIndex beyond the compact form's 30 bits; the output discarded.
  const Bytes d = datagram({flowSampleExpanded(2048, {hdr}, 0, 0x40000001u, 1, 258),
                            flowSampleExpanded(2048, {hdr}, 0, 0xFFFFFFFFu, 2, 3)});
  const Decoded r = decode(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.allIssues(), 0u);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].input_if, 0x40000001u);
  EXPECT_EQ(r.records[0].output_if, 0u);  // format 1: discarded, the value is a reason
  EXPECT_EQ(r.records[1].input_if, 0u);   // 0xFFFFFFFF: no input interface
  EXPECT_EQ(r.records[1].output_if, 0u);  // format 2: several outputs
  EXPECT_EQ(r.records[0].packets, 2048u);
  EXPECT_EQ(r.records[0].bytes, 2048u * 1400u);
  EXPECT_EQ(r.records[0].summary.dst, IpAddress::fromV4(kVictim));
}

TEST(Sflow, CompactInterfaceFormats) {
  const Bytes hdr = rawHeader(1, 1418, 4, cut(memcachedReplyFrame(), 128));
  const Bytes d = datagram(
      {flowSample(10, {hdr}, 0x3FFFFFFF, 0x80000004), flowSample(10, {hdr}, 17, 0x40000002)});
  const Decoded r = decode(d);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].input_if, 0u);   // 0x3FFFFFFF: no interface
  EXPECT_EQ(r.records[0].output_if, 0u);  // multiple (4) outputs
  EXPECT_EQ(r.records[1].input_if, 17u);
  EXPECT_EQ(r.records[1].output_if, 0u);  // discarded
}

TEST(Sflow, SampledIpv4AndIpv6Records) {
  const Bytes d = datagram({
      flowSample(400,
                 {extendedSwitch(), sampledIpv4(60, 6, 0x0A000001, 0x0A000002, 443, 50000, 0x12)}),
      flowSample(400, {sampledIpv6(1280, 17, 0x11, 0x22, 11211, 1234)}),
  });
  const Decoded r = decode(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.issue(FlowIssue::UnknownRecordType), 1u);  // the extended switch record
  EXPECT_EQ(r.allIssues(), 1u);
  ASSERT_EQ(r.records.size(), 2u);
  const FlowRecord& a = r.records[0];
  EXPECT_EQ(a.summary.src, IpAddress::fromV4(0x0A000001));
  EXPECT_EQ(a.summary.dst, IpAddress::fromV4(0x0A000002));
  EXPECT_EQ(a.summary.ip_proto, ipproto::kTcp);
  EXPECT_EQ(a.summary.src_port, 443);
  EXPECT_EQ(a.summary.dst_port, 50000);
  EXPECT_EQ(a.summary.tcp_flags, 0x12);
  EXPECT_EQ(a.summary.payload, nullptr);
  EXPECT_EQ(a.bytes, 400u * 60u);
  EXPECT_EQ(a.flags, flowflag::kSampled);  // no header: no payload to look at
  const FlowRecord& b = r.records[1];
  EXPECT_TRUE(b.summary.flags & pktflag::kIpv6);
  EXPECT_EQ(b.summary.src.toString(), "2001:db8::11");
  EXPECT_EQ(b.summary.src_port, 11211);
  EXPECT_EQ(classifyResponse(b.summary).vector, Vector::Memcached);
  EXPECT_EQ(b.exported_bytes, 1280u);
}

TEST(Sflow, RawHeaderWinsOverSampledIpv4InOneSample) {
  const Bytes d =
      datagram({flowSample(50, {sampledIpv4(999, 17, 0x01010101, 0x02020202, 1, 2),
                                rawHeader(1, 1418, 4, cut(memcachedReplyFrame(), 128))})});
  const Decoded r = decode(d);
  EXPECT_EQ(r.allIssues(), 0u);
  ASSERT_EQ(r.records.size(), 1u);  // one record per flow sample
  EXPECT_EQ(r.records[0].summary.dst, IpAddress::fromV4(kVictim));
  EXPECT_EQ(r.records[0].exported_bytes, 1400u);
  EXPECT_TRUE(r.records[0].flags & flowflag::kSampledHeader);
}

TEST(Sflow, SampledIpv4StandsInForAnUndecodableHeader) {
  Bytes bad = cut(memcachedReplyFrame(), 128);
  bad[14] = 0x43;  // IHL 3
  const Bytes d = datagram({flowSample(
      50, {rawHeader(1, 1418, 4, bad), sampledIpv4(1400, 17, kReflector, kVictim, 11211, 41000)})});
  const Decoded r = decode(d);
  EXPECT_EQ(r.issue(FlowIssue::BadSampledHeader), 1u);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].summary.dst, IpAddress::fromV4(kVictim));
  EXPECT_EQ(r.records[0].flags, flowflag::kSampled);
}

TEST(Sflow, CounterSamples) {
  Generic g;
  Generic g2;
  g2.if_index = 4242;
  g2.speed = 400'000'000'000;
  const Bytes d = datagram({countersSample({ethernetCounters(), genericCounters(g)}),
                            countersSample({genericCounters(g2)}, /*expanded=*/true),
                            countersSample({tagged(4413, 7, words({1, 2}))})});
  const Decoded r = decode(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.stats.counter_samples, 3u);
  EXPECT_EQ(r.issue(FlowIssue::UnknownRecordType), 2u);  // ethernet counters, vendor record
  EXPECT_EQ(r.allIssues(), 2u);
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.info.last_sampling_rate, 0u);  // no flow sample
  ASSERT_EQ(r.counters.size(), 2u);
  const InterfaceCounters& c = r.counters[0];
  EXPECT_EQ(c.agent, IpAddress::fromV4(0xC00002C8));
  EXPECT_EQ(c.if_index, 9u);
  EXPECT_EQ(c.speed, 10'000'000'000u);
  EXPECT_EQ(c.in_octets, 0x1'0000'0010u);
  EXPECT_EQ(c.in_packets, 1000u);
  EXPECT_EQ(c.in_discards, 3u);
  EXPECT_EQ(c.in_errors, 2u);
  EXPECT_EQ(c.out_octets, 987654321u);
  EXPECT_EQ(c.out_packets, 2000u);
  EXPECT_EQ(c.seen_ns, kNow);
  EXPECT_EQ(r.counters[1].if_index, 4242u);
  EXPECT_EQ(r.counters[1].speed, 400'000'000'000u);
}

TEST(Sflow, UnknownSamplesSkippedByLength) {
  const Bytes hdr = rawHeader(1, 1418, 4, cut(memcachedReplyFrame(), 128));
  const Bytes d = datagram({tagged(0, 9, Bytes(36, 0xEE)),     // standard, not defined
                            tagged(4413, 5, Bytes(13, 0xEE)),  // vendor, unpadded length
                            tagged(0, 5, Bytes()),             // zero-length
                            flowSample(10, {hdr})});
  const Decoded r = decode(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.issue(FlowIssue::UnknownRecordType), 3u);
  EXPECT_EQ(r.allIssues(), 3u);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].summary.dst, IpAddress::fromV4(kVictim));
}

TEST(Sflow, VlanTagsCountIpLengthNotFrameLength) {
  const Bytes one = memcachedReplyFrame({0x8100});
  const Bytes two = memcachedReplyFrame({0x88A8, 0x8100});
  const Bytes d = datagram({flowSample(10, {rawHeader(1, 1422, 4, cut(one, 128))}),
                            flowSample(10, {rawHeader(1, 1426, 4, cut(two, 128))})});
  const Decoded r = decode(d);
  EXPECT_EQ(r.allIssues(), 0u);
  ASSERT_EQ(r.records.size(), 2u);
  for (const FlowRecord& f : r.records) {
    EXPECT_EQ(f.exported_bytes, 1400u);  // frame_length - 18 would say 1404 and 1408
    EXPECT_EQ(f.summary.dst, IpAddress::fromV4(kVictim));
    EXPECT_EQ(f.summary.src_port, 11211);
  }
}

TEST(Sflow, SmallFramePaddingIsNotCounted) {
  test::V4 v4;
  v4.proto = ipproto::kTcp;
  Bytes frame = test::ethernet(0x0800, test::ipv4(v4, test::tcp(443, 50000, 0x10, {})));
  ASSERT_EQ(frame.size(), 54u);
  frame.resize(60, 0);  // Ethernet minimum; the FCS makes 64
  const Bytes d = datagram({flowSample(1000, {rawHeader(1, 64, 4, frame)})});
  const Decoded r = decode(d);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].exported_bytes, 40u);  // not 64 - 18 = 46
  EXPECT_EQ(r.records[0].bytes, 40'000u);
}

TEST(Sflow, IpLengthZeroFallsBackToFrameLength) {
  // Segmentation offload leaves the IPv4 total length 0: the wire length is frame_length less
  // the stripped bytes (FCS, and here a hardware-removed tag) and the link header shown.
  test::V4 v4;
  v4.total_override = 0;
  const Bytes tagged_frame =
      test::ethernet(0x0800, test::ipv4(v4, test::udp(1, 2, Bytes(972, 0))), {0x8100});
  const Bytes plain = test::ethernet(0x0800, test::ipv4(v4, test::udp(1, 2, Bytes(972, 0))));
  const Bytes d = datagram({
      flowSample(2, {rawHeader(1, 14 + 4 + 1000 + 4, 4, cut(tagged_frame, 128))}),
      flowSample(2, {rawHeader(1, 14 + 1000 + 4 + 4, 8, cut(plain, 128))}),
      flowSample(2, {rawHeader(1, 14 + 1000 + 4, 0, cut(plain, 128))}),  // FCS not declared
  });
  const Decoded r = decode(d);
  EXPECT_EQ(r.allIssues(), 0u);
  ASSERT_EQ(r.records.size(), 3u);
  for (const FlowRecord& f : r.records) {
    EXPECT_EQ(f.exported_bytes, 1000u);
    EXPECT_EQ(f.bytes, 2000u);
  }
}

TEST(Sflow, AbsurdSamplingRateIsCountedAndNotApplied) {
  const Bytes hdr = rawHeader(1, 1418, 4, cut(memcachedReplyFrame(), 128));
  FlowLimits limits;
  limits.max_sampling_rate = 65536;
  const Bytes d = datagram({flowSample(65536, {hdr}), flowSample(65537, {hdr}),
                            flowSample(0xFFFFFFFF, {hdr}), flowSample(0, {hdr})});
  const Decoded r = decode(d, limits);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.issue(FlowIssue::AbsurdSamplingRate), 2u);
  EXPECT_EQ(r.allIssues(), 2u);
  ASSERT_EQ(r.records.size(), 4u);
  EXPECT_EQ(r.records[0].packets, 65536u);
  EXPECT_EQ(r.records[0].bytes, 65536u * 1400u);
  for (std::size_t i = 1; i < 4; ++i) {  // absurd, absurd, 0: all taken as unsampled
    EXPECT_EQ(r.records[i].packets, 1u) << i;
    EXPECT_EQ(r.records[i].bytes, 1400u) << i;
    EXPECT_EQ(r.records[i].sampling_rate, 1u) << i;
    EXPECT_FALSE(r.records[i].flags & flowflag::kSampled) << i;
  }
  EXPECT_EQ(r.info.last_sampling_rate, 1u);
  // The default limit (2^24) leaves a 1:65537 rate alone.
  EXPECT_EQ(decode(d).issue(FlowIssue::AbsurdSamplingRate), 1u);
}

// ---------------------------------------------------------------------------------------------
// Damaged and hostile datagrams: each rejection counted by its reason, nothing read outside.

TEST(SflowHostile, UnusableHeadersAppendNothing) {
  const Bytes good =
      datagram({flowSample(10, {rawHeader(1, 1418, 4, cut(memcachedReplyFrame(), 128))})});
  struct Case {
    const char* what;
    Bytes d;
    FlowIssue issue;
  };
  Header v6;
  v6.agent_type = 2;
  v6.agent = test::v6addr(1);
  Header weird;
  weird.agent_type = 3;
  Bytes not5 = good;
  not5[3] = 4;
  const std::vector<Case> cases = {
      {"empty", {}, FlowIssue::TruncatedHeader},
      {"version only", cut(good, 4), FlowIssue::TruncatedHeader},
      {"cut in the IPv4 agent", cut(good, 10), FlowIssue::TruncatedHeader},
      {"cut before the sample count", cut(good, 24), FlowIssue::TruncatedHeader},
      {"cut in the IPv6 agent", cut(datagram({}, v6), 20), FlowIssue::TruncatedHeader},
      {"agent type 3", datagram({}, weird), FlowIssue::BadAddress},
      {"version 4", not5, FlowIssue::UnknownVersion},
  };
  for (const Case& c : cases) {
    const Decoded r = decode(c.d);
    EXPECT_FALSE(r.ok) << c.what;
    EXPECT_EQ(r.issue(c.issue), 1u) << c.what;
    EXPECT_EQ(r.allIssues(), 1u) << c.what;
    EXPECT_TRUE(r.records.empty() && r.counters.empty()) << c.what;
  }
}

TEST(SflowHostile, UnknownAgentTypeStillDecodesSamples) {
  Header h;
  h.agent_type = 0;
  h.agent = {};
  const Decoded r = decode(
      datagram({flowSample(10, {rawHeader(1, 1418, 4, cut(memcachedReplyFrame(), 128))})}, h));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.issue(FlowIssue::BadAddress), 1u);
  EXPECT_EQ(r.info.agent, IpAddress());
  EXPECT_EQ(r.records.size(), 1u);
}

TEST(SflowHostile, LengthsAndCountsThatLie) {
  const Bytes frame = cut(memcachedReplyFrame(), 128);
  const Bytes hdr = rawHeader(1, 1418, 4, frame);
  struct Case {
    const char* what;
    Bytes d;
    FlowIssue issue;
    std::size_t records;
  };
  Header huge;
  huge.count = 0xFFFFFFFF;
  // A sample whose length runs past the datagram.
  Bytes past = datagram({flowSample(10, {hdr})});
  storeBe32(past.data() + 28 + 4, 100000);
  // A record whose length runs past its sample (but not the datagram: a second sample follows).
  Bytes rec_past = datagram({flowSample(10, {hdr}), flowSample(10, {hdr})});
  storeBe32(rec_past.data() + 28 + 8 + 32 + 4, 2000);
  // A raw header whose header length exceeds its record.
  Bytes hdr_long = datagram({flowSample(10, {hdr})});
  storeBe32(hdr_long.data() + 28 + 8 + 32 + 8 + 12, 129);
  // A flow sample claiming 1000 records holding one.
  Bytes many_records = datagram({flowSample(10, {hdr})});
  storeBe32(many_records.data() + 28 + 8 + 28, 1000);
  const std::vector<Case> cases = {
      {"huge sample count", datagram({flowSample(10, {hdr})}, huge), FlowIssue::BadLength, 1},
      {"sample past the end", past, FlowIssue::BadLength, 0},
      {"record past its sample", rec_past, FlowIssue::BadLength, 1},
      {"header length past its record", hdr_long, FlowIssue::BadLength, 0},
      {"record count past its sample", many_records, FlowIssue::BadLength, 1},
      {"zero-length raw header", datagram({flowSample(10, {tagged(0, 1, {})})}),
       FlowIssue::TruncatedRecord, 0},
      {"short flow sample", datagram({tagged(0, 1, words({1, 2, 3}))}), FlowIssue::TruncatedRecord,
       0},
      {"short expanded flow sample", datagram({tagged(0, 3, words({1, 2, 3, 4, 5, 6, 7, 8}))}),
       FlowIssue::TruncatedRecord, 0},
      {"short counters sample", datagram({tagged(0, 2, words({1}))}), FlowIssue::TruncatedRecord,
       0},
      {"short generic counters", datagram({countersSample({tagged(0, 1, words({1, 2, 3}))})}),
       FlowIssue::TruncatedRecord, 0},
      {"short sampled IPv4", datagram({flowSample(10, {tagged(0, 3, words({1, 2, 3}))})}),
       FlowIssue::TruncatedRecord, 0},
      {"short sampled IPv6", datagram({flowSample(10, {tagged(0, 4, Bytes(52, 0))})}),
       FlowIssue::TruncatedRecord, 0},
      {"IHL 3 in the header",
       [&] {
         Bytes bad = frame;
         bad[14] = 0x43;
         return datagram({flowSample(10, {rawHeader(1, 1418, 4, bad)})});
       }(),
       FlowIssue::BadSampledHeader, 0},
      {"header cut inside IPv4",
       datagram({flowSample(10, {rawHeader(1, 1418, 4, cut(frame, 30))})}),
       FlowIssue::BadSampledHeader, 0},
      {"IPv4 protocol with an IPv6 packet",
       datagram({flowSample(10, {rawHeader(11, 100, 0, test::ipv6(17, test::udp(1, 2, {})))})}),
       FlowIssue::BadSampledHeader, 0},
      {"ARP frame",
       datagram({flowSample(10, {rawHeader(1, 64, 4, test::ethernet(0x0806, Bytes(28, 0)))})}),
       FlowIssue::UnknownRecordType, 0},
      {"MPLS header protocol", datagram({flowSample(10, {rawHeader(13, 100, 0, Bytes(64, 0))})}),
       FlowIssue::UnknownRecordType, 0},
  };
  for (const Case& c : cases) {
    const Decoded r = decode(c.d);
    EXPECT_TRUE(r.ok) << c.what;
    EXPECT_EQ(r.issue(c.issue), 1u) << c.what;
    EXPECT_EQ(r.allIssues(), 1u) << c.what;
    EXPECT_EQ(r.records.size(), c.records) << c.what;
    for (const FlowRecord& f : r.records) {
      if (f.summary.payload != nullptr) {
        EXPECT_TRUE(inside(f.summary.payload, f.summary.payload_len, c.d)) << c.what;
      }
    }
  }
}

TEST(SflowHostile, EveryPrefixAndEveryByteValue) {
  const Bytes frame = memcachedReplyFrame({0x8100});
  Header v6;
  v6.agent_type = 2;
  v6.agent = test::v6addr(5);
  for (const Header& h : {Header{}, v6}) {
    const Bytes d =
        datagram({flowSample(10, {extendedSwitch(), rawHeader(1, 1422, 4, cut(frame, 128))}),
                  countersSample({ethernetCounters(), genericCounters({})}, true),
                  flowSampleExpanded(20, {sampledIpv4(60, 6, 1, 2, 3, 4)}, 0, 1, 0, 2),
                  flowSample(30, {sampledIpv6(100, 17, 1, 2, 3, 4)})},
                 h);
    ASSERT_EQ(decode(d).records.size(), 3u);
    const std::size_t header_size = h.agent_type == 2 ? 40 : 28;
    for (std::size_t n = 0; n <= d.size(); ++n) {
      const Bytes p = cut(d, n);
      const Decoded r = decode(p);
      EXPECT_EQ(r.ok, n >= header_size) << n;
      EXPECT_LE(r.records.size(), 3u) << n;
      if (n >= header_size && n < d.size()) {
        EXPECT_GT(r.allIssues(), 0u) << n;
      }
      for (const FlowRecord& f : r.records) {
        if (f.summary.payload != nullptr) {
          EXPECT_TRUE(inside(f.summary.payload, f.summary.payload_len, p)) << n;
        }
      }
    }
    // Every byte overwritten with each of a few values: never more records than samples,
    // every payload inside the datagram.
    for (std::size_t i = 0; i < d.size(); ++i) {
      for (std::uint8_t v : {0x00, 0x01, 0x7F, 0x80, 0xFF}) {
        Bytes m = d;
        m[i] = v;
        const Decoded r = decode(m);
        EXPECT_LE(r.records.size(), 3u) << i;
        for (const FlowRecord& f : r.records) {
          if (f.summary.payload != nullptr) {
            EXPECT_TRUE(inside(f.summary.payload, f.summary.payload_len, m)) << i;
          }
          EXPECT_LE(f.packets, FlowLimits{}.max_sampling_rate) << i;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Real datagrams, read with CaptureFile and decodeFrame.

const std::string kShared = BW_SHARED_DIR;

struct Captured {
  std::uint64_t frame_number = 0;  // 1-based, as tshark numbers frames
  IpAddress source;
  std::int64_t ts_ns = 0;
  Bytes payload;
};

// UDP payloads sent to port 6343 whose first word is 5 (sFlow v5; NetFlow v5 on the same
// port starts with the 16-bit 5). False when the capture is absent.
bool sflowDatagrams(const std::string& path, std::vector<Captured>* out) {
  if (!std::filesystem::exists(path)) return false;
  auto file = CaptureFile::open(path);
  if (!file.ok()) {
    ADD_FAILURE() << file.error().message;
    return false;
  }
  std::vector<Frame> batch(64);
  std::uint64_t number = 0;
  for (std::size_t n; (n = (*file)->next(batch)) > 0;) {
    for (std::size_t i = 0; i < n; ++i) {
      ++number;
      const Frame& f = batch[i];
      PacketSummary s;
      if (decodeFrame(f.linktype, ByteSpan(f.data, f.caplen), f.origlen, f.ts_ns, s) !=
              DecodeStatus::Ok ||
          s.ip_proto != ipproto::kUdp || s.dst_port != 6343) {
        continue;
      }
      EXPECT_EQ(s.payload_len, s.payload_wire_len) << path << " frame " << number << " is cut";
      if (s.payload_len < 4 || loadBe32(s.payload) != 5) continue;
      out->push_back({number, s.src, f.ts_ns, Bytes(s.payload, s.payload + s.payload_len)});
    }
  }
  return true;
}

bool haveTshark() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }

std::vector<std::string> commandLines(const std::string& cmd) {
  std::vector<std::string> lines;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return lines;
  std::string line;
  for (int c; (c = std::fgetc(p)) != EOF;) {
    if (c == '\n') {
      lines.push_back(line);
      line.clear();
    } else {
      line.push_back(static_cast<char>(c));
    }
  }
  if (!line.empty()) lines.push_back(line);
  ::pclose(p);
  return lines;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  if (s.empty()) return parts;
  std::size_t start = 0;
  for (std::size_t at; (at = s.find(sep, start)) != std::string::npos; start = at + 1) {
    parts.push_back(s.substr(start, at - start));
  }
  parts.push_back(s.substr(start));
  return parts;
}

std::vector<std::uint64_t> numbers(const std::string& field) {
  std::vector<std::uint64_t> v;
  for (const std::string& x : split(field, ',')) v.push_back(std::stoull(x, nullptr, 0));
  return v;
}

Bytes hex(const std::string& s) {
  Bytes b;
  for (std::size_t i = 0; i + 1 < s.size();) {
    if (s[i] == ':') {
      ++i;
      continue;
    }
    b.push_back(static_cast<std::uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
    i += 2;
  }
  return b;
}

struct Sums {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  bool operator==(const Sums&) const = default;
};
using PerDestination = std::map<IpAddress, Sums>;

// ---------------------------------------------------------------------------------------------
// pmacctd sfprobe (1:10, 128-byte raw Ethernet headers + extended switch records) of the
// memcached/DNS/HTTPS mix in peers/flows/fixtures.
//
// Byte conventions differ between collectors. We count IP bytes (IP header included, no link
// layer), as NetFlow/IPFIX octet counters do: rate x IP length. sfcapd and sfacctd count
// rate x frame_length, and frame_length also holds the 14-byte Ethernet header and the 4-byte
// FCS, so their byte figures exceed ours by 18 x rate per sample (18 x our packet count).
// sfacctd's packet count also differs: it renormalises with an effective rate estimated from
// sample_pool, not the sampling_rate field.

const std::string kPmacct = kShared + "/peers/flows/fixtures/sflow_pmacct.pcap";

struct PmacctResult {
  PerDestination sums;
  std::size_t datagrams = 0;
  std::size_t records = 0;
  std::size_t interface_counters = 0;
  FlowDecoderStats stats;
};

bool decodePmacct(PmacctResult* r) {
  std::vector<Captured> dgrams;
  if (!sflowDatagrams(kPmacct, &dgrams)) return false;
  for (const Captured& c : dgrams) {
    SflowDatagramInfo info;
    std::vector<FlowRecord> out;
    std::vector<InterfaceCounters> counters;
    EXPECT_TRUE(decodeSflow(c.source, ByteSpan(c.payload.data(), c.payload.size()), c.ts_ns, {},
                            info, out, counters, r->stats))
        << "frame " << c.frame_number;
    ++r->datagrams;
    r->records += out.size();
    r->interface_counters += counters.size();
    for (const FlowRecord& f : out) {
      Sums& s = r->sums[f.summary.dst];
      s.packets += f.packets;
      s.bytes += f.bytes;
      EXPECT_EQ(f.sampling_rate, 10u);
      EXPECT_EQ(f.exporter, c.source);
      EXPECT_EQ(f.summary.ts_ns, c.ts_ns);
      if (f.summary.payload != nullptr) {
        EXPECT_TRUE(inside(f.summary.payload, f.summary.payload_len, c.payload));
      }
    }
  }
  return true;
}

TEST(SflowPmacct, MatchesTsharkRunNow) {
  PmacctResult ours;
  if (!decodePmacct(&ours)) GTEST_SKIP() << kPmacct << " not present";
  if (!haveTshark()) GTEST_SKIP() << "tshark is not installed: sums not cross-checked";

  // tshark decodes the sFlow; the sums are computed here from its fields, as
  // peers/flows/tshark_sflow_dst.py does: rate and rate x (frame_length - 18) per sample.
  const auto lines = commandLines(
      "tshark -n -r '" + kPmacct +
      "' -d udp.port==6343,sflow -T fields -E separator='|' -e sflow.flow_sample.sampling_rate "
      "-e sflow_245.header.frame_length -e sflow_245.header -e sflow_245.flow_record_format "
      "-e sflow_245.sampletype -e sflow_245.counters_record_format 2>/dev/null");
  PerDestination theirs;
  std::size_t samples = 0, skipped_records = 0, counter_samples = 0, generic = 0;
  for (const std::string& line : lines) {
    const auto f = split(line, '|');
    ASSERT_EQ(f.size(), 6u) << line;
    for (std::uint64_t type : numbers(f[4])) counter_samples += type == 2 || type == 4;
    for (std::uint64_t fmt : numbers(f[5])) {
      skipped_records += fmt != 1;
      generic += fmt == 1;
    }
    if (f[0].empty()) continue;
    const auto rates = numbers(f[0]);
    const auto lengths = numbers(f[1]);
    const auto headers = split(f[2], ',');
    ASSERT_EQ(rates.size(), lengths.size());
    ASSERT_EQ(rates.size(), headers.size());
    for (std::uint64_t fmt : numbers(f[3])) skipped_records += fmt != 1 && fmt != 3 && fmt != 4;
    for (std::size_t i = 0; i < rates.size(); ++i) {
      const Bytes h = hex(headers[i]);
      ASSERT_GE(h.size(), 34u);
      ASSERT_EQ(h[12] << 8 | h[13], 0x0800) << "the fixture is untagged IPv4";
      Sums& s = theirs[IpAddress::fromV4Bytes(h.data() + 14 + 16)];
      s.packets += rates[i];
      s.bytes += rates[i] * (lengths[i] - 18);
      ++samples;
    }
  }
  EXPECT_GT(samples, 1900u);
  EXPECT_EQ(ours.records, samples);
  EXPECT_EQ(ours.sums, theirs);
  EXPECT_EQ(ours.stats.issues[static_cast<std::size_t>(FlowIssue::UnknownRecordType)],
            skipped_records);  // the extended switch records
  std::uint64_t issues = 0;
  for (std::uint64_t v : ours.stats.issues) issues += v;
  EXPECT_EQ(issues, skipped_records);
  EXPECT_EQ(ours.stats.counter_samples, counter_samples);
  EXPECT_EQ(ours.interface_counters, generic);
}

// The answers recorded with the fixture (tshark, and sfcapd + nfdump -A dstip) hold without
// tshark installed.
TEST(SflowPmacct, MatchesRecordedTsharkAndSfcapdAnswers) {
  PmacctResult ours;
  if (!decodePmacct(&ours)) GTEST_SKIP() << kPmacct << " not present";
  std::ifstream ref(kShared + "/peers/flows/fixtures/sflow_pmacct.ref.txt");
  if (!ref) GTEST_SKIP() << "sflow_pmacct.ref.txt not present";

  std::string section, line;
  PerDestination tshark, sfcapd;
  std::size_t tshark_samples = 0;
  while (std::getline(ref, line)) {
    if (line.rfind("### ", 0) == 0) {
      section = line.substr(4);
      continue;
    }
    if (section == "tshark" && line.rfind("# ", 0) == 0) {
      tshark_samples = std::stoul(line.substr(2));
      continue;
    }
    const auto f = split(line, ',');
    if (f.size() < 3) continue;
    const auto addr = IpAddress::parse(f[0]);
    if (!addr) continue;  // column headings
    const Sums s{std::stoull(f[1]), std::stoull(f[2])};
    if (section == "tshark") tshark[*addr] = s;
    if (section.rfind("nfdump", 0) == 0) sfcapd[*addr] = s;
  }
  ASSERT_FALSE(tshark.empty());
  ASSERT_FALSE(sfcapd.empty());
  EXPECT_EQ(ours.records, tshark_samples);
  for (const auto& [dst, s] : tshark) {  // the top destinations tshark's sums list
    EXPECT_EQ(ours.sums[dst], s) << dst.toString();
  }
  for (const auto& [dst, s] : sfcapd) {  // same packets; bytes + 18 per packet
    EXPECT_EQ(ours.sums[dst].packets, s.packets) << dst.toString();
    EXPECT_EQ(ours.sums[dst].bytes + 18 * ours.sums[dst].packets, s.bytes) << dst.toString();
  }
}

// ---------------------------------------------------------------------------------------------
// Public sample captures, compared with tshark datagram by datagram.

// Walks a counters sample's records by their lengths, the naive way, for datagrams tshark
// cannot finish: true when the records tile the sample exactly; counts the records that are
// not generic interface counters (the ones we skip).
bool tileCounterRecords(const Bytes& d, std::size_t* skipped, std::size_t* generic) {
  std::size_t at = loadBe32(d.data() + 4) == 2 ? 40 : 28;
  const std::uint32_t samples = loadBe32(d.data() + at - 4);
  for (std::uint32_t i = 0; i < samples; ++i) {
    if (at + 8 > d.size()) return false;
    const std::uint32_t tag = loadBe32(d.data() + at), len = loadBe32(d.data() + at + 4);
    const std::size_t end = at + 8 + len;
    if (tag != 2 || end > d.size()) return false;
    std::size_t r = at + 8 + 8;
    const std::uint32_t records = loadBe32(d.data() + r);
    r += 4;
    for (std::uint32_t j = 0; j < records; ++j) {
      if (r + 8 > end) return false;
      const std::uint32_t rtag = loadBe32(d.data() + r);
      ++(rtag == 1 ? *generic : *skipped);
      r += 8 + loadBe32(d.data() + r + 4);
    }
    if (r != end) return false;
    at = end;
  }
  return at == d.size();
}

void compareWithTshark(const std::string& rel, bool v6_agent) {
  const std::string path = kShared + "/captures/" + rel;
  std::vector<Captured> dgrams;
  if (!sflowDatagrams(path, &dgrams)) GTEST_SKIP() << path << " not present";
  ASSERT_FALSE(dgrams.empty());
  if (!haveTshark()) GTEST_SKIP() << "tshark is not installed: " << rel << " not cross-checked";

  const auto lines = commandLines(
      "tshark -n -r '" + path +
      "' -d udp.port==6343,sflow -T fields -E separator='|' -e frame.number -e sflow_245.agent "
      "-e sflow_245.agent.v6 -e sflow_245.sub_agent_id -e sflow_245.sequence_number "
      "-e sflow_245.numsamples -e sflow_245.sampletype -e sflow.flow_sample.sampling_rate "
      "-e sflow_245.flow_record_format -e sflow_245.counters_record_format -e _ws.malformed "
      "-e sflow.flow_sample.input_interface -e sflow.flow_sample.input_interface_value "
      "-e sflow.flow_sample.output_interface -e sflow.flow_sample.output_interface_value "
      "-e sflow_245.ifindex -e sflow_245.ifspeed -e sflow_245.ifinoct -e sflow_245.ifoutoct "
      "-e sflow_245.ifinpkt 2>/dev/null");
  std::map<std::uint64_t, std::vector<std::string>> by_frame;  // frames tshark read as sFlow
  for (const std::string& line : lines) {
    auto f = split(line, '|');
    ASSERT_EQ(f.size(), 20u) << line;
    if (!f[5].empty()) by_frame[std::stoull(f[0])] = std::move(f);
  }
  ASSERT_EQ(by_frame.size(), dgrams.size()) << "the same datagrams are sFlow for both";

  std::size_t flow_samples = 0, counter_samples = 0, tshark_gave_up = 0;
  for (const Captured& c : dgrams) {
    SCOPED_TRACE(rel + " frame " + std::to_string(c.frame_number));
    ASSERT_TRUE(by_frame.count(c.frame_number));
    const auto& t = by_frame[c.frame_number];
    Decoded r;
    r.ok = decodeSflow(c.source, ByteSpan(c.payload.data(), c.payload.size()), c.ts_ns, {}, r.info,
                       r.records, r.counters, r.stats);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.allIssues(), r.issue(FlowIssue::UnknownRecordType));

    EXPECT_EQ(r.info.agent.isV4(), !v6_agent);
    EXPECT_EQ(r.info.agent, *IpAddress::parse(v6_agent ? t[2] : t[1]));
    EXPECT_EQ(r.info.sub_agent, std::stoul(t[3]));
    EXPECT_EQ(r.info.sequence, numbers(t[4]).front());
    EXPECT_EQ(r.info.samples, std::stoul(t[5]));

    std::size_t flows = 0, counts = 0, odd_samples = 0;
    for (std::uint64_t type : numbers(t[6])) {
      flows += type == 1 || type == 3;
      counts += type == 2 || type == 4;
      odd_samples += type < 1 || type > 4;
    }
    flow_samples += flows;
    counter_samples += counts;
    EXPECT_EQ(r.stats.counter_samples, counts);
    ASSERT_EQ(r.records.size(), flows);  // every flow sample here holds an IP raw header
    const auto rates = numbers(t[7]);
    ASSERT_EQ(rates.size(), flows);
    // Compact interfaces come as one word (format in the top 2 bits), expanded ones as values.
    const auto in_compact = numbers(t[11]), in_value = numbers(t[12]);
    const auto out_compact = numbers(t[13]), out_value = numbers(t[14]);
    std::size_t compact = 0, expanded = 0;
    for (std::size_t i = 0; i < flows; ++i) {
      const FlowRecord& f = r.records[i];
      EXPECT_EQ(f.sampling_rate, rates[i]);
      EXPECT_EQ(f.packets, rates[i]);
      EXPECT_EQ(f.bytes, rates[i] * f.exported_bytes);
      EXPECT_TRUE(f.flags & flowflag::kSampledHeader);
      EXPECT_TRUE(inside(f.summary.payload, f.summary.payload_len, c.payload));
      if (compact < out_compact.size()) {
        EXPECT_EQ(f.input_if, in_compact[compact]);
        const std::uint64_t o = out_compact[compact++];
        EXPECT_EQ(f.output_if, (o >> 30) == 0 ? o : 0u);
      } else {
        ASSERT_LT(expanded, out_value.size());
        EXPECT_EQ(f.input_if, in_value[expanded]);
        EXPECT_EQ(f.output_if, out_value[expanded++]);
      }
    }

    if (!t[10].empty()) {
      // tshark 4.0 stops at host sFlow counter records (2000-2006) instead of skipping them by
      // length, and reports the datagram malformed. Walk the records by their lengths instead.
      ++tshark_gave_up;
      std::size_t skipped = 0, generic = 0;
      ASSERT_TRUE(tileCounterRecords(c.payload, &skipped, &generic));
      EXPECT_EQ(r.issue(FlowIssue::UnknownRecordType), skipped);
      EXPECT_EQ(r.counters.size(), generic);
      continue;
    }
    std::size_t skipped = odd_samples, generic = 0;
    for (std::uint64_t fmt : numbers(t[8])) skipped += fmt != 1 && fmt != 3 && fmt != 4;
    for (std::uint64_t fmt : numbers(t[9])) {
      skipped += fmt != 1;
      generic += fmt == 1;
    }
    EXPECT_EQ(r.issue(FlowIssue::UnknownRecordType), skipped);
    ASSERT_EQ(r.counters.size(), generic);
    const auto speed = numbers(t[16]), in_oct = numbers(t[17]), out_oct = numbers(t[18]),
               in_pkt = numbers(t[19]);
    ASSERT_EQ(speed.size(), generic);
    for (std::size_t i = 0; i < generic; ++i) {
      const InterfaceCounters& k = r.counters[i];
      EXPECT_EQ(k.agent, r.info.agent);
      EXPECT_EQ(k.speed, speed[i]);
      EXPECT_EQ(k.in_octets, in_oct[i]);
      EXPECT_EQ(k.out_octets, out_oct[i]);
      EXPECT_EQ(k.in_packets, in_pkt[i]);
    }
    if (flows == 0) {  // the field also names flow sample sources
      const auto if_index = numbers(t[15]);
      ASSERT_EQ(if_index.size(), generic);
      for (std::size_t i = 0; i < generic; ++i) EXPECT_EQ(r.counters[i].if_index, if_index[i]);
    }
  }
  std::printf(
      "%s: %zu datagrams, %zu flow samples, %zu counter samples, %zu left unfinished "
      "by tshark\n",
      rel.c_str(), dgrams.size(), flow_samples, counter_samples, tshark_gave_up);
}

TEST(SflowPublicCaptures, TcpdumpIpv6Agent) {
  compareWithTshark("tcpdump/sflow-print-v6.pcap", true);
}
TEST(SflowPublicCaptures, TcpdumpExpandedFlowSample) {
  compareWithTshark("tcpdump/sflow_expanded.pcap", false);
}
TEST(SflowPublicCaptures, TcpdumpExpandedCounterSamples) {
  compareWithTshark("tcpdump/sflow_multiple_counter_30_pdus.pcap", false);
}
TEST(SflowPublicCaptures, Ndpi) { compareWithTshark("ndpi/sflow.pcap", false); }

}  // namespace
}  // namespace bw
