// renderMetrics() read back by a strict parser of the text exposition format 0.0.4: every
// sample belongs to a family declared once with HELP and TYPE, families are contiguous, label
// values are escaped, histogram buckets are cumulative and end at +Inf == _count, counters
// carry the snapshot's values. statusToJson()/topToJson() field names and order. promtool,
// when installed, checks the same output.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/api_server.h"

namespace bw {
namespace {

using nlohmann::json;
using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  std::string family;
  Labels labels;
  std::string value_text;
  double value = 0;
};

struct Family {
  std::string type;
  bool has_help = false;
  std::size_t samples = 0;
};

struct Parsed {
  std::map<std::string, Family> families;
  std::vector<std::string> family_order;
  std::vector<Sample> samples;
  std::vector<std::string> errors;

  std::optional<double> value(const std::string& name, const Labels& labels = {}) const {
    for (const Sample& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nullopt;
  }
  const Sample* find(const std::string& name, const Labels& labels = {}) const {
    for (const Sample& s : samples) {
      if (s.name == name && s.labels == labels) return &s;
    }
    return nullptr;
  }
};

bool validMetricName(const std::string& n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool validLabelName(const std::string& n) {
  return validMetricName(n) && n.find(':') == std::string::npos && n.rfind("__", 0) != 0;
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool parseValue(const std::string& text, double* out) {
  if (text == "+Inf") {
    *out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "-Inf") {
    *out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "NaN") {
    *out = std::nan("");
    return true;
  }
  if (text.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// Parses `text` and records every rule it breaks.
Parsed parseExposition(const std::string& text) {
  Parsed p;
  auto error = [&](std::size_t line_no, const std::string& what, const std::string& line) {
    p.errors.push_back("line " + std::to_string(line_no) + ": " + what + ": " + line);
  };
  if (!text.empty() && text.back() != '\n') p.errors.push_back("output does not end in a newline");

  std::string current;  // the family whose samples may follow
  std::set<std::string> series;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.empty()) {
      error(line_no, "empty line", line);
      continue;
    }
    if (line[0] == '#') {
      const bool help = line.rfind("# HELP ", 0) == 0;
      const bool type = line.rfind("# TYPE ", 0) == 0;
      if (!help && !type) {
        error(line_no, "unexpected comment", line);
        continue;
      }
      const std::string rest = line.substr(7);
      const std::size_t sp = rest.find(' ');
      const std::string name = rest.substr(0, sp);
      const std::string arg = sp == std::string::npos ? "" : rest.substr(sp + 1);
      if (!validMetricName(name)) error(line_no, "bad metric name", line);
      Family& f = p.families[name];
      if (f.samples > 0) error(line_no, "HELP/TYPE after the family's samples", line);
      if (help) {
        if (f.has_help) error(line_no, "second HELP", line);
        if (arg.empty()) error(line_no, "empty HELP", line);
        f.has_help = true;
      } else {
        if (!f.type.empty()) error(line_no, "second TYPE", line);
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (!kTypes.count(arg)) error(line_no, "unknown type", line);
        f.type = arg;
        p.family_order.push_back(name);
      }
      current = name;
      continue;
    }

    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!validMetricName(s.name)) error(line_no, "bad metric name", line);
    bool ok = true;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (ok && i < line.size() && line[i] != '}') {
        const std::size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          ok = false;
          break;
        }
        const std::string label = line.substr(i, eq - i);
        if (!validLabelName(label)) error(line_no, "bad label name", line);
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            if (j + 1 >= line.size()) {
              ok = false;
              break;
            }
            const char e = line[++j];
            if (e == '\\') {
              value += '\\';
            } else if (e == '"') {
              value += '"';
            } else if (e == 'n') {
              value += '\n';
            } else {
              error(line_no, "bad escape in label value", line);
            }
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) {
          ok = false;
          break;
        }
        if (s.labels.count(label)) error(line_no, "repeated label", line);
        s.labels[label] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size() || line[i] != '}') ok = false;
      ++i;
    }
    if (!ok || i >= line.size() || line[i] != ' ') {
      error(line_no, "malformed sample", line);
      continue;
    }
    s.value_text = line.substr(i + 1);
    if (!parseValue(s.value_text, &s.value)) error(line_no, "bad value", line);

    // Which family: the name itself, or a histogram's _bucket/_sum/_count.
    if (p.families.count(s.name) && !p.families[s.name].type.empty()) {
      s.family = s.name;
    } else {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (!endsWith(s.name, suffix)) continue;
        const std::string base = s.name.substr(0, s.name.size() - std::string(suffix).size());
        auto it = p.families.find(base);
        if (it != p.families.end() && it->second.type == "histogram") s.family = base;
      }
    }
    if (s.family.empty()) {
      error(line_no, "sample of no family declared with TYPE", line);
      continue;
    }
    if (s.family != current) error(line_no, "sample away from its family", line);
    if (s.name == s.family + "_bucket" && !s.labels.count("le")) {
      error(line_no, "bucket without le", line);
    }
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "\x1f" + k + "=" + v;
    if (!series.insert(key).second) error(line_no, "duplicate series", line);
    ++p.families[s.family].samples;
    p.samples.push_back(std::move(s));
  }
  for (const auto& [name, f] : p.families) {
    if (!f.has_help) p.errors.push_back(name + " has no HELP");
    if (f.type.empty()) p.errors.push_back(name + " has no TYPE");
  }
  return p;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

const char* const kEngineFields[] = {"packets",
                                     "bytes",
                                     "reflection_packets",
                                     "fragments_attributed",
                                     "fragments_unattributed",
                                     "late_packets",
                                     "stale_packets",
                                     "destination_evictions",
                                     "destination_table_full",
                                     "transit_packets",
                                     "tracker_overflows",
                                     "scanner_evictions"};

SensorSnapshot fullSnapshot() {
  SensorSnapshot s;
  s.now = 1700000100.5;
  s.started_at = 1700000000;
  s.config_loaded_at = 1700000050;
  s.config_reloads = 4;
  s.version = "breakwater 0.1.0";
  s.sources.push_back({"eth1", "interface", 1001, 2002, 3, 0, 0, 5, ""});
  s.sources.push_back({"sflow 0.0.0.0:6343", "sflow", 11, 22, 1, 330, 7, 2, "bind failed"});
  s.sources.push_back({"weird \"eth\\0\"\nname", "interface", 9, 8, 7, 0, 0, 6, ""});
  std::uint64_t v = 100;
  s.engine.packets = v++;
  s.engine.bytes = v++;
  s.engine.reflection_packets = v++;
  s.engine.fragments_attributed = v++;
  s.engine.fragments_unattributed = v++;
  s.engine.late_packets = v++;
  s.engine.stale_packets = v++;
  s.engine.destination_evictions = v++;
  s.engine.destination_table_full = v++;
  s.engine.transit_packets = v++;
  s.engine.tracker_overflows = v++;
  s.engine.scanner_evictions = v++;
  s.event_time_ns = 1700000099'250000000;
  s.packets = 1012;
  s.bytes = 2024;
  s.pps = 12.5;
  s.bps = 8000;
  s.vectors.push_back({"memcached", 500, 700000, 50, 5.6e6});
  s.vectors.push_back({"dns", 300, 90000, 3, 24000});
  s.vectors.push_back({"udp:\"500\"", 2, 200, 0, 0});
  s.top_destinations.push_back({"198.18.0.10", 50, 5.6e6});
  s.active_attacks = 2;
  s.attacks_started = 5;
  s.attacks_ended = 3;
  for (double d : {0.05, 0.15, 0.15, 0.9, 4.0, 12.0}) s.detection_latency.observe(d);
  s.actions.push_back({"events-file", 8, 0, 0, ""});
  s.actions.push_back({"mitigation:dry-run", 4, 2, 1, "backend said \"no\""});
  s.actions.push_back({"back\\slash", 1, 0, 0, ""});
  s.store_enabled = true;
  s.store_path = "/var/lib/breakwater/attacks.db";
  s.store_errors = 6;
  return s;
}

TEST(RenderMetrics, ExpositionIsWellFormed) {
  const std::string text = renderMetrics(fullSnapshot());
  const Parsed p = parseExposition(text);
  EXPECT_TRUE(p.errors.empty()) << joined(p.errors) << text;
  EXPECT_GT(p.samples.size(), 50u);
  for (const auto& [name, f] : p.families) {
    EXPECT_EQ(name.rfind("breakwater_", 0), 0u) << name;
    if (f.type == "counter") {
      EXPECT_TRUE(endsWith(name, "_total")) << name;
    } else {
      EXPECT_FALSE(endsWith(name, "_total")) << name;
    }
  }
  // The names api_server.h promises.
  for (const char* name : {"breakwater_source_packets_total",
                           "breakwater_source_bytes_total",
                           "breakwater_source_drops_total",
                           "breakwater_source_lost_telemetry_total",
                           "breakwater_source_up",
                           "breakwater_packets_total",
                           "breakwater_bytes_total",
                           "breakwater_vector_packets_total",
                           "breakwater_vector_bytes_total",
                           "breakwater_vector_packets_per_second",
                           "breakwater_vector_bits_per_second",
                           "breakwater_attacks_active",
                           "breakwater_attacks_started_total",
                           "breakwater_attacks_ended_total",
                           "breakwater_detection_latency_seconds",
                           "breakwater_engine_late_packets_total",
                           "breakwater_action_ok_total",
                           "breakwater_action_failed_total",
                           "breakwater_action_dropped_total",
                           "breakwater_store_errors_total",
                           "breakwater_config_reloads_total",
                           "breakwater_start_time_seconds"}) {
    EXPECT_TRUE(p.families.count(name)) << name;
  }
  EXPECT_EQ(p.families.at("breakwater_detection_latency_seconds").type, "histogram");
  EXPECT_EQ(p.families.at("breakwater_source_up").type, "gauge");
}

TEST(RenderMetrics, EmptySnapshotIsWellFormed) {
  const std::string text = renderMetrics(SensorSnapshot{});
  const Parsed p = parseExposition(text);
  EXPECT_TRUE(p.errors.empty()) << joined(p.errors) << text;
  // Families without series are still declared, so dashboards find them.
  EXPECT_TRUE(p.families.count("breakwater_source_packets_total"));
  EXPECT_EQ(p.value("breakwater_detection_latency_seconds_bucket", {{"le", "+Inf"}}), 0.0);
}

TEST(RenderMetrics, EveryEngineFieldIsACounter) {
  const SensorSnapshot s = fullSnapshot();
  const Parsed p = parseExposition(renderMetrics(s));
  double expected = 100;
  for (const char* field : kEngineFields) {
    const std::string name = std::string("breakwater_engine_") + field + "_total";
    ASSERT_TRUE(p.families.count(name)) << name;
    EXPECT_EQ(p.families.at(name).type, "counter") << name;
    EXPECT_EQ(p.value(name), expected) << name;
    ++expected;
  }
  EXPECT_EQ(p.value("breakwater_engine_event_time_seconds"), 1700000099.25);
}

TEST(RenderMetrics, LabelValuesAreEscaped) {
  const std::string text = renderMetrics(fullSnapshot());
  EXPECT_NE(text.find("breakwater_source_packets_total{source=\"weird \\\"eth\\\\0\\\"\\nname\","
                      "kind=\"interface\"} 9\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("breakwater_vector_packets_total{vector=\"udp:\\\"500\\\"\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("breakwater_action_ok_total{action=\"back\\\\slash\"} 1\n"),
            std::string::npos);
  const Parsed p = parseExposition(text);
  ASSERT_TRUE(p.errors.empty()) << joined(p.errors);
  EXPECT_EQ(p.value("breakwater_source_drops_total",
                    {{"source", "weird \"eth\\0\"\nname"}, {"kind", "interface"}}),
            7.0);
  EXPECT_EQ(p.value("breakwater_source_up",
                    {{"source", "weird \"eth\\0\"\nname"}, {"kind", "interface"}}),
            1.0);
}

TEST(RenderMetrics, InvalidUtf8InLabelsIsReplaced) {
  SensorSnapshot s;
  s.sources.push_back({"eth\xff\xfe", "interface", 1, 1, 0, 0, 0, 0, ""});
  const std::string text = renderMetrics(s);
  EXPECT_EQ(text.find('\xff'), std::string::npos);
  EXPECT_NE(text.find("source=\"eth\xEF\xBF\xBD"), std::string::npos) << text;
  EXPECT_TRUE(parseExposition(text).errors.empty());
}

TEST(RenderMetrics, HistogramIsCumulativeAndEndsAtCount) {
  const SensorSnapshot s = fullSnapshot();
  const Parsed p = parseExposition(renderMetrics(s));
  ASSERT_TRUE(p.errors.empty()) << joined(p.errors);
  std::vector<std::pair<double, double>> buckets;  // (le, count) in output order
  for (const Sample& sample : p.samples) {
    if (sample.name != "breakwater_detection_latency_seconds_bucket") continue;
    double le = 0;
    ASSERT_TRUE(parseValue(sample.labels.at("le"), &le)) << sample.labels.at("le");
    buckets.emplace_back(le, sample.value);
  }
  ASSERT_EQ(buckets.size(), s.detection_latency.bounds.size() + 1);
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    EXPECT_LT(buckets[i - 1].first, buckets[i].first) << i;
    EXPECT_LE(buckets[i - 1].second, buckets[i].second) << i;
  }
  EXPECT_TRUE(std::isinf(buckets.back().first));
  const auto count = p.value("breakwater_detection_latency_seconds_count");
  ASSERT_TRUE(count);
  EXPECT_EQ(buckets.back().second, *count);
  EXPECT_EQ(*count, 6.0);
  EXPECT_DOUBLE_EQ(*p.value("breakwater_detection_latency_seconds_sum"), 17.25);
  // Observations 0.05, 0.15, 0.15, 0.9, 4, 12 against the bounds.
  const std::map<std::string, double> expected = {{"0.1", 1},  {"0.2", 3}, {"0.3", 3}, {"0.5", 3},
                                                  {"0.75", 3}, {"1", 4},   {"1.5", 4}, {"2", 4},
                                                  {"3", 4},    {"5", 5},   {"10", 5},  {"+Inf", 6}};
  for (const auto& [le, n] : expected) {
    EXPECT_EQ(p.value("breakwater_detection_latency_seconds_bucket", {{"le", le}}), n) << le;
  }
}

TEST(RenderMetrics, CountersAndGaugesCarryTheSnapshot) {
  const SensorSnapshot s = fullSnapshot();
  const Parsed p = parseExposition(renderMetrics(s));
  ASSERT_TRUE(p.errors.empty()) << joined(p.errors);
  for (const SourceSnapshot& src : s.sources) {
    const Labels l = {{"source", src.name}, {"kind", src.kind}};
    EXPECT_EQ(p.value("breakwater_source_packets_total", l), static_cast<double>(src.packets));
    EXPECT_EQ(p.value("breakwater_source_bytes_total", l), static_cast<double>(src.bytes));
    EXPECT_EQ(p.value("breakwater_source_drops_total", l), static_cast<double>(src.drops));
    EXPECT_EQ(p.value("breakwater_source_records_total", l), static_cast<double>(src.records));
    EXPECT_EQ(p.value("breakwater_source_lost_telemetry_total", l),
              static_cast<double>(src.lost_telemetry));
    EXPECT_EQ(p.value("breakwater_source_rejected_total", l), static_cast<double>(src.rejected));
    EXPECT_EQ(p.value("breakwater_source_up", l), src.fault.empty() ? 1.0 : 0.0);
  }
  for (const VectorSnapshot& v : s.vectors) {
    const Labels l = {{"vector", v.vector}};
    EXPECT_EQ(p.value("breakwater_vector_packets_total", l), static_cast<double>(v.packets));
    EXPECT_EQ(p.value("breakwater_vector_bytes_total", l), static_cast<double>(v.bytes));
    EXPECT_EQ(p.value("breakwater_vector_packets_per_second", l), v.pps);
    EXPECT_EQ(p.value("breakwater_vector_bits_per_second", l), v.bps);
  }
  for (const ActionSnapshot& a : s.actions) {
    const Labels l = {{"action", a.name}};
    EXPECT_EQ(p.value("breakwater_action_ok_total", l), static_cast<double>(a.ok));
    EXPECT_EQ(p.value("breakwater_action_failed_total", l), static_cast<double>(a.failed));
    EXPECT_EQ(p.value("breakwater_action_dropped_total", l), static_cast<double>(a.dropped));
  }
  EXPECT_EQ(p.value("breakwater_packets_total"), 1012.0);
  EXPECT_EQ(p.value("breakwater_bytes_total"), 2024.0);
  EXPECT_EQ(p.value("breakwater_packets_per_second"), 12.5);
  EXPECT_EQ(p.value("breakwater_bits_per_second"), 8000.0);
  EXPECT_EQ(p.value("breakwater_attacks_active"), 2.0);
  EXPECT_EQ(p.value("breakwater_attacks_started_total"), 5.0);
  EXPECT_EQ(p.value("breakwater_attacks_ended_total"), 3.0);
  EXPECT_EQ(p.value("breakwater_store_errors_total"), 6.0);
  EXPECT_EQ(p.value("breakwater_store_enabled"), 1.0);
  EXPECT_EQ(p.value("breakwater_store_up"), 1.0);
  EXPECT_EQ(p.value("breakwater_config_reloads_total"), 4.0);
  EXPECT_EQ(p.value("breakwater_config_loaded_time_seconds"), 1700000050.0);
  EXPECT_EQ(p.value("breakwater_start_time_seconds"), 1700000000.0);
  EXPECT_EQ(p.value("breakwater_build_info", {{"version", "breakwater 0.1.0"}}), 1.0);
}

TEST(RenderMetrics, LargeAndOddValues) {
  SensorSnapshot s;
  s.packets = UINT64_MAX;
  s.pps = std::nan("");
  s.bps = std::numeric_limits<double>::infinity();
  s.store_fault = "disk full";
  s.started_at = 1700000000;
  s.config_loaded_at = 1700000050.25;
  const std::string text = renderMetrics(s);
  EXPECT_NE(text.find("\nbreakwater_start_time_seconds 1700000000\n"), std::string::npos);
  EXPECT_NE(text.find("\nbreakwater_config_loaded_time_seconds 1700000050.25\n"),
            std::string::npos);
  EXPECT_NE(text.find("\nbreakwater_packets_total 18446744073709551615\n"), std::string::npos);
  // A rate that is not a number is reported as 0, not as NaN that breaks rate alerts.
  EXPECT_NE(text.find("\nbreakwater_packets_per_second 0\n"), std::string::npos);
  EXPECT_NE(text.find("\nbreakwater_bits_per_second 0\n"), std::string::npos);
  EXPECT_NE(text.find("\nbreakwater_store_up 0\n"), std::string::npos);
  EXPECT_TRUE(parseExposition(text).errors.empty());
}

std::string findInPath(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string candidate = dirs.substr(start, end - start) + "/" + tool;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

TEST(RenderMetrics, PromtoolAcceptsIt) {
  const std::string promtool = findInPath("promtool");
  if (promtool.empty()) GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  const auto file = std::filesystem::temp_directory_path() /
                    ("bw-metrics-" + std::to_string(::getpid()) + ".prom");
  {
    std::ofstream out(file);
    out << renderMetrics(fullSnapshot());
  }
  const std::string cmd = promtool + " check metrics < " + file.string() + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) output += buf;
  const int status = ::pclose(pipe);
  std::filesystem::remove(file);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  // Exit 1 is a parse error. Exit 3 is lint only: the one lint allowed is promtool's
  // preference for bytes over bits, since the rates are named in bits per second on purpose
  // (api_server.h), as operators read link rates.
  const int code = WEXITSTATUS(status);
  if (code == 3) {
    std::size_t pos = 0;
    while (pos < output.size()) {
      std::size_t nl = output.find('\n', pos);
      if (nl == std::string::npos) nl = output.size();
      const std::string line = output.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.empty()) continue;
      EXPECT_NE(line.find("_bits_per_second use base unit \"bytes\" instead of \"bits\""),
                std::string::npos)
          << line;
    }
  } else {
    EXPECT_EQ(code, 0) << output;
  }
}

TEST(StatusJson, NamesEveryField) {
  const SensorSnapshot s = fullSnapshot();
  const json j = statusToJson(s);
  for (const char* key :
       {"version", "now", "started_at", "uptime_seconds", "config", "sources", "traffic", "engine",
        "vectors", "top_destinations", "attacks", "actions", "store"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(j["uptime_seconds"].get<double>(), 100.5);
  EXPECT_TRUE(j["config"]["path"].is_null());
  EXPECT_EQ(j["config"]["reloads"], 4);
  for (const char* field : kEngineFields) EXPECT_TRUE(j["engine"].contains(field)) << field;
  EXPECT_EQ(j["engine"]["scanner_evictions"], 111);
  EXPECT_DOUBLE_EQ(j["engine"]["event_time"].get<double>(), 1700000099.25);
  ASSERT_EQ(j["sources"].size(), 3u);
  EXPECT_EQ(j["sources"][1], (json{{"name", "sflow 0.0.0.0:6343"},
                                   {"kind", "sflow"},
                                   {"up", false},
                                   {"packets", 11},
                                   {"bytes", 22},
                                   {"drops", 1},
                                   {"records", 330},
                                   {"lost_telemetry", 7},
                                   {"rejected", 2},
                                   {"fault", "bind failed"}}));
  EXPECT_EQ(j["traffic"],
            (json{{"packets", 1012}, {"bytes", 2024}, {"pps", 12.5}, {"bps", 8000.0}}));
  EXPECT_EQ(j["vectors"][0]["vector"], "memcached");
  EXPECT_EQ(j["top_destinations"][0]["ip"], "198.18.0.10");
  EXPECT_EQ(j["attacks"]["active"], 2);
  EXPECT_EQ(j["attacks"]["ended"], 3);
  EXPECT_EQ(j["attacks"]["detection_latency"]["counts"], (json{1, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5}));
  EXPECT_EQ(j["attacks"]["detection_latency"]["bounds"].size(), 11u);
  EXPECT_EQ(j["actions"][1], (json{{"name", "mitigation:dry-run"},
                                   {"ok", 4},
                                   {"failed", 2},
                                   {"dropped", 1},
                                   {"last_error", "backend said \"no\""}}));
  EXPECT_TRUE(j["actions"][0]["last_error"].is_null());
  EXPECT_EQ(j["store"], (json{{"enabled", true},
                              {"path", "/var/lib/breakwater/attacks.db"},
                              {"errors", 6},
                              {"fault", nullptr}}));
  // Serializable even with hostile text in it.
  SensorSnapshot bad = s;
  bad.sources[0].fault = "bad \xff byte";
  EXPECT_NO_THROW(statusToJson(bad).dump());
}

TEST(TopJson, SortsDescendingAndTruncates) {
  SensorSnapshot s;
  s.now = 5;
  s.top_destinations = {{"a", 1, 10}, {"b", 5, 50}, {"c", 9, 30}, {"d", 2, 50}};
  s.vectors = {{"dns", 100, 1000, 1, 8}, {"ntp", 1, 10, 4, 800}, {"ssdp", 7, 70, 2, 16}};
  json j = topToJson(s, 10);
  EXPECT_EQ(j["at"], 5.0);
  ASSERT_EQ(j["destinations"].size(), 4u);
  EXPECT_EQ(j["destinations"][0]["ip"], "b");  // 50 bps, more pps than d
  EXPECT_EQ(j["destinations"][1]["ip"], "d");
  EXPECT_EQ(j["destinations"][2]["ip"], "c");
  EXPECT_EQ(j["destinations"][3]["ip"], "a");
  ASSERT_EQ(j["vectors"].size(), 3u);
  EXPECT_EQ(j["vectors"][0],
            (json{{"vector", "ntp"}, {"pps", 4.0}, {"bps", 800.0}, {"packets", 1}, {"bytes", 10}}));
  EXPECT_EQ(j["vectors"][1]["vector"], "ssdp");
  EXPECT_EQ(j["vectors"][2]["vector"], "dns");
  j = topToJson(s, 2);
  EXPECT_EQ(j["destinations"].size(), 2u);
  EXPECT_EQ(j["vectors"].size(), 2u);
}

}  // namespace
}  // namespace bw
