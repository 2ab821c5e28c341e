// IP prefixes (CIDR) and longest-prefix-match maps over them.
//
// Prefix stores both families in the 128-bit IpAddress space (an IPv4 /n is ::ffff:0:0/96+n),
// so one structure answers for both. PrefixMap looks up one hash table per distinct prefix
// length, longest first: O(distinct lengths) per lookup, which for operator-written lists
// (tens to thousands of prefixes, a handful of lengths) is a few hash probes.
// Not thread-safe for mutation; const lookups may run concurrently.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ip_address.h"
#include "core/result.h"

namespace bw {

class Prefix {
 public:
  Prefix() = default;
  // `length` is in the address's own family (0-32 for IPv4, 0-128 for IPv6).
  static std::optional<Prefix> make(const IpAddress& addr, int length);
  // "198.18.0.0/15", "2001:db8::/32", or a bare address (a host prefix).
  static Result<Prefix> parse(std::string_view text);

  const IpAddress& network() const noexcept { return network_; }
  int length128() const noexcept { return length128_; }
  int familyLength() const noexcept { return network_.isV4() ? length128_ - 96 : length128_; }
  bool contains(const IpAddress& a) const noexcept;
  std::string toString() const;

  friend bool operator==(const Prefix&, const Prefix&) = default;

 private:
  IpAddress network_;
  int length128_ = 0;
};

// Masks `a` to its first `length128` bits.
IpAddress maskAddress(const IpAddress& a, int length128) noexcept;

// Parses "a,b,c" lists of prefixes; the error names the bad element.
Result<std::vector<Prefix>> parsePrefixList(std::string_view text);

template <typename T>
class PrefixMap {
 public:
  void insert(const Prefix& p, T value) {
    auto it = std::find_if(levels_.begin(), levels_.end(),
                           [&](const Level& l) { return l.length128 == p.length128(); });
    if (it == levels_.end()) {
      levels_.push_back(Level{p.length128(), {}});
      std::sort(levels_.begin(), levels_.end(),
                [](const Level& a, const Level& b) { return a.length128 > b.length128; });
      it = std::find_if(levels_.begin(), levels_.end(),
                        [&](const Level& l) { return l.length128 == p.length128(); });
    }
    it->entries.insert_or_assign(p.network(), std::move(value));
    ++size_;
  }
  // Longest matching prefix's value, or nullptr.
  const T* lookup(const IpAddress& a) const noexcept {
    for (const Level& l : levels_) {
      auto it = l.entries.find(maskAddress(a, l.length128));
      if (it != l.entries.end()) return &it->second;
    }
    return nullptr;
  }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

 private:
  struct Level {
    int length128;
    std::unordered_map<IpAddress, T, IpAddressHash> entries;
  };
  std::vector<Level> levels_;
  std::size_t size_ = 0;
};

class PrefixSet {
 public:
  PrefixSet() = default;
  explicit PrefixSet(const std::vector<Prefix>& prefixes) {
    for (const auto& p : prefixes) add(p);
  }
  void add(const Prefix& p) {
    map_.insert(p, true);
    prefixes_.push_back(p);
  }
  bool contains(const IpAddress& a) const noexcept { return map_.lookup(a) != nullptr; }
  bool empty() const noexcept { return prefixes_.empty(); }
  const std::vector<Prefix>& prefixes() const noexcept { return prefixes_; }

 private:
  PrefixMap<bool> map_;
  std::vector<Prefix> prefixes_;
};

}  // namespace bw
