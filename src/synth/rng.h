// Deterministic pseudo-random numbers for synthetic captures.
//
// Rng is xoshiro256** seeded through SplitMix64: small, fast, and identical on every platform,
// so the same seed always yields byte-identical captures. Every stream of a scenario owns its
// own Rng derived from (scenario seed, stream tag), which keeps one stream's draws independent
// of how many other streams exist. Not thread-safe; one Rng per user.
#pragma once

#include <cmath>
#include <cstdint>

namespace bw::synth {

// SplitMix64's finaliser: a bijection on 64-bit values with good avalanche.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}

// A seed for the stream named `tag` under scenario seed `seed`.
constexpr std::uint64_t deriveSeed(std::uint64_t seed, std::uint64_t tag) noexcept {
  return mix64(seed ^ mix64(tag + 0x9E3779B97F4A7C15ULL));
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept {
    for (auto& s : s_) {
      seed += 0x9E3779B97F4A7C15ULL;
      s = mix64(seed);
    }
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n); n == 0 yields 0. Lemire's multiply-shift (bias < 2^-32, irrelevant here).
  std::uint32_t below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
  }
  std::uint64_t below64(std::uint64_t n) noexcept {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  // Uniform in [lo, hi] (inclusive).
  std::uint32_t range(std::uint32_t lo, std::uint32_t hi) noexcept {
    return lo + below(hi - lo + 1);
  }
  // Uniform in [0, 1).
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) noexcept { return unit() < p; }
  // Exponentially distributed with the given mean (Poisson inter-arrival times).
  double exponential(double mean) noexcept { return -std::log1p(-unit()) * mean; }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::uint64_t s_[4];
};

}  // namespace bw::synth
