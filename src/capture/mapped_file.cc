// Read-only file mapping. See mapped_file.h for the contract.
#include "capture/mapped_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "capture/regular_file.h"

namespace bw {

Result<MappedFile> MappedFile::open(const std::string& path) {
  Result<RegularFile> file = openRegularFile(path);
  if (!file.ok()) return file.error();
  const auto [fd, size64] = file.value();
  const std::size_t size = static_cast<std::size_t>(size64);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps its own reference to the file
  if (map == MAP_FAILED) {
    return captureFileError(path,
                            std::string("cannot be mapped into memory: ") + std::strerror(err));
  }
  // Read-ahead hint only; failure changes nothing but speed.
  (void)::madvise(map, size, MADV_SEQUENTIAL);
  return MappedFile(static_cast<const std::uint8_t*>(map), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      released_(std::exchange(other.released_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    released_ = std::exchange(other.released_, 0);
  }
  return *this;
}

void MappedFile::releaseBefore(std::size_t offset) noexcept {
  static const std::size_t kPage = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t upto = std::min(offset, size_) / kPage * kPage;
  if (data_ == nullptr || upto <= released_) return;
  // Advice only: on failure the pages simply stay resident.
  (void)::madvise(const_cast<std::uint8_t*>(data_) + released_, upto - released_, MADV_DONTNEED);
  released_ = upto;
}

MappedFile::~MappedFile() { reset(); }

void MappedFile::reset() noexcept {
  if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
  released_ = 0;
}

}  // namespace bw
