#include "audit/targets.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "core/prefix.h"

namespace bw::audit {
namespace {

constexpr U128 kV4Base = (U128{0xffff} << 32);  // ::ffff:0.0.0.0

std::string describe(std::string_view entry, const std::string& where) {
  return where.empty() ? "'" + std::string(entry) + "'" : where + ": '" + std::string(entry) + "'";
}

// Sorts and merges overlapping or adjacent ranges.
std::vector<AddressRange> normalize(std::vector<AddressRange> in) {
  std::sort(in.begin(), in.end(),
            [](const AddressRange& a, const AddressRange& b) { return a.first < b.first; });
  std::vector<AddressRange> out;
  for (const auto& r : in) {
    if (!out.empty() && (r.first <= out.back().last ||
                         (out.back().last != ~U128{0} && r.first == out.back().last + 1))) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

// `a` minus `b`, both normalized.
std::vector<AddressRange> subtract(const std::vector<AddressRange>& a,
                                   const std::vector<AddressRange>& b) {
  std::vector<AddressRange> out;
  std::size_t j = 0;
  for (AddressRange r : a) {
    while (j < b.size() && b[j].last < r.first) ++j;
    std::size_t k = j;
    bool alive = true;
    while (k < b.size() && b[k].first <= r.last) {
      if (b[k].first > r.first) out.push_back({r.first, b[k].first - 1});
      if (b[k].last >= r.last) {
        alive = false;
        break;
      }
      r.first = b[k].last + 1;
      ++k;
    }
    if (alive) out.push_back(r);
  }
  return out;
}

U128 count(const std::vector<AddressRange>& v) {
  U128 n = 0;
  for (const auto& r : v) {
    U128 len = r.last - r.first;  // may be 2^128 - 1 for ::/0
    n = (len == ~U128{0} || n + len + 1 < n) ? ~U128{0} : n + len + 1;
  }
  return n;
}

std::string describeCount(U128 n) {
  if (n > U128{std::uint64_t{1} << 63}) return "more than 2^63";
  return std::to_string(static_cast<std::uint64_t>(n));
}

// Ranges no probe may go to whatever the operator wrote.
std::vector<AddressRange> specialRanges() {
  auto v4 = [](std::uint32_t first, std::uint32_t last) {
    return AddressRange{kV4Base | first, kV4Base | last};
  };
  std::vector<AddressRange> v = {
      v4(0x00000000, 0x00ffffff),     // 0.0.0.0/8: "this network"
      v4(0xe0000000, 0xefffffff),     // 224.0.0.0/4: multicast
      v4(0xffffffff, 0xffffffff),     // limited broadcast
      {0, 0},                         // ::
      {U128{0xff} << 120, ~U128{0}},  // ff00::/8: multicast
  };
  return normalize(std::move(v));
}

Status addEntry(std::string_view entry, const std::string& where, std::vector<AddressRange>& out) {
  auto r = parseTargetEntry(entry);
  if (!r) {
    return Error{describe(entry, where) + " " + r.error().message};
  }
  out.push_back(*r);
  return {};
}

Status addFile(const std::string& path, std::vector<AddressRange>& out) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read target list " + path};
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    for (char& c : line) {
      if (c == ',' || c == '\t' || c == '\r') c = ' ';
    }
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      std::string where = path + ":" + std::to_string(lineno);
      if (word.front() == '@') {
        return Error{where + ": '" + word + "' (lists cannot include other lists)"};
      }
      if (Status st = addEntry(word, where, out); !st) return st;
    }
  }
  if (in.bad()) return Error{"cannot read target list " + path};
  return {};
}

Status addSpecs(const std::vector<std::string>& specs, std::vector<AddressRange>& out) {
  for (const auto& raw : specs) {
    // A command-line element may itself be a comma-separated list.
    std::string_view rest = raw;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty()) {
        Status st = item.front() == '@' ? addFile(std::string(item.substr(1)), out)
                                        : addEntry(item, "", out);
        if (!st) return st;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return {};
}

}  // namespace

U128 toU128(const IpAddress& a) noexcept {
  U128 v = 0;
  for (std::uint8_t b : a.bytes()) v = (v << 8) | b;
  return v;
}

IpAddress fromU128(U128 v) noexcept {
  std::uint8_t b[16];
  for (int i = 15; i >= 0; --i) {
    b[i] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
  return IpAddress::fromV6Bytes(b);
}

Result<AddressRange> parseTargetEntry(std::string_view text) {
  if (auto dash = text.find('-'); dash != std::string_view::npos) {
    auto a = IpAddress::parse(text.substr(0, dash));
    auto b = IpAddress::parse(text.substr(dash + 1));
    if (!a || !b) {
      return Error{"is not a range of two addresses (expected e.g. 198.18.1.10-198.18.1.20)"};
    }
    if (a->isV4() != b->isV4()) return Error{"mixes IPv4 and IPv6"};
    if (*b < *a) return Error{"ends before it starts"};
    return AddressRange{toU128(*a), toU128(*b)};
  }
  auto p = Prefix::parse(text);
  if (!p) {
    return Error{
        "is not an address, prefix or range (expected e.g. 198.18.1.10, 198.18.1.0/24, "
        "2001:db8::/120 or 198.18.1.10-198.18.1.20; host names are not resolved)"};
  }
  U128 first = toU128(p->network());
  int host_bits = 128 - p->length128();
  U128 span = host_bits >= 128 ? ~U128{0} : (U128{1} << host_bits) - 1;
  return AddressRange{first, first | span};
}

Result<TargetSet> TargetSet::build(const std::vector<std::string>& specs,
                                   const std::vector<std::string>& excludes,
                                   const TargetLimits& limits) {
  std::vector<AddressRange> wanted, unwanted;
  if (Status st = addSpecs(specs, wanted); !st) return Error{st.message()};
  if (Status st = addSpecs(excludes, unwanted); !st) return Error{"exclude " + st.message()};
  if (wanted.empty()) return Error{"no targets given"};

  wanted = normalize(std::move(wanted));
  U128 listed = count(wanted);
  std::vector<AddressRange> after_user = subtract(wanted, normalize(std::move(unwanted)));
  U128 after_user_count = count(after_user);
  std::vector<AddressRange> final_ranges = subtract(after_user, specialRanges());
  U128 n = count(final_ranges);

  std::uint64_t limit = limits.force ? TargetLimits::kHardMax : limits.max_addresses;
  if (n > limit) {
    std::string msg = "the targets cover " + describeCount(n) + " addresses";
    if (limits.force) {
      msg += ", more than the most a scan can cover (2^32); split the list";
    } else {
      msg += ", more than the limit of " + std::to_string(limits.max_addresses) +
             " (2^24); check the prefix lengths, narrow the list, or pass --force to scan up "
             "to 2^32 addresses";
    }
    return Error{msg};
  }

  TargetSet set;
  set.ranges_ = std::move(final_ranges);
  set.size_ = static_cast<std::uint64_t>(n);
  set.excluded_ = static_cast<std::uint64_t>(listed - after_user_count);
  set.special_removed_ = static_cast<std::uint64_t>(after_user_count - n);
  for (const auto& r : set.ranges_) {
    // The IPv4-mapped block is ::ffff:0:0/96; anything else is IPv6.
    bool starts_v4 = r.first >= kV4Base && r.first <= (kV4Base | 0xffffffffu);
    bool ends_v4 = r.last >= kV4Base && r.last <= (kV4Base | 0xffffffffu);
    if (starts_v4 || ends_v4 || (r.first < kV4Base && r.last > (kV4Base | 0xffffffffu))) {
      set.has_v4_ = true;
    }
    if (!starts_v4 || !ends_v4) set.has_v6_ = true;
  }
  return set;
}

bool TargetSet::contains(const IpAddress& a) const noexcept {
  U128 v = toU128(a);
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), v,
                             [](U128 x, const AddressRange& r) { return x < r.first; });
  if (it == ranges_.begin()) return false;
  --it;
  return v <= it->last;
}

bool TargetSet::Cursor::next(IpAddress& out) noexcept {
  while (range_ < set_->ranges_.size()) {
    const AddressRange& r = set_->ranges_[range_];
    if (offset_ <= r.last - r.first) {
      out = fromU128(r.first + offset_);
      ++offset_;
      if (offset_ == 0) ++range_;  // wrapped: the whole 128-bit space (never allowed by size)
      return true;
    }
    ++range_;
    offset_ = 0;
  }
  return false;
}

}  // namespace bw::audit
