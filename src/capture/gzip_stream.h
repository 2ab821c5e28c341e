// GzipStream: inflates a gzip-compressed capture (one or more concatenated members) into a
// bounded sliding buffer that a record parser reads through a ByteWindow.
//
// Memory is the buffer plus zlib's state, whatever the file size. The buffer starts small and
// doubles at each refill while the stream keeps outgrowing it, up to `capacity`, so a small
// capture never pays for the full buffer. refill() moves the unconsumed tail of the window to
// the front of the buffer, which invalidates pointers into it: callers refill only when no
// returned frame is still in use. A corrupt or
// cut-short stream ends the window (eof) after the last good byte and is counted as
// CompressedDataError. Not thread-safe.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "capture/byte_stream.h"
#include "core/bytes.h"

namespace bw {

class GzipStream final : public ByteStream {
 public:
  static bool isMagic(ByteSpan data) noexcept {
    return data.size() >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  }

  // The first buffer size; it grows towards the capacity only for larger streams.
  static constexpr std::size_t kInitialBytes = 256u << 10;

  // `compressed` must outlive the stream. Returns nullptr when zlib cannot be initialised.
  // `capacity` bounds the buffer and is the ByteWindow capacity the parsers see.
  static std::unique_ptr<GzipStream> create(ByteSpan compressed, std::size_t capacity);
  ~GzipStream() override;
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  // Inflates after the window's unread tail until the buffer is full or the stream ends.
  void refill(ByteWindow& window, CaptureStats& stats) noexcept override;
  std::size_t lowWater() const noexcept override { return buffer_size_ / 8; }
  // Compressed bytes consumed so far (inflated ahead of the window).
  std::uint64_t consumed(const ByteWindow& /*window*/) const noexcept override { return in_pos_; }
  // zlib's description of the first corruption, or nullptr.
  const char* errorMessage() const noexcept { return error_; }

 private:
  GzipStream(ByteSpan compressed, std::size_t capacity);
  void fail(CaptureStats& stats, const char* why) noexcept;

  z_stream z_{};
  ByteSpan in_;
  std::size_t in_pos_ = 0;
  std::unique_ptr<std::uint8_t[]> buffer_;
  std::size_t buffer_size_;
  std::size_t capacity_;
  bool filled_ = false;       // the buffer has been filled at least once
  bool member_done_ = false;  // the current member hit its end; another may follow
  bool finished_ = false;     // nothing more will be inflated
  const char* error_ = nullptr;
};

}  // namespace bw
