// sortKeys: the sort behind FlowFeed's and ChunkGrouper's orders (see sort_keys.cc).
#pragma once

#include <cstdint>
#include <vector>

namespace bw {

// Sorts `keys`, distinct values below 2^bits (bits <= 64), in place; `scratch` and `counts`
// are working space kept by the caller so that steady use does not allocate.
void sortKeys(std::vector<std::uint64_t>& keys, std::vector<std::uint64_t>& scratch,
              std::vector<std::uint32_t>& counts, int bits);

}  // namespace bw
