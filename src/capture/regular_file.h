// openRegularFile: opens a capture file for reading after the checks every capture source
// shares, so that a mistaken path gets one clear sentence instead of a hang or a crash.
// Internal to src/capture.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace bw {

struct RegularFile {
  int fd = -1;             // owned by the caller, opened O_RDONLY | O_CLOEXEC
  std::uint64_t size = 0;  // when it was opened; never 0
};

// Fails for files that cannot be opened, directories, non-regular files (a FIFO is refused
// rather than blocked on) and empty files. The error names the file: "capture file 'x' ...".
Result<RegularFile> openRegularFile(const std::string& path);

// "capture file 'PATH'": how every error about a named capture begins.
std::string captureFileName(const std::string& path);
// "capture file 'PATH' PROBLEM"
Error captureFileError(const std::string& path, const std::string& problem);

}  // namespace bw
