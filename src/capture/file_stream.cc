// A plain file read into a sliding buffer. See file_stream.h for the contract.
#include "capture/file_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "capture/regular_file.h"

namespace bw {

Result<std::unique_ptr<FileStream>> FileStream::open(const std::string& path,
                                                     std::size_t capacity) {
  Result<RegularFile> file = openRegularFile(path);
  if (!file.ok()) return file.error();
  // Read-ahead hint only (a larger read-ahead window); failure changes nothing but speed.
  (void)::posix_fadvise(file.value().fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return adopt(file.value().fd, file.value().size, capacity);
}

std::unique_ptr<FileStream> FileStream::adopt(int fd, std::uint64_t size, std::size_t capacity) {
  return std::unique_ptr<FileStream>(new FileStream(fd, size, capacity));
}

FileStream::FileStream(int fd, std::uint64_t size, std::size_t capacity)
    : fd_(fd), size_(size), buffer_size_(std::min(capacity, kInitialBytes)), capacity_(capacity) {
  buffer_.reset(new std::uint8_t[buffer_size_]);  // left uninitialised: read() writes it
}

FileStream::~FileStream() { ::close(fd_); }

void FileStream::refill(ByteWindow& window, CaptureStats& stats) noexcept {
  const std::size_t keep = window.size - window.pos;
  const std::uint8_t* const tail = window.data + window.pos;
  base_ += window.pos;
  std::uint8_t* buf = buffer_.get();
  if (keep == buffer_size_ && buffer_size_ < capacity_ && !finished_) {
    // One record fills the whole buffer and is still not complete: grow (rarely, and a few
    // times per file at most, since the buffer doubles).
    const std::size_t grown = std::min(capacity_, buffer_size_ * 2);
    std::unique_ptr<std::uint8_t[]> bigger(new (std::nothrow) std::uint8_t[grown]);
    if (bigger != nullptr) {
      std::memcpy(bigger.get(), tail, keep);
      buffer_ = std::move(bigger);
      buffer_size_ = grown;
      buf = buffer_.get();
    } else {
      capacity_ = buffer_size_;  // the record becomes oversized
    }
  } else if (keep != 0 && tail != buf) {
    std::memmove(buf, tail, keep);
  }
  window.data = buf;
  window.size = keep;
  window.pos = 0;
  window.capacity = capacity_;

  while (window.size < buffer_size_ && !finished_) {
    const ssize_t n = ::read(fd_, buf + window.size, buffer_size_ - window.size);
    if (n > 0) {
      window.size += static_cast<std::size_t>(n);
    } else if (n == 0) {
      finished_ = true;
    } else if (errno != EINTR) {
      stats.count(CaptureIssue::ReadError);
      error_ = errno;
      finished_ = true;
    }
  }
  window.eof = finished_;
}

}  // namespace bw
