#include "config/config_file.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "config/schema.h"
#include "config/toml_reader.h"

namespace bw {

namespace {

using namespace config_internal;

constexpr std::size_t kMaxConfigBytes = 1 << 20;

class Loader {
 public:
  Loader(std::string_view name, std::string base_dir) : r_(name, std::move(base_dir)) {}

  ConfigCheck load(const toml::table& root) {
    checkTopLevel(root);
    if (const toml::table* t = tableAt(root, "detection")) loadDetection(*t);
    if (const toml::table* t = tableAt(root, "scanners")) loadScanners(*t);
    if (const toml::table* t = tableAt(root, "limits")) loadLimits(*t);
    if (const toml::table* t = tableAt(root, "enrich")) loadEnrich(*t);
    if (const toml::table* t = tableAt(root, "sensor")) loadSensor(r_, *t, &out_.sensor);
    if (const toml::table* t = tableAt(root, "api")) loadApi(r_, *t, &out_.api);
    if (const toml::table* t = tableAt(root, "store")) loadStore(r_, *t, &out_.store);
    if (const toml::table* t = tableAt(root, "events")) loadEvents(r_, *t, &out_.events);
    if (const toml::table* t = tableAt(root, "mitigation")) {
      loadMitigation(r_, *t, &out_.mitigation);
    }
    ConfigCheck check;
    check.errors = r_.takeErrors();
    check.positions = r_.takePositions();
    if (check.errors.empty()) check.config = std::move(out_);
    return check;
  }

 private:
  void checkTopLevel(const toml::table& root) {
    std::vector<std::string_view> tables;
    for (const TableKeys& t : kTables) tables.push_back(t.table);
    for (std::string_view r : kReservedTables) tables.push_back(r);
    for (auto&& [key, node] : root) {
      const std::string_view k = key.str();
      const std::string shown = keyText(k);
      const bool reserved =
          std::find(kReservedTables.begin(), kReservedTables.end(), k) != kReservedTables.end();
      if (reserved) continue;  // another component's section
      const bool known = std::any_of(kTables.begin(), kTables.end(),
                                     [&](const TableKeys& t) { return t.table == k; });
      if (known) {
        if (!node.is_table()) {
          r_.fail(key.source(), std::string(k) + " must be a table ([" + std::string(k) +
                                    "]), got " + show(node));
        }
        continue;
      }
      // A setting written above its table header, e.g. threshold_pps before [detection].
      std::vector<std::string_view> homes;
      for (const TableKeys& t : kTables) {
        if (contains(t.keys, k)) homes.push_back(t.table);
      }
      if (!homes.empty()) {
        std::string keys_text, tables_text;
        for (std::size_t i = 0; i < homes.size(); ++i) {
          const char* sep = i == 0 ? "" : (i + 1 == homes.size() ? " or " : ", ");
          keys_text += sep + std::string(homes[i]) + "." + shown;
          tables_text += sep + ("[" + std::string(homes[i]) + "]");
        }
        r_.fail(key.source(), "unknown key " + shown + " at the top level (did you mean " +
                                  keys_text + ", under " + tables_text + "?)");
        continue;
      }
      std::string_view best;
      std::size_t best_d = 3;
      for (std::string_view t : tables) {
        const std::size_t d = editDistance(k, t);
        if (d < best_d) {
          best_d = d;
          best = t;
        }
      }
      if (!best.empty()) {
        r_.fail(key.source(), "unknown table or key " + shown +
                                  " at the top level (did you mean [" + std::string(best) + "]?)");
      } else {
        r_.fail(key.source(), "unknown table or key " + shown +
                                  " at the top level; valid tables are " + joined(tables));
      }
    }
  }

  static const toml::table* tableAt(const toml::table& root, std::string_view key) {
    const toml::node* n = root.get(key);
    return n != nullptr ? n->as_table() : nullptr;
  }

  void loadDetection(const toml::table& t) {
    const std::string path = "detection";
    r_.checkKeys(t, path, kDetectionKeys, kTables);
    DetectionConfig& d = out_.detection;
    double v = 0;
    constexpr double kHuge = 1e15;
    if (r_.number(t, path, "threshold_pps", kHuge, "a positive number", &v)) d.thresholds.pps = v;
    if (r_.number(t, path, "threshold_mbps", kHuge, "a positive number", &v)) {
      d.thresholds.bps = v * 1e6;
    }
    if (r_.number(t, path, "end_quiet_s", 86400, "a number of seconds in (0, 86400]", &v)) {
      d.end_quiet_ns = std::max<std::int64_t>(1, std::llround(v * 1e9));
    }
    if (r_.number(t, path, "end_ratio", 1, "a number in (0, 1]", &v)) d.end_ratio = v;
    if (r_.number(t, path, "solicited_ratio", 1, "a number in (0, 1]", &v)) d.solicited_ratio = v;
    if (r_.number(t, path, "solicited_max_amplification", 1e6, "a positive factor up to 1000000",
                  &v)) {
      d.solicited_max_amplification = v;
    }
    r_.integer(t, path, "generic_min_sources", 1, 65536, &d.generic_min_sources);
    r_.integer(t, path, "top_reflectors", 0, 1000, &d.top_reflectors);
    loadWindow(t);
    r_.prefixList(t, path, "networks", &d.networks);
    r_.prefixList(t, path, "ignore", &d.ignore);
    loadOverrides(t);
  }

  // window_s and bucket_ms together: the window is a whole number of buckets, at most
  // kMaxWindowBuckets of them. Checked only when both (or the one written) are valid.
  void loadWindow(const toml::table& t) {
    DetectionConfig& d = out_.detection;
    const std::size_t errors = r_.errorCount();
    std::int64_t bucket_ms = d.bucket_ns / 1'000'000;
    const bool have_bucket = r_.integer(t, "detection", "bucket_ms", 1, 10'000, &bucket_ms);
    double window_s = static_cast<double>(d.bucket_ns * d.window_buckets) / 1e9;
    const bool have_window =
        r_.number(t, "detection", "window_s", 60, "a number of seconds in (0, 60]", &window_s);
    if (r_.errorCount() != errors) return;
    const double buckets = window_s * 1000.0 / static_cast<double>(bucket_ms);
    const double whole = std::round(buckets);
    const bool multiple = whole >= 1 && std::fabs(buckets - whole) < 1e-6;
    const bool fits = whole <= kMaxWindowBuckets;
    if (!multiple || !fits) {
      const std::string bucket_text = std::to_string(bucket_ms) + " ms";
      const std::string reason =
          !multiple ? "a whole multiple of detection.bucket_ms (" + bucket_text + ")"
                    : "at most " + std::to_string(kMaxWindowBuckets) +
                          " buckets of detection.bucket_ms (" +
                          trimNumber(kMaxWindowBuckets * static_cast<double>(bucket_ms) / 1000) +
                          " s with " + bucket_text + " buckets)";
      if (have_window) {
        const toml::node* n = t.get("window_s");
        r_.fail(n->source(), "detection.window_s must be " + reason + ", got " + show(*n));
      } else if (have_bucket) {
        const toml::node* n = t.get("bucket_ms");
        r_.fail(n->source(), "detection.bucket_ms must divide the detection.window_s of " +
                                 trimNumber(window_s) + " s into at most " +
                                 std::to_string(kMaxWindowBuckets) + " whole buckets, got " +
                                 show(*n));
      }
      return;
    }
    d.bucket_ns = bucket_ms * 1'000'000;
    d.window_buckets = static_cast<int>(whole);
  }

  void loadOverrides(const toml::table& t) {
    const toml::node* n = t.get("override");
    if (n == nullptr) return;
    const toml::array* arr = n->as_array();
    if (arr == nullptr || (!arr->empty() && !arr->is_array_of_tables())) {
      r_.fail(n->source(),
              "detection.override must be written as [[detection.override]] tables "
              "with prefix, threshold_pps and/or threshold_mbps, got " +
                  show(*n));
      return;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const toml::table& o = *arr->get(i)->as_table();
      const std::string path = "detection.override[" + std::to_string(i) + "]";
      const std::size_t errors = r_.errorCount();
      r_.checkKeys(o, path, kOverrideKeys);
      PrefixThresholds pt;
      const toml::node* p = o.get("prefix");
      if (p == nullptr) {
        r_.fail(o.source(), path + " needs a prefix, e.g. prefix = \"198.18.0.53/32\"");
      } else {
        const auto* ps = p->as_string();
        auto parsed = ps != nullptr ? Prefix::parse(ps->get()) : Result<Prefix>(Error{});
        if (!parsed) {
          r_.fail(p->source(), path + ".prefix must be an IPv4 or IPv6 prefix such as " +
                                   "\"198.18.0.53/32\", got " + show(*p));
          p = nullptr;
        } else {
          pt.prefix = *parsed;
          for (const PrefixThresholds& earlier : out_.detection.overrides) {
            if (earlier.prefix == pt.prefix) {
              r_.fail(p->source(), path + ".prefix repeats an earlier override for " +
                                       pt.prefix.toString() + "; each prefix may appear once");
              p = nullptr;
              break;
            }
          }
        }
      }
      // Unset thresholds inherit the global ones (applied after [detection] is read).
      pt.thresholds.pps = -1;
      pt.thresholds.bps = -1;
      double v = 0;
      const bool pps = r_.number(o, path, "threshold_pps", 1e15, "a positive number", &v);
      if (pps) pt.thresholds.pps = v;
      const bool mbps = r_.number(o, path, "threshold_mbps", 1e15, "a positive number", &v);
      if (mbps) pt.thresholds.bps = v * 1e6;
      if (p == nullptr || r_.errorCount() != errors) continue;
      if (!pps && !mbps) {
        r_.fail(o.source(), path + " for " + pt.prefix.toString() +
                                " needs threshold_pps and/or threshold_mbps");
        continue;
      }
      out_.detection.overrides.push_back(pt);
    }
    for (PrefixThresholds& pt : out_.detection.overrides) {
      if (pt.thresholds.pps < 0) pt.thresholds.pps = out_.detection.thresholds.pps;
      if (pt.thresholds.bps < 0) pt.thresholds.bps = out_.detection.thresholds.bps;
    }
  }

  void loadScanners(const toml::table& t) {
    const std::string path = "scanners";
    r_.checkKeys(t, path, kScannerKeys, kTables);
    DetectionConfig& d = out_.detection;
    r_.integer(t, path, "min_targets", 1, 1 << 20, &d.scanner_min_targets);
    double v = 0;
    if (r_.number(t, path, "window_s", 86400, "a number of seconds in (0, 86400]", &v)) {
      d.scanner_window_ns = std::max<std::int64_t>(1, std::llround(v * 1e9));
    }
    if (r_.number(t, path, "max_answered", 1, "a number in [0, 1]", &v, /*allow_zero=*/true)) {
      d.scanner_max_answered = v;
    }
  }

  void loadLimits(const toml::table& t) {
    const std::string path = "limits";
    r_.checkKeys(t, path, kLimitKeys, kTables);
    DetectionConfig& d = out_.detection;
    r_.integer(t, path, "max_destinations", 1024, 1 << 26, &d.max_destinations);
    r_.integer(t, path, "max_tracked", 1, 1 << 20, &d.max_tracked);
    r_.integer(t, path, "max_scanner_sources", 1024, 1 << 24, &d.max_scanner_sources);
    r_.integer(t, path, "exact_sources_per_attack", 16, 1 << 24, &d.exact_sources_per_attack);
    std::uint64_t budget_mb = 0;
    if (r_.integer(t, path, "exact_sources_budget_mb", 1, 65536, &budget_mb)) {
      d.exact_sources_budget_bytes = budget_mb << 20;
    }
  }

  void loadEnrich(const toml::table& t) {
    r_.checkKeys(t, "enrich", kEnrichKeys, kTables);
    std::string db;
    if (r_.string(
            t, "enrich", "asn_db",
            [](std::string_view s) { return !s.empty() && s.find('\0') == std::string_view::npos; },
            "the path of an MMDB or ip2asn TSV file", &db)) {
      out_.asn_db = r_.resolvePath(db);
    }
  }

  TomlReader r_;
  LoadedConfig out_;
};

ConfigProblem syntaxError(const toml::parse_error& e) {
  std::string what(e.description());
  while (!what.empty() && (what.back() == '.' || what.back() == '\n')) what.pop_back();
  if (!what.empty() && what[0] >= 'A' && what[0] <= 'Z') {
    what[0] = static_cast<char>(what[0] - 'A' + 'a');
  }
  const auto& b = e.source().begin;
  return ConfigProblem{static_cast<int>(b.line), static_cast<int>(b.column),
                       "invalid TOML: " + what};
}

ConfigCheck checkText(std::string_view text, std::string_view name, std::string base_dir) {
  const std::string source_name(name);
#if TOML_EXCEPTIONS
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    ConfigCheck check;
    check.errors.push_back(syntaxError(e));
    return check;
  }
#else
  toml::parse_result parsed = toml::parse(text, source_name);
  if (!parsed) {
    ConfigCheck check;
    check.errors.push_back(syntaxError(parsed.error()));
    return check;
  }
  const toml::table& root = parsed.table();
#endif
  return Loader(name, std::move(base_dir)).load(root);
}

Result<LoadedConfig> firstProblem(ConfigCheck check, std::string_view name) {
  if (check.config) return std::move(*check.config);
  return Error{describeProblem(name, check.errors.front())};
}

ConfigCheck unreadable(std::string what) {
  ConfigCheck check;
  check.unreadable = true;
  check.errors.push_back(ConfigProblem{0, 0, std::move(what)});
  return check;
}

}  // namespace

std::string describeProblem(std::string_view name, const ConfigProblem& problem) {
  std::string s(name);
  if (problem.line > 0) {
    s += ":" + std::to_string(problem.line) + ":" + std::to_string(problem.column);
  }
  return s + ": " + problem.what;
}

ConfigCheck checkConfigText(std::string_view text, std::string_view name) {
  return checkText(text, name, "");
}

Result<LoadedConfig> loadConfigText(std::string_view text, std::string_view name) {
  return firstProblem(checkConfigText(text, name), name);
}

ConfigCheck checkConfigFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return unreadable("cannot read config file " + path + ": it is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable("cannot read config file " + path + ": " + std::strerror(errno));
  std::string text;
  char buf[16384];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      return unreadable("config file " + path +
                        " is larger than 1 MiB; is it a configuration file?");
    }
  }
  if (in.bad()) return unreadable("cannot read config file " + path + ": read error");
  return checkText(text, path, std::filesystem::path(path).parent_path().string());
}

Result<LoadedConfig> loadConfigFile(const std::string& path) {
  ConfigCheck check = checkConfigFile(path);
  if (check.unreadable) return Error{check.errors.front().what};
  return firstProblem(std::move(check), path);
}

}  // namespace bw
