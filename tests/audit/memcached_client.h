// A minimal memcached client for tests: the reference side that asks a real server what it
// saw (bytes_read, bytes_written, pid, version) independently of the code under test.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace bw::testing {

inline sockaddr_in ipv4(const std::string& ip, std::uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &sin.sin_addr);
  return sin;
}

// Sends `command` over UDP with request id 0x4242 and returns the reassembled reply text.
inline std::string memcachedUdp(const std::string& ip, const std::string& command,
                                int timeout_ms = 1000) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to = ipv4(ip, 11211);
  std::string req("\x42\x42\x00\x00\x00\x01\x00\x00", 8);
  req += command;
  ::sendto(fd, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  std::map<int, std::string> parts;
  int total = -1;
  std::vector<char> buf(65536);
  while (total < 0 || static_cast<int>(parts.size()) < total) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) break;
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 8 || buf[0] != 0x42 || buf[1] != 0x42) continue;
    int seq = (static_cast<unsigned char>(buf[2]) << 8) | static_cast<unsigned char>(buf[3]);
    total = (static_cast<unsigned char>(buf[4]) << 8) | static_cast<unsigned char>(buf[5]);
    parts[seq] = std::string(buf.data() + 8, static_cast<std::size_t>(n - 8));
  }
  ::close(fd);
  std::string text;
  for (const auto& [seq, p] : parts) text += p;
  return text;
}

// Sends `command` over TCP and reads until `until` appears at the end or the peer is quiet.
inline std::string memcachedTcp(const std::string& ip, const std::string& command,
                                const std::string& until = "END\r\n", int timeout_ms = 2000) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in to = ipv4(ip, 11211);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
    std::size_t off = 0;
    while (off < command.size()) {
      ssize_t n = ::send(fd, command.data() + off, command.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    std::vector<char> buf(65536);
    while (reply.size() < until.size() ||
           reply.compare(reply.size() - until.size(), until.size(), until) != 0) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) break;
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      reply.append(buf.data(), static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

// "STAT name value" lines -> map.
inline std::map<std::string, std::string> statMap(const std::string& text) {
  std::map<std::string, std::string> m;
  std::istringstream in(text);
  std::string word, name, value;
  while (in >> word) {
    if (word == "STAT" && in >> name >> value) m[name] = value;
  }
  return m;
}

}  // namespace bw::testing
