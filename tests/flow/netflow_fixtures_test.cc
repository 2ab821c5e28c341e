// NetFlow v5/v9 and IPFIX from real exporters, against independent decoders.
//
// Fixtures (peers/flows/fixtures, README there): softflowd, pmacct and nfreplay exports of
// one synthetic 60 s capture (20,000 packets from epoch 1700000000), each with a .ref.txt
// holding the per-destination top 5 from three decoders: tshark, pmacct nfacctd (pcap
// savefile, renormalize) and nfdump (nfcapd over UDP). tshark is also run here, on every
// destination, when installed. Which reference a case must match, and why:
//  - unsampled fixtures: all three agree with each other and with the capture's truth;
//  - nf9_softflowd_s10 (1:10, rate in options data): our scaled counts match nfacctd with
//    renormalize (x10); nfcapd 1.7 does not scale and tshark gives raw counters, so those
//    match our exported (raw) counts instead;
//  - ipfix_softflowd_biflow: RFC 5103 reverse counters become reverse-direction records, the
//    convention of the tshark script (192.0.2.53 gets the DNS answers), which matches the
//    truth; nfdump -A dstip and nfacctd dst_host ignore reverse counters, so 192.0.2.53 is
//    missing from theirs;
//  - nf5_fprobe is a broken exporter (lost ~91% of packets, bad sequence numbers): robustness
//    and sequence-gap accounting only.
// Then pmacct's public Cisco captures and nDPI's NetFlow captures, against tshark's raw
// counters, with sampling rates from options data where present.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "export_capture.h"
#include "flow/flow_decoder.h"

namespace bw {
namespace {

using test::DstMap;
using test::DstTotals;

const std::string kFixtures = std::string(BW_SHARED_DIR) + "/peers/flows/fixtures/";
const std::string kCaptures = std::string(BW_SHARED_DIR) + "/captures/";
constexpr std::int64_t kSec = 1'000'000'000;

struct Decoded {
  std::vector<FlowRecord> records;
  DstMap scaled;    // packets/bytes after sampling renormalisation
  DstMap exported;  // as carried in the datagrams
  std::uint16_t port = 0;
  std::int64_t last_ts_ns = 0;
};

// Decodes every datagram of the capture through `d`, in capture order and time.
Decoded decodeCapture(const std::string& path, FlowDecoder& d) {
  Decoded r;
  std::vector<FlowRecord> out;
  for (const test::ExportDatagram& g : test::readExportDatagrams(path)) {
    r.port = g.port;
    r.last_ts_ns = g.ts_ns;
    out.clear();
    d.decode(g.source, ByteSpan(g.payload.data(), g.payload.size()), g.ts_ns, out);
    r.records.insert(r.records.end(), out.begin(), out.end());
  }
  for (const FlowRecord& f : r.records) {
    const std::string dst = f.summary.dst.toString();
    DstTotals& s = r.scaled[dst];
    s.packets += f.packets;
    s.bytes += f.bytes;
    ++s.flows;
    DstTotals& e = r.exported[dst];
    e.packets += f.exported_packets;
    e.bytes += f.exported_bytes;
    ++e.flows;
  }
  return r;
}

// The .ref.txt sections: "tshark", "nfacctd", "nfdump" -> per-destination top 5.
struct Reference {
  std::map<std::string, DstMap> sections;
  std::uint64_t nfdump_packets = 0, nfdump_bytes = 0;  // nfcapd's whole-file totals
};

Reference readReference(const std::string& path) {
  Reference ref;
  std::ifstream in(path);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.rfind("### ", 0) == 0) {
      section = line.find("tshark") != std::string::npos    ? "tshark"
                : line.find("nfacctd") != std::string::npos ? "nfacctd"
                : line.find("nfdump") != std::string::npos  ? "nfdump"
                                                            : "other";
      continue;
    }
    if (line.rfind("Ident:", 0) == 0) {
      std::sscanf(line.c_str() + line.find("Packets:"), "Packets: %lu", &ref.nfdump_packets);
      std::sscanf(line.c_str() + line.find("Bytes:"), "Bytes: %lu", &ref.nfdump_bytes);
      continue;
    }
    if (section.empty() || line.empty() || line[0] == '#' || !std::isdigit(line[0])) continue;
    const auto f = test::splitList(line, ',');
    if (f.size() < 3) continue;
    DstTotals t{std::stoull(f[1]), std::stoull(f[2]), f.size() > 3 ? std::stoull(f[3]) : 0};
    ref.sections[section][f[0]] = t;
  }
  return ref;
}

// Every destination the reference lists has exactly its packets and bytes in `ours`.
void expectMatches(const DstMap& ours, const DstMap& ref, const std::string& what) {
  EXPECT_FALSE(ref.empty()) << what;
  for (const auto& [dst, t] : ref) {
    const auto it = ours.find(dst);
    ASSERT_NE(it, ours.end()) << what << ": " << dst << " missing";
    EXPECT_EQ(it->second.packets, t.packets) << what << ": " << dst;
    EXPECT_EQ(it->second.bytes, t.bytes) << what << ": " << dst;
  }
}

// Same as tshark on every destination, flow counts included.
void expectSameAsTshark(const DstMap& ours, const DstMap& tshark, const std::string& what) {
  EXPECT_EQ(ours.size(), tshark.size()) << what;
  for (const auto& [dst, t] : tshark) {
    const auto it = ours.find(dst);
    ASSERT_NE(it, ours.end()) << what << ": " << dst << " missing";
    EXPECT_EQ(it->second, t) << what << ": " << dst << " ours " << it->second.packets << "/"
                             << it->second.bytes << "/" << it->second.flows << " tshark "
                             << t.packets << "/" << t.bytes << "/" << t.flows;
  }
}

std::uint64_t issues(const FlowDecoder& d) {
  std::uint64_t n = 0;
  for (std::uint64_t v : d.stats().issues) n += v;
  return n;
}

class Fixture : public ::testing::TestWithParam<const char*> {};

// Unsampled exports: every decoder agrees, and so do we.
TEST_P(Fixture, MatchesEveryReference) {
  const std::string name = GetParam();
  const std::string pcap = kFixtures + name + ".pcap";
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << pcap << " not present";
  FlowDecoder d;
  const Decoded got = decodeCapture(pcap, d);
  ASSERT_FALSE(got.records.empty());
  EXPECT_EQ(issues(d), 0u);
  std::uint64_t packets = 0, bytes = 0;
  for (const FlowRecord& r : got.records) {
    EXPECT_EQ(r.sampling_rate, 1u);
    packets += r.packets;
    bytes += r.bytes;
  }
  const Reference ref = readReference(kFixtures + name + ".ref.txt");
  EXPECT_EQ(packets, ref.nfdump_packets);  // 20000: the whole capture
  EXPECT_EQ(bytes, ref.nfdump_bytes);
  expectMatches(got.scaled, ref.sections.at("tshark"), name + " vs tshark (ref)");
  expectMatches(got.scaled, ref.sections.at("nfacctd"), name + " vs nfacctd");
  expectMatches(got.scaled, ref.sections.at("nfdump"), name + " vs nfdump");
  if (test::haveTshark()) {
    expectSameAsTshark(got.exported, test::tsharkTotals(pcap, got.port), name + " vs tshark");
  }
  EXPECT_EQ(d.stats().records, got.records.size());
  // The captures are complete: no sequence gap, whichever way the exporter counts (nfcapd
  // reports 131 sequence errors on ipfix_softflowd, whose numbers include the message's own
  // records).
  EXPECT_EQ(d.stats().lost_telemetry, 0u);
}

// The exporters kept the capture's clock (softflowd -a, pmacct and nfreplay absolute times),
// so every flow lies inside the 60 s the capture spans. NetFlow v9 headers carry whole
// seconds only (v5 has nanoseconds, IPFIX records absolute times), so uptime-relative v9
// times can be up to a second early: nfdump computes them the same way (see the nf9_nfreplay
// comparison below).
TEST_P(Fixture, RecordTimesLieInsideTheCapture) {
  const std::string name = GetParam();
  const std::string pcap = kFixtures + name + ".pcap";
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << pcap << " not present";
  FlowDecoder d;
  const Decoded got = decodeCapture(pcap, d);
  const bool whole_seconds = name == "nf9_softflowd" || name == "nf9_nfreplay";
  const std::int64_t begin = (whole_seconds ? 1'699'999'999 : 1'700'000'000) * kSec;
  for (const FlowRecord& r : got.records) {
    ASSERT_GE(r.summary.ts_ns, begin) << r.summary.dst.toString();
    ASSERT_LE(r.last_ns, 1'700'000'060 * kSec) << r.summary.dst.toString();
    ASSERT_LE(r.summary.ts_ns, r.last_ns);
  }
}

INSTANTIATE_TEST_SUITE_P(Unsampled, Fixture,
                         ::testing::Values("nf5_softflowd", "nf9_softflowd", "ipfix_softflowd",
                                           "nf9_pmacct", "ipfix_pmacct", "nf9_nfreplay"));

// nf9_nfreplay is nfcapd's storage of softflowd's v9 export replayed with absolute
// millisecond times, which nfcapd computed from the same uptime fields and header: the same
// flows with the same times as our decode of softflowd's v9 export.
TEST(FlowFixtures, V9UptimeTimesMatchNfcapd) {
  const std::string a = kFixtures + "nf9_softflowd.pcap";
  const std::string b = kFixtures + "nf9_nfreplay.pcap";
  if (!std::filesystem::exists(a) || !std::filesystem::exists(b)) GTEST_SKIP() << "absent";
  const auto keys = [](const std::string& pcap) {
    FlowDecoder d;
    std::vector<std::tuple<IpAddress, IpAddress, std::uint16_t, std::uint16_t, std::int64_t,
                           std::int64_t, std::uint64_t, std::uint64_t>>
        v;
    for (const FlowRecord& r : decodeCapture(pcap, d).records) {
      v.emplace_back(r.summary.src, r.summary.dst, r.summary.src_port, r.summary.dst_port,
                     r.summary.ts_ns, r.last_ns, r.packets, r.bytes);
    }
    std::sort(v.begin(), v.end());
    return v;
  };
  const auto ours = keys(a);
  const auto nfcapd = keys(b);
  ASSERT_EQ(ours.size(), nfcapd.size());
  EXPECT_TRUE(ours == nfcapd);
}

TEST(FlowFixtures, SampledV9IsScaledLikeNfacctdRenormalize) {
  const std::string pcap = kFixtures + "nf9_softflowd_s10.pcap";
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << pcap << " not present";
  FlowDecoder d;
  const Decoded got = decodeCapture(pcap, d);
  ASSERT_FALSE(got.records.empty());
  for (const FlowRecord& r : got.records) {
    ASSERT_EQ(r.sampling_rate, 10u);
    ASSERT_TRUE(r.flags & flowflag::kSampled);
  }
  const Reference ref = readReference(kFixtures + "nf9_softflowd_s10.ref.txt");
  expectMatches(got.scaled, ref.sections.at("nfacctd"), "scaled vs nfacctd renormalize");
  // nfcapd 1.7 and tshark report the raw counters.
  expectMatches(got.exported, ref.sections.at("nfdump"), "raw vs nfdump");
  expectMatches(got.exported, ref.sections.at("tshark"), "raw vs tshark (ref)");
  if (test::haveTshark()) {
    expectSameAsTshark(got.exported, test::tsharkTotals(pcap, got.port), "raw vs tshark");
    // The rate we applied is the one tshark reads from the options data.
    for (std::uint64_t rate : test::tsharkField(pcap, got.port, "cflow.sampling_interval")) {
      EXPECT_EQ(rate, 10u);
    }
  }
  ASSERT_EQ(d.exporters().size(), 1u);
  EXPECT_EQ(d.exporters()[0].sampling_rate, 10u);
}

TEST(FlowFixtures, BiflowReverseCountersFollowTheTsharkConvention) {
  const std::string pcap = kFixtures + "ipfix_softflowd_biflow.pcap";
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << pcap << " not present";
  FlowDecoder d;
  const Decoded got = decodeCapture(pcap, d);
  std::size_t reverse = 0;
  std::uint64_t packets = 0;
  for (const FlowRecord& r : got.records) {
    reverse += (r.flags & flowflag::kReverse) != 0;
    packets += r.packets;
  }
  EXPECT_GT(reverse, 0u);
  EXPECT_EQ(d.stats().lost_telemetry, 0u);
  const Reference ref = readReference(kFixtures + "ipfix_softflowd_biflow.ref.txt");
  EXPECT_EQ(packets, ref.nfdump_packets);  // both directions: the whole capture
  expectMatches(got.scaled, ref.sections.at("tshark"), "biflow vs tshark (ref)");
  ASSERT_TRUE(got.scaled.count("192.0.2.53"));
  EXPECT_EQ(got.scaled.at("192.0.2.53").packets, 1101u);  // the capture's truth
  EXPECT_EQ(got.scaled.at("192.0.2.53").bytes, 74'868u);
  // nfdump and nfacctd drop the reverse counters, so the resolver is absent from theirs.
  EXPECT_EQ(ref.sections.at("nfdump").count("192.0.2.53"), 0u);
  EXPECT_EQ(ref.sections.at("nfacctd").count("192.0.2.53"), 0u);
  if (test::haveTshark()) {
    expectSameAsTshark(got.exported, test::tsharkTotals(pcap, got.port), "biflow vs tshark");
  }
}

TEST(FlowFixtures, BrokenV5ExporterIsSurvivedAndItsGapsCounted) {
  const std::string pcap = kFixtures + "nf5_fprobe.pcap";
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << pcap << " not present";
  FlowDecoder d;
  const Decoded got = decodeCapture(pcap, d);
  EXPECT_FALSE(got.records.empty());
  EXPECT_GT(d.stats().lost_telemetry, 0u);
  std::uint64_t lost = 0;
  for (const ExporterInfo& e : d.exporters()) lost += e.lost;
  EXPECT_EQ(lost, d.stats().lost_telemetry);
  // The records themselves are well formed: same as tshark.
  if (test::haveTshark()) {
    expectSameAsTshark(got.exported, test::tsharkTotals(pcap, got.port), "fprobe vs tshark");
  }
}

// pmacct's public Cisco captures and nDPI's: raw counters against tshark.
class CiscoCapture : public ::testing::TestWithParam<const char*> {};

TEST_P(CiscoCapture, MatchesTshark) {
  const std::string pcap = kCaptures + GetParam();
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << pcap << " not present";
  if (!test::haveTshark()) GTEST_SKIP() << "tshark not installed";
  FlowDecoder d;
  const Decoded got = decodeCapture(pcap, d);
  ASSERT_FALSE(got.records.empty());
  expectSameAsTshark(got.exported, test::tsharkTotals(pcap, got.port), GetParam());
  EXPECT_EQ(d.stats().issues[static_cast<std::size_t>(FlowIssue::BadTemplate)], 0u);
  EXPECT_EQ(d.stats().issues[static_cast<std::size_t>(FlowIssue::TruncatedRecord)], 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Pmacct, CiscoCapture,
    ::testing::Values("pmacct/100-IPFIXv10-CISCO__traffic-00.pcap",
                      "pmacct/101-NFv9-CISCO-cust_primitives__traffic-00.pcap",
                      "pmacct/102-NFv9-CISCO-f2rd-pretag-sampling-reload__traffic-00.pcap",
                      "pmacct/104-IPFIXv10-IPv6-CISCO-sampling_option__traffic-00.pcap",
                      "pmacct/111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources__traffic-01.pcap"));

TEST(FlowCaptures, SelectorSamplingFromCiscoOptionsData) {
  const std::string pcap =
      kCaptures + "pmacct/104-IPFIXv10-IPv6-CISCO-sampling_option__traffic-00.pcap";
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << pcap << " not present";
  FlowDecoder d;
  const Decoded got = decodeCapture(pcap, d);
  ASSERT_FALSE(got.records.empty());
  std::uint32_t expected = 256;  // samplingPopulation / samplingSize as the options data says
  if (test::haveTshark()) {
    const auto size = test::tsharkField(pcap, got.port, "cflow.sampling_size");
    const auto population = test::tsharkField(pcap, got.port, "cflow.sampling_population");
    ASSERT_EQ(size.size(), 1u);
    ASSERT_EQ(population.size(), 1u);
    expected = static_cast<std::uint32_t>(population[0] / size[0]);
  }
  for (const FlowRecord& r : got.records) {
    EXPECT_EQ(r.sampling_rate, expected);
    EXPECT_EQ(r.packets, r.exported_packets * expected);
    EXPECT_TRUE(r.summary.flags & pktflag::kIpv6);
  }
}

TEST(FlowCaptures, NdpiV9WithoutTemplatesIsHeldThenCounted) {
  const std::string pcap = kCaptures + "ndpi/netflowv9.pcap";
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << pcap << " not present";
  FlowDecoder d;
  const Decoded got = decodeCapture(pcap, d);
  EXPECT_TRUE(got.records.empty());  // the capture starts after the templates were sent
  // Once the hold time has passed, every held data set counts as missing its template.
  std::vector<FlowRecord> out;
  const std::vector<std::uint8_t> empty = {0, 9, 0, 0, 0, 0, 0, 0, 0, 0,
                                           0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  d.decode(IpAddress::fromV4(0xC0A80286), ByteSpan(empty.data(), empty.size()),
           got.last_ts_ns + 60 * kSec, out);
  const std::uint64_t missing =
      d.stats().issues[static_cast<std::size_t>(FlowIssue::MissingTemplate)];
  EXPECT_GT(missing, 0u);
  if (test::haveTshark()) {
    EXPECT_TRUE(test::tsharkTotals(pcap, got.port).empty());
    std::uint64_t data_sets = 0;
    for (std::uint64_t id : test::tsharkField(pcap, got.port, "cflow.flowset_id")) {
      data_sets += id >= 256;
    }
    EXPECT_EQ(missing, data_sets);
  }
}

TEST(FlowCaptures, FritzBoxIpfixTemplatesOnly) {
  const std::string pcap = kCaptures + "ndpi/netflow-fritz.pcap";
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << pcap << " not present";
  FlowDecoder d;
  const Decoded got = decodeCapture(pcap, d);
  EXPECT_TRUE(got.records.empty());
  EXPECT_EQ(issues(d), 0u);
  std::uint64_t templates = 3;  // one data template, two options templates
  if (test::haveTshark()) templates = test::tsharkField(pcap, got.port, "cflow.template_id").size();
  EXPECT_EQ(d.stats().templates, templates);
}

}  // namespace
}  // namespace bw
