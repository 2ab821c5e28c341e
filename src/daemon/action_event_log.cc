// The JSON-lines event log. Each event is one line written with a single write() on an
// O_APPEND descriptor, so a reader tailing the file (or another process appending to it) never
// sees half a line from a successful write. A short write (disk full mid-line) leaves a torn
// line: the next line then starts with a newline, so the damage stays on that one line.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "daemon/actions.h"

namespace bw {

namespace {

std::string errnoText(int err) { return std::strerror(err); }

Result<int> openLog(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Error{"cannot open event log " + path + ": " + errnoText(errno)};
  return fd;
}

class EventLog final : public EventAction {
 public:
  EventLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~EventLog() override {
    if (fd_ >= 0) ::close(fd_);
  }

  std::string name() const override { return "events-file"; }

  Status handle(const AttackEvent& event) override {
    // After a failed reopen, keep writing to the old file (logrotate renamed it: nothing is
    // lost) but fail every event until the path can be opened again, so it shows.
    std::string reopen_error;
    if (reopen_failed_) (void)tryReopen(&reopen_error);
    std::string line =
        eventToJson(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line.push_back('\n');
    if (torn_) line.insert(line.begin(), '\n');
    Status written = writeLine(line);
    if (!written.ok()) return written;
    if (!reopen_error.empty()) return Error{reopen_error + "; still writing to the old file"};
    return {};
  }

  void reopen() override {
    std::string error;
    if (!tryReopen(&error)) reopen_failed_ = true;
  }

 private:
  bool tryReopen(std::string* error) {
    auto fd = openLog(path_);
    if (!fd.ok()) {
      *error = fd.error().message;
      return false;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = *fd;
    reopen_failed_ = false;
    torn_ = false;  // a new file starts clean
    return true;
  }

  Status writeLine(const std::string& line) {
    std::size_t done = 0;
    while (done < line.size()) {
      ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        torn_ = torn_ || done > 0;
        return Error{"write to " + path_ + " failed: " + errnoText(err)};
      }
      if (n == 0) {
        torn_ = torn_ || done > 0;
        return Error{"write to " + path_ + " failed: wrote nothing"};
      }
      done += static_cast<std::size_t>(n);
    }
    torn_ = false;
    return {};
  }

  std::string path_;
  int fd_ = -1;
  bool reopen_failed_ = false;
  bool torn_ = false;  // the last line was cut short: start the next one on a fresh line
};

}  // namespace

Result<std::unique_ptr<EventAction>> openEventLog(const std::string& path) {
  if (path.empty()) return Error{"the event log path is empty"};
  auto fd = openLog(path);
  if (!fd.ok()) return fd.error();
  return std::unique_ptr<EventAction>(std::make_unique<EventLog>(path, *fd));
}

}  // namespace bw
