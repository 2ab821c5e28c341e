// The TOML configuration loader: the documented example loads into DetectionConfig; every
// validation error is one sentence naming file:line:column, the key, and what is valid;
// unknown keys are errors, reserved tables are accepted.
#include "config/config_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace bw {
namespace {

// The example from docs/configuration.md.
const char* const kExample = R"(# Breakwater configuration
[detection]
threshold_pps = 250          # onset thresholds (either one)
threshold_mbps = 5
end_quiet_s = 5
end_ratio = 0.5
window_s = 1.0
bucket_ms = 100
solicited_ratio = 0.2
generic_min_sources = 5
top_reflectors = 10
networks = ["198.18.0.0/15", "2001:db8::/32"]
ignore = ["203.0.113.0/24"]

[[detection.override]]
prefix = "198.18.0.53/32"
threshold_pps = 20000
threshold_mbps = 200

[scanners]
min_targets = 16
window_s = 600
max_answered = 0.5

[limits]
max_destinations = 262144
max_tracked = 4096

[enrich]
asn_db = "/path/to/ip2asn-combined.tsv.gz"
)";

Prefix prefix(const char* text) { return Prefix::parse(text).value(); }

// Loads `text` and returns the error message ("" when it loaded).
std::string errorOf(const std::string& text) {
  auto r = loadConfigText(text, "config.toml");
  return r.ok() ? std::string() : r.error().message;
}

TEST(ConfigFile, DocumentedExampleLoads) {
  auto r = loadConfigText(kExample, "config.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const DetectionConfig& d = r->detection;
  EXPECT_DOUBLE_EQ(d.thresholds.pps, 250);
  EXPECT_DOUBLE_EQ(d.thresholds.bps, 5e6);
  EXPECT_EQ(d.end_quiet_ns, 5'000'000'000);
  EXPECT_DOUBLE_EQ(d.end_ratio, 0.5);
  EXPECT_EQ(d.bucket_ns, 100'000'000);
  EXPECT_EQ(d.window_buckets, 10);
  EXPECT_DOUBLE_EQ(d.solicited_ratio, 0.2);
  EXPECT_EQ(d.generic_min_sources, 5);
  EXPECT_EQ(d.top_reflectors, 10u);
  ASSERT_EQ(d.networks.size(), 2u);
  EXPECT_EQ(d.networks[0], prefix("198.18.0.0/15"));
  EXPECT_EQ(d.networks[1], prefix("2001:db8::/32"));
  ASSERT_EQ(d.ignore.size(), 1u);
  EXPECT_EQ(d.ignore[0], prefix("203.0.113.0/24"));
  ASSERT_EQ(d.overrides.size(), 1u);
  EXPECT_EQ(d.overrides[0].prefix, prefix("198.18.0.53/32"));
  EXPECT_DOUBLE_EQ(d.overrides[0].thresholds.pps, 20000);
  EXPECT_DOUBLE_EQ(d.overrides[0].thresholds.bps, 200e6);
  EXPECT_EQ(d.scanner_min_targets, 16u);
  EXPECT_EQ(d.scanner_window_ns, 600'000'000'000);
  EXPECT_DOUBLE_EQ(d.scanner_max_answered, 0.5);
  EXPECT_EQ(d.max_destinations, 262144u);
  EXPECT_EQ(d.max_tracked, 4096u);
  ASSERT_TRUE(r->asn_db.has_value());
  EXPECT_EQ(*r->asn_db, "/path/to/ip2asn-combined.tsv.gz");
}

TEST(ConfigFile, EmptyFileGivesDefaults) {
  auto r = loadConfigText("", "empty.toml");
  ASSERT_TRUE(r.ok());
  const DetectionConfig defaults;
  EXPECT_DOUBLE_EQ(r->detection.thresholds.pps, defaults.thresholds.pps);
  EXPECT_EQ(r->detection.window_buckets, defaults.window_buckets);
  EXPECT_TRUE(r->detection.networks.empty());
  EXPECT_FALSE(r->asn_db.has_value());
}

TEST(ConfigFile, PartialSettingsKeepOtherDefaults) {
  auto r = loadConfigText("[detection]\nthreshold_pps = 1000.5\nbucket_ms = 250\nwindow_s = 2\n",
                          "c.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->detection.thresholds.pps, 1000.5);
  EXPECT_DOUBLE_EQ(r->detection.thresholds.bps, DetectionConfig{}.thresholds.bps);
  EXPECT_EQ(r->detection.bucket_ns, 250'000'000);
  EXPECT_EQ(r->detection.window_buckets, 8);
}

TEST(ConfigFile, EngineBoundsAndSolicitation) {
  auto r = loadConfigText(R"(
[detection]
solicited_max_amplification = 20
[limits]
max_scanner_sources = 4096
exact_sources_per_attack = 1024
exact_sources_budget_mb = 16
)",
                          "c.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->detection.solicited_max_amplification, 20);
  EXPECT_EQ(r->detection.max_scanner_sources, 4096u);
  EXPECT_EQ(r->detection.exact_sources_per_attack, 1024u);
  EXPECT_EQ(r->detection.exact_sources_budget_bytes, 16ull << 20);
}

TEST(ConfigFile, OverridesInheritMissingThresholdAndAreOrdered) {
  auto r = loadConfigText(R"(
[detection]
threshold_pps = 300
threshold_mbps = 7
[[detection.override]]
prefix = "198.18.0.0/24"
threshold_pps = 5000
[[detection.override]]
prefix = "2001:db8::53"
threshold_mbps = 100
)",
                          "c.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& o = r->detection.overrides;
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(o[0].prefix, prefix("198.18.0.0/24"));
  EXPECT_DOUBLE_EQ(o[0].thresholds.pps, 5000);
  EXPECT_DOUBLE_EQ(o[0].thresholds.bps, 7e6);  // inherited
  EXPECT_EQ(o[1].prefix, prefix("2001:db8::53/128"));
  EXPECT_DOUBLE_EQ(o[1].thresholds.pps, 300);  // inherited
  EXPECT_DOUBLE_EQ(o[1].thresholds.bps, 100e6);
}

TEST(ConfigFile, ReservedTablesAreAccepted) {
  auto r = loadConfigText(R"(
[audit]
targets = ["198.18.0.0/24"]
[honeypot]
listen = "0.0.0.0:11211"
[[metrics.exporter]]
kind = "statsd"
)",
                          "c.toml");
  EXPECT_TRUE(r.ok()) << r.error().message;
}

struct BadCase {
  const char* text;
  const char* expected;  // the exact message
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << ::testing::PrintToString(c.text); }

class ConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigErrors, OneSentenceWithPosition) {
  EXPECT_EQ(errorOf(GetParam().text), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Validation, ConfigErrors,
    ::testing::Values(
        BadCase{"[detection]\nthreshold_pps = -5\n",
                "config.toml:2:17: detection.threshold_pps must be a positive number, got -5"},
        BadCase{"[detection]\nthreshold_pps = 0\n",
                "config.toml:2:17: detection.threshold_pps must be a positive number, got 0"},
        BadCase{"[detection]\nthreshold_pps = \"250\"\n",
                "config.toml:2:17: detection.threshold_pps must be a positive number, got \"250\""},
        BadCase{"[detection]\nthreshold_pps = nan\n",
                "config.toml:2:17: detection.threshold_pps must be a positive number, got nan"},
        BadCase{"[detection]\nthreshold_mbps = inf\n",
                "config.toml:2:18: detection.threshold_mbps must be a positive number, got inf"},
        BadCase{"[detection]\nend_quiet_s = 0\n",
                "config.toml:2:15: detection.end_quiet_s must be a number of seconds in (0, "
                "86400], got 0"},
        BadCase{"[detection]\nend_ratio = 1.5\n",
                "config.toml:2:13: detection.end_ratio must be a number in (0, 1], got 1.5"},
        BadCase{"[detection]\n\nsolicited_ratio = 0\n",
                "config.toml:3:19: detection.solicited_ratio must be a number in (0, 1], got 0"},
        BadCase{"[detection]\ngeneric_min_sources = 2.5\n",
                "config.toml:2:23: detection.generic_min_sources must be an integer from 1 to "
                "65536, got 2.5"},
        BadCase{"[detection]\ntop_reflectors = 5000\n",
                "config.toml:2:18: detection.top_reflectors must be an integer from 0 to 1000, "
                "got 5000"},
        BadCase{"[detection]\nbucket_ms = 0\n",
                "config.toml:2:13: detection.bucket_ms must be an integer from 1 to 10000, got 0"},
        BadCase{"[detection]\nwindow_s = 1.05\n",
                "config.toml:2:12: detection.window_s must be a whole multiple of "
                "detection.bucket_ms (100 ms), got 1.05"},
        BadCase{"[detection]\nwindow_s = 5\n",
                "config.toml:2:12: detection.window_s must be at most 16 buckets of "
                "detection.bucket_ms (1.6 s with 100 ms buckets), got 5"},
        BadCase{"[detection]\nbucket_ms = 300\n",
                "config.toml:2:13: detection.bucket_ms must divide the detection.window_s of 1 s "
                "into at most 16 whole buckets, got 300"},
        BadCase{"[detection]\nwindow_s = 0\n",
                "config.toml:2:12: detection.window_s must be a number of seconds in (0, 60], "
                "got 0"},
        BadCase{"[detection]\nnetworks = \"198.18.0.0/15\"\n",
                "config.toml:2:12: detection.networks must be an array of prefixes such as "
                "[\"198.18.0.0/15\"], got \"198.18.0.0/15\""},
        BadCase{"[detection]\nnetworks = [\"198.18.0.0/15\", \"198.18.0.0/33\"]\n",
                "config.toml:2:30: detection.networks[1] must be an IPv4 or IPv6 prefix such as "
                "\"198.18.0.0/15\" or \"2001:db8::/32\", got \"198.18.0.0/33\""},
        BadCase{"[detection]\nignore = [42]\n",
                "config.toml:2:11: detection.ignore[0] must be a prefix string such as "
                "\"198.18.0.0/15\", got 42"},
        BadCase{"[detection]\nthreshold_ps = 5\n",
                "config.toml:2:1: unknown key detection.threshold_ps (did you mean "
                "detection.threshold_pps?)"},
        BadCase{"[detection]\ncolour = \"red\"\n",
                "config.toml:2:1: unknown key detection.colour; valid keys in [detection] are "
                "threshold_pps, threshold_mbps, end_quiet_s, end_ratio, window_s, bucket_ms, "
                "solicited_ratio, solicited_max_amplification, generic_min_sources, "
                "top_reflectors, networks, ignore, "
                "override"},
        BadCase{"threshold_pps = 5\n",
                "config.toml:1:1: unknown key threshold_pps at the top level (did you mean "
                "detection.threshold_pps, under [detection]?)"},
        BadCase{"[detektion]\nthreshold_pps = 5\n",
                "config.toml:1:2: unknown table or key detektion at the top level (did you mean "
                "[detection]?)"},
        BadCase{"[firewall]\n",
                "config.toml:1:2: unknown table or key firewall at the top level; valid tables "
                "are detection, scanners, limits, enrich, sensor, api, store, events, "
                "mitigation, audit, honeypot, metrics"},
        BadCase{"\"weird\\nkey\" = 1\n",
                "config.toml:1:1: unknown table or key \"weird\\u000akey\" at the top level; "
                "valid tables are detection, scanners, limits, enrich, sensor, api, store, "
                "events, mitigation, audit, honeypot, metrics"},
        BadCase{"enabled = true\n",
                "config.toml:1:1: unknown key enabled at the top level (did you mean "
                "api.enabled or store.enabled, under [api] or [store]?)"},
        BadCase{"[detection]\nmin_targets = 5\n",
                "config.toml:2:1: unknown key detection.min_targets (did you mean "
                "scanners.min_targets, under [scanners]?)"},
        BadCase{"detection = 5\n",
                "config.toml:1:1: detection must be a table ([detection]), got 5"},
        BadCase{"[[detection.override]]\nthreshold_pps = 5\n",
                "config.toml:1:1: detection.override[0] needs a prefix, e.g. prefix = "
                "\"198.18.0.53/32\""},
        BadCase{"[[detection.override]]\nprefix = \"10.0.0.0/8\"\n",
                "config.toml:1:1: detection.override[0] for 10.0.0.0/8 needs threshold_pps "
                "and/or threshold_mbps"},
        BadCase{"[[detection.override]]\nprefix = \"10.0.0.0/8\"\nthreshold_pps = 5\n"
                "[[detection.override]]\nprefix = \"10.1.0.0/8\"\nthreshold_pps = 6\n",
                "config.toml:5:10: detection.override[1].prefix repeats an earlier override for "
                "10.0.0.0/8; each prefix may appear once"},
        BadCase{"[[detection.override]]\nprefix = \"ten\"\nthreshold_pps = 5\n",
                "config.toml:2:10: detection.override[0].prefix must be an IPv4 or IPv6 prefix "
                "such as \"198.18.0.53/32\", got \"ten\""},
        BadCase{"[[detection.override]]\nprefix = \"10.0.0.0/8\"\nthreshold_pps = -1\n",
                "config.toml:3:17: detection.override[0].threshold_pps must be a positive "
                "number, got -1"},
        BadCase{"[[detection.override]]\nprefix = \"10.0.0.0/8\"\nlimit = 1\n",
                "config.toml:3:1: unknown key detection.override[0].limit; valid keys in "
                "[detection.override[0]] are prefix, threshold_pps, threshold_mbps"},
        BadCase{"[[detection.override]]\nprefix = \"10.0.0.0/8\"\nthreshold = 1\n",
                "config.toml:3:1: unknown key detection.override[0].threshold (did you mean "
                "detection.override[0].threshold_pps?)"},
        BadCase{"[detection]\nnetworks = [\"198.18.0.0/15\", \"bad\\u001b[2J\"]\n",
                "config.toml:2:30: detection.networks[1] must be an IPv4 or IPv6 prefix such as "
                "\"198.18.0.0/15\" or \"2001:db8::/32\", got \"bad\\u001b[2J\""},
        BadCase{"[detection.override]\nprefix = \"10.0.0.0/8\"\n",
                "config.toml:1:1: detection.override must be written as [[detection.override]] "
                "tables with prefix, threshold_pps and/or threshold_mbps, got a table"},
        BadCase{"[scanners]\nmin_targets = 0\n",
                "config.toml:2:15: scanners.min_targets must be an integer from 1 to 1048576, "
                "got 0"},
        BadCase{"[scanners]\nwindow_s = 100000\n",
                "config.toml:2:12: scanners.window_s must be a number of seconds in (0, 86400], "
                "got 100000"},
        BadCase{"[scanners]\nmax_answered = 2\n",
                "config.toml:2:16: scanners.max_answered must be a number in [0, 1], got 2"},
        BadCase{"[scanners]\nmin_target = 3\n",
                "config.toml:2:1: unknown key scanners.min_target (did you mean "
                "scanners.min_targets?)"},
        BadCase{"[limits]\nmax_destinations = 10\n",
                "config.toml:2:20: limits.max_destinations must be an integer from 1024 to "
                "67108864, got 10"},
        BadCase{"[limits]\nmax_tracked = 99999999999\n",
                "config.toml:2:15: limits.max_tracked must be an integer from 1 to 1048576, got "
                "99999999999"},
        BadCase{"[limits]\nexact_sources_budget_mb = 0\n",
                "config.toml:2:27: limits.exact_sources_budget_mb must be an integer from 1 to "
                "65536, got 0"},
        BadCase{"[detection]\nsolicited_max_amplification = -1\n",
                "config.toml:2:31: detection.solicited_max_amplification must be a positive "
                "factor up to 1000000, got -1"},
        BadCase{"[enrich]\nasn_db = \"\"\n",
                "config.toml:2:10: enrich.asn_db must be the path of an MMDB or ip2asn TSV file, "
                "got \"\""},
        BadCase{"[enrich]\nasn = \"x\"\n",
                "config.toml:2:1: unknown key enrich.asn (did you mean enrich.asn_db?)"}));

TEST(ConfigFile, SyntaxErrorsNamePosition) {
  const std::string e = errorOf("[detection]\nthreshold_pps = = 5\n");
  EXPECT_EQ(e.rfind("config.toml:2:", 0), 0u) << e;
  EXPECT_NE(e.find("invalid TOML"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << "one line: " << e;

  const std::string dup = errorOf("[detection]\nthreshold_pps = 5\nthreshold_pps = 6\n");
  EXPECT_EQ(dup.rfind("config.toml:3:", 0), 0u) << dup;

  const std::string utf = errorOf("[detection]\nx = \"\xff\"\n");
  EXPECT_EQ(utf.rfind("config.toml:2:", 0), 0u) << utf;
}

TEST(ConfigFile, FileLoadingAndRelativeAsnPath) {
  const auto dir = std::filesystem::temp_directory_path() / "bw_config_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / "breakwater.toml";
  {
    std::ofstream out(path);
    out << "[enrich]\nasn_db = \"data/ip2asn.tsv\"\n";
  }
  auto r = loadConfigFile(path.string());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->asn_db, (dir / "data/ip2asn.tsv").string());

  {
    std::ofstream out(path);
    out << "[detection]\nthreshold_pps = -5\n";
  }
  auto bad = loadConfigFile(path.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, path.string() +
                                     ":2:17: detection.threshold_pps must be a positive number, "
                                     "got -5");

  auto missing = loadConfigFile((dir / "nope.toml").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope.toml"), std::string::npos);
  EXPECT_NE(missing.error().message.find("No such file"), std::string::npos);

  auto directory = loadConfigFile(dir.string());
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.error().message.find("directory"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bw
