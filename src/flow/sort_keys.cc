// sortKeys: see sort_keys.h.
#include "flow/sort_keys.h"

#include <algorithm>
#include <bit>

namespace bw {

// Sorts distinct keys below 2^bits. Stable counting passes on the top bits leave few keys
// out of place, which an insertion pass then fixes; should that pass find more disorder than
// expected (keys crowded in a few buckets), std::sort takes over. Counting and insertion do
// not mispredict a branch per comparison the way quicksort does on the small, interleaved
// cells that records of many flows make.
//
// Buckets number about as many as the keys, so that the insertion pass moves each key a
// place or two. Up to 2^14 buckets (the counts stay in L2) the counting is one pass; a
// flood's cell of hundreds of thousands of keys takes up to 2^20 buckets in two stable
// passes on half the bits each, lower digit first. One pass capped at 2^16 buckets left
// 630,000 keys ten to a bucket: the insertion pass then took 6.7 ns per key, where two
// passes of 2^10 buckets take 2.4 in all (docs/performance-flows.md).
void sortKeys(std::vector<std::uint64_t>& keys, std::vector<std::uint64_t>& scratch,
              std::vector<std::uint32_t>& counts, int bits) {
  constexpr int kOnePassBits = 14;
  const std::size_t n = keys.size();
  if (n > 16) {
    const int bucket_bits = std::clamp(static_cast<int>(std::bit_width(n - 1)), 4, 20);
    const int shift = std::max(bits - bucket_bits, 0);
    scratch.resize(n);
    if (bucket_bits <= kOnePassBits) {
      counts.assign((std::size_t{1} << bucket_bits) + 1, 0);
      for (const std::uint64_t k : keys) ++counts[(k >> shift) + 1];
      for (std::size_t b = 1; b < counts.size(); ++b) counts[b] += counts[b - 1];
      for (const std::uint64_t k : keys) scratch[counts[k >> shift]++] = k;
      keys.swap(scratch);
    } else {
      // Digits of the top bucket_bits: `low` (bits [shift, shift + low_bits)), then `high`.
      const int low_bits = bucket_bits / 2, high_bits = bucket_bits - low_bits;
      const int high_shift = shift + low_bits;
      const std::uint64_t low_mask = (std::uint64_t{1} << low_bits) - 1;
      const std::size_t low_buckets = std::size_t{1} << low_bits;
      counts.assign(low_buckets + (std::size_t{1} << high_bits) + 2, 0);
      std::uint32_t* low = counts.data();
      std::uint32_t* high = counts.data() + low_buckets + 1;
      for (const std::uint64_t k : keys) {  // both histograms in one read
        ++low[((k >> shift) & low_mask) + 1];
        ++high[(k >> high_shift) + 1];
      }
      for (std::size_t b = 1; b <= low_buckets; ++b) low[b] += low[b - 1];
      for (std::size_t b = 1; b <= (std::size_t{1} << high_bits); ++b) high[b] += high[b - 1];
      for (const std::uint64_t k : keys) scratch[low[(k >> shift) & low_mask]++] = k;
      for (const std::uint64_t k : scratch) keys[high[k >> high_shift]++] = k;
    }
  }
  std::size_t moves = 0;
  const std::size_t budget = 8 * n + 64;
  for (std::size_t i = 1; i < n; ++i) {
    const std::uint64_t k = keys[i];
    std::size_t j = i;
    for (; j > 0 && keys[j - 1] > k; --j) keys[j] = keys[j - 1];
    keys[j] = k;
    moves += i - j;
    if (moves > budget) {
      std::sort(keys.begin(), keys.end());
      return;
    }
  }
}

}  // namespace bw
