// The notify command: posix_spawn()ed per event with the configured arguments plus (event,
// victim, vector, attack id), the event's JSON on stdin, BREAKWATER_* variables added to the
// inherited environment, stdout discarded and the first bytes of stderr kept for the error
// message. The child gets a clean signal mask and default dispositions, and its own process
// group so that a timeout kills whatever it started too (SIGTERM, then SIGKILL after 1 s).
//
// Writing stdin must not kill the sensor when the command exits without reading it: the
// write end is non-blocking (a command that never reads cannot stall us past the timeout),
// SIGPIPE is blocked in this thread around the writes, and a SIGPIPE the writes raised is
// consumed with sigtimedwait() before the mask is restored. Nothing process-wide is changed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

#include "daemon/actions.h"

extern char** environ;

namespace bw {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kStderrKept = 512;
constexpr auto kTermGrace = std::chrono::seconds(1);

// Through syscall(): glibc 2.36's <sys/pidfd.h> lacks C linkage for C++ callers.
int openPidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  return -1;
#endif
}

bool isExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

Result<std::string> resolveCommand(const std::string& command) {
  if (command.empty()) return Error{"the notify command is empty"};
  if (command.find('/') != std::string::npos) {
    if (!isExecutableFile(command)) {
      return Error{"notify command " + command + " is not an executable file"};
    }
    std::error_code ec;
    auto absolute = std::filesystem::absolute(command, ec);
    return ec ? command : absolute.string();
  }
  const char* env = std::getenv("PATH");
  const std::string path = env != nullptr && *env != '\0' ? env : "/usr/local/bin:/usr/bin:/bin";
  std::string_view rest = path;
  while (true) {
    const std::size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + command;
    if (isExecutableFile(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return Error{"notify command " + command + " was not found in PATH (" + path + ")"};
}

std::string formatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

// stderr text for a one-line message: control characters become spaces, runs collapse.
std::string oneLine(const std::string& raw) {
  std::string out;
  for (char c : raw) {
    const bool space = static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Moves a descriptor to 3 or above (keeping O_CLOEXEC), so that dup2() onto 0/1/2 in the child
// always really duplicates it.
int aboveStdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  ::close(fd);
  return moved;
}

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// Blocks SIGPIPE in the calling thread for its lifetime; consume() swallows a SIGPIPE that the
// guarded writes raised (not one that was already pending when it started).
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (raised_ && !was_pending_) {
      const timespec zero{0, 0};
      while (::sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  void noteEpipe() { raised_ = true; }

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
  bool raised_ = false;
};

class NotifyCommand final : public EventAction {
 public:
  NotifyCommand(NotifyOptions options, std::string path)
      : options_(std::move(options)), path_(std::move(path)) {}

  std::string name() const override { return "notify"; }
  bool wants(EventKind kind) const override {
    for (EventKind k : options_.on) {
      if (k == kind) return true;
    }
    return false;
  }
  Status handle(const AttackEvent& event) override;

 private:
  NotifyOptions options_;
  std::string path_;  // argv[0] resolved
};

Status NotifyCommand::handle(const AttackEvent& event) {
  std::string input =
      eventToJson(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  input.push_back('\n');

  std::vector<std::string> args = options_.argv;
  const std::string victim = event.record.victim.toString();
  const std::string vector = event.record.vectorLabel();
  const std::string id = std::to_string(event.id);
  args.insert(args.end(), {eventName(event.kind), victim, vector, id});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const std::pair<const char*, std::string> extra[] = {{"BREAKWATER_EVENT", eventName(event.kind)},
                                                       {"BREAKWATER_ATTACK_ID", id},
                                                       {"BREAKWATER_VICTIM", victim},
                                                       {"BREAKWATER_VECTOR", vector}};
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const auto& [key, value] : extra) {
      const std::size_t n = std::strlen(key);
      if (entry.size() > n && entry.compare(0, n, key) == 0 && entry[n] == '=') replaced = true;
    }
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [key, value] : extra) env.push_back(std::string(key) + "=" + value);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in_pipe[2];
  int err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0)
    return Error{"cannot create a pipe: " + std::string(std::strerror(errno))};
  Fd in_r(aboveStdio(in_pipe[0])), in_w(aboveStdio(in_pipe[1]));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return Error{"cannot create a pipe: " + std::string(std::strerror(errno))};
  Fd err_r(aboveStdio(err_pipe[0])), err_w(aboveStdio(err_pipe[1]));
  if (in_r.fd < 0 || in_w.fd < 0 || err_r.fd < 0 || err_w.fd < 0) {
    return Error{"cannot set up pipes: " + std::string(std::strerror(errno))};
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_r.fd, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err_w.fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  const int spawn_error =
      ::posix_spawn(&pid, path_.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spawn_error != 0) return Error{"cannot run " + path_ + ": " + std::strerror(spawn_error)};
  in_r.reset();
  err_w.reset();

  Fd pidfd(openPidfd(pid));  // -1 on kernels before 5.3: poll waitpid() instead
  ::fcntl(in_w.fd, F_SETFL, ::fcntl(in_w.fd, F_GETFL) | O_NONBLOCK);
  ::fcntl(err_r.fd, F_SETFL, ::fcntl(err_r.fd, F_GETFL) | O_NONBLOCK);

  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(options_.timeout_s));
  std::string stderr_head;
  auto readStderr = [&] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(err_r.fd, buf, sizeof buf);
      if (n > 0) {
        const std::size_t room = kStderrKept - std::min(kStderrKept, stderr_head.size());
        stderr_head.append(buf, std::min(room, static_cast<std::size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || errno != EAGAIN) err_r.reset();  // EOF or error: stop reading
      return;
    }
  };
  int status = 0;
  auto reaped = [&] { return ::waitpid(pid, &status, WNOHANG) == pid; };

  bool exited = false;
  bool timed_out = false;
  {
    SigpipeGuard sigpipe;
    std::size_t written = 0;
    while (!exited) {
      if (in_w.fd >= 0 && written == input.size()) in_w.reset();  // EOF for the command
      const auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) break;
      pollfd fds[3];
      nfds_t n = 0;
      int in_i = -1, err_i = -1;
      if (in_w.fd >= 0) {
        in_i = static_cast<int>(n);
        fds[n++] = pollfd{in_w.fd, POLLOUT, 0};
      }
      if (err_r.fd >= 0) {
        err_i = static_cast<int>(n);
        fds[n++] = pollfd{err_r.fd, POLLIN, 0};
      }
      if (pidfd.fd >= 0) fds[n++] = pollfd{pidfd.fd, POLLIN, 0};
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
      if (pidfd.fd < 0) ms = std::min<decltype(ms)>(ms, 10);
      const int ready = ::poll(fds, n, static_cast<int>(ms));
      if (ready < 0 && errno != EINTR) break;  // cannot wait: treat like a timeout below
      if (ready > 0 && in_i >= 0 && fds[in_i].revents != 0) {
        ssize_t w = ::write(in_w.fd, input.data() + written, input.size() - written);
        if (w > 0) {
          written += static_cast<std::size_t>(w);
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          if (errno == EPIPE) sigpipe.noteEpipe();
          in_w.reset();  // the command closed its stdin: it did not want the JSON
        }
      }
      if (ready > 0 && err_i >= 0 && fds[err_i].revents != 0) readStderr();
      exited = reaped();
    }
    in_w.reset();
  }

  if (!exited) exited = reaped();
  if (!exited) {
    timed_out = true;
    ::kill(-pid, SIGTERM);
    ::kill(pid, SIGTERM);
    const auto grace_end = Clock::now() + kTermGrace;
    while (!(exited = reaped()) && Clock::now() < grace_end) {
      pollfd p{pidfd.fd, POLLIN, 0};
      ::poll(&p, pidfd.fd >= 0 ? 1 : 0, 10);
    }
    if (!exited) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  if (err_r.fd >= 0) readStderr();  // what is already there; a background child may hold it open

  std::string detail = oneLine(stderr_head);
  if (!detail.empty()) detail = ": " + detail;
  if (timed_out) {
    return Error{path_ + " did not finish within " + formatSeconds(options_.timeout_s) +
                 " s and was killed" + detail};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    return Error{path_ + " exited with status " + std::to_string(WEXITSTATUS(status)) + detail};
  }
  if (WIFSIGNALED(status)) {
    return Error{path_ + " was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                 ::strsignal(WTERMSIG(status)) + ")" + detail};
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<EventAction>> makeNotifyCommand(const NotifyOptions& options) {
  if (options.argv.empty()) return Error{"the notify command is empty"};
  if (!std::isfinite(options.timeout_s) || options.timeout_s <= 0) {
    return Error{"the notify timeout must be a positive number of seconds, got " +
                 formatSeconds(options.timeout_s)};
  }
  auto path = resolveCommand(options.argv[0]);
  if (!path.ok()) return path.error();
  return std::unique_ptr<EventAction>(std::make_unique<NotifyCommand>(options, *path));
}

}  // namespace bw
