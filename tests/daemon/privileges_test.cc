// notifySystemd() speaks systemd's notify protocol to whatever NOTIFY_SOCKET names;
// dropPrivileges() refuses what it cannot do without changing anything.
#include "daemon/privileges.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace bw {
namespace {

TEST(NotifySystemd, SendsTheStateToNotifySocket) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("bw-notify-" + std::to_string(getpid()))).string();
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  notifySystemd("READY=1");
  char buf[64] = {};
  const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "READY=1");

  // Without NOTIFY_SOCKET nothing is sent (and nothing fails).
  ::unsetenv("NOTIFY_SOCKET");
  notifySystemd("STOPPING=1");
  tv = {0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_LT(::recv(fd, buf, sizeof buf, 0), 0);
  ::close(fd);
  ::unlink(path.c_str());
}

TEST(DropPrivileges, UnknownUserIsRefusedAndNothingChanges) {
  const uid_t before = ::geteuid();
  Status st = dropPrivileges("no-such-user-bw-test");
  EXPECT_FALSE(st);
  if (before == 0) {
    EXPECT_NE(st.message().find("no such user"), std::string::npos) << st.message();
  } else {
    EXPECT_NE(st.message().find("not running as root"), std::string::npos) << st.message();
  }
  EXPECT_EQ(::geteuid(), before);
}

}  // namespace
}  // namespace bw
