// ApiServer against a fake SensorView, over loopback: every endpoint's status, content type
// and body; the token; listen address rules; bind errors; bounded request heads; 404, 405,
// 400 answers; concurrency; a prompt stop().
//
// libcpp-httplib is built with these (its pkg-config Cflags); the classes' layout depends
// on them, so every file including httplib.h must agree.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include "daemon/api_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bw {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kJsonType = "application/json; charset=utf-8";
constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

SensorSnapshot sampleSnapshot() {
  SensorSnapshot s;
  s.now = 1700000100.25;
  s.started_at = 1700000000.0;
  s.config_loaded_at = 1700000050.5;
  s.config_path = "/etc/breakwater/breakwater.toml";
  s.config_reloads = 2;
  s.version = "breakwater 0.1.0";
  s.sources.push_back({"eth1", "interface", 1000, 640000, 3, 0, 0, 7, ""});
  s.sources.push_back({"sflow 0.0.0.0:6343", "sflow", 50, 64000, 1, 400, 9, 2, "socket closed"});
  s.engine.packets = 1050;
  s.engine.bytes = 704000;
  s.engine.reflection_packets = 800;
  s.engine.late_packets = 4;
  s.engine.scanner_evictions = 11;
  s.event_time_ns = 1700000099'500000000;
  s.packets = 1050;
  s.bytes = 704000;
  s.pps = 10.5;
  s.bps = 5632.0;
  s.vectors.push_back({"dns", 500, 400000, 5, 32000});
  s.vectors.push_back({"memcached", 300, 300000, 50, 4000000});
  s.vectors.push_back({"udp:500", 1, 100, 0, 0});
  s.top_destinations.push_back({"198.18.0.10", 300, 2400000});
  s.top_destinations.push_back({"198.18.0.11", 20, 160000});
  s.top_destinations.push_back({"2001:db8::1", 10, 80000});
  s.active_attacks = 1;
  s.attacks_started = 3;
  s.attacks_ended = 2;
  s.detection_latency.observe(0.15);
  s.detection_latency.observe(0.9);
  s.detection_latency.observe(12);
  s.actions.push_back({"events-file", 10, 0, 0, ""});
  s.actions.push_back({"webhook", 7, 3, 1, "HTTP 500 from https://hooks.example"});
  s.store_enabled = true;
  s.store_path = "/var/lib/breakwater/attacks.db";
  s.store_errors = 0;
  return s;
}

json attackJson(std::uint64_t id, const char* state) {
  return json{{"id", id},
              {"state", state},
              {"victim", "198.18.0.10"},
              {"vector", "memcached"},
              {"detected_at", 1700000000.5 + static_cast<double>(id)}};
}

class FakeView : public SensorView {
 public:
  FakeView() : snap_(sampleSnapshot()) {
    for (std::uint64_t id = 300; id >= 1; --id)
      list_.push_back(attackJson(id, id > 299 ? "active" : "ended"));
    json one = attackJson(42, "ended");
    one["series"] = json::array({json{{"t", 1700000001},
                                      {"packets", 10},
                                      {"bytes", 14000},
                                      {"pps", 10.0},
                                      {"bps", 112000.0},
                                      {"reflectors", 3}}});
    by_id_[42] = one;
  }

  SensorSnapshot snapshot() override {
    ++snapshots;
    if (fail) throw std::runtime_error("engine gone");
    std::lock_guard lock(mu_);
    return snap_;
  }
  json attacks(std::size_t limit) override {
    last_limit = limit;
    json out = json::array();
    for (std::size_t i = 0; i < list_.size() && i < limit; ++i) out.push_back(list_[i]);
    return out;
  }
  std::optional<json> attack(std::uint64_t id) override {
    last_id = id;
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return std::nullopt;
    return it->second;
  }
  SensorSnapshot copy() {
    std::lock_guard lock(mu_);
    return snap_;
  }

  std::atomic<bool> fail{false};
  std::atomic<std::size_t> last_limit{0};
  std::atomic<std::uint64_t> last_id{0};
  std::atomic<int> snapshots{0};

 private:
  std::mutex mu_;
  SensorSnapshot snap_;
  std::vector<json> list_;
  std::map<std::uint64_t, json> by_id_;
};

std::unique_ptr<ApiServer> startOrDie(const ApiOptions& options, SensorView* view) {
  auto server = ApiServer::start(options, view);
  if (!server) {
    ADD_FAILURE() << server.error().message;
    return nullptr;
  }
  return std::move(*server);
}

int portOf(const std::string& endpoint) {
  return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
}

httplib::Client clientFor(const ApiServer& server, const std::string& host = "127.0.0.1") {
  httplib::Client c(host, portOf(server.endpoint()));
  c.set_connection_timeout(5);
  c.set_read_timeout(5);
  return c;
}

json body(const httplib::Result& r) { return json::parse(r->body); }

// Sends `request` on a raw connection and returns everything the server answers.
std::string rawExchange(int port, const std::string& request, int timeout_seconds = 5) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  timeval tv{timeout_seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    std::size_t off = 0;
    while (off < request.size()) {
      const ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      answer.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return answer;
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiOptions o;
    o.listen = "127.0.0.1:0";
    server_ = startOrDie(o, &view_);
    ASSERT_NE(server_, nullptr);
  }

  FakeView view_;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(ApiServerTest, EndpointHasTheRealPort) {
  const std::string& ep = server_->endpoint();
  ASSERT_EQ(ep.rfind("127.0.0.1:", 0), 0u) << ep;
  EXPECT_GT(portOf(ep), 0);
}

TEST_F(ApiServerTest, StatusIsTheSnapshotAsJson) {
  auto c = clientFor(*server_);
  auto r = c.Get("/api/v1/status");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType);
  const json j = body(r);
  EXPECT_EQ(j, statusToJson(view_.copy()));
  // Spot checks against what the fake supplied, independent of statusToJson.
  EXPECT_EQ(j["version"], "breakwater 0.1.0");
  EXPECT_DOUBLE_EQ(j["uptime_seconds"].get<double>(), 100.25);
  ASSERT_EQ(j["sources"].size(), 2u);
  EXPECT_EQ(j["sources"][0]["name"], "eth1");
  EXPECT_EQ(j["sources"][0]["packets"], 1000);
  EXPECT_EQ(j["sources"][0]["drops"], 3);
  EXPECT_EQ(j["sources"][0]["up"], true);
  EXPECT_TRUE(j["sources"][0]["fault"].is_null());
  EXPECT_EQ(j["sources"][1]["lost_telemetry"], 9);
  EXPECT_EQ(j["sources"][1]["up"], false);
  EXPECT_EQ(j["sources"][1]["fault"], "socket closed");
  EXPECT_EQ(j["engine"]["late_packets"], 4);
  EXPECT_EQ(j["engine"]["scanner_evictions"], 11);
  EXPECT_EQ(j["traffic"]["packets"], 1050);
  EXPECT_EQ(j["attacks"]["active"], 1);
  EXPECT_EQ(j["attacks"]["started"], 3);
  EXPECT_EQ(j["attacks"]["detection_latency"]["count"], 3);
  EXPECT_EQ(j["actions"][1]["failed"], 3);
  EXPECT_EQ(j["actions"][1]["last_error"], "HTTP 500 from https://hooks.example");
  EXPECT_EQ(j["store"]["path"], "/var/lib/breakwater/attacks.db");
  EXPECT_EQ(j["config"]["reloads"], 2);
}

TEST_F(ApiServerTest, MetricsAreTheExposition) {
  auto c = clientFor(*server_);
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), kMetricsType);
  const std::string expected = renderMetrics(view_.copy());
  ASSERT_GE(r->body.size(), expected.size());
  EXPECT_EQ(r->body.substr(0, expected.size()), expected);
  EXPECT_NE(r->body.find("# TYPE breakwater_api_rejected_total counter\n"), std::string::npos);
}

TEST_F(ApiServerTest, AttacksUseDefaultAndExplicitLimit) {
  auto c = clientFor(*server_);
  auto r = c.Get("/api/v1/attacks");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType);
  EXPECT_EQ(view_.last_limit.load(), 100u);
  json j = body(r);
  ASSERT_EQ(j["attacks"].size(), 100u);
  EXPECT_EQ(j["attacks"][0], attackJson(300, "active"));
  EXPECT_EQ(j["attacks"][1], attackJson(299, "ended"));

  r = c.Get("/api/v1/attacks?limit=3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(view_.last_limit.load(), 3u);
  EXPECT_EQ(body(r)["attacks"].size(), 3u);

  r = c.Get("/api/v1/attacks?limit=1000");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(view_.last_limit.load(), 1000u);
  EXPECT_EQ(body(r)["attacks"].size(), 300u);
}

TEST_F(ApiServerTest, AttacksRejectBadLimit) {
  auto c = clientFor(*server_);
  for (const char* q : {"limit=0", "limit=1001", "limit=abc", "limit=-1", "limit=", "limit=1.5",
                        "limit=99999999999999999999"}) {
    view_.last_limit = 0;
    auto r = c.Get(std::string("/api/v1/attacks?") + q);
    ASSERT_TRUE(r) << q;
    EXPECT_EQ(r->status, 400) << q;
    EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType) << q;
    EXPECT_NE(body(r)["error"].get<std::string>().find("limit"), std::string::npos) << q;
    EXPECT_EQ(view_.last_limit.load(), 0u) << q;
  }
}

TEST_F(ApiServerTest, AttackById) {
  auto c = clientFor(*server_);
  auto r = c.Get("/api/v1/attacks/42");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType);
  const json j = body(r);
  EXPECT_EQ(j["id"], 42);
  ASSERT_EQ(j["series"].size(), 1u);
  EXPECT_EQ(j["series"][0]["reflectors"], 3);

  r = c.Get("/api/v1/attacks/7");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType);
  EXPECT_TRUE(body(r)["error"].is_string());
  EXPECT_EQ(view_.last_id.load(), 7u);

  // 20 digits is a well-formed id, but larger than any id can be.
  r = c.Get("/api/v1/attacks/99999999999999999999");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = c.Get("/api/v1/attacks/18446744073709551615");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(view_.last_id.load(), UINT64_MAX);

  for (const char* bad : {"abc", "12a", "-1", "+1", "1.0", "123456789012345678901", "4%202"}) {
    r = c.Get(std::string("/api/v1/attacks/") + bad);
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType) << bad;
    EXPECT_TRUE(body(r)["error"].is_string()) << bad;
  }
  r = c.Get("/api/v1/attacks/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(ApiServerTest, TopIsSortedAndBounded) {
  auto c = clientFor(*server_);
  auto r = c.Get("/api/v1/top");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType);
  json j = body(r);
  EXPECT_DOUBLE_EQ(j["at"].get<double>(), 1700000100.25);
  ASSERT_EQ(j["destinations"].size(), 3u);
  EXPECT_EQ(j["destinations"][0],
            (json{{"ip", "198.18.0.10"}, {"pps", 300.0}, {"bps", 2400000.0}}));
  ASSERT_EQ(j["vectors"].size(), 3u);
  EXPECT_EQ(j["vectors"][0]["vector"], "memcached");  // highest bps first
  EXPECT_EQ(j["vectors"][0]["packets"], 300);
  EXPECT_EQ(j["vectors"][0]["bytes"], 300000);
  EXPECT_EQ(j["vectors"][1]["vector"], "dns");
  EXPECT_EQ(j, topToJson(view_.copy(), 10));

  r = c.Get("/api/v1/top?n=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  j = body(r);
  ASSERT_EQ(j["destinations"].size(), 1u);
  ASSERT_EQ(j["vectors"].size(), 1u);
  EXPECT_EQ(j["vectors"][0]["vector"], "memcached");

  for (const char* q : {"n=0", "n=101", "n=ten", "n="}) {
    r = c.Get(std::string("/api/v1/top?") + q);
    ASSERT_TRUE(r) << q;
    EXPECT_EQ(r->status, 400) << q;
    EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType) << q;
  }
}

TEST_F(ApiServerTest, UnknownPathIs404Json) {
  auto c = clientFor(*server_);
  for (const char* path : {"/", "/api/v1", "/api/v1/statuses", "/metrics/x", "/api/v2/status"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType) << path;
    EXPECT_EQ(body(r)["error"], "no such endpoint") << path;
  }
}

TEST_F(ApiServerTest, OnlyGetAndHeadAreServed) {
  auto c = clientFor(*server_);
  std::vector<httplib::Result> answers;
  answers.push_back(c.Post("/api/v1/status", "{}", "application/json"));
  answers.push_back(c.Put("/api/v1/attacks/1", "{}", "application/json"));
  answers.push_back(c.Delete("/api/v1/attacks/1"));
  answers.push_back(c.Patch("/metrics", "x", "text/plain"));
  answers.push_back(c.Options("/api/v1/status"));
  // A body is never read, and must not turn the answer into a connection reset.
  answers.push_back(c.Post("/api/v1/status", std::string(32 * 1024, 'x'), "text/plain"));
  for (const auto& r : answers) {
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD");
    EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType);
    EXPECT_TRUE(body(r)["error"].is_string());
  }

  auto head = c.Head("/api/v1/status");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Type"), kJsonType);
  EXPECT_TRUE(head->body.empty());
}

TEST_F(ApiServerTest, ViewFailureIs500Json) {
  view_.fail = true;
  auto c = clientFor(*server_);
  auto r = c.Get("/api/v1/status");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType);
  EXPECT_EQ(body(r)["error"], "internal error");
  view_.fail = false;
  r = c.Get("/api/v1/status");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ApiServerTest, OversizedRequestHeadIs431AndServerGoesOn) {
  const int port = portOf(server_->endpoint());
  const std::string one_line =
      "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(9000, 'a') +
      "\r\n\r\n";
  std::string many_lines = "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 1000; ++i) many_lines += "X-" + std::to_string(i) + ": y\r\n";
  many_lines += "\r\n";
  const std::string endless = "GET /" + std::string(20000, 'a');  // never ends its line
  for (const std::string* req :
       {&one_line, static_cast<const std::string*>(&many_lines), &endless}) {
    const std::string answer = rawExchange(port, *req);
    EXPECT_EQ(answer.rfind("HTTP/1.1 431 ", 0), 0u) << answer.substr(0, 80);
    EXPECT_NE(answer.find("Content-Type: application/json; charset=utf-8"), std::string::npos);
  }
  // Just under the limit is fine.
  std::string fits = "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ";
  fits += std::string(8192 - fits.size() - 4, 'p') + "\r\n\r\n";
  ASSERT_EQ(fits.size(), 8192u);
  EXPECT_EQ(rawExchange(port, fits).rfind("HTTP/1.1 200 ", 0), 0u);

  auto c = clientFor(*server_);
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("breakwater_api_rejected_total{reason=\"header_too_large\"} 3\n"),
            std::string::npos);
}

TEST_F(ApiServerTest, SlowRequestHeadIs408AndHoldsOnlyOneWorker) {
  const int port = portOf(server_->endpoint());
  const auto t0 = Clock::now();
  std::string slow_answer;
  std::thread slow([&] {
    slow_answer = rawExchange(port, "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n", 15);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto c = clientFor(*server_);
  auto r = c.Get("/api/v1/status");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
  slow.join();
  const auto took = Clock::now() - t0;
  EXPECT_EQ(slow_answer.rfind("HTTP/1.1 408 ", 0), 0u) << slow_answer;
  EXPECT_GE(took, std::chrono::milliseconds(4900));
  EXPECT_LT(took, std::chrono::seconds(8));
}

TEST_F(ApiServerTest, MalformedRequestIs400AndCounted) {
  const int port = portOf(server_->endpoint());
  EXPECT_EQ(rawExchange(port, "BREW /pot HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_EQ(rawExchange(port, "GET /api/v1/status HTTP/9\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  auto c = clientFor(*server_);
  c.Get("/nope");
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("breakwater_api_rejected_total{reason=\"malformed\"} 2\n"),
            std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("breakwater_api_rejected_total{reason=\"not_found\"} 1\n"),
            std::string::npos);
}

TEST_F(ApiServerTest, TokenlessApiWantsLoopbackHost) {
  auto c = clientFor(*server_);
  auto r = c.Get("/api/v1/status", {{"Host", "rebound.example:9473"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType);
  EXPECT_EQ(view_.snapshots.load(), 0);
  for (const char* host : {"localhost:9473", "127.0.0.1", "[::1]:9473", "LOCALHOST"}) {
    r = c.Get("/api/v1/status", {{"Host", host}});
    ASSERT_TRUE(r) << host;
    EXPECT_EQ(r->status, 200) << host;
  }
}

TEST_F(ApiServerTest, ConcurrentRequestsAllSucceed) {
  constexpr int kThreads = 8;
  constexpr int kRequests = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto c = clientFor(*server_);
      const char* paths[] = {"/api/v1/status", "/metrics", "/api/v1/top?n=2",
                             "/api/v1/attacks?limit=5", "/api/v1/attacks/42"};
      for (int i = 0; i < kRequests; ++i) {
        auto r = c.Get(paths[(t + i) % 5]);
        if (r && r->status == 200 && !r->body.empty()) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kRequests);
}

TEST_F(ApiServerTest, StopIsPromptWithIdleConnections) {
  const int port = portOf(server_->endpoint());
  // More idle connections than workers: some are being read, the rest wait in the queue.
  std::vector<int> idle;
  for (int i = 0; i < 8; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::send(fd, "GET /api", 8, MSG_NOSIGNAL);  // a head that never completes
    idle.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t0 = Clock::now();
  server_->stop();
  const auto took = Clock::now() - t0;
  EXPECT_LT(took, std::chrono::milliseconds(1000));
  server_->stop();  // idempotent
  for (int fd : idle) ::close(fd);

  auto c = clientFor(*server_);
  EXPECT_FALSE(c.Get("/api/v1/status"));  // nothing listens any more
}

TEST(ApiServerAuth, TokenIsRequiredEverywhere) {
  FakeView view;
  ApiOptions o;
  o.listen = "127.0.0.1:0";
  o.token = "s3cret-Token_value";
  auto server = startOrDie(o, &view);
  ASSERT_NE(server, nullptr);
  auto c = clientFor(*server);

  for (const char* path : {"/api/v1/status", "/metrics", "/api/v1/attacks", "/api/v1/top",
                           "/api/v1/attacks/42", "/nope"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), kJsonType) << path;
    EXPECT_EQ(r->get_header_value("WWW-Authenticate").rfind("Bearer", 0), 0u) << path;
    EXPECT_TRUE(body(r)["error"].is_string()) << path;
  }
  const httplib::Headers wrong[] = {
      {{"Authorization", "Bearer s3cret-Token_valuf"}},
      {{"Authorization", "Bearer s3cret-Token_value2"}},
      {{"Authorization", "Bearer s3cret"}},
      {{"Authorization", "Bearer "}},
      {{"Authorization", "s3cret-Token_value"}},
      {{"Authorization", "Basic czNjcmV0LVRva2VuX3ZhbHVl"}},
      {{"Authorization", "Bearer s3cret-Token_value"}, {"Authorization", "Bearer x"}},
  };
  for (const auto& h : wrong) {
    auto r = c.Get("/metrics", h);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << h.begin()->second;
  }
  EXPECT_EQ(view.snapshots.load(), 0);

  // The token also stands in for the Host check.
  const httplib::Headers right = {{"Authorization", "Bearer s3cret-Token_value"},
                                  {"Host", "sensor.example:9473"}};
  for (const char* path : {"/api/v1/status", "/metrics", "/api/v1/attacks", "/api/v1/top"}) {
    auto r = c.Get(path, right);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
  }
  auto r = c.Get("/api/v1/status", {{"Authorization", "bearer s3cret-Token_value"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // An authorized request for a missing thing still gets the proper status.
  r = c.Get("/nope", right);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = c.Post("/metrics", right, "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);

  r = c.Get("/metrics", right);
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("breakwater_api_rejected_total{reason=\"unauthorized\"} 13\n"),
            std::string::npos)
      << r->body;
}

TEST(ApiServerStart, NonLoopbackNeedsToken) {
  FakeView view;
  ApiOptions o;
  o.listen = "0.0.0.0:9473";
  auto r = ApiServer::start(o, &view);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "the API listens on 0.0.0.0:9473, which is not loopback: set [api] token");
  for (const char* listen :
       {"[::]:0", "192.0.2.1:0", "[2001:db8::1]:0", "128.0.0.1:0", "[::ffff:10.0.0.1]:0"}) {
    o.listen = listen;
    r = ApiServer::start(o, &view);
    ASSERT_FALSE(r) << listen;
    EXPECT_NE(r.error().message.find("which is not loopback: set [api] token"), std::string::npos)
        << r.error().message;
  }
}

TEST(ApiServerStart, RejectsBadListenAddresses) {
  FakeView view;
  for (const char* listen :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:http", "::1:9473", "[::1]9473",
        "[::1", "[127.0.0.1]:9473", "sensor.example:9473", "127.0.0.1:-1", "127.1:80"}) {
    ApiOptions o;
    o.listen = listen;
    auto r = ApiServer::start(o, &view);
    ASSERT_FALSE(r) << listen;
    EXPECT_EQ(
        r.error().message.rfind("invalid API listen address \"" + std::string(listen) + "\"", 0),
        0u)
        << r.error().message;
  }
}

TEST(ApiServerStart, RejectsBadOptions) {
  FakeView view;
  ApiOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 0;
  auto r = ApiServer::start(o, &view);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "API threads must be from 1 to 64, not 0");
  o.threads = 4;
  for (const char* token : {"has space", "tab\there", "per%cent", "caf\xc3\xa9"}) {
    o.token = token;
    r = ApiServer::start(o, &view);
    ASSERT_FALSE(r) << token;
    EXPECT_NE(r.error().message.find("token"), std::string::npos);
  }
  o.token.clear();
  r = ApiServer::start(o, nullptr);
  EXPECT_FALSE(r);
}

TEST(ApiServerStart, PortInUseIsOneSentence) {
  FakeView view;
  ApiOptions o;
  o.listen = "127.0.0.1:0";
  auto first = startOrDie(o, &view);
  ASSERT_NE(first, nullptr);
  o.listen = first->endpoint();
  auto second = ApiServer::start(o, &view);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message,
            "address already in use: " + first->endpoint() + " (another breakwater running?)");
  // The first one is unharmed.
  auto c = clientFor(*first);
  auto r = c.Get("/api/v1/status");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(ApiServerStart, LoopbackAliases) {
  FakeView view;
  ApiOptions o;
  o.listen = "localhost:0";
  auto a = startOrDie(o, &view);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->endpoint().rfind("127.0.0.1:", 0), 0u) << a->endpoint();

  // All of 127.0.0.0/8 is loopback on Linux.
  o.listen = "127.0.0.2:0";
  auto b = startOrDie(o, &view);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->endpoint().rfind("127.0.0.2:", 0), 0u) << b->endpoint();
  auto c = clientFor(*b, "127.0.0.2");
  auto r = c.Get("/api/v1/status", {{"Host", "127.0.0.2"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

bool haveIpv6Loopback() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

TEST(ApiServerStart, ServesIpv6Loopback) {
  if (!haveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback address on this host";
  FakeView view;
  ApiOptions o;
  o.listen = "[::1]:0";
  auto server = startOrDie(o, &view);
  ASSERT_NE(server, nullptr);
  const std::string& ep = server->endpoint();
  ASSERT_EQ(ep.rfind("[::1]:", 0), 0u) << ep;
  httplib::Client c("::1", portOf(ep));
  c.set_connection_timeout(5);
  auto r = c.Get("/api/v1/status", {{"Host", ep}});
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body(r)["version"], "breakwater 0.1.0");

  o.listen = ep;
  auto second = ApiServer::start(o, &view);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message,
            "address already in use: " + ep + " (another breakwater running?)");
}

}  // namespace
}  // namespace bw
