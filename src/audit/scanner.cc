#include "audit/scanner.h"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "audit/socket_address.h"

namespace bw::audit {
namespace {

using Ns = std::int64_t;
constexpr Ns kMs = 1'000'000;
constexpr int kMaxAttempts = 8;
constexpr std::size_t kRecvBatch = 32;
constexpr std::size_t kRecvBufBytes = 65536;
constexpr int kRecvRounds = 8;  // batches per socket per wake-up, so floods cannot starve timers
constexpr std::uint64_t kUdpTag = std::uint64_t{1} << 63;

Ns nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Ns>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Walks (address, probe) pairs of one transport in address order.
class PairCursor {
 public:
  PairCursor(const TargetSet& set, std::vector<std::uint16_t> probes)
      : cursor_(set), probes_(std::move(probes)), next_(probes_.size()) {
    done_ = probes_.empty();
  }
  bool done() const { return done_; }
  std::uint64_t addresses() const { return addresses_; }
  bool next(IpAddress& addr, std::uint16_t& probe) {
    if (done_) return false;
    if (next_ == probes_.size()) {
      if (!cursor_.next(current_)) {
        done_ = true;
        return false;
      }
      ++addresses_;
      next_ = 0;
    }
    addr = current_;
    probe = probes_[next_++];
    return true;
  }

 private:
  TargetSet::Cursor cursor_;
  std::vector<std::uint16_t> probes_;
  std::size_t next_;
  IpAddress current_;
  std::uint64_t addresses_ = 0;
  bool done_ = false;
};

struct Task {
  IpAddress addr;
  std::uint32_t gen = 0;
  std::uint32_t timer = 0;  // id of the live timer entry, 0 while waiting for a retry
  std::uint16_t probe = 0;
  std::uint8_t attempts = 0;
  std::uint8_t answered = 0;  // bit k: attempt k drew an accepted reply
  bool live = false;
  bool udp = true;
  bool connected = false;
  bool capped = false;
  bool heard = false;  // a datagram came from the pair's address and port, accepted or not
  int fd = -1;
  std::uint32_t request_bytes = 0;  // one attempt
  std::uint32_t datagrams = 0;
  std::uint64_t response_bytes = 0;
  std::array<Ns, kMaxAttempts> sent{};
  double rtt_ms = 0;
  std::unique_ptr<ReplyInfo> info;
  std::vector<std::uint8_t> buf;  // TCP only
};

struct Timer {
  std::uint32_t slot;
  std::uint32_t gen;
  std::uint32_t id;
  Ns start;
};

struct UdpKey {
  IpAddress addr;
  std::uint16_t probe;
  friend bool operator==(const UdpKey&, const UdpKey&) = default;
};
struct UdpKeyHash {
  std::size_t operator()(const UdpKey& k) const noexcept {
    return k.addr.hash() ^ (std::uint64_t{k.probe} * 0x9E3779B97F4A7C15ULL);
  }
};

enum class SendResult { Sent, Blocked, Failed };

class Engine {
 public:
  Engine(const TargetSet& targets, std::span<const Probe* const> probes, const ScanOptions& o,
         const FindingSink& on_finding, const ProgressSink& on_progress)
      : targets_(targets),
        probes_(probes.begin(), probes.end()),
        o_(o),
        on_finding_(on_finding),
        on_progress_(on_progress),
        udp_cursor_(targets, indicesOf(probes, Transport::Udp)),
        tcp_cursor_(targets, indicesOf(probes, Transport::Tcp)) {}

  ~Engine() {
    for (Task& t : tasks_) {
      if (t.fd >= 0) ::close(t.fd);
    }
    for (int fd : udp_fds_) {
      if (fd >= 0) ::close(fd);
    }
    if (epoll_ >= 0) ::close(epoll_);
  }

  Status setUp();
  ScanStats run();

 private:
  static std::vector<std::uint16_t> indicesOf(std::span<const Probe* const> probes, Transport t) {
    std::vector<std::uint16_t> v;
    for (std::size_t i = 0; i < probes.size(); ++i) {
      if (probes[i]->transport() == t) v.push_back(static_cast<std::uint16_t>(i));
    }
    return v;
  }

  std::uint16_t token(const Task& t, int attempt) const {
    std::uint64_t h = t.addr.hash() ^ seed_ ^ (std::uint64_t{t.probe} << 32) ^
                      (static_cast<std::uint64_t>(attempt) << 48);
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 29;
    return static_cast<std::uint16_t>(h);
  }
  int udpFd(std::uint16_t probe, bool v4) const { return udp_fds_[probe * 2 + (v4 ? 0 : 1)]; }

  Ns currentTimeout() const;
  void rttSample(Ns rtt);
  void pushTimer(std::uint32_t slot, Ns start);
  std::uint32_t allocTask();
  bool canStart(bool udp) const;
  bool workPending() const;
  void sendSome(Ns now);
  SendResult sendAttempt(std::uint32_t slot, Ns now);
  SendResult sendUdp(std::uint32_t slot, Ns now);
  SendResult sendTcp(std::uint32_t slot, Ns now);
  void expireTimers(Ns now);
  void onTimeout(std::uint32_t slot);
  void finish(std::uint32_t slot);
  void onUdpReadable(std::size_t socket_index, Ns now);
  void onUdpError(std::size_t socket_index, Ns now);
  void onDatagram(std::uint16_t probe, const IpAddress& src, std::uint16_t port, ByteSpan data,
                  std::size_t real_len, Ns now);
  void onTcpEvent(std::uint32_t slot, std::uint32_t gen, std::uint32_t events, Ns now);
  void tcpConnected(std::uint32_t slot, Ns now);
  void reportProgress(Ns now, bool force);

  const TargetSet& targets_;
  std::vector<const Probe*> probes_;
  ScanOptions o_;
  const FindingSink& on_finding_;
  const ProgressSink& on_progress_;
  PairCursor udp_cursor_;
  PairCursor tcp_cursor_;
  std::uint64_t seed_ = 0;

  int epoll_ = -1;
  std::vector<int> udp_fds_;  // [probe * 2 + (v4 ? 0 : 1)], -1 where unused
  std::deque<Task> tasks_;    // stable addresses; slots are reused through free_
  std::vector<std::uint32_t> free_;
  std::deque<Timer> timers_;  // in start order; one shared wait, so also in deadline order
  using RetryQueue = std::deque<std::pair<std::uint32_t, std::uint32_t>>;  // (slot, gen)
  RetryQueue udp_retry_;
  RetryQueue tcp_retry_;
  std::unordered_map<UdpKey, std::uint32_t, UdpKeyHash> udp_index_;
  std::uint32_t next_timer_ = 0;
  std::size_t udp_live_ = 0;
  std::size_t tcp_open_ = 0;
  std::size_t tcp_cap_ = 0;
  std::size_t live_ = 0;
  bool turn_udp_ = true;

  double tokens_ = 0;
  double burst_ = 1;
  Ns last_refill_ = 0;
  Ns blocked_until_ = 0;

  std::uint64_t rtt_samples_ = 0;
  double srtt_ = 0, rttvar_ = 0, max_rtt_ = 0;  // ns

  Ns start_ = 0;
  Ns last_progress_ = 0;
  std::uint64_t pairs_done_ = 0;
  std::uint64_t pairs_total_ = 0;
  ScanStats stats_;

  std::vector<std::uint8_t> recv_bufs_;
  std::array<mmsghdr, kRecvBatch> msgs_{};
  std::array<iovec, kRecvBatch> iovs_{};
  std::array<sockaddr_storage, kRecvBatch> names_{};
};

Status Engine::setUp() {
  if (probes_.empty()) return Error{"no probes selected"};
  if (!(o_.rate_pps > 0)) return Error{"the packet rate must be positive"};
  if (o_.retries < 0 || o_.retries >= kMaxAttempts) {
    return Error{"retries must be between 0 and " + std::to_string(kMaxAttempts - 1)};
  }
  if (o_.timeout.count() <= 0) return Error{"the timeout must be positive"};
  o_.min_timeout = std::min(o_.min_timeout, o_.timeout);
  seed_ = o_.seed != 0 ? o_.seed
                       : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();

  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) return Error{std::string("epoll_create1: ") + std::strerror(errno)};

  udp_fds_.assign(probes_.size() * 2, -1);
  for (std::size_t i = 0; i < probes_.size(); ++i) {
    if (probes_[i]->transport() != Transport::Udp) continue;
    for (int fam = 0; fam < 2; ++fam) {
      bool v4 = fam == 0;
      if (v4 ? !targets_.hasV4() : !targets_.hasV6()) continue;
      int fd = ::socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        return Error{std::string("cannot open a UDP socket (") + (v4 ? "IPv4" : "IPv6") +
                     "): " + std::strerror(errno)};
      }
      udp_fds_[i * 2 + fam] = fd;
      int one = 1;
      int buf = o_.socket_buffer;
      if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0) {
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
      }
      if (v4) {
        ::setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof one);
      } else {
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        ::setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof one);
      }
      sockaddr_storage any{};
      any.ss_family = static_cast<sa_family_t>(v4 ? AF_INET : AF_INET6);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&any),
                 v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)) != 0) {
        return Error{std::string("cannot bind a UDP socket: ") + std::strerror(errno)};
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kUdpTag | (i * 2 + fam);
      if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        return Error{std::string("epoll_ctl: ") + std::strerror(errno)};
      }
    }
  }

  // Connections are bounded by the descriptors we may open, with room for the rest.
  rlimit rl{};
  std::size_t fd_room = 1024;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    fd_room = rl.rlim_cur > 64 + udp_fds_.size() ? rl.rlim_cur - 64 - udp_fds_.size() : 1;
  } else if (rl.rlim_cur == RLIM_INFINITY) {
    fd_room = o_.max_tcp_in_flight;
  }
  tcp_cap_ = std::max<std::size_t>(1, std::min(o_.max_tcp_in_flight, fd_room));

  recv_bufs_.assign(kRecvBatch * kRecvBufBytes, 0);
  burst_ = std::max(1.0, o_.rate_pps / 100.0);  // at most 10 ms worth of packets at once
  tokens_ = burst_;
  udp_index_.reserve(std::min<std::size_t>(o_.max_udp_in_flight, 1 << 16));

  std::size_t n_udp = 0, n_tcp = 0;
  for (const Probe* p : probes_) (p->transport() == Transport::Udp ? n_udp : n_tcp) += 1;
  pairs_total_ = targets_.size() * (n_udp + n_tcp);
  stats_.targets = targets_.size();
  return {};
}

Ns Engine::currentTimeout() const {
  const Ns max = o_.timeout.count() * kMs;
  if (rtt_samples_ == 0) return max;
  const Ns min = o_.min_timeout.count() * kMs;
  auto t = static_cast<Ns>(std::max(srtt_ + 4 * rttvar_, 2 * max_rtt_));
  return std::clamp(t, min, max);
}

void Engine::rttSample(Ns rtt) {
  double r = static_cast<double>(std::max<Ns>(rtt, 1000));
  if (rtt_samples_++ == 0) {
    srtt_ = r;
    rttvar_ = r / 2;
  } else {  // RFC 6298
    rttvar_ = 0.75 * rttvar_ + 0.25 * std::abs(srtt_ - r);
    srtt_ = 0.875 * srtt_ + 0.125 * r;
  }
  max_rtt_ = std::max(max_rtt_, r);
}

void Engine::pushTimer(std::uint32_t slot, Ns start) {
  Task& t = tasks_[slot];
  t.timer = ++next_timer_;
  if (t.timer == 0) t.timer = ++next_timer_;  // 0 means "no timer"
  timers_.push_back({slot, t.gen, t.timer, start});
}

std::uint32_t Engine::allocTask() {
  std::uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(tasks_.size());
    tasks_.emplace_back();
  }
  Task& t = tasks_[slot];
  t.live = true;
  t.timer = 0;
  t.attempts = 0;
  t.answered = 0;
  t.connected = false;
  t.capped = false;
  t.heard = false;
  t.fd = -1;
  t.request_bytes = 0;
  t.datagrams = 0;
  t.response_bytes = 0;
  t.rtt_ms = 0;
  ++live_;
  stats_.peak_in_flight = std::max<std::uint64_t>(stats_.peak_in_flight, live_);
  return slot;
}

bool Engine::canStart(bool udp) const {
  return udp ? !udp_cursor_.done() && udp_live_ < o_.max_udp_in_flight
             : !tcp_cursor_.done() && tcp_open_ < tcp_cap_;
}

bool Engine::workPending() const {
  return !udp_retry_.empty() || (!tcp_retry_.empty() && tcp_open_ < tcp_cap_) || canStart(true) ||
         canStart(false);
}

void Engine::sendSome(Ns now) {
  tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - last_refill_) * o_.rate_pps / 1e9);
  last_refill_ = now;
  if (now < blocked_until_) return;
  while (tokens_ >= 1) {
    // Retries first (they are older), then new pairs, alternating UDP and TCP.
    auto* queue = !udp_retry_.empty()                             ? &udp_retry_
                  : (!tcp_retry_.empty() && tcp_open_ < tcp_cap_) ? &tcp_retry_
                                                                  : nullptr;
    if (queue != nullptr) {
      auto [slot, gen] = queue->front();
      Task& t = tasks_[slot];
      if (!t.live || t.gen != gen) {
        queue->pop_front();
        continue;
      }
      if (t.info && t.info->positive) {  // a late answer arrived meanwhile: wait for the rest
        queue->pop_front();
        pushTimer(slot, nowNs());
        continue;
      }
      SendResult r = sendAttempt(slot, now);
      if (r == SendResult::Blocked) {
        blocked_until_ = now + kMs;
        return;
      }
      queue->pop_front();
      if (r == SendResult::Sent) tokens_ -= 1;
      continue;
    }
    bool started = false;
    for (int k = 0; k < 2 && !started; ++k) {
      bool udp = turn_udp_ ? k == 0 : k == 1;
      if (!canStart(udp)) continue;
      IpAddress addr;
      std::uint16_t probe = 0;
      if (!(udp ? udp_cursor_ : tcp_cursor_).next(addr, probe)) continue;
      std::uint32_t slot = allocTask();
      Task& t = tasks_[slot];
      t.addr = addr;
      t.probe = probe;
      t.udp = udp;
      if (udp) {
        udp_index_.emplace(UdpKey{addr, probe}, slot);
        ++udp_live_;
      }
      ++stats_.pairs;
      started = true;
      turn_udp_ = !udp;
      SendResult r = sendAttempt(slot, now);
      if (r == SendResult::Sent) tokens_ -= 1;
      if (r == SendResult::Blocked) {
        (udp ? udp_retry_ : tcp_retry_).emplace_front(slot, t.gen);
        blocked_until_ = now + kMs;
        return;
      }
    }
    if (!started) break;
  }
}

SendResult Engine::sendAttempt(std::uint32_t slot, Ns now) {
  Task& t = tasks_[slot];
  // The last line of defence: nothing leaves for an address outside the target set.
  if (!targets_.contains(t.addr)) {
    ++stats_.outside_targets;
    finish(slot);
    return SendResult::Failed;
  }
  return t.udp ? sendUdp(slot, now) : sendTcp(slot, now);
}

SendResult Engine::sendUdp(std::uint32_t slot, Ns now) {
  Task& t = tasks_[slot];
  const Probe& p = *probes_[t.probe];
  const int k = t.attempts;
  std::vector<std::uint8_t> req = p.request(token(t, k));
  sockaddr_storage ss;
  socklen_t len = toSockaddr(t.addr, p.port(), ss);
  int fd = udpFd(t.probe, t.addr.isV4());
  ssize_t n = -1;
  for (int tries = 0; tries < 2; ++tries) {
    n = ::sendto(fd, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
    if (n >= 0) break;
    // With IP_RECVERR an earlier ICMP report can surface here once; it is not about this send.
    if (errno != ECONNREFUSED && errno != EHOSTUNREACH && errno != ENETUNREACH &&
        errno != EHOSTDOWN) {
      break;
    }
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR) {
      return SendResult::Blocked;
    }
    ++stats_.send_errors;
    stats_.last_send_error = std::string(std::strerror(errno)) + " (to " + t.addr.toString() + ")";
    finish(slot);
    return SendResult::Failed;
  }
  t.request_bytes = static_cast<std::uint32_t>(req.size());
  t.sent[k] = nowNs();  // not the loop's `now`: a burst of sends takes a while
  t.attempts = static_cast<std::uint8_t>(k + 1);
  ++stats_.udp_sent;
  if (k > 0) ++stats_.udp_retries;
  pushTimer(slot, t.sent[k]);
  return SendResult::Sent;
}

SendResult Engine::sendTcp(std::uint32_t slot, Ns now) {
  Task& t = tasks_[slot];
  const Probe& p = *probes_[t.probe];
  sockaddr_storage ss;
  socklen_t len = toSockaddr(t.addr, p.port(), ss);
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) &&
        tcp_open_ > 0) {  // wait for a connection to close, and keep fewer open from now on
      tcp_cap_ = std::max<std::size_t>(1, std::min(tcp_cap_, tcp_open_));
      return SendResult::Blocked;
    }
    ++stats_.send_errors;
    stats_.last_send_error = std::string("socket: ") + std::strerror(errno);
    finish(slot);
    return SendResult::Failed;
  }
  const int k = t.attempts;
  t.sent[k] = nowNs();
  t.attempts = static_cast<std::uint8_t>(k + 1);
  t.connected = false;
  ++stats_.tcp_connects;
  if (k > 0) ++stats_.tcp_retries;
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  if (rc != 0 && errno != EINPROGRESS) {
    int err = errno;
    ::close(fd);
    if (err == ECONNREFUSED) {
      ++stats_.tcp_refused;
    } else if (err == EAGAIN) {  // out of local ports for now
      t.attempts = static_cast<std::uint8_t>(k);
      --stats_.tcp_connects;
      return SendResult::Blocked;
    } else {
      ++stats_.send_errors;
      stats_.last_send_error =
          std::string("connect: ") + std::strerror(err) + " (to " + t.addr.toString() + ")";
    }
    finish(slot);
    return SendResult::Failed;
  }
  t.fd = fd;
  ++tcp_open_;
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.u64 = (std::uint64_t{slot} << 32) | t.gen;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  pushTimer(slot, t.sent[k]);
  return SendResult::Sent;
}

void Engine::expireTimers(Ns now) {
  const Ns wait = currentTimeout();
  while (!timers_.empty()) {
    const Timer e = timers_.front();
    const Task& t = tasks_[e.slot];
    if (!t.live || t.gen != e.gen || t.timer != e.id) {
      timers_.pop_front();
      continue;
    }
    if (now - e.start < wait) break;
    timers_.pop_front();
    onTimeout(e.slot);
  }
}

void Engine::onTimeout(std::uint32_t slot) {
  Task& t = tasks_[slot];
  t.timer = 0;
  const bool positive = t.info && t.info->positive;
  const bool may_retry = t.attempts < 1 + o_.retries;
  if (t.udp) {
    // A host that answered, even with something we do not accept, got the request: sending
    // it again would only repeat the answer.
    if (!positive && may_retry && !t.heard) {
      udp_retry_.emplace_back(slot, t.gen);
      return;
    }
    if (!positive) ++stats_.udp_timeouts;
    finish(slot);
    return;
  }
  // TCP: only an unanswered connection attempt is worth repeating.
  if (!positive && !t.connected && may_retry) {
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, t.fd, nullptr);
    ::close(t.fd);
    t.fd = -1;
    --tcp_open_;
    tcp_retry_.emplace_back(slot, t.gen);
    return;
  }
  if (!positive) ++stats_.tcp_timeouts;
  finish(slot);
}

void Engine::finish(std::uint32_t slot) {
  Task& t = tasks_[slot];
  if (t.fd >= 0) {
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, t.fd, nullptr);
    ::close(t.fd);
    t.fd = -1;
    --tcp_open_;
  }
  if (t.udp) {
    udp_index_.erase(UdpKey{t.addr, t.probe});
    --udp_live_;
  }
  if (t.info && t.info->positive) {
    Finding f;
    f.ip = t.addr;
    f.probe = probes_[t.probe];
    f.info = std::move(*t.info);
    if (t.udp) {
      f.requests_answered = static_cast<std::uint32_t>(std::popcount(t.answered));
      f.response_datagrams = t.datagrams;
    } else {
      f.requests_answered = 1;
    }
    f.request_bytes =
        std::uint64_t{t.request_bytes} * std::max<std::uint32_t>(1, f.requests_answered);
    f.response_bytes = t.response_bytes;
    f.attempts = t.attempts;
    f.capped = t.capped;
    f.rtt_ms = t.rtt_ms;
    ++stats_.findings;
    if (on_finding_) on_finding_(std::move(f));
  }
  t.live = false;
  ++t.gen;
  t.timer = 0;
  t.info.reset();
  std::vector<std::uint8_t>().swap(t.buf);  // give the memory back, not just the size
  free_.push_back(slot);
  --live_;
  ++pairs_done_;
}

void Engine::onUdpReadable(std::size_t socket_index, Ns now) {
  const int fd = udp_fds_[socket_index];
  const auto probe = static_cast<std::uint16_t>(socket_index / 2);
  for (int round = 0; round < kRecvRounds; ++round) {
    for (std::size_t i = 0; i < kRecvBatch; ++i) {
      iovs_[i] = {recv_bufs_.data() + i * kRecvBufBytes, kRecvBufBytes};
      msgs_[i].msg_hdr = {};
      msgs_[i].msg_hdr.msg_name = &names_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      msgs_[i].msg_hdr.msg_iov = &iovs_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_len = 0;
    }
    // MSG_TRUNC: msg_len is the datagram's real length even when it did not fit.
    int n = ::recvmmsg(fd, msgs_.data(), kRecvBatch, MSG_DONTWAIT | MSG_TRUNC, nullptr);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      continue;  // a pending ICMP report surfacing as an error: read on
    }
    for (int i = 0; i < n; ++i) {
      ++stats_.datagrams_received;
      IpAddress src;
      std::uint16_t port = 0;
      if (!fromSockaddr(names_[i], src, port)) continue;
      std::size_t real = msgs_[i].msg_len;
      std::size_t got = std::min(real, kRecvBufBytes);
      if (real > kRecvBufBytes) ++stats_.truncated;
      onDatagram(probe, src, port, ByteSpan(recv_bufs_.data() + i * kRecvBufBytes, got), real, now);
    }
    if (static_cast<std::size_t>(n) < kRecvBatch) return;
  }
}

void Engine::onDatagram(std::uint16_t probe, const IpAddress& src, std::uint16_t port,
                        ByteSpan data, std::size_t real_len, Ns now) {
  const Probe& p = *probes_[probe];
  if (port != p.port()) {
    ++stats_.unsolicited;
    return;
  }
  auto it = udp_index_.find(UdpKey{src, probe});
  if (it == udp_index_.end()) {
    ++stats_.unsolicited;
    return;
  }
  const std::uint32_t slot = it->second;
  Task& t = tasks_[slot];
  t.heard = true;
  if (t.datagrams >= o_.max_reply_datagrams || t.response_bytes + real_len > o_.max_reply_bytes) {
    ++stats_.over_cap;
    t.capped = true;
    return;
  }
  // Which attempt does this answer? The probe checks its echoed id against each token.
  int matched = -1;
  for (int k = t.attempts - 1; k >= 0 && matched < 0; --k) {
    ReplyInfo scratch;
    p.parse(data, token(t, k), scratch);
    if (scratch.positive) matched = k;
  }
  if (matched < 0) {
    ++stats_.rejected;
    return;
  }
  if (!(t.answered & (1u << matched))) {
    t.answered = static_cast<std::uint8_t>(t.answered | (1u << matched));
    Ns rtt = now - t.sent[static_cast<std::size_t>(matched)];
    rttSample(rtt);
    if (t.rtt_ms == 0) t.rtt_ms = static_cast<double>(rtt) / kMs;
  }
  ++stats_.replies;
  t.response_bytes += real_len;
  ++t.datagrams;
  if (!t.info) t.info = std::make_unique<ReplyInfo>();
  p.parse(data, token(t, matched), *t.info);
  if (t.info->complete) finish(slot);
}

void Engine::onUdpError(std::size_t socket_index, Ns now) {
  const int fd = udp_fds_[socket_index];
  const auto probe = static_cast<std::uint16_t>(socket_index / 2);
  for (int i = 0; i < 256; ++i) {
    sockaddr_storage name{};
    std::array<char, 512> control{};
    std::array<std::uint8_t, 64> head{};
    iovec iov{head.data(), head.size()};
    msghdr msg{};
    msg.msg_name = &name;
    msg.msg_namelen = sizeof name;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    if (::recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      bool v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR;
      bool v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR;
      if (!v4 && !v6) continue;
      sock_extended_err ee;
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      bool unreachable = (ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3) ||
                         (ee.ee_origin == SO_EE_ORIGIN_ICMP6 && ee.ee_type == 1);
      IpAddress dst;
      std::uint16_t port = 0;
      auto it = udp_index_.end();
      if (unreachable && fromSockaddr(name, dst, port) && port == probes_[probe]->port()) {
        it = udp_index_.find(UdpKey{dst, probe});
      }
      if (it == udp_index_.end()) {
        ++stats_.icmp_other;
        continue;
      }
      Task& t = tasks_[it->second];
      if (t.info && t.info->positive) continue;  // the service answered: ICMP changes nothing
      if (t.attempts > 0) rttSample(now - t.sent[t.attempts - 1]);
      ++stats_.icmp_unreachable;
      finish(it->second);
    }
  }
}

void Engine::tcpConnected(std::uint32_t slot, Ns now) {
  Task& t = tasks_[slot];
  const Probe& p = *probes_[t.probe];
  t.connected = true;
  Ns rtt = now - t.sent[t.attempts - 1];
  rttSample(rtt);
  t.rtt_ms = static_cast<double>(rtt) / kMs;
  std::vector<std::uint8_t> req = p.request(token(t, t.attempts - 1));
  ssize_t n = ::send(t.fd, req.data(), req.size(), MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(req.size())) {
    ++stats_.tcp_errors;
    finish(slot);
    return;
  }
  t.request_bytes = static_cast<std::uint32_t>(req.size());
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = (std::uint64_t{slot} << 32) | t.gen;
  ::epoll_ctl(epoll_, EPOLL_CTL_MOD, t.fd, &ev);
  pushTimer(slot, now);  // a fresh wait for the answer
}

void Engine::onTcpEvent(std::uint32_t slot, std::uint32_t gen, std::uint32_t events, Ns now) {
  if (slot >= tasks_.size()) return;
  Task& t = tasks_[slot];
  if (!t.live || t.gen != gen || t.fd < 0) return;
  if (!t.connected) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(t.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      if (err == ECONNREFUSED) {
        rttSample(now - t.sent[t.attempts - 1]);
        ++stats_.tcp_refused;
      } else {
        ++stats_.tcp_errors;
      }
      finish(slot);
      return;
    }
    if (events & EPOLLOUT) tcpConnected(slot, now);
    return;
  }
  const Probe& p = *probes_[t.probe];
  bool fresh = false, closed = false;
  while (t.buf.size() < o_.max_tcp_bytes) {
    std::size_t old = t.buf.size();
    std::size_t want = std::min<std::size_t>(o_.max_tcp_bytes - old, 16384);
    t.buf.resize(old + want);
    ssize_t n = ::recv(t.fd, t.buf.data() + old, want, MSG_DONTWAIT);
    t.buf.resize(old + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n > 0) {
      t.response_bytes += static_cast<std::uint64_t>(n);
      fresh = true;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    closed = true;  // EOF or reset
    break;
  }
  if (fresh) {
    ReplyInfo latest;  // parse() sees everything so far, so start from nothing each time
    p.parse(ByteSpan(t.buf.data(), t.buf.size()), token(t, t.attempts - 1), latest);
    if (!t.info) t.info = std::make_unique<ReplyInfo>();
    *t.info = std::move(latest);
  }
  if (t.buf.size() >= o_.max_tcp_bytes) t.capped = true;
  if (closed || t.capped || (t.info && t.info->complete) || (events & (EPOLLHUP | EPOLLERR))) {
    finish(slot);
  }
}

void Engine::reportProgress(Ns now, bool force) {
  if (!on_progress_) return;
  if (!force && now - last_progress_ < 250 * kMs) return;
  last_progress_ = now;
  ScanProgress p;
  p.pairs_done = pairs_done_;
  p.pairs_total = pairs_total_;
  p.packets_sent = stats_.udp_sent + stats_.tcp_connects;
  p.findings = stats_.findings;
  p.elapsed_s = static_cast<double>(now - start_) / 1e9;
  on_progress_(p);
}

ScanStats Engine::run() {
  start_ = nowNs();
  last_refill_ = start_;
  last_progress_ = start_;
  std::array<epoll_event, 256> events;
  for (;;) {
    Ns now = nowNs();
    expireTimers(now);
    sendSome(now);
    if (live_ == 0 && udp_cursor_.done() && tcp_cursor_.done()) break;
    reportProgress(now, false);

    // Sleep until the next deadline, the next token, or a progress tick, whichever is first.
    Ns wait = 250 * kMs;
    if (!timers_.empty()) wait = std::min(wait, timers_.front().start + currentTimeout() - now);
    if (workPending()) {
      Ns until_token = tokens_ >= 1 ? 0 : static_cast<Ns>((1 - tokens_) * 1e9 / o_.rate_pps) + 1;
      wait = std::min(wait, std::max(until_token, blocked_until_ - now));
    }
    int ms = wait <= 0 ? 0 : static_cast<int>((wait + kMs - 1) / kMs);
    int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), ms);
    if (n < 0) continue;  // EINTR
    now = nowNs();
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[i].data.u64;
      if (tag & kUdpTag) {
        auto idx = static_cast<std::size_t>(tag & ~kUdpTag);
        if (events[i].events & EPOLLERR) onUdpError(idx, now);
        if (events[i].events & EPOLLIN) onUdpReadable(idx, now);
      } else {
        onTcpEvent(static_cast<std::uint32_t>(tag >> 32), static_cast<std::uint32_t>(tag),
                   events[i].events, now);
      }
    }
  }
  Ns end = nowNs();
  reportProgress(end, true);
  stats_.probed = std::max(udp_cursor_.addresses(), tcp_cursor_.addresses());
  stats_.duration_s = static_cast<double>(end - start_) / 1e9;
  stats_.srtt_ms = rtt_samples_ ? srtt_ / kMs : 0;
  stats_.final_timeout_ms = static_cast<double>(currentTimeout()) / kMs;
  return stats_;
}

}  // namespace

Result<ScanStats> runScan(const TargetSet& targets, std::span<const Probe* const> probes,
                          const ScanOptions& options, const FindingSink& on_finding,
                          const ProgressSink& on_progress) {
  Engine engine(targets, probes, options, on_finding, on_progress);
  if (Status st = engine.setUp(); !st) return Error{st.message()};
  return engine.run();
}

}  // namespace bw::audit
