#include "flow/sort_keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace bw {
namespace {

// `n` distinct keys below 2^bits, in random order.
std::vector<std::uint64_t> distinctKeys(std::size_t n, int bits, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::uint64_t mask = bits == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
  if (n > 0 && n - 1 > mask) {  // no such keys: say so rather than look for them forever
    ADD_FAILURE() << n << " distinct keys below 2^" << bits;
    return {};
  }
  std::vector<std::uint64_t> keys;
  keys.reserve(n);
  while (keys.size() < n) {
    for (std::size_t i = keys.size(); i < n; ++i) keys.push_back(rng() & mask);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  }
  std::shuffle(keys.begin(), keys.end(), rng);
  return keys;
}

void expectSorts(std::vector<std::uint64_t> keys, int bits) {
  std::vector<std::uint64_t> expected = keys;
  std::sort(expected.begin(), expected.end());
  std::vector<std::uint64_t> scratch;
  std::vector<std::uint32_t> counts;
  sortKeys(keys, scratch, counts, bits);
  EXPECT_EQ(keys, expected) << keys.size() << " keys of " << bits << " bits";
}

// Sizes on both sides of the one-pass limit (2^14 buckets) and of the 2^20 cap, key widths
// as narrow as the bucket bits, and full 64-bit keys.
TEST(SortKeys, SortsDistinctKeysOfEveryWidthAndCount) {
  for (const std::size_t n : {0u, 1u, 2u, 16u, 17u, 1000u, 16'384u, 16'385u, 70'000u, 300'000u}) {
    for (const int bits : {24, 36, 64}) expectSorts(distinctKeys(n, bits, n * 64 + bits), bits);
  }
  expectSorts(distinctKeys(1'100'000, 40, 3), 40);  // past the cap: more keys than buckets
  expectSorts(distinctKeys(2000, 11, 7), 11);       // as many key bits as bucket bits
  expectSorts(distinctKeys(50'000, 16, 9), 16);     // the same, in two passes
}

// How the grouper uses it: a group key on top, an index below that already ascends. Many
// keys share their top bits, so the counting passes leave runs for the insertion pass.
TEST(SortKeys, SortsGroupKeysAboveAscendingIndexes) {
  std::mt19937_64 rng(11);
  const int index_bits = 20;
  std::vector<std::uint64_t> keys;
  for (std::uint64_t i = 0; i < 200'000; ++i) {
    const std::uint64_t group = rng() % 30'000;  // 30,000 keys, about 7 chunks each
    keys.push_back((group * 0x9E3779B97F4A7C15ULL) >> index_bits << index_bits | i);
  }
  expectSorts(keys, 64);
}

// Keys crowded into one bucket of the counting passes: the insertion pass gives way to
// std::sort, and the result is still sorted.
TEST(SortKeys, SortsKeysCrowdedIntoOneBucket) {
  std::vector<std::uint64_t> keys;
  for (std::uint64_t i = 0; i < 100'000; ++i) keys.push_back((i * 7919) % 100'003);
  expectSorts(keys, 48);  // all below 2^17: one bucket of the top 16 of 48 bits
}

// Working space kept between calls, as the callers keep it: a smaller sort after a larger
// one and a larger one after a smaller one.
TEST(SortKeys, ReusesItsWorkingSpace) {
  std::vector<std::uint64_t> scratch;
  std::vector<std::uint32_t> counts;
  for (const std::size_t n : {100'000u, 500u, 3000u, 250'000u}) {
    std::vector<std::uint64_t> keys = distinctKeys(n, 40, n);
    std::vector<std::uint64_t> expected = keys;
    std::sort(expected.begin(), expected.end());
    sortKeys(keys, scratch, counts, 40);
    EXPECT_EQ(keys, expected) << n;
  }
}

}  // namespace
}  // namespace bw
