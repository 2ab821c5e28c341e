// ApiServer on cpp-httplib 0.11.4 (Debian 12).
//
// httplib parses a request by reading lines of any length and any number of header lines,
// so a peer could make it grow memory without bound before any handler (and the token
// check) runs. ApiHttpServer therefore takes each accepted connection over: it reads the
// request head itself into a buffer of at most kMaxRequestHead bytes within kHeadTimeout,
// answers 431/408 itself when that fails, and hands httplib only the buffered head, so
// parsing is bounded by construction and no request body is ever read. One request per
// connection ("Connection: close"): no idle keep-alive connection holds a worker, which
// keeps stop() prompt.
//
// Connections are served by BoundedTaskQueue: options.threads workers and a queue of at
// most kQueuePerThread * threads accepted sockets. When it is full the accept thread
// waits, and further connections wait in the kernel's listen backlog.
//
// httplib's default socket options set SO_REUSEPORT, with which a second sensor would
// silently share the port; the listening socket gets SO_REUSEADDR only.
#include "daemon/api_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

namespace bw {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxRequestHead = 8 * 1024;  // request line + headers + blank line
constexpr auto kHeadTimeout = std::chrono::seconds(5);
constexpr auto kPollSlice = std::chrono::milliseconds(100);  // how often readers see stop()
constexpr int kWriteTimeoutSeconds = 5;
constexpr std::size_t kQueuePerThread = 16;
constexpr int kListenBacklog = 64;
constexpr int kMaxThreads = 64;
constexpr std::size_t kMaxDrainBytes = 64 * 1024;
constexpr auto kDrainTimeout = std::chrono::milliseconds(200);
constexpr std::size_t kDefaultAttackLimit = 100;
constexpr std::size_t kMaxAttackLimit = 1000;
constexpr std::size_t kDefaultTopN = 10;
constexpr std::size_t kMaxTopN = 100;
constexpr std::size_t kMaxIdDigits = 20;

constexpr const char* kJsonType = "application/json; charset=utf-8";
constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

// Why a request was refused; index into ApiCounters::rejected and the reason label of
// breakwater_api_rejected_total.
enum class Reject : std::uint8_t {
  Unauthorized,
  BadHost,
  MethodNotAllowed,
  NotFound,
  BadRequest,
  Malformed,  // httplib could not parse the request line or a header
  HeaderTooLarge,
  HeaderTimeout,
  Internal,
  kCount,
};
constexpr const char* kRejectNames[] = {"unauthorized",     "bad_host",       "method_not_allowed",
                                        "not_found",        "bad_request",    "malformed",
                                        "header_too_large", "header_timeout", "internal_error"};
static_assert(std::size(kRejectNames) == static_cast<std::size_t>(Reject::kCount));

struct ApiCounters {
  std::atomic<std::uint64_t> responses{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Reject::kCount)> rejected{};

  void reject(Reject r) noexcept {
    rejected[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
};

std::string apiMetrics(const ApiCounters& c) {
  std::string out =
      "# HELP breakwater_api_responses_total HTTP responses the API sent.\n"
      "# TYPE breakwater_api_responses_total counter\n";
  out += fmt::format("breakwater_api_responses_total {}\n",
                     c.responses.load(std::memory_order_relaxed));
  out +=
      "# HELP breakwater_api_rejected_total HTTP requests the API refused, by reason.\n"
      "# TYPE breakwater_api_rejected_total counter\n";
  for (std::size_t i = 0; i < c.rejected.size(); ++i) {
    out += fmt::format("breakwater_api_rejected_total{{reason=\"{}\"}} {}\n", kRejectNames[i],
                       c.rejected[i].load(std::memory_order_relaxed));
  }
  return out;
}

// --- Listen address ------------------------------------------------------------------

struct ListenAddress {
  int family = AF_INET;
  std::string host;  // numeric, without brackets
  int port = 0;
  bool loopback = false;

  std::string display(int real_port) const {
    return family == AF_INET6 ? fmt::format("[{}]:{}", host, real_port)
                              : fmt::format("{}:{}", host, real_port);
  }
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool allDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool isLoopbackV6(const in6_addr& a) {
  if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
  return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;  // ::ffff:127.0.0.0/104
}

// A numeric address, bracketed when IPv6, or "localhost"; nullopt otherwise. `port_text`
// (the part after the colon, or empty) is only checked by the caller.
struct HostPort {
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
};
std::optional<HostPort> splitHostPort(std::string_view text) {
  HostPort hp;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    hp.host = text.substr(1, close - 1);
    hp.bracketed = true;
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      hp.port = rest.substr(1);
    }
    return hp;
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    hp.host = text;
    return hp;
  }
  hp.host = text.substr(0, colon);
  hp.port = text.substr(colon + 1);
  if (hp.host.find(':') != std::string_view::npos) return std::nullopt;  // unbracketed IPv6
  return hp;
}

Result<ListenAddress> parseListen(const std::string& text) {
  const Error invalid{fmt::format(
      "invalid API listen address \"{}\": expected ADDR:PORT or [IPV6]:PORT with a numeric "
      "address or localhost, such as 127.0.0.1:9473 or [::1]:9473",
      text)};
  const auto hp = splitHostPort(text);
  if (!hp || hp->port.empty()) return invalid;
  if (!allDigits(hp->port) || hp->port.size() > 5) return invalid;
  const int port = std::stoi(std::string(hp->port));
  if (port > 65535) return invalid;

  ListenAddress a;
  a.port = port;
  std::string host(hp->host);
  if (!hp->bracketed && iequals(host, "localhost")) host = "127.0.0.1";
  char canonical[INET6_ADDRSTRLEN] = {};
  if (hp->bracketed) {
    in6_addr v6{};
    if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return invalid;
    inet_ntop(AF_INET6, &v6, canonical, sizeof canonical);
    a.family = AF_INET6;
    a.loopback = isLoopbackV6(v6);
  } else {
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) != 1) return invalid;
    inet_ntop(AF_INET, &v4, canonical, sizeof canonical);
    a.family = AF_INET;
    a.loopback = (ntohl(v4.s_addr) >> 24) == 127;
  }
  a.host = canonical;
  return a;
}

// The Host header of a request to a tokenless (loopback) API must name a loopback address:
// a web page cannot then read the API through DNS rebinding.
bool isLoopbackHostHeader(std::string_view value) {
  if (value.empty()) return true;  // HTTP/1.0 without Host
  const auto hp = splitHostPort(value);
  if (!hp) return false;
  const std::string host(hp->host);
  if (!hp->bracketed && iequals(host, "localhost")) return true;
  if (hp->bracketed) {
    in6_addr v6{};
    return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && isLoopbackV6(v6);
  }
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

// Why bind failed, found by trying it again the same way (httplib only says "failed").
int probeBindErrno(const ListenAddress& a) {
  const int fd = ::socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (a.family == AF_INET6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(static_cast<std::uint16_t>(a.port));
    inet_pton(AF_INET6, a.host.c_str(), &sa->sin6_addr);
    len = sizeof *sa;
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(static_cast<std::uint16_t>(a.port));
    inet_pton(AF_INET, a.host.c_str(), &sa->sin_addr);
    len = sizeof *sa;
  }
  int err = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 1) != 0) err = errno;
  ::close(fd);
  return err;
}

std::string bindErrorMessage(const ListenAddress& a) {
  const std::string where = a.display(a.port);
  const int err = probeBindErrno(a);
  switch (err) {
    case EADDRINUSE:
      return fmt::format("address already in use: {} (another breakwater running?)", where);
    case EADDRNOTAVAIL:
      return fmt::format("cannot listen on {}: no interface of this host has that address", where);
    case EACCES:
      return fmt::format(
          "permission denied to listen on {}: ports below 1024 need root or "
          "CAP_NET_BIND_SERVICE",
          where);
    case EAFNOSUPPORT:
      return fmt::format("cannot listen on {}: IPv6 is not available on this host", where);
    case 0:
      return fmt::format("cannot listen on {}", where);
    default:
      return fmt::format("cannot listen on {}: {}", where, std::strerror(err));
  }
}

// --- Authentication --------------------------------------------------------------------

// Compares in time that depends on the lengths only, never on where the first difference is.
bool constantTimeEquals(std::string_view given, std::string_view expected) {
  volatile unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff = diff | static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

bool authorized(const httplib::Request& req, const std::string& token) {
  if (req.get_header_value_count("Authorization") != 1) return false;
  const std::string header = req.get_header_value("Authorization");
  std::string_view value = header;
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() < kScheme.size() || !iequals(value.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return constantTimeEquals(value, token);
}

Status checkToken(const std::string& token) {
  for (char c : token) {
    if (c < 0x21 || c > 0x7e || c == '%') {
      // httplib percent-decodes header values, so a '%' in a token could never match.
      return Error{"the API token must be printable ASCII without spaces or '%'"};
    }
  }
  return {};
}

// --- Bounded worker pool ---------------------------------------------------------------

class BoundedTaskQueue final : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(std::size_t threads, std::size_t capacity) : capacity_(capacity) {
    workers_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~BoundedTaskQueue() override { shutdown(); }

  // Waits while the queue is full: the accept thread stops accepting, connections wait
  // in the listen backlog.
  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return jobs_.size() < capacity_ || shutdown_; });
    jobs_.push_back(std::move(fn));
    not_empty_.notify_one();
  }

  // Runs what is queued (each job closes its socket quickly once the server stops), then
  // joins the workers.
  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      if (shutdown_ && workers_.empty()) return;
      shutdown_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        not_empty_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
        if (jobs_.empty()) return;  // shut down and drained
        fn = std::move(jobs_.front());
        jobs_.pop_front();
        not_full_.notify_one();
      }
      fn();
    }
  }

  const std::size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::function<void()>> jobs_;  // GUARDED_BY(mu_)
  bool shutdown_ = false;                   // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;
};

// --- Connections -----------------------------------------------------------------------

// What httplib parses: the request head already read, and the socket for the answer.
class HeadStream final : public httplib::Stream {
 public:
  HeadStream(int sock, std::string head) : sock_(sock), head_(std::move(head)) {}

  bool is_readable() const override { return pos_ < head_.size(); }
  bool is_writable() const override { return waitFor(POLLOUT, kWriteTimeoutSeconds * 1000); }
  ssize_t read(char* ptr, size_t size) override {
    const std::size_t n = std::min(size, head_.size() - pos_);
    std::memcpy(ptr, head_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    const ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    return n < 0 ? -1 : n;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address(::getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address(::getsockname, ip, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  bool waitFor(short events, int timeout_ms) const {
    pollfd p{sock_, events, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    return rc > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) == 0;
  }
  void address(int (*get)(int, sockaddr*, socklen_t*), std::string& ip, int& port) const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (get(sock_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return;
    char buf[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
      const auto* sa = reinterpret_cast<const sockaddr_in*>(&ss);
      inet_ntop(AF_INET, &sa->sin_addr, buf, sizeof buf);
      port = ntohs(sa->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      const auto* sa = reinterpret_cast<const sockaddr_in6*>(&ss);
      inet_ntop(AF_INET6, &sa->sin6_addr, buf, sizeof buf);
      port = ntohs(sa->sin6_port);
    }
    ip = buf;
  }

  const int sock_;
  const std::string head_;
  std::size_t pos_ = 0;
};

enum class HeadResult : std::uint8_t { Complete, TooLarge, Timeout, Closed };

class ApiHttpServer final : public httplib::Server {
 public:
  explicit ApiHttpServer(ApiCounters* counters) : counters_(counters) {}

  // Makes connections still queued or reading their head end at once.
  void beginStop() noexcept { stopping_.store(true, std::memory_order_relaxed); }

  // httplib listens with a backlog of 5, which drops the SYNs of a burst of clients (each
  // then waits a second to retry). listen() again on a listening socket only resizes it.
  // REQUIRES: bound.
  void widenBacklog() noexcept { ::listen(svr_sock_, kListenBacklog); }

 private:
  bool process_and_close_socket(socket_t sock) override {
    std::string head;
    switch (stopping_.load(std::memory_order_relaxed) ? HeadResult::Closed : readHead(sock, head)) {
      case HeadResult::Complete: {
        HeadStream stream(sock, std::move(head));
        bool closed = false;
        process_request(stream, /*close_connection=*/true, closed, nullptr);
        break;
      }
      case HeadResult::TooLarge:
        counters_->reject(Reject::HeaderTooLarge);
        answerRaw(sock, 431, "Request Header Fields Too Large",
                  fmt::format("request line and headers exceed {} bytes", kMaxRequestHead));
        break;
      case HeadResult::Timeout:
        counters_->reject(Reject::HeaderTimeout);
        answerRaw(sock, 408, "Request Timeout", "the request headers did not arrive in time");
        break;
      case HeadResult::Closed:
        break;
    }
    if (stopping_.load(std::memory_order_relaxed)) {
      ::close(sock);
    } else {
      lingeringClose(sock);
    }
    return true;
  }

  // Reads up to the blank line ending the head; bytes after it (a body) are ignored.
  HeadResult readHead(int sock, std::string& head) {
    char buf[kMaxRequestHead];
    std::size_t size = 0;
    const auto deadline = Clock::now() + kHeadTimeout;
    while (size < kMaxRequestHead) {
      if (stopping_.load(std::memory_order_relaxed)) return HeadResult::Closed;
      const auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) return HeadResult::Timeout;
      const auto wait = std::min<Clock::duration>(left, kPollSlice);
      pollfd p{sock, POLLIN, 0};
      const int rc = ::poll(
          &p, 1,
          static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()) +
              1);
      if (rc < 0 && errno != EINTR) return HeadResult::Closed;
      if (rc <= 0) continue;
      const ssize_t n = ::recv(sock, buf + size, kMaxRequestHead - size, 0);
      if (n == 0) return HeadResult::Closed;
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        return HeadResult::Closed;
      }
      const std::size_t from = size >= 3 ? size - 3 : 0;
      size += static_cast<std::size_t>(n);
      const std::string_view seen(buf, size);
      const std::size_t end = seen.find("\r\n\r\n", from);
      if (end != std::string_view::npos) {
        head.assign(buf, end + 4);
        return HeadResult::Complete;
      }
    }
    return HeadResult::TooLarge;
  }

  void answerRaw(int sock, int status, std::string_view reason, std::string_view message) {
    const std::string body = json{{"error", message}}.dump() + "\n";
    const std::string response = fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        status, reason, kJsonType, body.size(), body);
    HeadStream stream(sock, {});
    std::size_t off = 0;
    while (off < response.size()) {
      const ssize_t n = stream.write(response.data() + off, response.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    counters_->responses.fetch_add(1, std::memory_order_relaxed);
  }

  // Closing with unread bytes in the receive queue sends a reset, which can destroy the
  // answer before the client reads it: half-close, then discard a bounded amount first.
  static void lingeringClose(int sock) {
    ::shutdown(sock, SHUT_WR);
    char buf[4096];
    std::size_t drained = 0;
    const auto deadline = Clock::now() + kDrainTimeout;
    while (drained < kMaxDrainBytes) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      pollfd p{sock, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      const ssize_t n = ::recv(sock, buf, sizeof buf, 0);
      if (n <= 0) break;
      drained += static_cast<std::size_t>(n);
    }
    ::close(sock);
  }

  ApiCounters* const counters_;
  std::atomic<bool> stopping_{false};
};

// --- Handlers --------------------------------------------------------------------------

void sendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", kJsonType);
}

// A number in 1..max from the query, or `fallback` when absent; nullopt when invalid.
std::optional<std::size_t> boundedParam(const httplib::Request& req, const char* name,
                                        std::size_t fallback, std::size_t max) {
  if (!req.has_param(name)) return fallback;
  const std::string value = req.get_param_value(name);
  if (!allDigits(value) || value.size() > 9) return std::nullopt;
  const std::size_t n = std::stoul(value);
  if (n < 1 || n > max) return std::nullopt;
  return n;
}

}  // namespace

// --- ApiServer -------------------------------------------------------------------------

struct ApiServer::Impl {
  Impl(const ApiOptions& o, SensorView* v, ListenAddress a)
      : options(o), view(v), address(std::move(a)), server(&counters) {}

  void reject(httplib::Response& res, int status, Reject reason, std::string_view message) {
    counters.reject(reason);
    sendJson(res, status, json{{"error", message}});
  }

  void route(const httplib::Request& req, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    if (!options.token.empty()) {
      if (!authorized(req, options.token)) {
        res.set_header("WWW-Authenticate", "Bearer realm=\"breakwater\"");
        return reject(res, 401, Reject::Unauthorized,
                      "missing or wrong token: send \"Authorization: Bearer TOKEN\"");
      }
    } else if (!isLoopbackHostHeader(req.get_header_value("Host"))) {
      return reject(res, 403, Reject::BadHost,
                    "the Host header must name a loopback address when the API has no token");
    }
    if (req.method != "GET" && req.method != "HEAD") {
      res.set_header("Allow", "GET, HEAD");
      return reject(
          res, 405, Reject::MethodNotAllowed,
          fmt::format("method {} not allowed: the API is read-only (GET, HEAD)", req.method));
    }

    constexpr std::string_view kAttackPrefix = "/api/v1/attacks/";
    const std::string& path = req.path;
    if (path == "/metrics") {
      res.status = 200;
      res.set_content(renderMetrics(view->snapshot()) + apiMetrics(counters), kMetricsType);
    } else if (path == "/api/v1/status") {
      sendJson(res, 200, statusToJson(view->snapshot()));
    } else if (path == "/api/v1/top") {
      const auto n = boundedParam(req, "n", kDefaultTopN, kMaxTopN);
      if (!n) {
        return reject(res, 400, Reject::BadRequest,
                      fmt::format("n must be an integer from 1 to {}", kMaxTopN));
      }
      sendJson(res, 200, topToJson(view->snapshot(), *n));
    } else if (path == "/api/v1/attacks") {
      const auto limit = boundedParam(req, "limit", kDefaultAttackLimit, kMaxAttackLimit);
      if (!limit) {
        return reject(res, 400, Reject::BadRequest,
                      fmt::format("limit must be an integer from 1 to {}", kMaxAttackLimit));
      }
      sendJson(res, 200, json{{"attacks", view->attacks(*limit)}});
    } else if (path.size() > kAttackPrefix.size() && path.starts_with(kAttackPrefix)) {
      const std::string_view id_text = std::string_view(path).substr(kAttackPrefix.size());
      if (!allDigits(id_text) || id_text.size() > kMaxIdDigits) {
        return reject(res, 400, Reject::BadRequest,
                      "an attack id is a decimal number of at most 20 digits");
      }
      std::uint64_t id = 0;
      bool fits = true;
      for (char c : id_text) {
        const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        if (id > (UINT64_MAX - digit) / 10) fits = false;
        id = id * 10 + digit;
      }
      std::optional<json> attack = fits ? view->attack(id) : std::nullopt;
      if (!attack) {
        return reject(res, 404, Reject::NotFound, fmt::format("no attack with id {}", id_text));
      }
      sendJson(res, 200, *attack);
    } else if (path == std::string_view(kAttackPrefix)) {
      reject(res, 400, Reject::BadRequest, "an attack id is a decimal number of at most 20 digits");
    } else {
      reject(res, 404, Reject::NotFound, "no such endpoint");
    }
  }

  ApiOptions options;
  SensorView* view;
  ListenAddress address;
  ApiCounters counters;
  ApiHttpServer server;
  std::thread listener;
  std::string endpoint;
};

Result<std::unique_ptr<ApiServer>> ApiServer::start(const ApiOptions& options, SensorView* view) {
  if (view == nullptr) return Error{"the API needs a sensor to report on"};
  if (options.threads < 1 || options.threads > kMaxThreads) {
    return Error{
        fmt::format("API threads must be from 1 to {}, not {}", kMaxThreads, options.threads)};
  }
  auto address = parseListen(options.listen);
  if (!address) return address.error();
  if (!address->loopback && options.token.empty()) {
    return Error{fmt::format("the API listens on {}, which is not loopback: set [api] token",
                             address->display(address->port))};
  }
  if (Status s = checkToken(options.token); !s) return Error{s.message()};

  auto impl = std::make_unique<Impl>(options, view, std::move(*address));
  Impl* p = impl.get();
  httplib::Server& srv = p->server;
  srv.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  srv.set_address_family(p->address.family);
  srv.set_tcp_nodelay(true);
  srv.set_keep_alive_max_count(1);
  srv.set_read_timeout(std::chrono::duration_cast<std::chrono::seconds>(kHeadTimeout).count());
  srv.set_write_timeout(kWriteTimeoutSeconds);
  srv.set_payload_max_length(kMaxRequestHead);
  const auto threads = static_cast<std::size_t>(options.threads);
  srv.new_task_queue = [threads] {
    return new BoundedTaskQueue(threads, threads * kQueuePerThread);
  };
  srv.set_pre_routing_handler([p](const httplib::Request& req, httplib::Response& res) {
    try {
      p->route(req, res);
    } catch (const std::exception&) {
      res.headers.clear();
      p->reject(res, 500, Reject::Internal, "internal error");
    }
    return httplib::Server::HandlerResponse::Handled;
  });
  srv.set_exception_handler(
      [p](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        p->reject(res, 500, Reject::Internal, "internal error");
      });
  srv.set_logger([p](const httplib::Request&, const httplib::Response& res) {
    p->counters.responses.fetch_add(1, std::memory_order_relaxed);
    // Every answer of ours has a body; an empty 400 is httplib refusing the request line or
    // a header line.
    if (res.status == 400 && res.body.empty()) p->counters.reject(Reject::Malformed);
  });

  const ListenAddress& a = p->address;
  int port = a.port;
  if (a.port == 0) {
    port = srv.bind_to_any_port(a.host);
    if (port <= 0) return Error{bindErrorMessage(a)};
  } else if (!srv.bind_to_port(a.host, a.port)) {
    return Error{bindErrorMessage(a)};
  }
  p->server.widenBacklog();
  p->endpoint = a.display(port);

  try {
    p->listener = std::thread([p] { p->server.listen_after_bind(); });
  } catch (const std::system_error& e) {
    return Error{fmt::format("cannot start the API thread: {}", e.what())};
  }
  // stop() only works once httplib marks the server running, which listen_after_bind() does
  // before anything else.
  while (!srv.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ApiServer::~ApiServer() { stop(); }

void ApiServer::stop() {
  if (!impl_ || !impl_->listener.joinable()) return;
  impl_->server.beginStop();
  impl_->server.stop();
  impl_->listener.join();
}

const std::string& ApiServer::endpoint() const noexcept { return impl_->endpoint; }

}  // namespace bw
