// ByteStream: a source that refills a sliding ByteWindow piece by piece (a plain file read
// into a buffer, a gzip stream inflated into one), for the capture reader. Internal to
// src/capture.
#pragma once

#include <cstddef>
#include <cstdint>

#include "capture/byte_window.h"
#include "capture/capture_file.h"

namespace bw {

class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // Slides window.[pos, size) to the front of the buffer and appends after it until the
  // buffer is full or the source ends. This invalidates pointers into the previous window, so
  // callers refill only when no returned frame is still in use. Afterwards `window` describes
  // the buffer; it gained at least one byte or turned eof.
  virtual void refill(ByteWindow& window, CaptureStats& stats) noexcept = 0;
  // Refill before a batch once fewer unread bytes than this remain in the window.
  virtual std::size_t lowWater() const noexcept = 0;
  // Bytes of the file as stored (compressed, for gzip) consumed up to window.pos.
  virtual std::uint64_t consumed(const ByteWindow& window) const noexcept = 0;
};

}  // namespace bw
