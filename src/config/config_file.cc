#include "config/config_file.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>

namespace bw {

namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;

using Keys = std::span<const std::string_view>;

constexpr std::string_view kTopTables[] = {"detection", "scanners", "limits", "enrich"};
constexpr std::string_view kDetectionKeys[] = {"threshold_pps",
                                               "threshold_mbps",
                                               "end_quiet_s",
                                               "end_ratio",
                                               "window_s",
                                               "bucket_ms",
                                               "solicited_ratio",
                                               "solicited_max_amplification",
                                               "generic_min_sources",
                                               "top_reflectors",
                                               "networks",
                                               "ignore",
                                               "override"};
constexpr std::string_view kOverrideKeys[] = {"prefix", "threshold_pps", "threshold_mbps"};
constexpr std::string_view kScannerKeys[] = {"min_targets", "window_s", "max_answered"};
constexpr std::string_view kLimitKeys[] = {"max_destinations", "max_tracked", "max_scanner_sources",
                                           "exact_sources_per_attack", "exact_sources_budget_mb"};
constexpr std::string_view kEnrichKeys[] = {"asn_db"};

bool contains(Keys keys, std::string_view k) {
  return std::find(keys.begin(), keys.end(), k) != keys.end();
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string joined(Keys keys) {
  std::string out;
  for (std::string_view k : keys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

// A TOML string for a message: double-quoted, control bytes escaped, at most 60 bytes shown,
// so a message stays on one line whatever the file holds.
std::string quotedText(std::string_view v) {
  std::string out = "\"";
  for (std::size_t i = 0; i < v.size() && i < 60; ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (v.size() > 60) out += "...";
  return out + "\"";
}

// A key as TOML would need it written: bare when it can be, quoted otherwise.
std::string keyText(std::string_view k) {
  const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  return bare ? std::string(k) : quotedText(k);
}

// How a value looks in a message: scalars as written in TOML, containers by kind.
std::string show(const toml::node& n) {
  if (n.is_table()) return "a table";
  if (n.is_array()) return "an array";
  if (const auto* str = n.as_string()) return quotedText(str->get());
  std::ostringstream os;
  n.visit([&](const auto& v) {
    if constexpr (toml::is_value<decltype(v)>) os << v;
  });
  std::string s = os.str();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::optional<double> numberOf(const toml::node& n) {
  if (const auto* i = n.as_integer()) return static_cast<double>(i->get());
  if (const auto* f = n.as_floating_point()) return f->get();
  return std::nullopt;
}

std::string trimNumber(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

class Loader {
 public:
  explicit Loader(std::string_view name) : name_(name) {}

  Result<LoadedConfig> load(const toml::table& root) {
    checkTopLevel(root);
    if (const toml::table* t = tableAt(root, "detection")) loadDetection(*t);
    if (const toml::table* t = tableAt(root, "scanners")) loadScanners(*t);
    if (const toml::table* t = tableAt(root, "limits")) loadLimits(*t);
    if (const toml::table* t = tableAt(root, "enrich")) loadEnrich(*t);
    if (error_) return *error_;
    return std::move(out_);
  }

 private:
  std::string at(const toml::source_region& r) const {
    std::string s(name_);
    if (r.begin.line > 0) {
      s += ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
    }
    return s;
  }
  void fail(const toml::source_region& r, const std::string& message) {
    if (!error_) error_ = Error{at(r) + ": " + message};
  }
  bool failed() const { return error_.has_value(); }

  void checkKeys(const toml::table& t, const std::string& path, Keys keys) {
    for (auto&& [key, node] : t) {
      if (failed()) return;
      if (contains(keys, key.str())) continue;
      std::string best;
      std::size_t best_d = 3;
      for (std::string_view k : keys) {
        std::size_t d = editDistance(key.str(), k);
        // A truncated key ("asn" for "asn_db") is as likely a slip as a typo.
        if (key.str().size() >= 3 && k.substr(0, key.str().size()) == key.str()) d = 1;
        if (d < best_d) {
          best_d = d;
          best = k;
        }
      }
      std::string full = path.empty() ? keyText(key.str()) : path + "." + keyText(key.str());
      if (!best.empty()) {
        fail(key.source(), "unknown key " + full + " (did you mean " +
                               (path.empty() ? best : path + "." + best) + "?)");
      } else {
        fail(key.source(), "unknown key " + full + "; valid keys " +
                               (path.empty() ? "at the top level" : "in [" + path + "]") + " are " +
                               joined(keys));
      }
    }
  }

  void checkTopLevel(const toml::table& root) {
    for (auto&& [key, node] : root) {
      if (failed()) return;
      const std::string_view k = key.str();
      const std::string shown = keyText(k);
      const bool reserved =
          std::find(kReservedTables.begin(), kReservedTables.end(), k) != kReservedTables.end();
      if (reserved) continue;  // another component's section
      if (contains(kTopTables, k)) {
        if (!node.is_table()) {
          fail(key.source(),
               std::string(k) + " must be a table ([" + std::string(k) + "]), got " + show(node));
        }
        continue;
      }
      // A setting written above its table header, e.g. threshold_pps before [detection].
      std::string home;
      const std::pair<const char*, Keys> homes[] = {{"detection", kDetectionKeys},
                                                    {"scanners", kScannerKeys},
                                                    {"limits", kLimitKeys},
                                                    {"enrich", kEnrichKeys}};
      for (const auto& [table, keys] : homes) {
        if (home.empty() && contains(keys, k)) home = table;
      }
      if (!home.empty()) {
        fail(key.source(), "unknown key " + shown + " at the top level (did you mean " + home +
                               "." + shown + ", under [" + home + "]?)");
      } else {
        std::string valid = joined(kTopTables);
        for (std::string_view r : kReservedTables) valid += ", " + std::string(r);
        fail(key.source(),
             "unknown table or key " + shown + " at the top level; valid tables are " + valid);
      }
    }
  }

  const toml::table* tableAt(const toml::table& root, std::string_view key) const {
    if (failed()) return nullptr;
    const toml::node* n = root.get(key);
    return n != nullptr ? n->as_table() : nullptr;
  }

  // Reads a number in (0, max] (or [0, max] when `allow_zero`); false when absent or bad.
  bool number(const toml::table& t, const std::string& path, std::string_view key, double max,
              const char* rule, double* out, bool allow_zero = false) {
    const toml::node* n = t.get(key);
    if (n == nullptr || failed()) return false;
    std::optional<double> v = numberOf(*n);
    if (!v || !std::isfinite(*v) || *v > max || *v < 0 || (*v == 0 && !allow_zero)) {
      fail(n->source(), path + "." + std::string(key) + " must be " + rule + ", got " + show(*n));
      return false;
    }
    *out = *v;
    return true;
  }

  template <typename T>
  bool integer(const toml::table& t, const std::string& path, std::string_view key, std::int64_t lo,
               std::int64_t hi, T* out) {
    const toml::node* n = t.get(key);
    if (n == nullptr || failed()) return false;
    const auto* v = n->as_integer();
    if (v == nullptr || v->get() < lo || v->get() > hi) {
      fail(n->source(), path + "." + std::string(key) + " must be an integer from " +
                            std::to_string(lo) + " to " + std::to_string(hi) + ", got " + show(*n));
      return false;
    }
    *out = static_cast<T>(v->get());
    return true;
  }

  void prefixList(const toml::table& t, std::string_view key, std::vector<Prefix>* out) {
    const toml::node* n = t.get(key);
    if (n == nullptr || failed()) return;
    const std::string path = "detection." + std::string(key);
    const toml::array* arr = n->as_array();
    if (arr == nullptr) {
      fail(n->source(),
           path + " must be an array of prefixes such as [\"198.18.0.0/15\"], got " + show(*n));
      return;
    }
    out->clear();
    for (std::size_t i = 0; i < arr->size() && !failed(); ++i) {
      const toml::node& item = *arr->get(i);
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      const auto* s = item.as_string();
      if (s == nullptr) {
        fail(item.source(),
             item_path + " must be a prefix string such as \"198.18.0.0/15\", got " + show(item));
        return;
      }
      auto p = Prefix::parse(s->get());
      if (!p) {
        fail(item.source(), item_path + " must be an IPv4 or IPv6 prefix such as " +
                                "\"198.18.0.0/15\" or \"2001:db8::/32\", got " + show(item));
        return;
      }
      out->push_back(*p);
    }
  }

  void loadDetection(const toml::table& t) {
    const std::string path = "detection";
    checkKeys(t, path, kDetectionKeys);
    DetectionConfig& d = out_.detection;
    double v = 0;
    constexpr double kHuge = 1e15;
    if (number(t, path, "threshold_pps", kHuge, "a positive number", &v)) d.thresholds.pps = v;
    if (number(t, path, "threshold_mbps", kHuge, "a positive number", &v)) {
      d.thresholds.bps = v * 1e6;
    }
    if (number(t, path, "end_quiet_s", 86400, "a number of seconds in (0, 86400]", &v)) {
      d.end_quiet_ns = std::max<std::int64_t>(1, std::llround(v * 1e9));
    }
    if (number(t, path, "end_ratio", 1, "a number in (0, 1]", &v)) d.end_ratio = v;
    if (number(t, path, "solicited_ratio", 1, "a number in (0, 1]", &v)) d.solicited_ratio = v;
    if (number(t, path, "solicited_max_amplification", 1e6, "a positive factor up to 1000000",
               &v)) {
      d.solicited_max_amplification = v;
    }
    integer(t, path, "generic_min_sources", 1, 65536, &d.generic_min_sources);
    integer(t, path, "top_reflectors", 0, 1000, &d.top_reflectors);
    loadWindow(t);
    prefixList(t, "networks", &d.networks);
    prefixList(t, "ignore", &d.ignore);
    loadOverrides(t);
  }

  // window_s and bucket_ms together: the window is a whole number of buckets, at most
  // kMaxWindowBuckets of them.
  void loadWindow(const toml::table& t) {
    DetectionConfig& d = out_.detection;
    std::int64_t bucket_ms = d.bucket_ns / 1'000'000;
    const bool have_bucket = integer(t, "detection", "bucket_ms", 1, 10'000, &bucket_ms);
    double window_s = static_cast<double>(d.bucket_ns * d.window_buckets) / 1e9;
    const bool have_window =
        number(t, "detection", "window_s", 60, "a number of seconds in (0, 60]", &window_s);
    if (failed()) return;
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
        fail(n->source(), "detection.window_s must be " + reason + ", got " + show(*n));
      } else if (have_bucket) {
        const toml::node* n = t.get("bucket_ms");
        fail(n->source(), "detection.bucket_ms must divide the detection.window_s of " +
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
    if (n == nullptr || failed()) return;
    const toml::array* arr = n->as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      if (arr == nullptr || !arr->empty()) {
        fail(n->source(),
             "detection.override must be written as [[detection.override]] tables "
             "with prefix, threshold_pps and/or threshold_mbps, got " +
                 show(*n));
        return;
      }
    }
    for (std::size_t i = 0; i < arr->size() && !failed(); ++i) {
      const toml::table& o = *arr->get(i)->as_table();
      const std::string path = "detection.override[" + std::to_string(i) + "]";
      checkKeys(o, path, kOverrideKeys);
      if (failed()) return;
      PrefixThresholds pt;
      const toml::node* p = o.get("prefix");
      if (p == nullptr) {
        fail(o.source(), path + " needs a prefix, e.g. prefix = \"198.18.0.53/32\"");
        return;
      }
      const auto* ps = p->as_string();
      auto parsed = ps != nullptr ? Prefix::parse(ps->get()) : Result<Prefix>(Error{});
      if (!parsed) {
        fail(p->source(), path + ".prefix must be an IPv4 or IPv6 prefix such as " +
                              "\"198.18.0.53/32\", got " + show(*p));
        return;
      }
      pt.prefix = *parsed;
      for (const PrefixThresholds& earlier : out_.detection.overrides) {
        if (earlier.prefix == pt.prefix) {
          fail(p->source(), path + ".prefix repeats an earlier override for " +
                                pt.prefix.toString() + "; each prefix may appear once");
          return;
        }
      }
      // Unset thresholds inherit the global ones (applied after [detection] is read).
      pt.thresholds.pps = -1;
      pt.thresholds.bps = -1;
      double v = 0;
      const bool pps = number(o, path, "threshold_pps", 1e15, "a positive number", &v);
      if (pps) pt.thresholds.pps = v;
      const bool mbps = number(o, path, "threshold_mbps", 1e15, "a positive number", &v);
      if (mbps) pt.thresholds.bps = v * 1e6;
      if (failed()) return;
      if (!pps && !mbps) {
        fail(o.source(),
             path + " for " + pt.prefix.toString() + " needs threshold_pps and/or threshold_mbps");
        return;
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
    checkKeys(t, path, kScannerKeys);
    DetectionConfig& d = out_.detection;
    integer(t, path, "min_targets", 1, 1 << 20, &d.scanner_min_targets);
    double v = 0;
    if (number(t, path, "window_s", 86400, "a number of seconds in (0, 86400]", &v)) {
      d.scanner_window_ns = std::max<std::int64_t>(1, std::llround(v * 1e9));
    }
    if (number(t, path, "max_answered", 1, "a number in [0, 1]", &v, /*allow_zero=*/true)) {
      d.scanner_max_answered = v;
    }
  }

  void loadLimits(const toml::table& t) {
    const std::string path = "limits";
    checkKeys(t, path, kLimitKeys);
    DetectionConfig& d = out_.detection;
    integer(t, path, "max_destinations", 1024, 1 << 26, &d.max_destinations);
    integer(t, path, "max_tracked", 1, 1 << 20, &d.max_tracked);
    integer(t, path, "max_scanner_sources", 1024, 1 << 24, &d.max_scanner_sources);
    integer(t, path, "exact_sources_per_attack", 16, 1 << 24, &d.exact_sources_per_attack);
    std::uint64_t budget_mb = 0;
    if (integer(t, path, "exact_sources_budget_mb", 1, 65536, &budget_mb)) {
      d.exact_sources_budget_bytes = budget_mb << 20;
    }
  }

  void loadEnrich(const toml::table& t) {
    checkKeys(t, "enrich", kEnrichKeys);
    const toml::node* n = t.get("asn_db");
    if (n == nullptr || failed()) return;
    const auto* s = n->as_string();
    if (s == nullptr || s->get().empty()) {
      fail(n->source(),
           "enrich.asn_db must be the path of an MMDB or ip2asn TSV file, got " + show(*n));
      return;
    }
    out_.asn_db = s->get();
  }

  std::string_view name_;
  LoadedConfig out_;
  std::optional<Error> error_;
};

Error syntaxError(std::string_view name, const toml::parse_error& e) {
  std::string msg(name);
  const auto& b = e.source().begin;
  if (b.line > 0) msg += ":" + std::to_string(b.line) + ":" + std::to_string(b.column);
  std::string what(e.description());
  while (!what.empty() && (what.back() == '.' || what.back() == '\n')) what.pop_back();
  if (!what.empty() && what[0] >= 'A' && what[0] <= 'Z')
    what[0] = static_cast<char>(what[0] - 'A' + 'a');
  return Error{msg + ": invalid TOML: " + what};
}

}  // namespace

Result<LoadedConfig> loadConfigText(std::string_view text, std::string_view name) {
  const std::string source_name(name);
#if TOML_EXCEPTIONS
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return syntaxError(name, e);
  }
#else
  toml::parse_result parsed = toml::parse(text, source_name);
  if (!parsed) return syntaxError(name, parsed.error());
  const toml::table& root = parsed.table();
#endif
  return Loader(name).load(root);
}

Result<LoadedConfig> loadConfigFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Error{"cannot read config file " + path + ": it is a directory"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read config file " + path + ": " + std::strerror(errno)};
  std::string text;
  char buf[16384];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      return Error{"config file " + path + " is larger than 1 MiB; is it a configuration file?"};
    }
  }
  if (in.bad()) return Error{"cannot read config file " + path + ": read error"};
  auto loaded = loadConfigText(text, path);
  if (!loaded) return loaded;
  if (loaded->asn_db) {
    std::filesystem::path db(*loaded->asn_db);
    if (db.is_relative()) {
      loaded->asn_db = (std::filesystem::path(path).parent_path() / db).lexically_normal().string();
    }
  }
  return loaded;
}

}  // namespace bw
