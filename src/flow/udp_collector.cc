// Live UDP collector for export datagrams. See udp_collector.h for the contract.
#include "flow/udp_collector.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <optional>

namespace bw {
namespace {

constexpr std::string_view kEndpointForms = "expected ADDR:PORT, [V6ADDR]:PORT, :PORT or PORT";
constexpr std::size_t kMaxBatch = 1024;  // recvmmsg's vlen limit (UIO_MAXIOV)
constexpr std::size_t kMinDatagram = 512;
constexpr std::size_t kMaxDatagram = 65535;
// Batches read from one listener per poll(): enough to drain a burst in few wakeups, small
// enough that a flooded listener leaves the others and wake() a turn within one call.
constexpr int kBatchesPerListener = 8;

// Room for a timestamp (16 bytes in both the old and the y2038-safe layout) and the drop
// counter, with slack for anything else the kernel adds.
struct alignas(cmsghdr) ControlBuffer {
  unsigned char bytes[CMSG_SPACE(16) + CMSG_SPACE(sizeof(std::uint32_t)) + 64];
};

Error badEndpoint(std::string_view text, std::string_view problem) {
  return Error{"invalid endpoint '" + std::string(text) + "': " + std::string(problem) + "; " +
               std::string(kEndpointForms)};
}

std::optional<std::uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

// REQUIRES: ns >= 0.
timespec toTimespec(std::int64_t ns) noexcept {
  return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

// Empties the wake eventfd (EAGAIN when already empty is harmless).
void resetWake(int fd) noexcept {
  std::uint64_t count;
  (void)!::read(fd, &count, sizeof count);
}

std::int64_t realtimeNs() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The kernel's per-socket drop counter is 32 bits and cumulative. Datagrams carry its value
// from when they were queued, so an older value can only repeat the newest one; the signed
// difference keeps that and 32-bit wrap-around both right.
void observeDropCounter(std::uint32_t raw, std::uint64_t* drops, std::uint32_t* last) noexcept {
  const auto delta = static_cast<std::int32_t>(raw - *last);
  if (delta > 0) {
    *drops += static_cast<std::uint32_t>(delta);
    *last = raw;
  }
}

void closeFd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Fills a sockaddr for bind(). Returns its length.
socklen_t toSockaddr(const IpAddress& address, std::uint16_t port, sockaddr_storage* out) {
  std::memset(out, 0, sizeof *out);
  if (address.isV4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, &address.bytes()[12], 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, address.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

}  // namespace

struct UdpCollector::Listener {
  int fd = -1;
  IpAddress address;
  std::uint16_t port = 0;  // as bound
  std::string endpoint;
  int receive_buffer_bytes = 0;
  std::uint64_t datagrams = 0;
  std::uint64_t bytes = 0;
  std::uint64_t truncated = 0;
  std::uint64_t errors = 0;
  // The kernel's drop counter extended to 64 bits, current as of its raw value drop_counter.
  std::uint64_t drops = 0;
  std::uint32_t drop_counter = 0;
};

// Every buffer poll() uses, allocated once at open(): `batch` message headers each pointing
// at its own slice of one data block, sender address and control buffer.
struct UdpCollector::Buffers {
  std::size_t slot_bytes = 0;
  std::unique_ptr<std::uint8_t[]> data;  // batch * slot_bytes, not zeroed: only the kernel writes
  std::vector<mmsghdr> messages;
  std::vector<iovec> iovecs;
  std::vector<sockaddr_storage> senders;
  std::vector<ControlBuffer> controls;
  std::vector<ReceivedDatagram> out;
  std::vector<pollfd> pollfds;  // listeners in order, then the wake eventfd
};

UdpCollector::UdpCollector() = default;

UdpCollector::~UdpCollector() {
  for (Listener& l : listeners_) closeFd(l.fd);
  closeFd(wake_fd_);
}

std::string formatEndpoint(const IpAddress& address, std::uint16_t port) {
  if (address.isV4()) return address.toString() + ":" + std::to_string(port);
  return "[" + address.toString() + "]:" + std::to_string(port);
}

Result<std::pair<IpAddress, std::uint16_t>> parseEndpoint(std::string_view text) {
  if (text.empty()) return badEndpoint(text, "empty");
  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return badEndpoint(text, "missing ']'");
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return badEndpoint(text, "a port must follow the bracketed address, as in [::1]:2055");
    }
    port_text = rest.substr(1);
    bracketed = true;
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      if (!parsePort(text) && IpAddress::parse(text)) {
        return badEndpoint(text, "missing ':PORT' after the address");
      }
      port_text = text;  // "PORT"
    } else {
      if (text.find(':') != colon) {
        return badEndpoint(text, "IPv6 addresses need brackets, as in [::1]:2055");
      }
      host = text.substr(0, colon);
      port_text = text.substr(colon + 1);
    }
  }
  const auto port = parsePort(port_text);
  if (!port) {
    return badEndpoint(text,
                       "port '" + std::string(port_text) + "' is not a number from 0 to 65535");
  }
  if (host.empty()) {
    if (bracketed) return badEndpoint(text, "empty brackets (use [::] for every IPv6 address)");
    return std::pair{IpAddress::fromV4(0), *port};
  }
  if (host.find('%') != std::string_view::npos) {
    return badEndpoint(text, "scope ids ('%' and an interface name) are not supported");
  }
  const auto address = IpAddress::parse(host);
  if (bracketed && (!address || host.find(':') == std::string_view::npos)) {
    return badEndpoint(text, "'" + std::string(host) + "' is not an IPv6 address");
  }
  if (!address) {
    return badEndpoint(
        text, "'" + std::string(host) + "' is not an IPv4 address (host names are not resolved)");
  }
  return std::pair{*address, *port};
}

Result<std::unique_ptr<UdpCollector>> UdpCollector::open(const std::vector<std::string>& endpoints,
                                                         CollectorOptions options) {
  if (endpoints.empty()) return Error{"no endpoint to listen on"};
  if (options.batch < 1 || options.batch > kMaxBatch) {
    return Error{"collector batch " + std::to_string(options.batch) +
                 " is out of range; expected 1 to " + std::to_string(kMaxBatch)};
  }
  if (options.max_datagram_bytes < kMinDatagram || options.max_datagram_bytes > kMaxDatagram) {
    return Error{"collector max_datagram_bytes " + std::to_string(options.max_datagram_bytes) +
                 " is out of range; expected " + std::to_string(kMinDatagram) + " to " +
                 std::to_string(kMaxDatagram)};
  }

  std::vector<std::pair<IpAddress, std::uint16_t>> parsed;
  for (const std::string& text : endpoints) {
    auto endpoint = parseEndpoint(text);
    if (!endpoint.ok()) return endpoint.error();
    for (const auto& earlier : parsed) {
      if (earlier == *endpoint && endpoint->second != 0) {
        return Error{"endpoint listed twice: " + formatEndpoint(endpoint->first, endpoint->second)};
      }
    }
    parsed.push_back(*endpoint);
  }

  // From here on the collector owns every descriptor, so an early return closes them all.
  std::unique_ptr<UdpCollector> c(new UdpCollector());
  c->options_ = options;
  c->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (c->wake_fd_ < 0) {
    return Error{std::string("cannot create the collector's wakeup descriptor: ") +
                 std::strerror(errno)};
  }

  for (const auto& [address, port] : parsed) {
    const std::string asked = formatEndpoint(address, port);
    const int family = address.isV4() ? AF_INET : AF_INET6;
    const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      const int err = errno;
      if (err == EAFNOSUPPORT) return Error{"IPv6 is not available on this host: " + asked};
      return Error{"cannot create a UDP socket for " + asked + ": " + std::strerror(err)};
    }
    Listener& l = c->listeners_.emplace_back();  // owns fd from now on
    l.fd = fd;
    l.address = address;
    const int one = 1;
    if (family == AF_INET6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
      return Error{"cannot make " + asked + " IPv6-only: " + std::strerror(errno)};
    }
    if (options.receive_buffer_bytes > 0) {
      // FORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN; the plain option is capped
      // silently. Either way the granted size is read back below.
      const int want = options.receive_buffer_bytes;
      if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0) {
        (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
      }
    }
    socklen_t len = sizeof l.receive_buffer_bytes;
    (void)::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &l.receive_buffer_bytes, &len);
    // Both are optional: without them timestamps come from clock_gettime and drops from
    // SO_MEMINFO in stats().
    (void)::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    (void)::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);

    sockaddr_storage sa;
    const socklen_t sa_len = toSockaddr(address, port, &sa);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sa_len) != 0) {
      const int err = errno;
      if (err == EADDRINUSE) {
        for (std::size_t i = 0; i + 1 < c->listeners_.size(); ++i) {
          const Listener& other = c->listeners_[i];
          if (other.port == port && other.address.isV4() == address.isV4()) {
            return Error{"address already in use: " + asked + " (overlaps " + other.endpoint +
                         ", also listed)"};
          }
        }
        return Error{"address already in use: " + asked + " (another collector running?)"};
      }
      if (err == EACCES || err == EPERM) {
        return Error{"permission denied: " + asked +
                     (port < 1024 ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : "")};
      }
      if (err == EADDRNOTAVAIL) {
        return Error{"address not available: " + asked + " (not an address of this host)"};
      }
      return Error{"cannot listen on " + asked + ": " + std::strerror(err)};
    }
    len = sizeof sa;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      return Error{"cannot read the bound port of " + asked + ": " + std::strerror(errno)};
    }
    l.port = family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in*>(&sa)->sin_port)
                               : ntohs(reinterpret_cast<const sockaddr_in6*>(&sa)->sin6_port);
    l.endpoint = formatEndpoint(address, l.port);
  }

  auto b = std::make_unique<Buffers>();
  const std::size_t n = options.batch;
  b->slot_bytes = options.max_datagram_bytes;
  b->data = std::make_unique_for_overwrite<std::uint8_t[]>(n * b->slot_bytes);
  b->messages.resize(n);
  b->iovecs.resize(n);
  b->senders.resize(n);
  b->controls.resize(n);
  b->out.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    b->iovecs[i] = iovec{b->data.get() + i * b->slot_bytes, b->slot_bytes};
  }
  for (const Listener& l : c->listeners_) b->pollfds.push_back(pollfd{l.fd, POLLIN, 0});
  b->pollfds.push_back(pollfd{c->wake_fd_, POLLIN, 0});
  c->buffers_ = std::move(b);
  return c;
}

std::size_t UdpCollector::poll(std::int64_t timeout_ns, const Sink& sink) {
  std::vector<pollfd>& fds = buffers_->pollfds;
  for (pollfd& p : fds) p.revents = 0;
  const timespec timeout = toTimespec(std::max<std::int64_t>(timeout_ns, 0));
  if (::ppoll(fds.data(), fds.size(), &timeout, nullptr) <= 0) return 0;  // idle, or EINTR

  if (fds.back().revents != 0) resetWake(wake_fd_);
  std::size_t delivered = 0;
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    if (fds[i].revents != 0) drain(i, sink, &delivered);
  }
  if (delivered > 0 && delivered < options_.gather_below && options_.gather_ns > 0 &&
      fds.back().revents == 0) {
    const timespec gather = toTimespec(options_.gather_ns);
    pollfd wake{wake_fd_, POLLIN, 0};
    if (::ppoll(&wake, 1, &gather, nullptr) > 0) resetWake(wake_fd_);
  }
  return delivered;
}

void UdpCollector::drain(std::size_t index, const Sink& sink, std::size_t* delivered) {
  Listener& l = listeners_[index];
  Buffers& b = *buffers_;
  const std::size_t n = options_.batch;
  for (int round = 0; round < kBatchesPerListener; ++round) {
    for (std::size_t i = 0; i < n; ++i) {
      msghdr& h = b.messages[i].msg_hdr;
      h.msg_name = &b.senders[i];
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_iov = &b.iovecs[i];
      h.msg_iovlen = 1;
      h.msg_control = b.controls[i].bytes;
      h.msg_controllen = sizeof b.controls[i].bytes;
      h.msg_flags = 0;
      b.messages[i].msg_len = 0;
    }
    const int got =
        ::recvmmsg(l.fd, b.messages.data(), static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) ++l.errors;
      return;
    }
    std::int64_t fallback_ns = 0;  // read once per batch, only if some datagram lacks a stamp
    std::size_t out = 0;
    for (int i = 0; i < got; ++i) {
      msghdr& h = b.messages[i].msg_hdr;
      std::int64_t stamp_ns = 0;
      for (cmsghdr* cm = CMSG_FIRSTHDR(&h); cm != nullptr; cm = CMSG_NXTHDR(&h, cm)) {
        if (cm->cmsg_level != SOL_SOCKET) continue;
        const std::size_t payload = cm->cmsg_len - CMSG_LEN(0);
        if (cm->cmsg_type == SO_RXQ_OVFL && payload >= sizeof(std::uint32_t)) {
          std::uint32_t raw;
          std::memcpy(&raw, CMSG_DATA(cm), sizeof raw);
          observeDropCounter(raw, &l.drops, &l.drop_counter);
        } else if (cm->cmsg_type == SO_TIMESTAMPNS_NEW && payload >= 2 * sizeof(std::int64_t)) {
          std::int64_t sec_nsec[2];  // struct __kernel_timespec
          std::memcpy(sec_nsec, CMSG_DATA(cm), sizeof sec_nsec);
          stamp_ns = sec_nsec[0] * 1'000'000'000 + sec_nsec[1];
        } else if (cm->cmsg_type == SO_TIMESTAMPNS_OLD && payload >= sizeof(timespec)) {
          timespec ts;
          std::memcpy(&ts, CMSG_DATA(cm), sizeof ts);
          stamp_ns = std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
        }
      }
      if (h.msg_flags & MSG_TRUNC) {
        ++l.truncated;
        continue;
      }
      ReceivedDatagram& d = b.out[out++];
      const auto* sa = reinterpret_cast<const sockaddr_storage*>(h.msg_name);
      if (sa->ss_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
        d.from = IpAddress::fromV4Bytes(reinterpret_cast<const std::uint8_t*>(&sin->sin_addr));
        d.from_port = ntohs(sin->sin_port);
      } else {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
        d.from = IpAddress::fromV6Bytes(reinterpret_cast<const std::uint8_t*>(&sin6->sin6_addr));
        d.from_port = ntohs(sin6->sin6_port);
      }
      d.local_port = l.port;
      d.listener = static_cast<std::uint32_t>(index);
      if (stamp_ns == 0) {
        if (fallback_ns == 0) fallback_ns = realtimeNs();
        stamp_ns = fallback_ns;
      }
      d.received_ns = stamp_ns;
      d.data =
          ByteSpan(static_cast<const std::uint8_t*>(h.msg_iov->iov_base), b.messages[i].msg_len);
      ++l.datagrams;
      l.bytes += b.messages[i].msg_len;
    }
    if (out > 0) {
      *delivered += out;
      sink(std::span<const ReceivedDatagram>(b.out.data(), out));
    }
    if (static_cast<std::size_t>(got) < n) return;  // the queue is empty (or nearly)
  }
}

void UdpCollector::wake() noexcept {
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);  // EAGAIN: already signalled enough
}

std::vector<ListenerStats> UdpCollector::stats() const {
  std::vector<ListenerStats> out;
  out.reserve(listeners_.size());
  for (const Listener& l : listeners_) {
    ListenerStats s;
    s.endpoint = l.endpoint;
    s.datagrams = l.datagrams;
    s.bytes = l.bytes;
    s.truncated = l.truncated;
    s.errors = l.errors;
    s.receive_buffer_bytes = l.receive_buffer_bytes;
    // The ancillary counter only arrives with the next datagram; SO_MEMINFO reads the same
    // counter now, so a burst that ended in drops is reported before more traffic comes.
    std::uint64_t drops = l.drops;
    std::uint32_t last = l.drop_counter;
    std::uint32_t meminfo[SK_MEMINFO_VARS] = {};
    socklen_t len = sizeof meminfo;
    if (::getsockopt(l.fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) == 0 &&
        len > SK_MEMINFO_DROPS * sizeof(std::uint32_t)) {
      observeDropCounter(meminfo[SK_MEMINFO_DROPS], &drops, &last);
    }
    s.kernel_drops = drops;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> UdpCollector::endpoints() const {
  std::vector<std::string> out;
  out.reserve(listeners_.size());
  for (const Listener& l : listeners_) out.push_back(l.endpoint);
  return out;
}

}  // namespace bw
