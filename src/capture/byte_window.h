// ByteWindow: the bytes of a capture a record parser may look at right now, and how parsing
// of one batch ended. Internal to src/capture.
//
// A window is either the whole file (mmap or memory: `eof` is true from the start and
// `capacity == size`) or the current contents of the gzip inflate buffer (`capacity` is the
// buffer size, `eof` turns true once the stream has been inflated completely). Parsers consume
// by advancing `pos`; they never look before `pos` or past `size`.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/bytes.h"

namespace bw {

struct ByteWindow {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;      // bytes valid at data
  std::size_t pos = 0;       // bytes already consumed, <= size
  std::size_t capacity = 0;  // the most bytes the window can ever hold at once
  bool eof = false;          // true when no byte will ever follow data[size - 1]

  std::size_t available() const noexcept { return size - pos; }
  const std::uint8_t* cursor() const noexcept { return data + pos; }
};

enum class ParseStop : std::uint8_t {
  BatchFull,  // the output span is full; more may follow
  NeedMore,   // the next record is not complete in the window yet (only when !eof)
  End,        // clean end of the capture, or damage reading cannot recover from
};

struct ParseResult {
  std::size_t frames = 0;
  ParseStop stop = ParseStop::BatchFull;
};

// Loads in the capture's byte order, chosen at compile time so the per-record loop carries
// no byte-order branch. Assumes a little-endian host, like core/bytes.h.
template <bool kBigEndian>
inline std::uint16_t load16(const std::uint8_t* p) noexcept {
  return kBigEndian ? loadBe16(p) : loadLe16(p);
}
template <bool kBigEndian>
inline std::uint32_t load32(const std::uint8_t* p) noexcept {
  return kBigEndian ? loadBe32(p) : loadLe32(p);
}
template <bool kBigEndian>
inline std::uint64_t load64(const std::uint8_t* p) noexcept {
  return kBigEndian ? loadBe64(p) : loadLe64(p);
}

}  // namespace bw
