#include "config/toml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <optional>
#include <sstream>

namespace bw::config_internal {

namespace {

std::optional<double> numberOf(const toml::node& n) {
  if (const auto* i = n.as_integer()) return static_cast<double>(i->get());
  if (const auto* f = n.as_floating_point()) return f->get();
  return std::nullopt;
}

}  // namespace

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

std::string keyText(std::string_view k) {
  const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  return bare ? std::string(k) : quotedText(k);
}

std::string show(const toml::node& n) {
  if (n.is_table()) return "a table";
  if (const auto* arr = n.as_array()) return arr->empty() ? "an empty array" : "an array";
  if (const auto* str = n.as_string()) return quotedText(str->get());
  if (const auto* f = n.as_floating_point()) {
    // The shortest text that reads back as the same double: 0.05, not 0.050000000000000003.
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f->get());
    std::string s(buf, ec == std::errc{} ? end : buf);
    if (s.find_first_of(".eina") == std::string::npos) s += ".0";  // still a float
    return s;
  }
  std::ostringstream os;
  n.visit([&](const auto& v) {
    if constexpr (toml::is_value<decltype(v)>) os << v;
  });
  std::string s = os.str();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string trimNumber(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

TomlReader::TomlReader(std::string_view name, std::string base_dir)
    : name_(name), base_dir_(std::move(base_dir)) {}

void TomlReader::fail(const toml::source_region& where, std::string what) {
  errors_.push_back(ConfigProblem{static_cast<int>(where.begin.line),
                                  static_cast<int>(where.begin.column), std::move(what)});
}

std::vector<ConfigProblem> TomlReader::takeErrors() {
  std::stable_sort(errors_.begin(), errors_.end(),
                   [](const ConfigProblem& a, const ConfigProblem& b) {
                     return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                   });
  return std::move(errors_);
}

void TomlReader::note(const std::string& path, const toml::node& n) {
  positions_[path] = ConfigPosition{static_cast<int>(n.source().begin.line),
                                    static_cast<int>(n.source().begin.column)};
}

std::string TomlReader::resolvePath(const std::string& path) const {
  std::filesystem::path p(path);
  if (base_dir_.empty() || !p.is_relative()) return path;
  return (std::filesystem::path(base_dir_) / p).lexically_normal().string();
}

void TomlReader::checkKeys(const toml::table& t, const std::string& path, Keys keys,
                           std::span<const TableKeys> others) {
  for (auto&& [key, node] : t) {
    const std::string_view k = key.str();
    if (contains(keys, k)) continue;
    std::string best;
    std::size_t best_d = 3;
    for (std::string_view valid : keys) {
      std::size_t d = editDistance(k, valid);
      // A truncated key ("asn" for "asn_db") is as likely a slip as a typo.
      if (k.size() >= 3 && valid.substr(0, k.size()) == k) d = 1;
      if (d < best_d) {
        best_d = d;
        best = valid;
      }
    }
    const std::string full = path + "." + keyText(k);
    if (!best.empty()) {
      fail(key.source(), "unknown key " + full + " (did you mean " + path + "." + best + "?)");
      continue;
    }
    std::string_view home;
    for (const TableKeys& other : others) {
      if (home.empty() && other.table != path && contains(other.keys, k)) home = other.table;
    }
    if (!home.empty()) {
      fail(key.source(), "unknown key " + full + " (did you mean " + std::string(home) + "." +
                             keyText(k) + ", under [" + std::string(home) + "]?)");
    } else {
      fail(key.source(),
           "unknown key " + full + "; valid keys in [" + path + "] are " + joined(keys));
    }
  }
}

bool TomlReader::number(const toml::table& t, const std::string& path, std::string_view key,
                        double max, const char* rule, double* out, bool allow_zero) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return false;
  const std::string full = path + "." + std::string(key);
  std::optional<double> v = numberOf(*n);
  if (!v || !std::isfinite(*v) || *v > max || *v < 0 || (*v == 0 && !allow_zero)) {
    fail(n->source(), full + " must be " + rule + ", got " + show(*n));
    return false;
  }
  note(full, *n);
  *out = *v;
  return true;
}

bool TomlReader::numberIn(const toml::table& t, const std::string& path, std::string_view key,
                          double lo, double hi, const char* rule, double* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return false;
  const std::string full = path + "." + std::string(key);
  std::optional<double> v = numberOf(*n);
  if (!v || !std::isfinite(*v) || *v < lo || *v > hi) {
    fail(n->source(), full + " must be " + rule + ", got " + show(*n));
    return false;
  }
  note(full, *n);
  *out = *v;
  return true;
}

bool TomlReader::boolean(const toml::table& t, const std::string& path, std::string_view key,
                         bool* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return false;
  const std::string full = path + "." + std::string(key);
  const auto* b = n->as_boolean();
  if (b == nullptr) {
    fail(n->source(), full + " must be true or false, got " + show(*n));
    return false;
  }
  note(full, *n);
  *out = b->get();
  return true;
}

bool TomlReader::string(const toml::table& t, const std::string& path, std::string_view key,
                        const std::function<bool(std::string_view)>& valid, const std::string& rule,
                        std::string* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return false;
  const std::string full = path + "." + std::string(key);
  const auto* s = n->as_string();
  if (s == nullptr || (valid && !valid(s->get()))) {
    fail(n->source(), full + " must be " + rule + ", got " + show(*n));
    return false;
  }
  note(full, *n);
  *out = s->get();
  return true;
}

bool TomlReader::stringArray(const toml::table& t, const std::string& path, std::string_view key,
                             std::string_view example, std::string_view item_example,
                             std::vector<Item>* out) {
  out->clear();
  const toml::node* n = t.get(key);
  if (n == nullptr) return false;
  const std::string full = path + "." + std::string(key);
  const toml::array* arr = n->as_array();
  if (arr == nullptr) {
    fail(n->source(),
         full + " must be an array of strings like " + std::string(example) + ", got " + show(*n));
    return false;
  }
  note(full, *n);
  bool all = true;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& item = *arr->get(i);
    const std::string item_path = full + "[" + std::to_string(i) + "]";
    const auto* s = item.as_string();
    if (s == nullptr) {
      fail(item.source(), item_path + " must be a string like " + std::string(item_example) +
                              ", got " + show(item));
      all = false;
      continue;
    }
    note(item_path, item);
    out->push_back(Item{s->get(), item_path, &item});
  }
  return all;
}

bool TomlReader::prefixList(const toml::table& t, const std::string& path, std::string_view key,
                            std::vector<Prefix>* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return false;
  const std::string full = path + "." + std::string(key);
  const toml::array* arr = n->as_array();
  if (arr == nullptr) {
    fail(n->source(),
         full + " must be an array of prefixes such as [\"198.18.0.0/15\"], got " + show(*n));
    return false;
  }
  note(full, *n);
  std::vector<Prefix> parsed;
  bool all = true;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& item = *arr->get(i);
    const std::string item_path = full + "[" + std::to_string(i) + "]";
    const auto* s = item.as_string();
    if (s == nullptr) {
      fail(item.source(),
           item_path + " must be a prefix string such as \"198.18.0.0/15\", got " + show(item));
      all = false;
      continue;
    }
    // IpAddress::parse stops at a NUL byte, which a TOML string may hold ("\u0000").
    auto p = s->get().find('\0') == std::string::npos ? Prefix::parse(s->get())
                                                      : Result<Prefix>(Error{});
    if (!p) {
      fail(item.source(), item_path + " must be an IPv4 or IPv6 prefix such as " +
                              "\"198.18.0.0/15\" or \"2001:db8::/32\", got " + show(item));
      all = false;
      continue;
    }
    parsed.push_back(*p);
  }
  if (all) *out = std::move(parsed);
  return all;
}

}  // namespace bw::config_internal
