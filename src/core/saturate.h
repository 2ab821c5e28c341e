// Saturating arithmetic for values from untrusted input (exporter clocks, counters scaled by
// sampling rates): the result sticks at the type's limit instead of wrapping.
#pragma once

#include <cstdint>

namespace bw {

inline std::int64_t satAdd(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

inline std::int64_t satSub(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? INT64_MIN : INT64_MAX;
  return r;
}

inline std::uint32_t satAdd(std::uint32_t a, std::uint32_t b) noexcept {
  std::uint32_t r;
  return __builtin_add_overflow(a, b, &r) ? UINT32_MAX : r;
}

inline std::uint64_t satMul(std::uint64_t a, std::uint64_t b) noexcept {
  std::uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return UINT64_MAX;
  return r;
}

}  // namespace bw
