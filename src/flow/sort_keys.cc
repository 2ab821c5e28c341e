// sortKeys: see sort_keys.h.
#include "flow/sort_keys.h"

#include <algorithm>
#include <bit>

namespace bw {

// Sorts distinct keys below 2^bits. One stable counting pass on the top bits leaves few
// keys out of place, which an insertion pass then fixes; should that pass find more disorder
// than expected (keys crowded in a few buckets), std::sort takes over. Counting and insertion
// do not mispredict a branch per comparison the way quicksort does on the small, interleaved
// cells that records of many flows make.
void sortKeys(std::vector<std::uint64_t>& keys, std::vector<std::uint64_t>& scratch,
              std::vector<std::uint32_t>& counts, int bits) {
  const std::size_t n = keys.size();
  if (n > 16) {
    const int bucket_bits = std::clamp(static_cast<int>(std::bit_width(n - 1)), 4, 16);
    const int shift = std::max(bits - bucket_bits, 0);
    counts.assign((std::size_t{1} << bucket_bits) + 1, 0);
    for (const std::uint64_t k : keys) ++counts[(k >> shift) + 1];
    for (std::size_t b = 1; b < counts.size(); ++b) counts[b] += counts[b - 1];
    scratch.resize(n);
    for (const std::uint64_t k : keys) scratch[counts[k >> shift]++] = k;
    keys.swap(scratch);
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

// A response from a vector's port to a port of no service: classified the same whatever its
// destination port.

}  // namespace bw
