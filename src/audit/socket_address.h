// IpAddress + port <-> sockaddr conversions for the audit module's sockets (scanner and the
// memcached deep measurement). IPv4 addresses (::ffff:a.b.c.d) become AF_INET, so IPv4
// targets use IPv4 sockets, never v4-mapped IPv6 ones.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

#include "core/ip_address.h"

namespace bw::audit {

// Fills `ss` and returns the length to pass to sendto/connect.
inline socklen_t toSockaddr(const IpAddress& a, std::uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.isV4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr.s_addr = htonl(a.v4());
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(sin6->sin6_addr.s6_addr, a.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

// False for families other than AF_INET and AF_INET6.
inline bool fromSockaddr(const sockaddr_storage& ss, IpAddress& a, std::uint16_t& port) {
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    a = IpAddress::fromV4Bytes(reinterpret_cast<const std::uint8_t*>(&sin->sin_addr.s_addr));
    port = ntohs(sin->sin_port);
    return true;
  }
  if (ss.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    a = IpAddress::fromV6Bytes(sin6->sin6_addr.s6_addr);
    port = ntohs(sin6->sin6_port);
    return true;
  }
  return false;
}

}  // namespace bw::audit
