// FileStream: reads a plain capture file front to back with read(2) into one reused buffer
// that a record parser sees through a ByteWindow.
//
// Why not mmap: a parser walks records as a chain of dependent loads (each header says where
// the next one is), and on a mapping every new page costs a TLB miss and every new line a trip
// to memory in that chain. Copied by the kernel into a buffer that stays in the core's cache,
// the same bytes are read two to three times faster (docs/performance.md, "The capture
// reader").
//
// The buffer starts at kInitialBytes and doubles, up to `capacity`, only when one record does
// not fit in it, so memory is the buffer whatever the file size. A read error ends the window
// (eof) after the last byte read and is counted as ReadError. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "capture/byte_stream.h"
#include "core/result.h"

namespace bw {

class FileStream final : public ByteStream {
 public:
  // Small enough to stay in a core's L2 cache next to the engine's hot tables, large enough
  // that a refill (one read call) is rare next to the records it brings.
  static constexpr std::size_t kInitialBytes = 256u << 10;

  // Opens a regular, non-empty file. Errors are one sentence naming the file ("capture file
  // 'x' is a directory, not a capture file"), as for every capture source.
  static Result<std::unique_ptr<FileStream>> open(const std::string& path, std::size_t capacity);
  // Reads `fd` (a pipe too), which the stream then owns. `size` is 0 when unknown.
  static std::unique_ptr<FileStream> adopt(int fd, std::uint64_t size, std::size_t capacity);
  ~FileStream() override;
  FileStream(const FileStream&) = delete;
  FileStream& operator=(const FileStream&) = delete;

  void refill(ByteWindow& window, CaptureStats& stats) noexcept override;
  std::size_t lowWater() const noexcept override { return buffer_size_ / 8; }
  std::uint64_t consumed(const ByteWindow& window) const noexcept override {
    return base_ + window.pos;
  }

  // The file's size when it was opened; 0 for a pipe.
  std::uint64_t size() const noexcept { return size_; }
  // The system's description of the first read error, or nullptr.
  const char* errorMessage() const noexcept {
    return error_ != 0 ? std::strerror(error_) : nullptr;
  }

 private:
  FileStream(int fd, std::uint64_t size, std::size_t capacity);

  int fd_;
  std::uint64_t size_;
  std::uint64_t base_ = 0;  // file offset of buffer_[0]
  std::unique_ptr<std::uint8_t[]> buffer_;
  std::size_t buffer_size_;
  std::size_t capacity_;
  bool finished_ = false;
  int error_ = 0;  // errno of the first read error
};

}  // namespace bw
