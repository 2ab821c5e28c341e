// The `breakwater synth` flow below argument parsing (buildScenario + writeSynth), and the
// presets' documented content, checked against the written files.
#include "synth/synthesize.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "synth/pcap_walk.h"
#include "synth/presets.h"

namespace bw::synth {
namespace {

using testing::parseIp;
using testing::parsePcap;
using testing::readFile;
using testing::tempPath;

struct SynthRun {
  SynthPlan plan;
  SynthSummary summary;
  std::vector<std::uint8_t> bytes;
  testing::PcapFile file;
  nlohmann::json truth;
};

SynthRun synth(SynthRequest r) {
  SynthRun run;
  auto plan = buildScenario(r);
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  if (!plan.ok()) return run;
  run.plan = *plan;
  auto summary = writeSynth(*plan);
  EXPECT_TRUE(summary.ok()) << summary.error().message;
  if (!summary.ok()) return run;
  run.summary = *summary;
  run.bytes = readFile(r.output);
  run.file = parsePcap(run.bytes);
  run.truth = nlohmann::json::parse(readFile(summary->truth_path));
  return run;
}

SynthRequest request(const std::string& name) {
  SynthRequest r;
  r.output = tempPath(name);
  return r;
}

std::string buildError(const SynthRequest& r) {
  auto plan = buildScenario(r);
  EXPECT_FALSE(plan.ok());
  return plan.ok() ? "" : plan.error().message;
}

TEST(Synthesize, MemcachedPresetIsTheQuickStartDrill) {
  SynthRequest r = request("preset_memcached.pcap");
  r.preset = "memcached";
  SynthRun run = synth(r);
  ASSERT_TRUE(run.file.valid);
  EXPECT_EQ(run.summary.truth_path, r.output + ".truth.json");
  const auto& t = run.truth;
  EXPECT_EQ(t["scenario"]["preset"], "memcached");
  ASSERT_EQ(t["attacks"].size(), 1u);
  const auto& a = t["attacks"][0];
  EXPECT_EQ(a["vector"], "memcached");
  EXPECT_EQ(a["victim"], "198.18.0.10");
  EXPECT_EQ(a["reflectors"], 200);
  EXPECT_NEAR(a["datagrams"].get<double>(), 100000, 500);  // 20 kpps for 5 s
  EXPECT_NEAR(a["end"].get<double>() - a["start"].get<double>(), 5, 0.01);
  ASSERT_EQ(a["monero_addresses"].size(), 1u);
  ASSERT_EQ(t["scanners"].size(), 1u);
  const auto& sc = t["scanners"][0];
  EXPECT_EQ(sc["port"], 11211);
  EXPECT_EQ(sc["targets"], 256);
  EXPECT_EQ(sc["responders"].size(), 2u);
  EXPECT_LT(sc["end"].get<double>(), a["start"].get<double>());  // the sweep comes first
  EXPECT_GE(t["benign"].size(), 3u);

  // The flood's packets in the file carry the memcached frame header and the note.
  const std::string address = a["monero_addresses"][0];
  std::uint64_t with_note = 0, to_victim = 0;
  for (const auto& rec : run.file.records) {
    auto info = parseIp(run.file.linktype, rec.data, rec.caplen);
    if (info.dst != "198.18.0.10" || info.src == sc["source"]) continue;  // not the sweep
    ++to_victim;
    ASSERT_EQ(info.src_port, 11211);
    const std::string payload(reinterpret_cast<const char*>(rec.data) + info.l4_offset + 8,
                              rec.caplen - info.l4_offset - 8);
    with_note += payload.find(address) != std::string::npos;
  }
  EXPECT_EQ(to_victim, a["packets"].get<std::uint64_t>());
  EXPECT_EQ(with_note, to_victim);
}

TEST(Synthesize, MixedPresetCoversVectorsDirectionsAndBenign) {
  SynthRequest r = request("preset_mixed.pcap");
  r.preset = "mixed";
  SynthRun run = synth(r);
  const auto& t = run.truth;
  std::set<std::string> vectors;
  int outbound = 0, v6 = 0;
  std::set<std::string> abused;
  for (const auto& a : t["attacks"]) {
    EXPECT_GT(a["packets"].get<std::uint64_t>(), 0u) << a["vector"];
    if (a["direction"] == "outbound") {
      ++outbound;
      EXPECT_GT(a["requests"]["packets"].get<std::uint64_t>(), 0u);
      for (const auto& h : a["abused_hosts"]) abused.insert(h);
    } else {
      vectors.insert(a["vector"]);
    }
    if (a["parameters"]["ipv6"].get<bool>()) ++v6;
  }
  EXPECT_GE(vectors.size(), 8u);
  EXPECT_EQ(outbound, 1);
  EXPECT_EQ(v6, 1);
  std::set<std::string> kinds;
  for (const auto& b : t["benign"]) {
    kinds.insert(b["kind"]);
    for (const auto& h : b["hosts"])
      EXPECT_FALSE(abused.count(h)) << "benign host " << h << " is abused";
  }
  EXPECT_EQ(kinds.size(), 6u);
  EXPECT_EQ(t["scanners"][0]["vector"], "ssdp");
  EXPECT_EQ(run.file.records.size(), t["totals"]["packets"].get<std::uint64_t>());
}

TEST(Synthesize, BenignPresetHasNoAttacks) {
  SynthRequest r = request("preset_benign.pcap");
  r.preset = "benign";
  r.packets = "40k";
  SynthRun run = synth(r);
  EXPECT_TRUE(run.truth["attacks"].empty());
  EXPECT_TRUE(run.truth["scanners"].empty());
  const double duration = run.truth["scenario"]["duration"];
  EXPECT_NEAR(static_cast<double>(run.file.records.size()), 40000, 2000);
  EXPECT_NEAR(run.file.records.size() / duration, 40000, 2000);  // about 40 kpps in total
  double busiest = 0;
  for (const auto& b : run.truth["benign"]) busiest = std::max(busiest, b["pps"].get<double>());
  EXPECT_GE(busiest, 10000);
}

TEST(Synthesize, SmallPacketsPresetIsShortAndFast) {
  SynthRequest r = request("preset_small.pcap");
  r.preset = "small-packets";
  r.packets = "200k";
  SynthRun run = synth(r);
  EXPECT_EQ(run.file.snaplen, 96u);
  EXPECT_NEAR(static_cast<double>(run.file.records.size()), 200000, 10000);
  EXPECT_NEAR(run.truth["scenario"]["duration"].get<double>(), 0.1, 1e-9);  // 2 Mpps
  std::uint64_t orig = 0;
  for (const auto& rec : run.file.records) {
    ASSERT_LE(rec.caplen, 96u);
    orig += rec.origlen;
  }
  EXPECT_LT(orig / run.file.records.size(), 200u);
}

TEST(Synthesize, SpoofedPresetHasHalfAsManyDistinctSources) {
  SynthRequest r = request("preset_spoofed.pcap");
  r.preset = "spoofed";
  r.packets = "100k";
  SynthRun run = synth(r);
  ASSERT_EQ(run.truth["attacks"].size(), 1u);
  std::set<std::string> sources;
  for (const auto& rec : run.file.records) {
    sources.insert(parseIp(run.file.linktype, rec.data, rec.caplen).src);
  }
  EXPECT_EQ(run.truth["attacks"][0]["reflectors"], 50000);
  EXPECT_EQ(sources.size(), 50000u);
  EXPECT_NEAR(static_cast<double>(run.file.records.size()), 100000, 1000);
}

TEST(Synthesize, OptionsReachTheFile) {
  SynthRequest r = request("options.pcap.gz");
  r.attacks = {"vector=coap,pps=200,duration=1"};
  r.nanosecond = true;
  r.snaplen = 128;
  r.vlan = 7;
  r.seed = 99;
  r.start = "2020-01-02T03:04:05.5Z";
  r.truth = tempPath("options.json");
  auto plan = buildScenario(r);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  auto summary = writeSynth(*plan);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  auto inflated = testing::readGzipFile(r.output);
  auto file = parsePcap(inflated);
  ASSERT_TRUE(file.valid);
  EXPECT_TRUE(file.nanosecond);
  EXPECT_EQ(file.snaplen, 128u);
  ASSERT_FALSE(file.records.empty());
  EXPECT_GE(file.records[0].ts_ns, 1577934245'500'000'000LL);
  EXPECT_LT(file.records.back().ts_ns, 1577934246'500'000'000LL);
  EXPECT_EQ(parseIp(1, file.records[0].data, file.records[0].caplen).vlan, 7);
  auto truth = nlohmann::json::parse(readFile(r.truth));
  EXPECT_EQ(truth["scenario"]["seed"], 99);
  EXPECT_EQ(truth["scenario"]["timestamp_resolution"], "ns");
  EXPECT_EQ(truth["attacks"][0]["vector"], "coap");
}

TEST(Synthesize, StartTimesAndCounts) {
  EXPECT_EQ(parseStartTime("1519838460"), 1519838460LL * 1'000'000'000);
  EXPECT_EQ(parseStartTime("2018-02-28T17:21:00Z"), 1519838460LL * 1'000'000'000);
  EXPECT_EQ(parseStartTime("1.5"), 1'500'000'000);
  EXPECT_FALSE(parseStartTime("yesterday"));
  EXPECT_FALSE(parseStartTime("2018-02-28 17:21:00"));
  EXPECT_EQ(parseCount("20M"), 20'000'000u);
  EXPECT_EQ(parseCount("1500"), 1500u);
  EXPECT_FALSE(parseCount("0"));
  EXPECT_FALSE(parseCount("lots"));
}

TEST(Synthesize, UsageErrorsNameTheFlag) {
  SynthRequest r = request("err.pcap");
  EXPECT_NE(buildError(r).find("nothing to write"), std::string::npos);
  r.preset = "nope";
  EXPECT_NE(buildError(r).find("--preset 'nope' does not exist (valid: memcached"),
            std::string::npos);
  r.preset = "memcached";
  r.packets = "5M";
  EXPECT_NE(buildError(r).find("--packets does not apply"), std::string::npos);
  r.packets.clear();
  r.networks = "198.18.0.0/33";
  EXPECT_NE(buildError(r).find("--networks"), std::string::npos);
  r.networks = "2001:db8::/64";
  EXPECT_NE(buildError(r).find("needs an IPv4 prefix"), std::string::npos);
  r.networks.clear();
  r.start = "soon";
  EXPECT_NE(buildError(r).find("--start 'soon'"), std::string::npos);
  r.start.clear();
  r.snaplen = 10;
  EXPECT_NE(buildError(r).find("--snaplen 10"), std::string::npos);
  r.snaplen = 0;
  r.link = "token-ring";
  EXPECT_NE(buildError(r).find("--link"), std::string::npos);
  r.link = "raw";
  r.vlan = 5;
  EXPECT_NE(buildError(r).find("--vlan"), std::string::npos);
  r.vlan = 0;
  r.attacks = {"vector=dns,victim=10.0.0.1"};
  EXPECT_NE(buildError(r).find("attack 2 (dns): victim 10.0.0.1 is not inside --networks"),
            std::string::npos);
  r.output.clear();
  EXPECT_NE(buildError(r).find("--output"), std::string::npos);
}

TEST(Synthesize, IoErrorsNameTheFile) {
  SynthRequest r;
  r.output = "/nonexistent-dir/out.pcap";
  r.attacks = {"vector=dns,pps=10,duration=1"};
  auto plan = buildScenario(r);
  ASSERT_TRUE(plan.ok());
  auto summary = writeSynth(*plan);
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.error().message.find("/nonexistent-dir/out.pcap"), std::string::npos);
}

TEST(Synthesize, PresetListIsDocumented) {
  std::set<std::string_view> names;
  for (const auto& p : presetList()) names.insert(p.name);
  EXPECT_EQ(names, (std::set<std::string_view>{"memcached", "mixed", "benign", "small-packets",
                                               "spoofed"}));
}

}  // namespace
}  // namespace bw::synth
