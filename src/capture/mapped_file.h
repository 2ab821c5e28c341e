// MappedFile: a regular file mapped read-only (MAP_PRIVATE) for sequential reading, so that
// zlib can inflate a gzip-compressed capture straight from the page cache.
//
// Owns the mapping; movable, not copyable. Errors are one sentence naming the file. A file
// truncated by another process while mapped can raise SIGBUS on access; captures are
// expected to be complete files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/bytes.h"
#include "core/result.h"

namespace bw {

class MappedFile {
 public:
  // Fails for files that cannot be opened, directories, non-regular files and empty files.
  static Result<MappedFile> open(const std::string& path);

  MappedFile() noexcept = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  ByteSpan bytes() const noexcept { return {data_, size_}; }

  // Drops the pages before `offset` from this process (they stay in the page cache), so that
  // reading a large file front to back keeps a bounded resident set. REQUIRES: nothing before
  // `offset` is read again.
  void releaseBefore(std::size_t offset) noexcept;

 private:
  MappedFile(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}
  void reset() noexcept;

  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t released_ = 0;
};

}  // namespace bw
