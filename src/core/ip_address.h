// IpAddress: an IPv4 or IPv6 address as a 16-byte value (IPv4 as ::ffff:a.b.c.d), cheap to
// copy, hash and compare, so one table type serves both families.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"

namespace bw {

class IpAddress {
 public:
  IpAddress() noexcept : bytes_{} {}

  // REQUIRES: `v4` is in host byte order.
  static IpAddress fromV4(std::uint32_t v4) noexcept {
    IpAddress a;
    a.bytes_[10] = 0xff;
    a.bytes_[11] = 0xff;
    a.bytes_[12] = static_cast<std::uint8_t>(v4 >> 24);
    a.bytes_[13] = static_cast<std::uint8_t>(v4 >> 16);
    a.bytes_[14] = static_cast<std::uint8_t>(v4 >> 8);
    a.bytes_[15] = static_cast<std::uint8_t>(v4);
    return a;
  }
  // REQUIRES: `p` points at 4 bytes in network order.
  static IpAddress fromV4Bytes(const std::uint8_t* p) noexcept {
    IpAddress a;
    a.bytes_[10] = 0xff;
    a.bytes_[11] = 0xff;
    std::memcpy(&a.bytes_[12], p, 4);
    return a;
  }
  // REQUIRES: `p` points at 16 bytes in network order.
  static IpAddress fromV6Bytes(const std::uint8_t* p) noexcept {
    IpAddress a;
    std::memcpy(a.bytes_.data(), p, 16);
    return a;
  }
  // Accepts dotted-quad IPv4 and any RFC 4291 text form of IPv6.
  static std::optional<IpAddress> parse(std::string_view text);

  bool isV4() const noexcept {
    static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(bytes_.data(), kPrefix, 12) == 0;
  }
  // REQUIRES: isV4(). Host byte order.
  std::uint32_t v4() const noexcept {
    return (std::uint32_t{bytes_[12]} << 24) | (std::uint32_t{bytes_[13]} << 16) |
           (std::uint32_t{bytes_[14]} << 8) | std::uint32_t{bytes_[15]};
  }
  const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
  std::string toString() const;

  // A well-mixed 64-bit hash (not cryptographic, not seeded: tables that face hostile input
  // bound their probe length and evict instead of relying on the hash).
  std::uint64_t hash() const noexcept {
    std::uint64_t a, b;
    std::memcpy(&a, bytes_.data(), 8);
    std::memcpy(&b, bytes_.data() + 8, 8);
    std::uint64_t h = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL);
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    h ^= h >> 32;
    return h;
  }

  friend bool operator==(const IpAddress& a, const IpAddress& b) noexcept {
    std::uint64_t a0, a1, b0, b1;  // two word compares, not a memcmp call
    std::memcpy(&a0, a.bytes_.data(), 8);
    std::memcpy(&a1, a.bytes_.data() + 8, 8);
    std::memcpy(&b0, b.bytes_.data(), 8);
    std::memcpy(&b1, b.bytes_.data() + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  // Byte order, by two big-endian words, not a memcmp call: sorting and ranking reflectors
  // compare addresses whenever their counts tie, which in a flood is most of the time.
  friend std::strong_ordering operator<=>(const IpAddress& a, const IpAddress& b) noexcept {
    const std::uint64_t a0 = loadBe64(a.bytes_.data()), b0 = loadBe64(b.bytes_.data());
    if (a0 != b0) return a0 <=> b0;
    return loadBe64(a.bytes_.data() + 8) <=> loadBe64(b.bytes_.data() + 8);
  }

 private:
  std::array<std::uint8_t, 16> bytes_;
};

struct IpAddressHash {
  std::size_t operator()(const IpAddress& a) const noexcept { return a.hash(); }
};

}  // namespace bw
