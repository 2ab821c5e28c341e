// Opening a capture file. See regular_file.h for the contract.
#include "capture/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bw {

std::string captureFileName(const std::string& path) { return "capture file '" + path + "'"; }

Error captureFileError(const std::string& path, const std::string& problem) {
  return Error{captureFileName(path) + " " + problem};
}

Result<RegularFile> openRegularFile(const std::string& path) {
  // O_NONBLOCK so that a FIFO given by mistake is refused below instead of blocking here.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return captureFileError(path, std::string("cannot be opened: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return captureFileError(path, std::string("cannot be read: ") + std::strerror(err));
  }
  const char* problem = nullptr;
  if (S_ISDIR(st.st_mode)) {
    problem = "is a directory, not a capture file";
  } else if (!S_ISREG(st.st_mode)) {
    problem = "is not a regular file (pipes and devices cannot be read as captures)";
  } else if (st.st_size == 0) {
    problem = "is empty";
  }
  if (problem != nullptr) {
    ::close(fd);
    return captureFileError(path, problem);
  }
  // Regular files never block; reads should wait for the disk like any other reader.
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return RegularFile{fd, static_cast<std::uint64_t>(st.st_size)};
}

}  // namespace bw
