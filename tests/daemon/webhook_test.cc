// The webhook against a small HTTP/1.1 server on loopback: what is sent (method, path,
// Content-Type, User-Agent, custom headers, the event JSON), the connection kept alive between
// events, non-2xx answers, a closed port and a server that never answers (each failing within
// the timeout), and the configuration it refuses.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/actions.h"
#include "daemon/curl_library.h"
#include "report/json_report.h"

namespace bw {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Request {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Serves one thread's worth of HTTP/1.1 on 127.0.0.1 (any free port): every request is
// recorded and answered with `status` (keep-alive), or never answered when `silent`.
class TinyHttpServer {
 public:
  explicit TinyHttpServer(int status, bool silent = false) : status_(status), silent_(silent) {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_, 16) != 0 ||
        ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(listen_);
      listen_ = -1;
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TinyHttpServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (const Conn& c : conns_) ::close(c.fd);
    if (listen_ >= 0) ::close(listen_);
  }
  bool ok() const { return listen_ >= 0; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int connections() const { return accepted_; }

 private:
  struct Conn {
    int fd;
    std::string in;
  };

  void run() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_, POLLIN, 0}};
      for (const Conn& c : conns_) fds.push_back({c.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int fd = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          conns_.push_back({fd, {}});
          ++accepted_;
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        Conn& c = conns_[i - 1];
        char buf[65536];
        ssize_t n = ::read(c.fd, buf, sizeof buf);
        if (n <= 0 || c.in.size() > (8u << 20)) {
          ::close(c.fd);
          c.fd = -1;
          continue;
        }
        c.in.append(buf, static_cast<std::size_t>(n));
        while (serveOne(c)) {
        }
      }
      conns_.erase(
          std::remove_if(conns_.begin(), conns_.end(), [](const Conn& c) { return c.fd < 0; }),
          conns_.end());
    }
  }

  // Parses and answers one complete request at the front of c.in; false when incomplete.
  bool serveOne(Conn& c) {
    const std::size_t head_end = c.in.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    Request r;
    std::size_t line_end = c.in.find("\r\n");
    const std::string first = c.in.substr(0, line_end);
    r.method = first.substr(0, first.find(' '));
    r.target = first.substr(first.find(' ') + 1);
    r.target = r.target.substr(0, r.target.rfind(' '));
    std::size_t pos = line_end + 2;
    while (pos < head_end) {
      std::size_t eol = c.in.find("\r\n", pos);
      std::string line = c.in.substr(pos, eol - pos);
      std::size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
      pos = eol + 2;
    }
    std::size_t length = 0;
    if (auto it = r.headers.find("content-length"); it != r.headers.end()) {
      length = std::stoul(it->second);
    }
    if (c.in.size() < head_end + 4 + length) return false;
    r.body = c.in.substr(head_end + 4, length);
    c.in.erase(0, head_end + 4 + length);
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(r);
    }
    if (silent_) return true;
    const std::string body = status_ >= 300 ? "upstream\r\nexploded" : "";
    const std::string answer = "HTTP/1.1 " + std::to_string(status_) +
                               " Whatever\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\n\r\n" + body;
    (void)!::write(c.fd, answer.data(), answer.size());
    return true;
  }

  int status_;
  bool silent_;
  int listen_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::vector<Conn> conns_;  // server thread only
  std::mutex mu_;
  std::vector<Request> requests_;
};

AttackEvent makeEvent(EventKind kind, std::uint64_t id) {
  AttackEvent e;
  e.kind = kind;
  e.at = 1'700'000'000.5;
  e.id = id;
  e.record.victim = *IpAddress::parse("2001:db8::7");
  e.record.vector = Vector::Ntp;
  e.record.source_port = 123;
  e.attack = attackToJson(e.record, nullptr);
  e.attack["id"] = id;
  e.attack["state"] = "active";
  return e;
}

TEST(Webhook, PostsTheEventJsonWithItsHeaders) {
  TinyHttpServer server(204);
  ASSERT_TRUE(server.ok());
  WebhookOptions o;
  o.url = server.url("/hooks/ddos?token=s3cret");
  o.headers = {"X-Api-Key: abc123", "X-Empty-Ok:"};
  auto hook = makeWebhook(o);
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  EXPECT_EQ((*hook)->name(), "webhook");
  EXPECT_TRUE((*hook)->wants(EventKind::Updated));

  AttackEvent first = makeEvent(EventKind::Started, 9);
  AttackEvent second = makeEvent(EventKind::Ended, 9);
  ASSERT_TRUE((*hook)->handle(first).ok());
  ASSERT_TRUE((*hook)->handle(second).ok());

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  const Request& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/hooks/ddos?token=s3cret");
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("user-agent"), "breakwater/0.1.0");
  EXPECT_EQ(r.headers.at("x-api-key"), "abc123");
  EXPECT_EQ(r.headers.count("expect"), 0u);
  EXPECT_EQ(json::parse(r.body), eventToJson(first));
  EXPECT_EQ(json::parse(requests[1].body)["event"], "attack_ended");
  EXPECT_EQ(server.connections(), 1);  // kept alive between events
}

TEST(Webhook, Non2xxIsAFailureNamingTheStatus) {
  TinyHttpServer server(500);
  ASSERT_TRUE(server.ok());
  WebhookOptions o;
  o.url = server.url("/hook?token=s3cret");
  auto hook = makeWebhook(o);
  ASSERT_TRUE(hook.ok());
  Status s = (*hook)->handle(makeEvent(EventKind::Started, 1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "POST " + server.url("/hook") + " answered HTTP 500: upstream exploded");
  EXPECT_EQ(s.message().find("s3cret"), std::string::npos);  // the query stays out of logs

  // Through the dispatcher: counted as failed, logged with the event.
  std::vector<std::string> lines;
  {
    EventDispatcher d(8, [&](const std::string& l) { lines.push_back(l); });
    d.add(std::move(*hook));
    d.start();
    ASSERT_TRUE(d.post(makeEvent(EventKind::Started, 7)));
    d.stop(true);
    EXPECT_EQ(d.stats()[0].failed, 1u);
    EXPECT_EQ(d.stats()[0].ok, 0u);
  }
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "webhook: POST " + server.url("/hook") +
                          " answered HTTP 500: upstream exploded (event attack_started, attack 7)");
}

TEST(Webhook, ClosedPortFailsQuickly) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);  // nobody listens there now
  WebhookOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/hook";
  o.timeout_s = 2;
  auto hook = makeWebhook(o);
  ASSERT_TRUE(hook.ok());
  const auto t0 = Clock::now();
  Status s = (*hook)->handle(makeEvent(EventKind::Started, 1));
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "POST " + o.url + " failed: Connection refused");
}

TEST(Webhook, SilentServerFailsWithinTheTimeout) {
  TinyHttpServer server(200, /*silent=*/true);
  ASSERT_TRUE(server.ok());
  WebhookOptions o;
  o.url = server.url("/hook");
  o.timeout_s = 0.3;
  auto hook = makeWebhook(o);
  ASSERT_TRUE(hook.ok());
  const auto t0 = Clock::now();
  Status s = (*hook)->handle(makeEvent(EventKind::Started, 1));
  const auto took = Clock::now() - t0;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "POST " + o.url + " failed: no answer within 0.3 s");
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_EQ(server.requests().size(), 1u);  // it did arrive
}

TEST(Webhook, RefusesBadUrlsAndHeaders) {
  WebhookOptions o;
  o.url = "ftp://example.net/hook";
  auto bad = makeWebhook(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "webhook URL 'ftp://example.net/hook' must start with http:// or https://");
  o.url = "example.net/hook";
  EXPECT_FALSE(makeWebhook(o).ok());
  o.url = "http://";
  EXPECT_FALSE(makeWebhook(o).ok());

  o.url = "https://example.net/hook";
  EXPECT_TRUE(makeWebhook(o).ok());
  for (const char* h : {"NoColon", ": no name", "Bad Name: x", "X-Ok: one\r\nX-Injected: two",
                        "X-Ok: line\nbreak", "Content-Length: 5"}) {
    o.headers = {h};
    auto r = makeWebhook(o);
    EXPECT_FALSE(r.ok()) << h;
  }
  o.headers = {"X-Ok: one\r\nX-Injected: two"};
  EXPECT_EQ(makeWebhook(o).error().message,
            "webhook header 'X-Ok' has a control character (CR, LF, ...) in its value");
  o.headers = {"Authorization: Bearer abc"};
  EXPECT_TRUE(makeWebhook(o).ok());
  o.headers = {};
  o.timeout_s = -1;
  EXPECT_FALSE(makeWebhook(o).ok());
}

// libcurl is loaded when the first webhook is made; what goes wrong then is one sentence.
TEST(CurlLibrary, AMissingLibraryIsNamedWithThePackageToInstall) {
  CurlLibrary c{};
  std::string error;
  EXPECT_FALSE(loadCurlLibrary("libbreakwater-test-missing.so.0", c, &error));
  EXPECT_EQ(error.rfind("webhooks need libcurl, which cannot be loaded (", 0), 0u) << error;
  EXPECT_NE(error.find("libbreakwater-test-missing.so.0"), std::string::npos) << error;
  EXPECT_NE(error.find("apt-get install libcurl4"), std::string::npos) << error;
}

TEST(CurlLibrary, ALibraryWithoutTheFunctionsIsRefused) {
  CurlLibrary c{};
  std::string error;
  EXPECT_FALSE(loadCurlLibrary("libz.so.1", c, &error));
  EXPECT_EQ(error, "libz.so.1 has no curl_global_init (libcurl 7.80 or newer is needed)");
}

TEST(CurlLibrary, IsLoadedOnceWithEveryFunction) {
  std::string error;
  const CurlLibrary* a = curlLibrary(&error);
  ASSERT_NE(a, nullptr) << error;
  EXPECT_EQ(curlLibrary(nullptr), a);
  CURLU* u = a->url();
  ASSERT_NE(u, nullptr);
  ASSERT_EQ(a->url_set(u, CURLUPART_URL, "https://hooks.example.net:8443/x?t=1", 0), CURLUE_OK);
  char* host = nullptr;
  ASSERT_EQ(a->url_get(u, CURLUPART_HOST, &host, 0), CURLUE_OK);
  EXPECT_STREQ(host, "hooks.example.net");
  a->free(host);
  a->url_cleanup(u);
}

}  // namespace
}  // namespace bw
