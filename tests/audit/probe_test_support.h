// Test-only support for the probe tests: hex and bytes, running tools (tshark, unbound,
// ntpd) and reading their output, a tiny pcap writer so tshark can judge crafted packets,
// UDP exchanges, and a network namespace the test creates, enters and removes (RAII).
//
// Nothing here is hardened: it serves tests that control their inputs.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "audit/probe.h"

namespace bw::audit::test {

using Bytes = std::vector<std::uint8_t>;

inline const std::string kCaptures = std::string(BW_SHARED_DIR) + "/captures/";

inline Bytes fromHex(std::string_view hex) {
  Bytes out;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) break;
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

inline Bytes bytesOf(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline ByteSpan span(const Bytes& b) { return ByteSpan(b.data(), b.size()); }

// Runs a shell command and returns its standard output (empty on failure).
inline std::string run(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  if (status != nullptr) *status = st;
  return out;
}

inline bool haveTool(const std::string& name) {
  int status = 0;
  run("command -v " + name + " >/dev/null 2>&1", &status);
  return status == 0;
}

inline std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (true) {
    const std::size_t e = s.find(sep, at);
    out.emplace_back(s.substr(at, e == std::string_view::npos ? s.size() - at : e - at));
    if (e == std::string_view::npos) break;
    at = e + 1;
  }
  return out;
}

// tshark -T fields over `file` with a display filter: one row per packet, one string per
// field (tshark joins repeated occurrences of a field with ',').
inline std::vector<std::vector<std::string>> tsharkFields(const std::string& file,
                                                          const std::string& filter,
                                                          const std::vector<std::string>& fields,
                                                          const std::string& extra = "") {
  std::string cmd = "tshark -n -r '" + file + "' " + extra + " -Y '" + filter + "' -T fields";
  for (const std::string& f : fields) cmd += " -e " + f;
  cmd += " 2>/dev/null";
  std::vector<std::vector<std::string>> rows;
  for (const std::string& line : split(run(cmd), '\n')) {
    if (line.empty()) continue;
    std::vector<std::string> row = split(line, '\t');
    row.resize(fields.size());
    rows.push_back(std::move(row));
  }
  return rows;
}

inline std::string firstValue(const std::string& field) { return split(field, ',')[0]; }

// One UDP datagram for a crafted capture.
struct Datagram {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  Bytes payload;
  bool from_server = false;  // 192.0.2.1 -> 198.51.100.7 instead of the other way
};

// Writes Ethernet/IPv4/UDP frames (microsecond pcap, checksums 0) for tshark to dissect.
inline void writePcap(const std::string& path, const std::vector<Datagram>& datagrams) {
  std::ofstream f(path, std::ios::binary);
  auto put32 = [&](std::uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto put16 = [&](std::uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  put32(0xA1B2C3D4);
  put16(2);
  put16(4);
  put32(0);
  put32(0);
  put32(65535);
  put32(1);  // Ethernet
  std::uint32_t t = 1;
  for (const Datagram& d : datagrams) {
    Bytes fr(14 + 20 + 8, 0);
    fr[12] = 0x08;  // IPv4
    std::uint8_t* ip = fr.data() + 14;
    const std::size_t ip_len = 28 + d.payload.size();
    ip[0] = 0x45;
    ip[2] = static_cast<std::uint8_t>(ip_len >> 8);
    ip[3] = static_cast<std::uint8_t>(ip_len);
    ip[8] = 64;
    ip[9] = 17;
    const std::uint8_t client[4] = {198, 51, 100, 7};
    const std::uint8_t server[4] = {192, 0, 2, 1};
    std::copy(d.from_server ? server : client, (d.from_server ? server : client) + 4, ip + 12);
    std::copy(d.from_server ? client : server, (d.from_server ? client : server) + 4, ip + 16);
    std::uint8_t* udp = ip + 20;
    udp[0] = static_cast<std::uint8_t>(d.src_port >> 8);
    udp[1] = static_cast<std::uint8_t>(d.src_port);
    udp[2] = static_cast<std::uint8_t>(d.dst_port >> 8);
    udp[3] = static_cast<std::uint8_t>(d.dst_port);
    udp[4] = static_cast<std::uint8_t>((8 + d.payload.size()) >> 8);
    udp[5] = static_cast<std::uint8_t>(8 + d.payload.size());
    fr.insert(fr.end(), d.payload.begin(), d.payload.end());
    put32(t++);
    put32(0);
    put32(static_cast<std::uint32_t>(fr.size()));
    put32(static_cast<std::uint32_t>(fr.size()));
    f.write(reinterpret_cast<const char*>(fr.data()), static_cast<std::streamsize>(fr.size()));
  }
}

// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char templ[] = "/tmp/bw-probe-test-XXXXXX";
    if (::mkdtemp(templ) != nullptr) path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Parses every datagram of `replies` into one ReplyInfo, as the scanner does.
inline ReplyInfo parseAll(const Probe& probe, const std::vector<Bytes>& replies,
                          std::uint16_t token) {
  ReplyInfo info;
  for (const Bytes& r : replies) probe.parse(span(r), token, info);
  return info;
}

inline ReplyInfo parseOne(const Probe& probe, const Bytes& reply, std::uint16_t token) {
  return parseAll(probe, {reply}, token);
}

// A network namespace with only loopback up, created with a name unique to this process and
// call, entered by the calling thread for the guard's lifetime, and removed afterwards with
// every process started in it through spawn().
class Netns {
 public:
  Netns() {
    static int counter = 0;
    name_ = "bwprobe" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    int st = 0;
    run("ip netns add " + name_ + " 2>/dev/null", &st);
    if (st != 0) return;
    created_ = true;
    run("ip netns exec " + name_ + " ip link set lo up 2>/dev/null", &st);
    home_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int ns = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    if (home_ >= 0 && ns >= 0 && ::setns(ns, CLONE_NEWNET) == 0) entered_ = true;
    if (ns >= 0) ::close(ns);
  }
  ~Netns() {
    for (pid_t pid : children_) {
      ::kill(pid, SIGTERM);
      for (int i = 0; i < 50; ++i) {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) break;
        if (i == 49) {
          ::kill(pid, SIGKILL);
          ::waitpid(pid, nullptr, 0);
        }
        ::usleep(20000);
      }
    }
    if (entered_) (void)::setns(home_, CLONE_NEWNET);
    if (home_ >= 0) ::close(home_);
    if (created_) run("ip netns del " + name_ + " 2>/dev/null");
  }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  bool ok() const { return entered_; }
  const std::string& name() const { return name_; }

  // Starts `argv` inside the namespace (the child inherits it from this thread), with
  // stdout/stderr to `log`. Returns false if it could not start.
  bool spawn(const std::vector<std::string>& argv, const std::string& log) {
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    children_.push_back(pid);
    return true;
  }

 private:
  std::string name_;
  bool created_ = false;
  bool entered_ = false;
  int home_ = -1;
  std::vector<pid_t> children_;
};

// Sends `request` from a fresh UDP socket to 127.0.0.1:`port` and collects the datagrams
// that come back until `quiet` passes without one, `total` passes, or 256 arrived.
inline std::vector<Bytes> exchange(
    std::uint16_t port, const Bytes& request,
    std::chrono::milliseconds quiet = std::chrono::milliseconds(300),
    std::chrono::milliseconds total = std::chrono::milliseconds(2000)) {
  std::vector<Bytes> replies;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return replies;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 ||
      ::send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return replies;
  }
  const auto deadline = std::chrono::steady_clock::now() + total;
  while (replies.size() < 256) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    const int wait = static_cast<int>(std::min(left, quiet).count());
    if (::poll(&p, 1, wait) <= 0) break;
    Bytes buf(65536);
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) break;  // e.g. ICMP port unreachable reported on the connected socket
    buf.resize(static_cast<std::size_t>(n));
    replies.push_back(std::move(buf));
  }
  ::close(fd);
  return replies;
}

// Repeats exchange() until something answers or `budget` runs out: servers need a moment
// to bind after they start.
inline std::vector<Bytes> exchangeWhenUp(
    std::uint16_t port, const Bytes& request,
    std::chrono::milliseconds budget = std::chrono::milliseconds(8000)) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<Bytes> r = exchange(port, request);
    if (!r.empty()) return r;
    ::usleep(100000);
  }
  return {};
}

inline std::size_t totalBytes(const std::vector<Bytes>& replies) {
  std::size_t n = 0;
  for (const Bytes& r : replies) n += r.size();
  return n;
}

}  // namespace bw::audit::test
