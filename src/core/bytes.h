// Bounds-free big/little-endian loads for already bounds-checked buffers.
//
// Contract: callers check that `p .. p+N` lies inside their buffer first (see Cursor for a
// checked reader). The loads use memcpy, never casts of packed structs, so they are free of
// alignment and aliasing undefined behaviour and compile to single moves plus a bswap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace bw {

using ByteSpan = std::span<const std::uint8_t>;

inline std::uint16_t loadBe16(const std::uint8_t* p) noexcept {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
inline std::uint32_t loadBe32(const std::uint8_t* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline std::uint64_t loadBe64(const std::uint8_t* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}
inline std::uint16_t loadLe16(const std::uint8_t* p) noexcept {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline std::uint32_t loadLe32(const std::uint8_t* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline std::uint64_t loadLe64(const std::uint8_t* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline void storeBe16(std::uint8_t* p, std::uint16_t v) noexcept {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, 2);
}
inline void storeBe32(std::uint8_t* p, std::uint32_t v) noexcept {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
inline void storeLe16(std::uint8_t* p, std::uint16_t v) noexcept { std::memcpy(p, &v, 2); }
inline void storeLe32(std::uint8_t* p, std::uint32_t v) noexcept { std::memcpy(p, &v, 4); }

}  // namespace bw
