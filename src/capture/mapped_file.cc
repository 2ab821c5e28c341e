// Read-only file mapping. See mapped_file.h for the contract.
#include "capture/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace bw {
namespace {

Error fileError(const std::string& path, const std::string& problem) {
  return Error{"capture file '" + path + "' " + problem};
}

}  // namespace

Result<MappedFile> MappedFile::open(const std::string& path) {
  // O_NONBLOCK so that a FIFO given by mistake is refused below instead of blocking here.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fileError(path, std::string("cannot be opened: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return fileError(path, std::string("cannot be read: ") + std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return fileError(path, "is a directory, not a capture file");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fileError(path, "is not a regular file (pipes and devices cannot be read as captures)");
  }
  if (st.st_size == 0) {
    ::close(fd);
    return fileError(path, "is empty");
  }
  const std::size_t size = static_cast<std::size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps its own reference to the file
  if (map == MAP_FAILED) {
    return fileError(path, std::string("cannot be mapped into memory: ") + std::strerror(err));
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
