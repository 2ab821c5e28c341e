// IPFIX (RFC 7011) through FlowDecoder, on hand-built messages: enterprise and
// variable-length fields, reduced-size integers, withdrawal and template lifetime, every
// time encoding, sampling from options data, RFC 5103 biflows, and sequence numbers that
// count data records.
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
constexpr const char* kExporter = "2001:db8:ffff::9";
constexpr std::uint32_t kExport = 1'700'000'060;

std::uint64_t issue(const FlowDecoder& d, FlowIssue i) {
  return d.stats().issues[static_cast<std::size_t>(i)];
}

std::size_t send(FlowDecoder& d, const Message& m, std::vector<FlowRecord>& out,
                 std::int64_t received_ns = 0) {
  const std::vector<std::uint8_t> b = m.bytes();
  return d.decode(addr(kExporter), ByteSpan(b.data(), b.size()), received_ns, out);
}

Message ipfix(std::uint32_t seq = 0, std::uint32_t domain = 0) {
  return Message::ipfix(kExport, seq, domain);
}

const std::vector<Field> kBasic = {{ie::kSrcV4, 4},   {ie::kDstV4, 4},   {ie::kSrcPort, 2},
                                   {ie::kDstPort, 2}, {ie::kProto, 1},   {ie::kOctets, 8},
                                   {ie::kPackets, 8}, {ie::kStartMs, 8}, {ie::kEndMs, 8}};

Bytes& basic(Bytes& b, const char* src, const char* dst, std::uint64_t packets,
             std::uint64_t octets) {
  return b.ip(src)
      .ip(dst)
      .u16(11211)
      .u16(9999)
      .u8(17)
      .u64(octets)
      .u64(packets)
      .u64(1'700'000'000'000)
      .u64(1'700'000'001'000);
}

TEST(Ipfix, TemplateAndDataWithMillisecondTimes) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes recs;
  basic(recs, "203.0.113.5", "198.18.0.10", 2, 2'800);
  ASSERT_EQ(send(d, ipfix().templ(1024, kBasic).data(1024, recs), out), 1u);
  const FlowRecord& r = out[0];
  EXPECT_EQ(r.summary.dst, addr("198.18.0.10"));
  EXPECT_EQ(r.summary.src_port, 11211);
  EXPECT_EQ(r.exported_packets, 2u);
  EXPECT_EQ(r.exported_bytes, 2'800u);
  EXPECT_EQ(r.summary.ts_ns, 1'700'000'000'000 * kMs);
  EXPECT_EQ(r.last_ns, 1'700'000'001'000 * kMs);
  EXPECT_EQ(r.protocol, FlowProtocol::Ipfix);
  EXPECT_EQ(r.exporter, addr(kExporter));
  EXPECT_EQ(d.stats().datagrams[static_cast<std::size_t>(FlowProtocol::Ipfix)], 1u);
}

TEST(Ipfix, EnterpriseFieldsAreSkippedByLength) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  // Enterprise 9 (Cisco) element 12 has the number of destinationIPv4Address: must not be read
  // as one. Element 999 is unknown.
  Bytes rec;
  rec.ip("10.0.0.1").ip("172.16.0.1").u32(0xAABBCCDD).u8(1).u8(2).u8(3).ip("10.0.0.2").u32(5);
  send(d,
       ipfix()
           .templ(300, {{ie::kSrcV4, 4},
                        {ie::kDstV4, 4, 9},
                        {999, 4},
                        {1000, 3, 12345},
                        {ie::kDstV4, 4},
                        {ie::kPackets, 4}})
           .data(300, rec),
       out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].summary.dst, addr("10.0.0.2"));
  EXPECT_EQ(out[0].exported_packets, 5u);
}

TEST(Ipfix, VariableLengthFieldsBothForms) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  const std::vector<Field> t = {{ie::kSrcV4, 4},
                                {ie::kInterfaceName, 0xFFFF},
                                {ie::kDstV4, 4},
                                {96, 0xFFFF},
                                {ie::kPackets, 4}};
  Bytes recs;
  recs.ip("10.0.0.1").u8(5).str("eth0.").ip("10.0.0.2").u8(0).u32(7);
  recs.ip("10.0.0.3").u8(255).u16(300).zeros(300).ip("10.0.0.4").u8(2).u16(0xBEEF).u32(9);
  send(d, ipfix().templ(301, t).data(301, recs, 0, 2), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].summary.dst, addr("10.0.0.2"));
  EXPECT_EQ(out[0].exported_packets, 7u);
  EXPECT_EQ(out[1].summary.src, addr("10.0.0.3"));
  EXPECT_EQ(out[1].summary.dst, addr("10.0.0.4"));
  EXPECT_EQ(out[1].exported_packets, 9u);
  EXPECT_EQ(issue(d, FlowIssue::TruncatedRecord), 0u);

  // A variable-length value running past the set ends it.
  Bytes bad;
  bad.ip("10.0.0.5").u8(5).str("eth0.").ip("10.0.0.6").u8(0).u32(1);
  bad.ip("10.0.0.7").u8(200).str("short");
  send(d, ipfix(2).data(301, bad, 0, 2), out);
  EXPECT_EQ(out.size(), 3u);
  EXPECT_EQ(issue(d, FlowIssue::TruncatedRecord), 1u);
}

TEST(Ipfix, ReducedSizeEncoding) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes rec;
  rec.ip("10.0.0.1").ip("10.0.0.2").u16(60'000).u8(200).u16(80).be(70'000, 3);
  send(d,
       ipfix()
           .templ(302, {{ie::kSrcV4, 4},
                        {ie::kDstV4, 4},
                        {ie::kOctets, 2},
                        {ie::kPackets, 1},
                        {ie::kDstPort, 2},
                        {ie::kInIf, 3}})
           .data(302, rec),
       out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].exported_bytes, 60'000u);
  EXPECT_EQ(out[0].exported_packets, 200u);
  EXPECT_EQ(out[0].input_if, 70'000u);
}

TEST(Ipfix, WithdrawalForgetsTemplates) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes recs;
  basic(recs, "10.0.0.1", "10.0.0.2", 1, 100);
  send(d, ipfix(0).templ(256, kBasic).templ(257, kBasic).data(256, recs), out);
  EXPECT_EQ(out.size(), 1u);
  // Withdraw 256 alone: its data is now held; 257 still works.
  send(d, ipfix(1).set(2, Bytes().u16(256).u16(0)).data(256, recs).data(257, recs), out);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].exported_packets, 1u);
  // Withdraw every template (id 2 in a template set).
  send(d, ipfix(2).set(2, Bytes().u16(2).u16(0)).data(257, recs), out);
  EXPECT_EQ(out.size(), 2u);
  // Re-announcing 256 releases the held data sets that are its own.
  send(d, ipfix(3).templ(256, kBasic), out);
  EXPECT_EQ(out.size(), 3u);
  EXPECT_EQ(issue(d, FlowIssue::BadTemplate), 0u);
}

// A decoder whose IPFIX templates live 5 s, and one record for template kBasic.
struct FiveSecondTemplates {
  static FlowLimits limits() {
    FlowLimits l;
    l.template_lifetime_ns = 5 * kSec;
    return l;
  }
  FlowDecoder d{limits()};
  std::vector<FlowRecord> out;
  Bytes recs;
  FiveSecondTemplates() { basic(recs, "10.0.0.1", "10.0.0.2", 1, 100); }
};

TEST(Ipfix, TemplatesExpireAfterTheirLifetime) {
  FiveSecondTemplates t;
  FlowDecoder& d = t.d;
  std::vector<FlowRecord>& out = t.out;
  const Bytes& recs = t.recs;
  send(d, ipfix(0).templ(256, kBasic), out, 0);
  send(d, ipfix(0).data(256, recs), out, 4 * kSec);
  EXPECT_EQ(out.size(), 1u);
  send(d, ipfix(1).data(256, recs), out, 10 * kSec);  // expired: held
  EXPECT_EQ(out.size(), 1u);
  send(d, ipfix(2).templ(256, kBasic), out, 11 * kSec);  // refreshed: the held set decodes
  EXPECT_EQ(out.size(), 2u);
}

// Exporters resend their templates unchanged every few datagrams: each resend is counted and
// restarts the lifetime, and a changed one still replaces it.
TEST(Ipfix, AnUnchangedTemplateResentRestartsItsLifetime) {
  FiveSecondTemplates t;
  FlowDecoder& d = t.d;
  std::vector<FlowRecord>& out = t.out;
  send(d, ipfix(0).templ(256, kBasic), out, 0);
  send(d, ipfix(0).templ(256, kBasic), out, 4 * kSec);
  send(d, ipfix(0).data(256, t.recs), out, 8 * kSec);  // 8 s after the first, 4 after the resend
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].summary.dst, addr("10.0.0.2"));
  EXPECT_EQ(d.stats().templates, 2u);

  Bytes swapped;  // the same id, the addresses in the other order
  swapped.ip("10.0.0.3").ip("10.0.0.4").u64(2).u64(200);
  send(d,
       ipfix(1)
           .templ(256, {{ie::kDstV4, 4}, {ie::kSrcV4, 4}, {ie::kPackets, 8}, {ie::kOctets, 8}})
           .data(256, swapped),
       out, 9 * kSec);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].summary.dst, addr("10.0.0.3"));
  EXPECT_EQ(out[1].summary.src, addr("10.0.0.4"));
  EXPECT_EQ(out[1].exported_bytes, 200u);
  EXPECT_EQ(d.stats().templates, 3u);
}

TEST(Ipfix, TimeEncodings) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  constexpr std::uint64_t kNtpOffset = 2'208'988'800;
  const std::int64_t t0 = 1'700'000'000 * kSec;
  // 150/151 seconds.
  Bytes secs;
  secs.ip("10.0.0.1").ip("10.0.0.2").u32(1'700'000'000).u32(1'700'000'009);
  send(d,
       ipfix(0)
           .templ(310, {{ie::kSrcV4, 4}, {ie::kDstV4, 4}, {ie::kStartSec, 4}, {ie::kEndSec, 4}})
           .data(310, secs),
       out);
  // 154/155 microseconds and 156/157 nanoseconds: NTP format, half a second in the fraction.
  Bytes ntp;
  ntp.ip("10.0.0.1")
      .ip("10.0.0.2")
      .u32(1'700'000'000 + kNtpOffset)
      .u32(0x80000000u)
      .u32(1'700'000'002 + kNtpOffset)
      .u32(0);
  send(d,
       ipfix(1)
           .templ(311, {{ie::kSrcV4, 4}, {ie::kDstV4, 4}, {ie::kStartUs, 8}, {ie::kEndUs, 8}})
           .data(311, ntp),
       out);
  send(d,
       ipfix(2)
           .templ(312, {{ie::kSrcV4, 4}, {ie::kDstV4, 4}, {ie::kStartNs, 8}, {ie::kEndNs, 8}})
           .data(312, ntp),
       out);
  // 158/159: microseconds before the export time.
  Bytes delta;
  delta.ip("10.0.0.1").ip("10.0.0.2").u32(30'000'000).u32(1'500'000);
  send(d,
       ipfix(3)
           .templ(313,
                  {{ie::kSrcV4, 4}, {ie::kDstV4, 4}, {ie::kStartDeltaUs, 4}, {ie::kEndDeltaUs, 4}})
           .data(313, delta),
       out);
  // 21/22 uptime with 160 systemInitTimeMilliseconds in the same record.
  Bytes up;
  up.ip("10.0.0.1").ip("10.0.0.2").u32(1'000).u32(4'000).u64(1'700'000'000'000);
  send(d,
       ipfix(4)
           .templ(314, {{ie::kSrcV4, 4},
                        {ie::kDstV4, 4},
                        {ie::kFirstUptime, 4},
                        {ie::kLastUptime, 4},
                        {ie::kSystemInitMs, 8}})
           .data(314, up),
       out);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].summary.ts_ns, t0);
  EXPECT_EQ(out[0].last_ns, t0 + 9 * kSec);
  EXPECT_EQ(out[1].summary.ts_ns, t0 + 500 * kMs);
  EXPECT_EQ(out[1].last_ns, t0 + 2 * kSec);
  EXPECT_EQ(out[2].summary.ts_ns, t0 + 500 * kMs);
  const std::int64_t exported = std::int64_t{kExport} * kSec;
  EXPECT_EQ(out[3].summary.ts_ns, exported - 30 * kSec);
  EXPECT_EQ(out[3].last_ns, exported - 1'500 * kMs);
  EXPECT_EQ(out[4].summary.ts_ns, t0 + 1'000 * kMs);
  EXPECT_EQ(out[4].last_ns, t0 + 4'000 * kMs);
}

TEST(Ipfix, SystemInitTimeFromOptionsData) {
  // softflowd: options scoped to the metering process carry systemInitTimeMilliseconds and the
  // sampling interval/space; records carry uptimes.
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes opt;
  opt.u32(18376).u64(1'700'000'000'000).u32(1).u32(9);
  Bytes rec;
  rec.ip("10.0.0.1").ip("10.0.0.2").u32(3).u32(2'000).u32(7'000);
  send(d,
       ipfix()
           .options(256, {{ie::kMeteringProcessId, 4}},
                    {{ie::kSystemInitMs, 8}, {ie::kPacketInterval, 4}, {ie::kPacketSpace, 4}})
           .data(256, opt)
           .templ(1024, {{ie::kSrcV4, 4},
                         {ie::kDstV4, 4},
                         {ie::kPackets, 4},
                         {ie::kFirstUptime, 4},
                         {ie::kLastUptime, 4}})
           .data(1024, rec),
       out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].summary.ts_ns, 1'700'000'002'000 * kMs);
  EXPECT_EQ(out[0].last_ns, 1'700'000'007'000 * kMs);
  EXPECT_EQ(out[0].sampling_rate, 10u);  // (interval + space) / interval
  EXPECT_EQ(out[0].packets, 30u);
  EXPECT_EQ(out[0].exported_packets, 3u);
}

TEST(Ipfix, SelectorOptionsWithNOutOfNSampling) {
  // Cisco (pmacct capture 104): options scoped to selectorId with samplingPacketInterval 1
  // and samplingSize/samplingPopulation 1/256; records name their selectorId.
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes opt;
  opt.u32(1).u32(1).u16(3).u32(1).u32(256).u8(4).str("MAP1");
  opt.u32(2).u32(1).u16(3).u32(2).u32(100).u8(0);
  send(d,
       ipfix(0)
           .options(257, {{ie::kSelectorId, 4}},
                    {{ie::kPacketInterval, 4},
                     {ie::kSelectorAlgorithm, 2},
                     {ie::kSamplingSize, 4},
                     {ie::kSamplingPopulation, 4},
                     {335, 0xFFFF}})
           .data(257, opt, 0, 2),
       out);
  Bytes recs;
  recs.ip("2001:db8::1").ip("ff02::12").u32(60).u32(1);
  recs.ip("2001:db8::1").ip("ff02::13").u32(60).u32(2);
  recs.ip("2001:db8::1").ip("ff02::14").u32(60).u32(3);  // unknown selector: latest rate
  send(
      d,
      ipfix(2)
          .templ(342, {{ie::kSrcV6, 16}, {ie::kDstV6, 16}, {ie::kPackets, 4}, {ie::kSelectorId, 4}})
          .data(342, recs, 0, 3),
      out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].sampling_rate, 256u);
  EXPECT_EQ(out[0].packets, 60u * 256);
  EXPECT_EQ(out[1].sampling_rate, 50u);
  EXPECT_EQ(out[2].sampling_rate, 50u);
}

TEST(Ipfix, AbsurdRatesInOptionsAreNotApplied) {
  FlowLimits limits;
  limits.max_sampling_rate = 1000;
  FlowDecoder d(limits);
  std::vector<FlowRecord> out;
  Bytes opt;
  opt.u32(1).u32(1).u32(5'000'000);
  Bytes rec;
  rec.ip("10.0.0.1").ip("10.0.0.2").u32(3);
  send(d,
       ipfix()
           .options(256, {{ie::kMeteringProcessId, 4}},
                    {{ie::kPacketInterval, 4}, {ie::kPacketSpace, 4}})
           .data(256, opt)
           .templ(1024, {{ie::kSrcV4, 4}, {ie::kDstV4, 4}, {ie::kPackets, 4}})
           .data(1024, rec),
       out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sampling_rate, 1u);
  EXPECT_EQ(issue(d, FlowIssue::AbsurdSamplingRate), 1u);
}

TEST(Ipfix, BiflowReverseCountersMakeASecondRecord) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  const std::vector<Field> t = {{ie::kSrcV4, 4},
                                {ie::kDstV4, 4},
                                {ie::kSrcPort, 2},
                                {ie::kDstPort, 2},
                                {ie::kProto, 1},
                                {ie::kTcpFlags, 1},
                                {ie::kInIf, 4},
                                {ie::kOutIf, 4},
                                {ie::kOctets, 8},
                                {ie::kPackets, 8},
                                {ie::kOctets, 8, ie::kReversePen},
                                {ie::kPackets, 8, ie::kReversePen},
                                {ie::kTcpFlags, 1, ie::kReversePen}};
  Bytes recs;
  recs.ip("203.0.113.13")
      .ip("192.0.2.53")
      .u16(40012)
      .u16(53)
      .u8(17)
      .u8(0)
      .u32(1)
      .u32(2)
      .u64(68)
      .u64(1)
      .u64(456)
      .u64(2)
      .u8(0);
  recs.ip("192.0.2.17")
      .ip("203.0.113.22")
      .u16(443)
      .u16(30163)
      .u8(6)
      .u8(0x18)
      .u32(1)
      .u32(2)
      .u64(2040)
      .u64(2)
      .u64(0)
      .u64(0)
      .u8(0);  // no reverse traffic: one record
  send(d, ipfix().templ(1024, t).data(1024, recs, 0, 2), out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].summary.dst, addr("192.0.2.53"));
  EXPECT_EQ(out[0].exported_packets, 1u);
  EXPECT_FALSE(out[0].flags & flowflag::kReverse);
  const FlowRecord& rev = out[1];
  EXPECT_TRUE(rev.flags & flowflag::kReverse);
  EXPECT_EQ(rev.summary.src, addr("192.0.2.53"));
  EXPECT_EQ(rev.summary.dst, addr("203.0.113.13"));
  EXPECT_EQ(rev.summary.src_port, 53);
  EXPECT_EQ(rev.summary.dst_port, 40012);
  EXPECT_EQ(rev.input_if, 2u);
  EXPECT_EQ(rev.output_if, 1u);
  EXPECT_EQ(rev.exported_packets, 2u);
  EXPECT_EQ(rev.exported_bytes, 456u);
  EXPECT_EQ(out[2].summary.dst, addr("203.0.113.22"));
  EXPECT_EQ(d.stats().records, 3u);

  // Reverse totals (85/86) when no reverse delta counters are present.
  out.clear();
  Bytes tot;
  tot.ip("10.0.0.1").ip("10.0.0.2").u32(1).u32(100).u32(4).u32(400);
  send(d,
       ipfix(2)
           .templ(1025, {{ie::kSrcV4, 4},
                         {ie::kDstV4, 4},
                         {ie::kPackets, 4},
                         {ie::kOctets, 4},
                         {ie::kPacketTotal, 4, ie::kReversePen},
                         {ie::kOctetTotal, 4, ie::kReversePen}})
           .data(1025, tot),
       out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].summary.dst, addr("10.0.0.1"));
  EXPECT_EQ(out[1].exported_packets, 4u);
  EXPECT_EQ(out[1].exported_bytes, 400u);
}

TEST(Ipfix, DeltaCountersWinOverTotals) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes rec;
  rec.ip("10.0.0.1").ip("10.0.0.2").u64(1'000'000).u64(5'000).u32(3).u32(17);
  send(d,
       ipfix()
           .templ(1026, {{ie::kSrcV4, 4},
                         {ie::kDstV4, 4},
                         {ie::kPacketTotal, 8},
                         {ie::kOctetTotal, 8},
                         {ie::kPackets, 4},
                         {ie::kOctets, 4}})
           .data(1026, rec),
       out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].exported_packets, 3u);
  EXPECT_EQ(out[0].exported_bytes, 17u);
}

// A field repeated, or two encodings of one time: the record holds the later field's value,
// whatever the order of the fields, for fixed and variable-length templates alike.
TEST(Ipfix, RepeatedFieldsTakeTheLaterValue) {
  const std::int64_t t0 = 1'700'000'000 * kSec;
  for (const bool variable : {false, true}) {
    FlowDecoder d;
    std::vector<FlowRecord> out;
    std::vector<Field> fields = {{ie::kDstV4, 4},   {ie::kStartMs, 8},  {ie::kSrcV4, 4},
                                 {ie::kDstV4, 4},   {ie::kStartSec, 4}, {ie::kPackets, 4},
                                 {ie::kEndSec, 4},  {ie::kEndMs, 8},    {ie::kPackets, 2},
                                 {ie::kDstPort, 2}, {ie::kProto, 1},    {ie::kDstPort, 2}};
    if (variable) fields.push_back({ie::kInterfaceName, 0xFFFF});
    Bytes rec;
    rec.ip("10.0.0.9")
        .u64(1'700'000'000'500)
        .ip("10.0.0.1")
        .ip("10.0.0.2")
        .u32(1'700'000'000)
        .u32(111)
        .u32(1'700'000'004)
        .u64(1'700'000'003'250)
        .u16(7)
        .u16(80)
        .u8(17)
        .u16(53);
    if (variable) rec.u8(3).str("et0");
    send(d, ipfix().templ(1027, fields).data(1027, rec), out);
    ASSERT_EQ(out.size(), 1u) << variable;
    EXPECT_EQ(out[0].summary.dst, addr("10.0.0.2"));
    EXPECT_EQ(out[0].summary.ts_ns, t0);          // seconds after milliseconds
    EXPECT_EQ(out[0].last_ns, t0 + 3'250 * kMs);  // milliseconds after seconds
    EXPECT_EQ(out[0].exported_packets, 7u);
    EXPECT_EQ(out[0].summary.dst_port, 53);
  }
}

TEST(Ipfix, SequenceCountsDataRecords) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes one;
  basic(one, "10.0.0.1", "10.0.0.2", 1, 100);
  Bytes three = one;
  basic(basic(three, "10.0.0.1", "10.0.0.3", 1, 100), "10.0.0.1", "10.0.0.4", 1, 100);
  send(d, ipfix(0).templ(256, kBasic).data(256, three, 0, 3), out);  // expects 3 next
  send(d, ipfix(3).data(256, one), out);                             // expects 4
  send(d, ipfix(4), out);                                            // template-free, empty
  send(d, ipfix(9).data(256, three, 0, 3), out);                     // 5 records lost
  send(d, ipfix(7).data(256, one), out);                             // backwards: reset
  send(d, ipfix(8).data(999, one), out);                             // unknown template
  send(d, ipfix(100).data(256, one), out);                           // unpredictable: no loss
  send(d, ipfix(101 + 0x90000000u).data(256, one), out);             // > 2^31 ahead: reset
  const auto ex = d.exporters();
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].lost, 5u);
  EXPECT_EQ(ex[0].datagrams, 8u);
  EXPECT_EQ(ex[0].records, 10u);
  EXPECT_EQ(d.stats().lost_telemetry, 5u);
}

// softflowd's IPFIX sequence number includes the message's own records (not RFC 7011):
// recognised, so changing message sizes are not taken for loss, while real gaps still are.
TEST(Ipfix, SequenceThatIncludesTheCurrentMessage) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  Bytes one;
  basic(one, "10.0.0.1", "10.0.0.2", 1, 100);
  Bytes three = one;
  basic(basic(three, "10.0.0.1", "10.0.0.3", 1, 100), "10.0.0.1", "10.0.0.4", 1, 100);
  send(d, ipfix(3).templ(256, kBasic).data(256, three, 0, 3), out);
  send(d, ipfix(4).data(256, one), out);
  send(d, ipfix(7).data(256, three, 0, 3), out);
  send(d, ipfix(8).data(256, one), out);
  EXPECT_EQ(d.stats().lost_telemetry, 0u);
  send(d, ipfix(11).data(256, one), out);  // two records went missing before this one
  EXPECT_EQ(d.stats().lost_telemetry, 2u);
}

TEST(Ipfix, MessageLengthAndSetIdsAreChecked) {
  FlowDecoder d;
  std::vector<FlowRecord> out;
  std::vector<std::uint8_t> b = ipfix().templ(256, kBasic).bytes();
  b[2] = 0;
  b[3] = 15;  // shorter than the header
  d.decode(addr(kExporter), ByteSpan(b.data(), b.size()), 0, out);
  b[3] = 255;  // longer than the datagram
  b[2] = 1;
  d.decode(addr(kExporter), ByteSpan(b.data(), b.size()), 0, out);
  EXPECT_EQ(issue(d, FlowIssue::BadLength), 2u);
  // Trailing bytes after the message are not ours to read.
  std::vector<std::uint8_t> t = ipfix().templ(256, kBasic).bytes();
  t.push_back(0xFF);
  d.decode(addr(kExporter), ByteSpan(t.data(), t.size()), 0, out);
  EXPECT_EQ(d.stats().templates, 1u);
  // Set ids 0, 1 and 4..255 are reserved in IPFIX.
  send(d, ipfix(1).set(0, Bytes().u32(0)).set(1, Bytes().u32(0)).set(200, Bytes().u32(0)), out);
  EXPECT_EQ(issue(d, FlowIssue::BadSetId), 3u);
  // Options templates need 1..field-count scope fields.
  send(d, ipfix(2).set(3, Bytes().u16(400).u16(1).u16(0).u16(ie::kPackets).u16(4)), out);
  send(d, ipfix(3).set(3, Bytes().u16(401).u16(1).u16(2).u16(ie::kPackets).u16(4)), out);
  EXPECT_EQ(issue(d, FlowIssue::BadTemplate), 2u);
}

}  // namespace
}  // namespace bw
