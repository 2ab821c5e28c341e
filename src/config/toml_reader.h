// TomlReader: the validation helpers every table of the configuration loader uses (internal
// to src/config). It reads typed values out of toml++ tables and records each problem as one
// sentence, "<key> must be ..., got <value>", at the position of the value (or of the key,
// for unknown keys). Problems accumulate: a caller reports the first one (loadConfigText) or
// all of them (checkConfigText). It also remembers where each accepted setting was written,
// so checks made after loading can point at the line.
//
// Values are shown in messages one line long and at most 60 bytes (quotedText, show); secrets
// (api.token) are never passed to them.
//
// Thread-safety: one reader per load, used by one thread.
#pragma once

#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_file.h"
#include "core/prefix.h"

namespace bw::config_internal {

using Keys = std::span<const std::string_view>;

// A top-level table the loader validates and the keys it accepts.
struct TableKeys {
  std::string_view table;
  Keys keys;
};

bool contains(Keys keys, std::string_view k);
std::size_t editDistance(std::string_view a, std::string_view b);
std::string joined(Keys keys);
// A TOML string for a message: double-quoted, control bytes escaped, at most 60 bytes shown.
std::string quotedText(std::string_view v);
// A key as TOML would need it written: bare when it can be, quoted otherwise.
std::string keyText(std::string_view k);
// How a value looks in a message: scalars as written in TOML, containers by kind.
std::string show(const toml::node& n);
std::string trimNumber(double v);

class TomlReader {
 public:
  // `base_dir`: the directory relative paths are resolved against (resolvePath); empty keeps
  // them as written.
  TomlReader(std::string_view name, std::string base_dir);

  // Records a problem at `where`: `what` is the sentence after the position.
  void fail(const toml::source_region& where, std::string what);
  std::size_t errorCount() const noexcept { return errors_.size(); }
  // Every problem recorded, ordered by position (stable: same position keeps its order).
  std::vector<ConfigProblem> takeErrors();

  // Remembers that setting `path` was written at `n`.
  void note(const std::string& path, const toml::node& n);
  ConfigPositions takePositions() { return std::move(positions_); }

  std::string resolvePath(const std::string& path) const;

  // Reports every key of `t` (the table at `path`) not in `keys`, suggesting a close match, or
  // the table a key belongs to when it is one of `others`' keys (written under the wrong
  // header).
  void checkKeys(const toml::table& t, const std::string& path, Keys keys,
                 std::span<const TableKeys> others = {});

  // The typed reads below return false when the key is absent or its value is bad (reported),
  // true with *out set when the value was read. `rule` completes "must be ...".

  // A number in (0, max], or [0, max] when `allow_zero`.
  bool number(const toml::table& t, const std::string& path, std::string_view key, double max,
              const char* rule, double* out, bool allow_zero = false);
  // A number in [lo, hi].
  bool numberIn(const toml::table& t, const std::string& path, std::string_view key, double lo,
                double hi, const char* rule, double* out);
  bool boolean(const toml::table& t, const std::string& path, std::string_view key, bool* out);
  // A string that `valid` accepts (any string when `valid` is empty).
  bool string(const toml::table& t, const std::string& path, std::string_view key,
              const std::function<bool(std::string_view)>& valid, const std::string& rule,
              std::string* out);

  template <typename T>
  bool integer(const toml::table& t, const std::string& path, std::string_view key, std::int64_t lo,
               std::int64_t hi, T* out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return false;
    const auto* v = n->as_integer();
    const std::string full = path + "." + std::string(key);
    if (v == nullptr || v->get() < lo || v->get() > hi) {
      fail(n->source(), full + " must be an integer from " + std::to_string(lo) + " to " +
                            std::to_string(hi) + ", got " + show(*n));
      return false;
    }
    note(full, *n);
    *out = static_cast<T>(v->get());
    return true;
  }

  // One string of an array, with where it was written.
  struct Item {
    std::string value;
    std::string path;  // "sensor.interfaces[2]"
    const toml::node* node = nullptr;
  };
  // An array of strings: `example` is a valid array as TOML ("[\"eth1\"]"), `item_example` a
  // valid element. Items that are strings are returned even when others are not, so their
  // contents can be checked too; the result says whether the array was entirely valid.
  bool stringArray(const toml::table& t, const std::string& path, std::string_view key,
                   std::string_view example, std::string_view item_example, std::vector<Item>* out);
  // An array of IPv4/IPv6 prefixes.
  bool prefixList(const toml::table& t, const std::string& path, std::string_view key,
                  std::vector<Prefix>* out);

 private:
  std::string_view name_;
  std::string base_dir_;
  std::vector<ConfigProblem> errors_;
  ConfigPositions positions_;
};

}  // namespace bw::config_internal
