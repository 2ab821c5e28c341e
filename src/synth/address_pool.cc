#include "synth/address_pool.h"

#include <algorithm>

#include "synth/rng.h"

namespace bw::synth {
namespace {

constexpr std::uint64_t kMaxPool = std::uint64_t{1} << 62;

int hostBits(const Prefix& p) { return (p.network().isV4() ? 32 : 128) - p.familyLength(); }

}  // namespace

IndexPermutation::IndexPermutation(std::uint64_t n, std::uint64_t key) noexcept
    : n_(std::max<std::uint64_t>(n, 1)) {
  int bits = n_ > 1 ? 64 - __builtin_clzll(n_ - 1) : 1;
  bits = std::max(bits, 2);
  if (bits % 2 != 0) ++bits;
  half_bits_ = bits / 2;
  for (int i = 0; i < 4; ++i) keys_[i] = mix64(key + 0x9E3779B97F4A7C15ULL * (i + 1));
}

std::uint64_t IndexPermutation::feistel(std::uint64_t x) const noexcept {
  const std::uint64_t mask = (std::uint64_t{1} << half_bits_) - 1;
  std::uint64_t left = x >> half_bits_;
  std::uint64_t right = x & mask;
  for (std::uint64_t k : keys_) {
    std::uint64_t next = left ^ (mix64(right ^ k) & mask);
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

std::uint64_t IndexPermutation::operator()(std::uint64_t i) const noexcept {
  if (n_ == 1) return 0;
  // Cycle walking: the Feistel domain is < 4n, so this takes under four rounds on average,
  // and it ends because i itself lies on the cycle.
  std::uint64_t y = feistel(i);
  while (y >= n_) y = feistel(y);
  return y;
}

AddressPool AddressPool::publicV4(std::uint64_t key, const std::vector<Prefix>& avoid) {
  static constexpr std::uint8_t kReserved[] = {0, 10, 100, 127, 169, 172, 192, 198, 203};
  AddressPool pool;
  pool.kind_ = Kind::PublicV4;
  for (int octet = 1; octet < 224; ++octet) {
    if (std::find(std::begin(kReserved), std::end(kReserved), octet) != std::end(kReserved)) {
      continue;
    }
    const auto slash8 = *Prefix::make(IpAddress::fromV4(std::uint32_t(octet) << 24), 8);
    bool clash = std::any_of(avoid.begin(), avoid.end(), [&](const Prefix& p) {
      return p.network().isV4() && (p.contains(slash8.network()) || slash8.contains(p.network()));
    });
    if (!clash) pool.first_octets_.push_back(static_cast<std::uint8_t>(octet));
  }
  pool.capacity_ = std::uint64_t{pool.first_octets_.size()} << 24;
  pool.perm_ = IndexPermutation(pool.capacity_, key);
  return pool;
}

AddressPool AddressPool::publicV6(std::uint64_t key) {
  AddressPool pool;
  pool.kind_ = Kind::PublicV6;
  pool.capacity_ = kMaxPool;
  pool.key_ = key;
  return pool;
}

AddressPool AddressPool::inPrefix(const Prefix& prefix, std::uint64_t key, bool hosts_only) {
  AddressPool pool;
  pool.kind_ = Kind::Prefix;
  pool.prefix_ = prefix;
  const int bits = hostBits(prefix);
  std::uint64_t total = bits >= 62 ? kMaxPool : std::uint64_t{1} << bits;
  if (hosts_only) {
    if (prefix.network().isV4() && bits >= 2) {
      pool.first_ = 1;
      total -= 2;
    } else if (!prefix.network().isV4() && total > 1) {
      pool.first_ = 1;
      total -= 1;
    }
  }
  pool.capacity_ = total;
  pool.perm_ = IndexPermutation(total, key);
  return pool;
}

IpAddress AddressPool::at(std::uint64_t index) const noexcept {
  switch (kind_) {
    case Kind::PublicV4: {
      const std::uint64_t v = perm_(index);
      return IpAddress::fromV4((std::uint32_t{first_octets_[v >> 24]} << 24) |
                               static_cast<std::uint32_t>(v & 0xffffff));
    }
    case Kind::PublicV6: {
      // The interface identifier is a bijection of the index, so addresses never repeat; the
      // routing prefix only adds variety.
      const std::uint64_t low = mix64(index ^ key_);
      const std::uint64_t high =
          0x2000000000000000ULL | (mix64(index + ~key_) & 0x0fffffffffff0000ULL);
      std::uint8_t bytes[16];
      for (int i = 0; i < 8; ++i) {
        bytes[i] = static_cast<std::uint8_t>(high >> (56 - 8 * i));
        bytes[8 + i] = static_cast<std::uint8_t>(low >> (56 - 8 * i));
      }
      return IpAddress::fromV6Bytes(bytes);
    }
    case Kind::Prefix:
    default:
      return addressInPrefix(prefix_, first_ + perm_(index));
  }
}

IpAddress addressInPrefix(const Prefix& prefix, std::uint64_t offset) noexcept {
  const int bits = hostBits(prefix);
  auto bytes = prefix.network().bytes();
  const std::uint64_t mask = bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
  offset &= mask;
  // Host bits are zero in the network address, so adding from the last byte cannot carry
  // into the network part.
  for (int i = 15; i >= 8 && offset != 0; --i) {
    const unsigned sum = bytes[i] + static_cast<unsigned>(offset & 0xff);
    bytes[i] = static_cast<std::uint8_t>(sum);
    offset = (offset >> 8) + (sum >> 8);
  }
  return IpAddress::fromV6Bytes(bytes.data());
}

}  // namespace bw::synth
