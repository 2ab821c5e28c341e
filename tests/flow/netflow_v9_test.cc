// NetFlow v9 (RFC 3954) through FlowDecoder, on hand-built export packets: templates and
// options templates, counter widths, both address families, timestamps, sampling from
// records and from options data, sequence gaps, data held for late templates, and every
// kind of damage counted.
#include <gtest/gtest.h>

#include <vector>

#include "flow/flow_decoder.h"
#include "flow/netflow_builder.h"

namespace bw {
namespace {

using test::addr;
using test::Bytes;
using test::Field;
using test::Message;
namespace ie = test::ie;

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kMs = 1'000'000;
constexpr const char* kExporter = "192.0.2.9";
constexpr std::uint32_t kUptime = 100'000;
constexpr std::uint32_t kSecs = 1'700'000'100;

std::uint64_t issue(const FlowDecoder& d, FlowIssue i) {
  return d.stats().issues[static_cast<std::size_t>(i)];
}

std::size_t send(FlowDecoder& d, const Message& m, std::vector<FlowRecord>& out,
                 std::int64_t received_ns = 0, const char* exporter = kExporter) {
  const std::vector<std::uint8_t> b = m.bytes();
  return d.decode(addr(exporter), ByteSpan(b.data(), b.size()), received_ns, out);
}

Message v9(std::uint32_t seq = 0, std::uint32_t source = 0) {
  return Message::v9(kUptime, kSecs, seq, source);
}

// softflowd's IPv4 layout, more or less.
const std::vector<Field> kV4 = {{ie::kSrcV4, 4},   {ie::kDstV4, 4},       {ie::kSrcPort, 2},
                                {ie::kDstPort, 2}, {ie::kProto, 1},       {ie::kTcpFlags, 1},
                                {ie::kInIf, 4},    {ie::kOutIf, 4},       {ie::kOctets, 4},
                                {ie::kPackets, 4}, {ie::kFirstUptime, 4}, {ie::kLastUptime, 4}};

struct V4 {
  const char* src = "203.0.113.5";
  const char* dst = "198.18.0.10";
  std::uint16_t sport = 11211, dport = 80;
  std::uint8_t proto = 17, flags = 0;
  std::uint32_t in = 0, out = 0, octets = 1400, packets = 1, first = 40'000, last = 90'000;
};

Bytes& put(Bytes& b, const V4& r) {
  return b.ip(r.src)
      .ip(r.dst)
      .u16(r.sport)
      .u16(r.dport)
      .u8(r.proto)
      .u8(r.flags)
      .u32(r.in)
      .u32(r.out)
      .u32(r.octets)
      .u32(r.packets)
      .u32(r.first)
      .u32(r.last);
}

TEST(NetflowV9, TemplateThenDataWithPadding) {
  V4 a;
  V4 b;
  b.src = "192.0.2.53";
  b.dst = "203.0.113.13";
  b.sport = 53;
  b.dport = 40012;
  b.octets = 456;
  b.packets = 2;
  b.in = 3;
  b.out = 4;
  V4 c;
  c.proto = 6;
  c.flags = 0x18;
  Bytes recs;
  put(put(put(recs, a), b), c);
  FlowDecoder d;
  std::vector<FlowRecord> out;
  ASSERT_EQ(send(d, v9().templ(256, kV4).data(256, recs, 2, 3), out), 3u);
  const FlowRecord& r = out[1];
  EXPECT_EQ(r.summary.src, addr("192.0.2.53"));
  EXPECT_EQ(r.summary.dst, addr("203.0.113.13"));
  EXPECT_EQ(r.summary.src_port, 53);
  EXPECT_EQ(r.summary.dst_port, 40012);
  EXPECT_TRUE(r.summary.hasPorts());
  EXPECT_EQ(r.exported_bytes, 456u);
  EXPECT_EQ(r.exported_packets, 2u);
  EXPECT_EQ(r.bytes, 456u);
  EXPECT_EQ(r.input_if, 3u);
  EXPECT_EQ(r.output_if, 4u);
  EXPECT_EQ(r.protocol, FlowProtocol::NetflowV9);
  EXPECT_EQ(r.exporter, addr(kExporter));
  // Uptime-relative: header time minus (sysUptime - stamp).
  const std::int64_t header = std::int64_t{kSecs} * kSec;
  EXPECT_EQ(r.summary.ts_ns, header - (kUptime - 40'000) * kMs);
  EXPECT_EQ(r.last_ns, header - (kUptime - 90'000) * kMs);
  EXPECT_EQ(out[2].summary.ip_proto, 6);
  EXPECT_EQ(out[2].summary.tcp_flags, 0x18);
  EXPECT_EQ(d.stats().templates, 1u);
  for (std::size_t i = 0; i < d.stats().issues.size(); ++i) EXPECT_EQ(d.stats().issues[i], 0u) << i;
}

TEST(NetflowV9, IntegerCountersOfAnyWidth) {
  for (std::uint16_t width = 1; width <= 8; ++width) {
    const std::uint64_t bytes = width == 8 ? 0x123456789ABCDEF0ULL : (1ULL << (8 * width - 1)) + 3;
    const std::uint64_t packets = width == 1 ? 7 : (1ULL << (8 * (width - 1))) + 1;
    Bytes rec;
    rec.ip("10.1.1.1").ip("10.2.2.2").be(bytes, width).be(packets, width).u8(17);
    FlowDecoder d;
    std::vector<FlowRecord> out;
    send(d,
         v9().templ(300, {{ie::kSrcV4, 4},
                          {ie::kDstV4, 4},
                          {ie::kOctets, width},
                          {ie::kPackets, width},
                          {ie::kProto, 1}})
             .data(300, rec),
         out);
    ASSERT_EQ(out.size(), 1u) << width;
    EXPECT_EQ(out[0].exported_bytes, bytes) << width;
    EXPECT_EQ(out[0].exported_packets, packets) << width;
    // The port fields are absent: no ports even for UDP.
    EXPECT_FALSE(out[0].summary.hasPorts());
  }
}

TEST(NetflowV9, Ipv6KeysAndMixedFamilyTemplates) {
  Bytes rec;
  rec.ip("2001:db8::1").ip("2001:db8::2").u16(443).u16(5555).u8(6).u32(10).u32(2);
  FlowDecoder d;
  std::vector<FlowRecord> out;
  send(d,
       v9().templ(400, {{ie::kSrcV6, 16},
                        {ie::kDstV6, 16},
                        {ie::kSrcPort, 2},
                        {ie::kDstPort, 2},
                        {ie::kProto, 1},
                        {ie::kOctets, 4},
                        {ie::kPackets, 4}})
           .data(400, rec),
       out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].summary.dst, addr("2001:db8::2"));
  EXPECT_FALSE(out[0].summary.dst.isV4());
  EXPECT_TRUE(out[0].summary.flags & pktflag::kIpv6);
  EXPECT_TRUE(out[0].summary.hasPorts());
  EXPECT_EQ(out[0].summary.src_port, 443);

  // Cisco MPLS templates carry both families; the unused one is zero.
  const std::vector<Field> both = {
      {ie::kSrcV6, 16}, {ie::kDstV6, 16}, {ie::kSrcV4, 4}, {ie::kDstV4, 4}, {ie::kPackets, 4}};
  Bytes recs;
  recs.ip("::").ip("::").ip("10.10.0.35").ip("10.10.0.43").u32(1);
  recs.ip("2001:db8::5").ip("2001:db8::6").ip("0.0.0.0").ip("0.0.0.0").u32(2);
  out.clear();
  send(d, v9().templ(313, both).data(313, recs, 0, 2), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].summary.dst, addr("10.10.0.43"));
  EXPECT_FALSE(out[0].summary.flags & pktflag::kIpv6);
  EXPECT_EQ(out[1].summary.dst, addr("2001:db8::6"));
  EXPECT_TRUE(out[1].summary.flags & pktflag::kIpv6);
}

TEST(NetflowV9, AbsoluteMillisecondTimesWinOverTheHeaderClock) {
  // pmacct's v9 export: header time is the exporter's wall clock, records carry 152/153.
  Bytes rec;
  rec.ip("10.0.0.1").ip("10.0.0.2").u64(1'700'000'000'250).u64(1'700'000'010'500).u32(1);
  FlowDecoder d;
  std::vector<FlowRecord> out;
  send(d,
       Message::v9(2'280, 1'795'544'715, 1, 9)
           .templ(1024, {{ie::kSrcV4, 4},
                         {ie::kDstV4, 4},
                         {ie::kStartMs, 8},
                         {ie::kEndMs, 8},
                         {ie::kPackets, 4}})
           .data(1024, rec),
       out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].summary.ts_ns, 1'700'000'000'250 * kMs);
  EXPECT_EQ(out[0].last_ns, 1'700'000'010'500 * kMs);
}

TEST(NetflowV9, RedefinitionReplacesTheTemplate) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes first;
  first.ip("10.0.0.1").ip("10.0.0.2").u32(5);
  send(d, v9(0).templ(300, {{ie::kSrcV4, 4}, {ie::kDstV4, 4}, {ie::kPackets, 4}}).data(300, first),
       out);
  Bytes second;
  second.u16(7).ip("10.0.0.3").ip("10.0.0.4");
  send(d, v9(1).templ(300, {{ie::kPackets, 2}, {ie::kDstV4, 4}, {ie::kSrcV4, 4}}).data(300, second),
       out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].summary.dst, addr("10.0.0.2"));
  EXPECT_EQ(out[0].exported_packets, 5u);
  EXPECT_EQ(out[1].summary.dst, addr("10.0.0.3"));
  EXPECT_EQ(out[1].summary.src, addr("10.0.0.4"));
  EXPECT_EQ(out[1].exported_packets, 7u);
  EXPECT_EQ(d.stats().templates, 2u);
}

TEST(NetflowV9, SamplingFromSystemScopedOptionsData) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes opt;
  opt.u32(0).u32(100).u8(2);  // system 0: 1 in 100, random
  Bytes recs;
  put(recs, V4{});
  send(d,
       v9().options(257, {{1, 4}}, {{ie::kSamplingInterval, 4}, {ie::kSamplingAlgorithm, 1}})
           .data(257, opt, 3)
           .templ(256, kV4)
           .data(256, recs),
       out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sampling_rate, 100u);
  EXPECT_EQ(out[0].packets, 100u);
  EXPECT_EQ(out[0].bytes, 140'000u);
  EXPECT_EQ(out[0].exported_bytes, 1'400u);
  EXPECT_TRUE(out[0].flags & flowflag::kSampled);
  EXPECT_EQ(d.exporters().at(0).sampling_rate, 100u);
  EXPECT_EQ(d.stats().templates, 2u);
}

TEST(NetflowV9, SamplingPerInterfaceScope) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes opts;
  opts.u32(1).u32(10).u32(2).u32(1000);
  Bytes recs;
  V4 r;
  r.in = 1;
  put(recs, r);
  r.in = 2;
  put(recs, r);
  r.in = 3;  // no rate of its own: the latest one learned
  put(recs, r);
  send(d,
       v9().options(258, {{2, 4}}, {{ie::kSamplingInterval, 4}})
           .data(258, opts, 0, 2)
           .templ(256, kV4)
           .data(256, recs, 0, 3),
       out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].sampling_rate, 10u);
  EXPECT_EQ(out[1].sampling_rate, 1000u);
  EXPECT_EQ(out[2].sampling_rate, 1000u);
}

TEST(NetflowV9, SamplerIdReferencesOptionsData) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  // Cisco: options scoped to the system, one record per sampler (48 id, 49 mode, 50 interval).
  Bytes samplers;
  samplers.u32(0).u8(1).u8(2).u32(50);
  samplers.u32(0).u8(2).u8(2).u32(200);
  send(d,
       v9(0)
           .options(259, {{1, 4}},
                    {{ie::kSamplerId, 1}, {ie::kSamplerMode, 1}, {ie::kSamplerRandomInterval, 4}})
           .data(259, samplers, 0, 2),
       out);
  Bytes recs;
  recs.ip("10.0.0.1").ip("10.0.0.2").u32(3).u8(2);
  recs.ip("10.0.0.1").ip("10.0.0.3").u32(3).u8(1);
  send(d,
       v9(1)
           .templ(260, {{ie::kSrcV4, 4}, {ie::kDstV4, 4}, {ie::kPackets, 4}, {ie::kSamplerId, 1}})
           .data(260, recs, 0, 2),
       out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].sampling_rate, 200u);
  EXPECT_EQ(out[0].packets, 600u);
  EXPECT_EQ(out[1].sampling_rate, 50u);
  EXPECT_EQ(out[1].packets, 150u);
}

TEST(NetflowV9, SamplingIntervalInsideDataRecords) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes recs;
  recs.ip("10.0.0.1").ip("10.0.0.2").u32(4).u16(64).u8(1);
  recs.ip("10.0.0.1").ip("10.0.0.2").u32(4).u16(0).u8(0);  // no rate: unsampled
  send(d,
       v9().templ(261, {{ie::kSrcV4, 4},
                        {ie::kDstV4, 4},
                        {ie::kPackets, 4},
                        {ie::kSamplingInterval, 2},
                        {ie::kSamplingAlgorithm, 1}})
           .data(261, recs, 2, 2),
       out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].packets, 256u);
  EXPECT_EQ(out[1].packets, 4u);
  EXPECT_EQ(out[1].sampling_rate, 1u);
}

TEST(NetflowV9, FragmentFields) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes recs;
  recs.ip("10.0.0.1").ip("10.0.0.2").u8(17).u16(11211).u16(80).u16(0).u8(0x20);  // first
  recs.ip("10.0.0.1").ip("10.0.0.2").u8(17).u16(0).u16(0).u16(185).u8(0);        // later
  recs.ip("10.0.0.1").ip("10.0.0.2").u8(17).u16(11211).u16(80).u16(0).u8(0);     // whole
  send(d,
       v9().templ(262, {{ie::kSrcV4, 4},
                        {ie::kDstV4, 4},
                        {ie::kProto, 1},
                        {ie::kSrcPort, 2},
                        {ie::kDstPort, 2},
                        {ie::kFragmentOffset, 2},
                        {ie::kFragmentFlags, 1}})
           .data(262, recs, 0, 3),
       out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].summary.isFragment());
  EXPECT_FALSE(out[0].summary.isNonFirstFragment());
  EXPECT_TRUE(out[0].summary.hasPorts());
  EXPECT_TRUE(out[1].summary.isNonFirstFragment());
  EXPECT_FALSE(out[1].summary.hasPorts());
  EXPECT_FALSE(out[2].summary.isFragment());
}

TEST(NetflowV9, SequenceCountsExportPacketsPerSourceId) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  for (const std::uint32_t seq : {10u, 11u, 15u, 14u, 15u}) send(d, v9(seq, 1), out);
  send(d, v9(500, 2), out);
  send(d, v9(501, 2), out);
  const auto ex = d.exporters();
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].domain, 1u);
  EXPECT_EQ(ex[0].lost, 3u);  // 12, 13, 14 missing; going back to 14 is a reset, not loss
  EXPECT_EQ(ex[0].datagrams, 5u);
  EXPECT_EQ(ex[1].domain, 2u);
  EXPECT_EQ(ex[1].lost, 0u);
  EXPECT_EQ(d.stats().lost_telemetry, 3u);
}

TEST(NetflowV9, DataBeforeItsTemplateIsHeldThenDecoded) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes recs;
  put(put(recs, V4{}), V4{});
  EXPECT_EQ(send(d, v9(0).data(256, recs, 0, 2), out, 1 * kSec), 0u);
  EXPECT_TRUE(out.empty());
  // Next packet has a later header clock; the held records keep their own.
  EXPECT_EQ(send(d, Message::v9(kUptime + 5'000, kSecs + 5, 1, 0).templ(256, kV4), out, 2 * kSec),
            2u);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].summary.ts_ns, std::int64_t{kSecs} * kSec - (kUptime - 40'000) * kMs);
  EXPECT_EQ(issue(d, FlowIssue::MissingTemplate), 0u);
  EXPECT_EQ(d.stats().records, 2u);
  EXPECT_EQ(d.exporters().at(0).records, 2u);

  // A template that never comes: counted once the hold time passes.
  out.clear();
  send(d, v9(2).data(999, recs, 0, 2), out, 3 * kSec);
  send(d, v9(3), out, 12 * kSec);
  EXPECT_EQ(issue(d, FlowIssue::MissingTemplate), 0u);
  send(d, v9(4), out, 14 * kSec);
  EXPECT_EQ(issue(d, FlowIssue::MissingTemplate), 1u);
  send(d, v9(5).templ(999, kV4), out, 15 * kSec);
  EXPECT_TRUE(out.empty());
}

TEST(NetflowV9, HeldDataIsBounded) {
  FlowLimits limits;
  limits.max_pending_bytes = 500;
  FlowDecoder d(limits);
  std::vector<FlowRecord> out;
  Bytes recs;  // 4 records of 38 bytes: 152 bytes held per set, plus about 100 of bookkeeping
  for (int i = 0; i < 4; ++i) put(recs, V4{});
  for (std::uint32_t seq = 0; seq < 5; ++seq) send(d, v9(seq).data(256, recs, 0, 4), out);
  EXPECT_EQ(issue(d, FlowIssue::MissingTemplate), 3u);  // room for two sets
  send(d, v9(5).templ(256, kV4), out);
  EXPECT_EQ(out.size(), 8u);
  // A set larger than the whole budget is refused at once.
  Bytes big;
  for (int i = 0; i < 12; ++i) put(big, V4{});
  send(d, v9(6).data(300, big, 0, 12), out);
  EXPECT_EQ(issue(d, FlowIssue::MissingTemplate), 4u);
}

TEST(NetflowV9, DamageIsCountedByReason) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes recs;
  put(recs, V4{});
  // Reserved set id 5 is skipped; the data after it still decodes.
  send(d, v9(0).templ(256, kV4).set(5, Bytes().u32(0)).data(256, recs), out);
  EXPECT_EQ(issue(d, FlowIssue::BadSetId), 1u);
  EXPECT_EQ(out.size(), 1u);
  // A set length below 4, and one past the end, end the packet.
  send(d, v9(1).rawBytes(Bytes().u16(256).u16(2)).data(256, recs), out);
  send(d, v9(2).rawBytes(Bytes().u16(256).u16(400)).data(256, recs), out);
  EXPECT_EQ(issue(d, FlowIssue::BadLength), 2u);
  EXPECT_EQ(out.size(), 1u);
  // Templates: no fields, a reserved id, an IPv4 address of 3 bytes, a 9-byte counter.
  send(d, v9(3).set(0, Bytes().u16(300).u16(0)), out);
  send(d, v9(4).templ(100, kV4), out);
  send(d, v9(5).templ(301, {{ie::kSrcV4, 3}, {ie::kPackets, 4}}), out);
  send(d, v9(6).templ(302, {{ie::kSrcV4, 4}, {ie::kPackets, 9}}), out);
  EXPECT_EQ(issue(d, FlowIssue::BadTemplate), 4u);
  // Template record cut short by its set.
  send(d, v9(7).set(0, Bytes().u16(303).u16(3).u16(8).u16(4)), out);
  EXPECT_EQ(issue(d, FlowIssue::BadTemplate), 5u);
  EXPECT_EQ(d.stats().templates, 1u);
  // One and a half records: one decoded, the rest counted.
  Bytes half = recs;
  half.zeros(20).u32(0xDEADBEEF);
  send(d, v9(8).data(256, half), out);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(issue(d, FlowIssue::TruncatedRecord), 1u);
  // A template without addresses gives records that cannot be keyed.
  send(d, v9(9).templ(304, {{ie::kPackets, 4}}).data(304, Bytes().u32(3)), out);
  EXPECT_EQ(issue(d, FlowIssue::BadAddress), 1u);
  EXPECT_EQ(out.size(), 2u);
  // Cut inside the header.
  std::vector<std::uint8_t> cut = v9(10).bytes();
  cut.resize(19);
  d.decode(addr(kExporter), ByteSpan(cut.data(), cut.size()), 0, out);
  EXPECT_EQ(issue(d, FlowIssue::TruncatedHeader), 1u);
}

TEST(NetflowV9, TemplateAndExporterLimits) {
  FlowLimits limits;
  limits.max_templates = 4;
  limits.max_template_fields = 8;
  limits.max_exporters = 2;
  FlowDecoder d(limits);
  std::vector<FlowRecord> out;
  Message m = v9();
  for (std::uint16_t id = 256; id < 262; ++id) m.templ(id, {{ie::kSrcV4, 4}, {ie::kDstV4, 4}});
  send(d, m, out);
  EXPECT_EQ(issue(d, FlowIssue::TemplateLimit), 2u);
  EXPECT_EQ(d.stats().templates, 6u);
  // Redefining a stored template is always possible.
  send(d, v9(1).templ(256, {{ie::kSrcV4, 4}, {ie::kDstV4, 4}, {ie::kPackets, 4}}), out);
  EXPECT_EQ(issue(d, FlowIssue::TemplateLimit), 2u);
  EXPECT_EQ(issue(d, FlowIssue::BadTemplate), 0u);
  std::vector<Field> wide(9, Field{ie::kPackets, 4});
  send(d, v9(2).templ(270, wide), out);
  EXPECT_EQ(issue(d, FlowIssue::BadTemplate), 1u);

  send(d, v9(), out, 0, "192.0.2.10");
  EXPECT_EQ(issue(d, FlowIssue::ExporterLimit), 0u);
  Bytes recs;
  put(recs, V4{});
  send(d, v9().templ(256, kV4).data(256, recs), out, 0, "192.0.2.11");
  EXPECT_EQ(issue(d, FlowIssue::ExporterLimit), 1u);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.exporters().size(), 2u);
}

}  // namespace
}  // namespace bw
