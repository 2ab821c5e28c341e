// Address pools: index -> distinct address maps used for reflectors, abused hosts, scan
// targets and benign peers, without storing the addresses (a flood from 5 million sources
// costs no memory here).
//
// IndexPermutation is a keyed bijection on [0, n) (a balanced Feistel network with cycle
// walking), so pool.at(i) != pool.at(j) whenever i != j: the number of distinct addresses a
// stream used is exactly the number of distinct indices it drew. Immutable; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "core/ip_address.h"
#include "core/prefix.h"

namespace bw::synth {

class IndexPermutation {
 public:
  IndexPermutation() = default;
  // REQUIRES: 1 <= n <= 2^62.
  IndexPermutation(std::uint64_t n, std::uint64_t key) noexcept;
  // REQUIRES: i < size().
  std::uint64_t operator()(std::uint64_t i) const noexcept;
  std::uint64_t size() const noexcept { return n_; }

 private:
  std::uint64_t feistel(std::uint64_t x) const noexcept;
  std::uint64_t n_ = 1;
  int half_bits_ = 1;
  std::uint64_t keys_[4] = {};
};

class AddressPool {
 public:
  AddressPool() = default;

  // Public-looking unicast IPv4 addresses, shuffled by `key`: never in 0/8, 10/8, 100/8,
  // 127/8, 169/8, 172/8, 192/8, 198/8, 203/8 (which hold the private, shared, loopback,
  // link-local, documentation and benchmark ranges) nor 224/3, nor in a /8 that overlaps
  // `avoid`. About 3.3 billion addresses.
  static AddressPool publicV4(std::uint64_t key, const std::vector<Prefix>& avoid);
  // Public-looking global unicast IPv6 addresses (2000::/4), 2^62 of them.
  static AddressPool publicV6(std::uint64_t key);
  // Addresses inside `prefix`, shuffled by `key`. With `hosts_only`, an IPv4 prefix of /30 or
  // shorter skips its network and broadcast addresses and an IPv6 prefix skips the all-zeros
  // address. At most 2^62 addresses.
  static AddressPool inPrefix(const Prefix& prefix, std::uint64_t key, bool hosts_only = true);

  std::uint64_t capacity() const noexcept { return capacity_; }
  // REQUIRES: index < capacity().
  IpAddress at(std::uint64_t index) const noexcept;

 private:
  enum class Kind : std::uint8_t { PublicV4, PublicV6, Prefix };
  Kind kind_ = Kind::Prefix;
  std::uint64_t capacity_ = 0;
  IndexPermutation perm_;
  std::uint64_t key_ = 0;
  std::vector<std::uint8_t> first_octets_;  // PublicV4: the allowed /8s
  Prefix prefix_;                           // Prefix: the range
  std::uint64_t first_ = 0;                 // Prefix: offset of the first usable address
};

// The address `offset` places after the network address of `prefix` (wrapping inside it).
IpAddress addressInPrefix(const Prefix& prefix, std::uint64_t offset) noexcept;

}  // namespace bw::synth
