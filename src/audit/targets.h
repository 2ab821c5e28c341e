// TargetSet: the addresses an audit may probe, and nothing else.
//
// Built once from the operator's list (addresses, CIDR prefixes, first-last ranges, @file
// lists) minus the exclude list, then read-only. The set is kept as sorted, disjoint,
// inclusive ranges in the 128-bit IpAddress space (IPv4 as ::ffff:a.b.c.d), so a /8 costs
// one range, not sixteen million entries, and every address appears once however the input
// overlaps. Multicast (224.0.0.0/4, ff00::/8), 255.255.255.255, 0.0.0.0/8 and ::
// are always removed: a datagram to them reaches hosts nobody listed, or this host.
//
// Thread-safety: immutable after build(); const methods may run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.h"
#include "core/result.h"

namespace bw::audit {

using U128 = unsigned __int128;

struct TargetLimits {
  // More addresses than this is refused unless `force` is set: a typo such as /8 for /24 or
  // an IPv6 /64 should stop with an explanation, not start a days-long scan.
  std::uint64_t max_addresses = std::uint64_t{1} << 24;
  bool force = false;
  // Even with `force`: a scan this size would not finish at any sane rate.
  static constexpr std::uint64_t kHardMax = std::uint64_t{1} << 32;
};

struct AddressRange {
  U128 first = 0;  // inclusive, 128-bit big-endian value of the IpAddress bytes
  U128 last = 0;   // inclusive
};

class TargetSet {
 public:
  TargetSet() = default;

  // `specs` and `excludes`: each element is an address, a prefix ("198.18.1.0/24",
  // "2001:db8::/120"; host bits are ignored as nmap does), a range ("198.18.1.10-198.18.1.20")
  // or "@FILE" naming a file of such entries (whitespace or comma separated, '#' comments).
  // Errors name the element, and the file and line when it came from a file.
  static Result<TargetSet> build(const std::vector<std::string>& specs,
                                 const std::vector<std::string>& excludes,
                                 const TargetLimits& limits);

  // Addresses to probe (after exclusions).
  std::uint64_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // Addresses of the targets that exclusions (explicit and always-removed) took out.
  std::uint64_t excluded() const noexcept { return excluded_; }
  std::uint64_t specialRemoved() const noexcept { return special_removed_; }
  bool hasV4() const noexcept { return has_v4_; }
  bool hasV6() const noexcept { return has_v6_; }
  // O(log ranges).
  bool contains(const IpAddress& a) const noexcept;
  const std::vector<AddressRange>& ranges() const noexcept { return ranges_; }

  // Walks the set in ascending order. Several cursors may walk one set independently.
  class Cursor {
   public:
    explicit Cursor(const TargetSet& set) : set_(&set) {}
    // Writes the next address; false at the end.
    bool next(IpAddress& out) noexcept;

   private:
    const TargetSet* set_;
    std::size_t range_ = 0;
    U128 offset_ = 0;
  };

 private:
  std::vector<AddressRange> ranges_;
  std::uint64_t size_ = 0;
  std::uint64_t excluded_ = 0;
  std::uint64_t special_removed_ = 0;
  bool has_v4_ = false;
  bool has_v6_ = false;
};

U128 toU128(const IpAddress& a) noexcept;
IpAddress fromU128(U128 v) noexcept;

// Parses one entry (address, prefix or range, no '@') into an inclusive range.
Result<AddressRange> parseTargetEntry(std::string_view text);

}  // namespace bw::audit
