#include "daemon/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace bw {

Status dropPrivileges(const std::string& user) {
  if (::geteuid() != 0) {
    return Error{"cannot switch to user " + user + ": not running as root"};
  }
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    return Error{"cannot switch to user " + user + ": no such user"};
  }
  const uid_t uid = pw.pw_uid;
  const gid_t gid = pw.pw_gid;
  if (uid == 0) return {};  // root stays root: nothing to drop
  // Keep the permitted set across setuid, then trim it to CAP_NET_RAW.
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
    return Error{std::string("cannot keep capabilities across setuid: ") + std::strerror(errno)};
  }
  if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) {
    return Error{"cannot switch to user " + user + ": " + std::strerror(errno)};
  }
  ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  cap_t caps = cap_init();
  if (caps == nullptr) return Error{"cannot allocate a capability set"};
  const cap_value_t keep[] = {CAP_NET_RAW};
  cap_set_flag(caps, CAP_PERMITTED, 1, keep, CAP_SET);
  cap_set_flag(caps, CAP_EFFECTIVE, 1, keep, CAP_SET);
  rc = cap_set_proc(caps);
  const int err = errno;
  cap_free(caps);
  if (rc != 0) {
    return Error{std::string("switched to user ") + user +
                 " but cannot keep CAP_NET_RAW: " + std::strerror(err)};
  }
  // No way back to root, and no new privileges through exec (notify commands).
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  return {};
}

std::string currentCapabilities() {
  cap_t caps = cap_get_proc();
  if (caps == nullptr) return "unknown";
  char* text = cap_to_text(caps, nullptr);
  std::string out = text != nullptr ? text : "unknown";
  if (text != nullptr) cap_free(text);
  cap_free(caps);
  if (out == "=") out = "none";
  return out;
}

void notifySystemd(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if (len >= sizeof(addr.sun_path)) return;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  (void)::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), addr_len);
  ::close(fd);
}

}  // namespace bw
