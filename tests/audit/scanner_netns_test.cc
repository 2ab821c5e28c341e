// The scanner against real memcached servers and hostile responders, in network namespaces
// these tests create (see netns_lab.h). What is checked comes from the servers themselves:
// the pid files memcached writes, `memcached -V`, the bytes_read / bytes_written counters
// a server reports afterwards, and counters kept by our own responders.
// Skipped (with the reason) when not root or memcached is not installed.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "audit/memcached_client.h"
#include "audit/memcached_probe.h"
#include "audit/netns_lab.h"
#include "audit/scanner.h"
#include "audit/targets.h"

namespace bw::audit {
namespace {

using bw::testing::NetnsEnter;
using bw::testing::NetnsLab;

struct ScanRun {
  ScanStats stats;
  std::vector<Finding> findings;
  std::string error;
};

ScanRun scanFrom(const std::string& ns, const std::vector<std::string>& specs,
                 const std::vector<std::string>& excludes, const ScanOptions& options,
                 const std::vector<const Probe*>& probes) {
  ScanRun r;
  auto targets = TargetSet::build(specs, excludes, TargetLimits{});
  if (!targets) {
    r.error = targets.error().message;
    return r;
  }
  NetnsEnter in(ns);
  if (!in.ok()) {
    r.error = "cannot enter " + ns;
    return r;
  }
  auto stats =
      runScan(*targets, probes, options, [&](Finding&& f) { r.findings.push_back(std::move(f)); });
  if (!stats) {
    r.error = stats.error().message;
    return r;
  }
  r.stats = *stats;
  return r;
}

std::string installedMemcachedVersion() {
  FILE* p = ::popen("memcached -V 2>/dev/null", "r");
  if (p == nullptr) return {};
  char buf[128] = {};
  std::string out = std::fgets(buf, sizeof buf, p) ? buf : "";
  ::pclose(p);
  // "memcached 1.6.18\n"
  auto sp = out.find(' ');
  if (sp == std::string::npos) return {};
  out = out.substr(sp + 1);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

const Finding* find(const std::vector<Finding>& v, const std::string& ip, Transport t) {
  for (const auto& f : v) {
    if (f.ip.toString() == ip && f.probe->transport() == t) return &f;
  }
  return nullptr;
}

std::set<std::string> foundSet(const std::vector<Finding>& v) {
  std::set<std::string> s;
  for (const auto& f : v) s.insert(f.ip.toString() + "/" + transportName(f.probe->transport()));
  return s;
}

class AuditLab : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!bw::testing::runningAsRoot()) GTEST_SKIP() << "needs root to create network namespaces";
    if (!bw::testing::commandExists("memcached")) {
      GTEST_SKIP() << "memcached is not installed (apt install memcached)";
    }
    udp_ = makeMemcachedUdpProbe();
    tcp_ = makeMemcachedTcpProbe();
    probes_ = {udp_.get(), tcp_.get()};
  }
  std::unique_ptr<Probe> udp_, tcp_;
  std::vector<const Probe*> probes_;
};

TEST_F(AuditLab, RealMemcachedFindsExactlyTheExposedHostsAndTransports) {
  NetnsLab lab("mc", {"198.18.1.0/24"},
               {"198.18.1.10", "198.18.1.20", "198.18.1.30", "198.18.1.40", "198.18.1.50",
                "198.18.1.60", "198.18.1.99", "198.18.1.200"});
  ASSERT_TRUE(lab.ok()) << lab.error();
  {
    std::ofstream auth(lab.file("auth"));
    auth << "user:secret\n";
  }
  std::filesystem::permissions(lab.file("auth"), std::filesystem::perms::owner_read |
                                                     std::filesystem::perms::owner_write |
                                                     std::filesystem::perms::others_read |
                                                     std::filesystem::perms::group_read);
  std::map<std::string, pid_t> pid;
  pid["198.18.1.10"] = lab.startMemcached("mc10", "-l 198.18.1.10 -p 11211 -U 11211");
  pid["198.18.1.20"] = lab.startMemcached("mc20", "-l 198.18.1.20 -p 11211 -U 0");
  pid["198.18.1.30"] = lab.startMemcached("mc30", "-l 198.18.1.30 -p 0 -U 11211");
  pid["198.18.1.40"] = lab.startMemcached("mc40", "-l 198.18.1.40 -p 11211 -U 11211 -I 2m");
  pid["198.18.1.50"] =
      lab.startMemcached("mc50", "-l 198.18.1.50 -p 11211 -U 0 -Y " + lab.file("auth").string());
  // Excluded and outside the targets: must never hear from the scanner.
  pid["198.18.1.99"] = lab.startMemcached("mc99", "-l 198.18.1.99 -p 11211 -U 11211");
  pid["198.18.1.200"] = lab.startMemcached("mc200", "-l 198.18.1.200 -p 11211 -U 11211");
  for (const auto& [ip, p] : pid) ASSERT_GT(p, 0) << ip << ": " << lab.error();

  ScanOptions o;
  o.timeout = std::chrono::milliseconds(1000);
  o.min_timeout = std::chrono::milliseconds(50);
  o.rate_pps = 20000;
  // .60 is closed (local, nothing listening), .70 is silent (routed, not local).
  ScanRun run = scanFrom(lab.scanner(), {"198.18.1.0/25"}, {"198.18.1.99"}, o, probes_);
  ASSERT_TRUE(run.error.empty()) << run.error;

  EXPECT_EQ(foundSet(run.findings),
            (std::set<std::string>{"198.18.1.10/udp", "198.18.1.10/tcp", "198.18.1.20/tcp",
                                   "198.18.1.30/udp", "198.18.1.40/udp", "198.18.1.40/tcp",
                                   "198.18.1.50/tcp"}));
  EXPECT_EQ(run.stats.targets, 127u);  // a /25 minus the excluded address
  EXPECT_EQ(run.stats.probed, 127u);
  EXPECT_EQ(run.stats.outside_targets, 0u);
  EXPECT_LT(run.stats.duration_s, 5.0);

  const std::string version = installedMemcachedVersion();
  ASSERT_FALSE(version.empty());
  for (const auto& f : run.findings) {
    const std::string ip = f.ip.toString();
    SCOPED_TRACE(ip + "/" + transportName(f.probe->transport()));
    EXPECT_EQ(f.probe->service(), "memcached");
    if (ip == "198.18.1.50") {
      EXPECT_EQ(f.info.auth_required, std::optional<bool>(true));
      EXPECT_TRUE(f.info.version.empty());
      continue;
    }
    EXPECT_EQ(f.info.version, version);
    EXPECT_EQ(f.info.auth_required, std::optional<bool>(false));
    ASSERT_TRUE(f.info.details.contains("pid"));
    EXPECT_EQ(f.info.details["pid"].get<std::int64_t>(), pid[ip]);
    EXPECT_TRUE(f.info.details.contains("uptime"));
    EXPECT_TRUE(f.info.details.contains("curr_connections"));
    EXPECT_EQ(f.info.details["limit_maxbytes"].get<std::uint64_t>(), 64u << 20);  // -m 64
    EXPECT_FALSE(f.info.details.contains("_udp"));  // reassembly finished
    if (f.probe->transport() == Transport::Udp) {
      EXPECT_EQ(f.request_bytes, 15u);      // 8-byte frame header + "stats\r\n"
      EXPECT_GE(f.response_datagrams, 2u);  // a stats reply does not fit one 1,400-byte frame
      EXPECT_GT(f.response_bytes, 10 * f.request_bytes);
      EXPECT_FALSE(f.capped);
    }
  }
  // -I sets the item size limit: "stats settings" over TCP reports it.
  ASSERT_NE(find(run.findings, "198.18.1.40", Transport::Tcp), nullptr);
  EXPECT_EQ(find(run.findings, "198.18.1.40", Transport::Tcp)->info.details["item_size_max"],
            2u << 20);
  EXPECT_EQ(find(run.findings, "198.18.1.10", Transport::Tcp)->info.details["item_size_max"],
            1u << 20);

  // The servers' own counters: what they read from and wrote to the scanner, byte for byte.
  NetnsEnter in(lab.scanner());
  ASSERT_TRUE(in.ok());
  const std::size_t ask = 15;  // our own framed "stats\r\n" below
  {
    auto st = bw::testing::statMap(bw::testing::memcachedUdp("198.18.1.30", "stats\r\n"));
    const Finding* f = find(run.findings, "198.18.1.30", Transport::Udp);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(std::stoull(st["bytes_written"]), f->response_bytes);
    EXPECT_EQ(std::stoull(st["bytes_read"]), f->request_bytes + ask);
  }
  {
    auto st = bw::testing::statMap(bw::testing::memcachedUdp("198.18.1.10", "stats\r\n"));
    const Finding* u = find(run.findings, "198.18.1.10", Transport::Udp);
    const Finding* t = find(run.findings, "198.18.1.10", Transport::Tcp);
    EXPECT_EQ(std::stoull(st["bytes_written"]), u->response_bytes + t->response_bytes);
    EXPECT_EQ(std::stoull(st["bytes_read"]), u->request_bytes + t->request_bytes + ask);
  }
  for (const char* untouched : {"198.18.1.99", "198.18.1.200"}) {
    auto st = bw::testing::statMap(bw::testing::memcachedUdp(untouched, "stats\r\n"));
    EXPECT_EQ(st["bytes_read"], std::to_string(ask)) << untouched << " was probed";
    EXPECT_EQ(st["bytes_written"], "0") << untouched << " was probed";
  }
}

TEST_F(AuditLab, RetriesOnlyWhatIsUnansweredAndFinishesOnAQuietNetwork) {
  NetnsLab lab("rt", {"198.18.1.0/24"}, {"198.18.1.10"});
  ASSERT_TRUE(lab.ok()) << lab.error();
  ASSERT_GT(lab.startMemcached("mc10", "-l 198.18.1.10 -p 11211 -U 11211"), 0) << lab.error();
  ScanOptions o;
  o.timeout = std::chrono::milliseconds(400);
  o.min_timeout = std::chrono::milliseconds(400);  // fixed, so the duration is predictable
  o.retries = 2;
  ScanRun run = scanFrom(lab.scanner(), {"198.18.1.8/29"}, {}, o, probes_);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(foundSet(run.findings), (std::set<std::string>{"198.18.1.10/udp", "198.18.1.10/tcp"}));
  // 8 addresses x 2 transports; 7 silent addresses get 1 + 2 attempts per transport, the
  // answering one exactly one of each.
  EXPECT_EQ(run.stats.udp_sent, 7u * 3 + 1);
  EXPECT_EQ(run.stats.tcp_connects, 7u * 3 + 1);
  for (const auto& f : run.findings) EXPECT_EQ(f.attempts, 1u);
  // Three waits of 400 ms, then done: no long tail after the last timeout.
  EXPECT_GT(run.stats.duration_s, 1.15);
  EXPECT_LT(run.stats.duration_s, 2.5);
}

TEST_F(AuditLab, BothAddressFamiliesInOneScan) {
  NetnsLab lab("v6", {"198.18.1.0/24", "2001:db8:1::/64"}, {"198.18.1.10", "2001:db8:1::10"});
  ASSERT_TRUE(lab.ok()) << lab.error();
  ASSERT_GT(lab.startMemcached("v4", "-l 198.18.1.10 -p 11211 -U 11211"), 0) << lab.error();
  ASSERT_GT(lab.startMemcached("v6", "-l 2001:db8:1::10 -p 0 -U 11211"), 0) << lab.error();
  ScanOptions o;
  o.timeout = std::chrono::milliseconds(500);
  o.min_timeout = std::chrono::milliseconds(50);
  ScanRun run = scanFrom(lab.scanner(), {"198.18.1.8/29", "2001:db8:1::/120"}, {}, o, probes_);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(foundSet(run.findings),
            (std::set<std::string>{"198.18.1.10/udp", "198.18.1.10/tcp", "2001:db8:1::10/udp"}));
  EXPECT_EQ(run.stats.targets, 8u + 256u);
  const Finding* v6 = find(run.findings, "2001:db8:1::10", Transport::Udp);
  ASSERT_NE(v6, nullptr);
  EXPECT_EQ(v6->request_bytes, 15u);
  EXPECT_GT(v6->response_bytes, 1000u);
}

TEST_F(AuditLab, PacketRateIsHonoured) {
  NetnsLab lab("rl", {"198.18.0.0/16"}, {});
  ASSERT_TRUE(lab.ok()) << lab.error();
  ScanOptions o;
  o.rate_pps = 500;
  o.retries = 0;
  o.timeout = std::chrono::milliseconds(50);
  o.min_timeout = std::chrono::milliseconds(50);
  std::vector<const Probe*> udp_only = {udp_.get()};
  // 400 silent addresses: the time is the sending, at 500 per second (a 5-packet burst).
  ScanRun run =
      scanFrom(lab.scanner(), {"198.18.1.0/24", "198.18.2.0/25", "198.18.3.0/28"}, {}, o, udp_only);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(run.stats.udp_sent, 400u);
  EXPECT_GT(run.stats.duration_s, (400.0 - 5) / 500);
  EXPECT_LT(run.stats.duration_s, 400.0 / 500 + 0.5);
}

// ---------------------------------------------------------------------------------------
// Hostile responders: one thread in the target namespace answering every probe badly.

class HostileServer {
 public:
  explicit HostileServer(const std::string& ns) : thread_([this, ns] { loop(ns); }) {
    for (int i = 0; i < 200 && !ready_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~HostileServer() {
    stop_ = true;
    thread_.join();
  }
  bool ready() const { return ready_ && !failed_; }
  int probesAt(int octet) const { return received_[octet].load(); }
  int floodSent() const { return flood_sent_.load(); }

 private:
  struct Udp {
    int fd;
    int octet;
  };
  struct Conn {
    int fd;
    int octet;
  };

  static int bindUdp(const std::string& ip, std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a = bw::testing::ipv4(ip, port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
    int buf = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
    return fd;
  }
  static int listenTcp(const std::string& ip) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = bw::testing::ipv4(ip, 11211);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  static std::string frame(std::uint16_t id, std::uint16_t seq, std::uint16_t total,
                           std::uint16_t reserved, const std::string& payload) {
    std::string d(8, '\0');
    d[0] = static_cast<char>(id >> 8), d[1] = static_cast<char>(id);
    d[2] = static_cast<char>(seq >> 8), d[3] = static_cast<char>(seq);
    d[4] = static_cast<char>(total >> 8), d[5] = static_cast<char>(total);
    d[6] = static_cast<char>(reserved >> 8), d[7] = static_cast<char>(reserved);
    return d + payload;
  }

  void loop(const std::string& ns) {
    NetnsEnter in(ns);
    if (!in.ok()) {
      failed_ = true;
      return;
    }
    std::vector<Udp> udp;
    for (int octet = 11; octet <= 19; ++octet) {
      udp.push_back({bindUdp("198.18.1." + std::to_string(octet), 11211), octet});
    }
    const int other_host = bindUdp("198.18.1.216", 11211);  // not a target
    const int other_port = bindUdp("198.18.1.16", 11212);   // a target, but not its port
    std::vector<std::pair<int, int>> listeners;
    for (int octet = 31; octet <= 33; ++octet) {
      listeners.emplace_back(listenTcp("198.18.1." + std::to_string(octet)), octet);
    }
    for (const auto& u : udp) failed_ = failed_ || u.fd < 0;
    for (const auto& l : listeners) failed_ = failed_ || l.first < 0;
    failed_ = failed_ || other_host < 0 || other_port < 0;
    ready_ = true;

    std::vector<Conn> conns;
    sockaddr_in flood_to{};
    std::uint16_t flood_id = 0, flood_seq = 0;
    bool flooding = false;
    const std::string junk_line = "HELLO junk junk junk junk\r\n";
    std::string junk;
    while (junk.size() < 16384) junk += junk_line;
    std::string binary(4096, '\0');
    for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7);
    const std::string stats = "STAT pid 7\r\nSTAT version 9.9.9\r\nEND\r\n";
    char buf[65536];

    while (!stop_) {
      std::vector<pollfd> fds;
      for (const auto& u : udp) fds.push_back({u.fd, POLLIN, 0});
      for (const auto& l : listeners) fds.push_back({l.first, POLLIN, 0});
      for (const auto& c : conns)
        fds.push_back({c.fd, static_cast<short>(c.octet == 31 ? POLLOUT : POLLIN), 0});
      ::poll(fds.data(), fds.size(), flooding ? 0 : 5);
      for (std::size_t i = 0; i < udp.size(); ++i) {
        if (!(fds[i].revents & POLLIN)) continue;
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        ssize_t n =
            ::recvfrom(udp[i].fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n < 8) continue;
        const int octet = udp[i].octet;
        ++received_[octet];
        const std::uint16_t id = static_cast<std::uint16_t>(
            (static_cast<unsigned char>(buf[0]) << 8) | static_cast<unsigned char>(buf[1]));
        auto reply = [&](int fd, const std::string& d) {
          ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
        };
        const int fd = udp[i].fd;
        switch (octet) {
          case 11: {  // huge garbage
            std::string g(60000, '\0');
            for (std::size_t k = 0; k < g.size(); ++k) g[k] = static_cast<char>(k * 131 + 17);
            for (int k = 0; k < 3; ++k) reply(fd, g);
            break;
          }
          case 12:  // truncated: half a header, then a header with nothing behind it
            reply(fd, std::string(buf, 4));
            reply(fd, frame(id, 0, 1, 0, ""));
            break;
          case 13:  // malformed headers and a binary payload
            reply(fd, frame(id, 5, 2, 0, "STAT pid 1\r\n"));
            reply(fd, frame(id, 0, 1, 0xffff, "STAT pid 1\r\n"));
            reply(fd, frame(id, 0, 0, 0, "STAT pid 1\r\n"));
            reply(fd, frame(id, 0, 1, 0, binary.substr(0, 200)));
            break;
          case 14:  // an endless, well-formed multi-datagram answer
            flooding = true;
            flood_to = from;
            flood_id = id;
            flood_seq = 0;
            break;
          case 15:  // an echo of the request
            reply(fd, std::string(buf, static_cast<std::size_t>(n)));
            break;
          case 16:  // a valid answer, from an address and a port that were not probed
            reply(other_host, frame(id, 0, 1, 0, stats));
            reply(other_port, frame(id, 0, 1, 0, stats));
            break;
          case 18:  // a valid answer to a request we never saw
            reply(fd, frame(static_cast<std::uint16_t>(id ^ 0xffff), 0, 1, 0, stats));
            break;
          default:  // 17, 19: silent
            break;
        }
      }
      if (flooding) {
        const int fd = udp[14 - 11].fd;
        std::string chunk = "STAT filler " + std::string(1380, 'x') + "\r\n";
        for (int k = 0; k < 64 && flood_sent_ < 20000; ++k) {
          std::string d = frame(flood_id, flood_seq++, 65535, 0, chunk);
          if (::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&flood_to),
                       sizeof flood_to) > 0) {
            ++flood_sent_;
          }
        }
        if (flood_sent_ >= 20000) flooding = false;
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      for (std::size_t i = 0; i < listeners.size(); ++i) {
        if (!(fds[udp.size() + i].revents & POLLIN)) continue;
        int c = ::accept4(listeners[i].first, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) continue;
        ++received_[listeners[i].second];
        conns.push_back({c, listeners[i].second});
        if (listeners[i].second == 32) ::send(c, binary.data(), binary.size(), MSG_NOSIGNAL);
      }
      const std::size_t base = udp.size() + listeners.size();
      for (std::size_t i = 0; i < conns.size(); ++i) {
        short re = fds.size() > base + i ? fds[base + i].revents : 0;
        if (conns[i].octet == 31 && (re & POLLOUT)) {  // endless text that is not memcached
          if (::send(conns[i].fd, junk.data(), junk.size(), MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
            ::close(conns[i].fd);
            conns[i].fd = -1;
          }
        } else if (re & POLLIN) {
          ssize_t n = ::recv(conns[i].fd, buf, sizeof buf, 0);
          if (n == 0) {
            ::close(conns[i].fd);
            conns[i].fd = -1;
          }
        }
        if (re & (POLLERR | POLLHUP)) {
          if (conns[i].fd >= 0) ::close(conns[i].fd);
          conns[i].fd = -1;
        }
      }
      std::erase_if(conns, [](const Conn& c) { return c.fd < 0; });
    }
    for (const auto& c : conns) ::close(c.fd);
    for (const auto& u : udp) ::close(u.fd);
    for (const auto& l : listeners) ::close(l.first);
    ::close(other_host);
    ::close(other_port);
  }

  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::atomic<bool> failed_{false};
  std::array<std::atomic<int>, 256> received_{};
  std::atomic<int> flood_sent_{0};
  std::thread thread_;
};

long maxRssKb() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

TEST_F(AuditLab, HostileRepliesStayBoundedAndReportNothingFalse) {
  std::vector<std::string> local;
  for (int o : {11, 12, 13, 14, 15, 16, 17, 18, 19, 31, 32, 33, 216}) {
    local.push_back("198.18.1." + std::to_string(o));
  }
  NetnsLab lab("hx", {"198.18.1.0/24"}, local);
  ASSERT_TRUE(lab.ok()) << lab.error();
  HostileServer hostile(lab.target());
  ASSERT_TRUE(hostile.ready());

  ScanOptions o;
  o.timeout = std::chrono::milliseconds(600);
  o.min_timeout = std::chrono::milliseconds(600);
  o.retries = 1;
  const long rss_before = maxRssKb();
  ScanRun run = scanFrom(lab.scanner(), {"198.18.1.0/26"}, {}, o, probes_);
  ASSERT_TRUE(run.error.empty()) << run.error;

  // Only the well-formed endless answer is memcached-shaped; it is reported, capped.
  ASSERT_EQ(foundSet(run.findings), (std::set<std::string>{"198.18.1.14/udp"}));
  const Finding& f = run.findings[0];
  EXPECT_TRUE(f.capped);
  EXPECT_EQ(f.response_datagrams, o.max_reply_datagrams);
  EXPECT_LE(f.response_bytes, o.max_reply_bytes);
  EXPECT_FALSE(f.info.complete);
  EXPECT_GT(run.stats.over_cap, 0u);
  EXPECT_GT(run.stats.rejected, 0u);     // garbage, truncated, malformed, echo, wrong id
  EXPECT_GE(run.stats.unsolicited, 2u);  // the answers from .216 and from port 11212
  // Never more than 1 + retries requests per pair, whatever came back: a host that answered
  // anything from the probed port got the request and is not asked again; the silent ones
  // and the one whose answers came from elsewhere get their retry.
  for (int octet : {11, 12, 13, 14, 15, 18}) {
    EXPECT_EQ(hostile.probesAt(octet), 1) << "198.18.1." << octet;
  }
  for (int octet : {16, 17, 19}) EXPECT_EQ(hostile.probesAt(octet), 2) << "198.18.1." << octet;
  // The TCP responders were connected to once each: an answered connection is not retried.
  for (int octet : {31, 32, 33}) EXPECT_EQ(hostile.probesAt(octet), 1) << "198.18.1." << octet;
  // One datagram per address and a retry for the 58 that answered nothing, less the pairs an
  // ICMP port unreachable ended first (.31-.33 have no UDP socket; ICMP is rate-limited).
  EXPECT_LE(run.stats.udp_sent, 64u + 58u);
  EXPECT_GE(run.stats.udp_sent + run.stats.icmp_unreachable, 64u + 58u);
  // It finished while the flood was still coming, in about two timeouts.
  EXPECT_LT(run.stats.duration_s, 4.0);
  EXPECT_LT(maxRssKb() - rss_before, 64 * 1024) << "memory grew with the replies";
}

TEST_F(AuditLab, DeepProbeMeasuresTheLargestItemOverUdp) {
  NetnsLab lab("dp", {"198.18.1.0/24"}, {"198.18.1.40", "198.18.1.41"});
  ASSERT_TRUE(lab.ok()) << lab.error();
  ASSERT_GT(lab.startMemcached("mc40", "-l 198.18.1.40 -p 11211 -U 11211 -I 2m"), 0);
  ASSERT_GT(lab.startMemcached("mc41", "-l 198.18.1.41 -p 11211 -U 11211"), 0);
  NetnsEnter in(lab.scanner());
  ASSERT_TRUE(in.ok());
  const std::size_t big = 1'500'000;
  std::string value(big, 'v');
  ASSERT_EQ(
      bw::testing::memcachedTcp(
          "198.18.1.40", "set big 0 0 " + std::to_string(big) + "\r\n" + value + "\r\n", "\r\n"),
      "STORED\r\n");
  ASSERT_EQ(bw::testing::memcachedTcp("198.18.1.40", "set small 0 0 5\r\nhello\r\n", "\r\n"),
            "STORED\r\n");
  auto before = bw::testing::statMap(bw::testing::memcachedTcp("198.18.1.40", "stats\r\n"));

  DeepProbeOptions o;
  nlohmann::json deep = measureMemcachedWorstCase(*IpAddress::parse("198.18.1.40"), 11211, o);
  ASSERT_FALSE(deep.contains("skipped")) << deep.dump();
  EXPECT_EQ(deep["key"], "big");
  // Fresh items are still in the hot LRU, which cachedump does not walk: the TCP crawler
  // listing is what finds them here.
  EXPECT_TRUE(deep["listed_by"] == "stats cachedump" ||
              deep["listed_by"] == "lru_crawler metadump (tcp)")
      << deep["listed_by"];
  EXPECT_EQ(deep["item_bytes"], big);
  EXPECT_EQ(deep["request_bytes"], 8u + std::string("get big\r\n").size());
  EXPECT_TRUE(deep["complete"].get<bool>());
  const auto datagrams = deep["response_datagrams"].get<std::uint64_t>();
  const auto bytes = deep["response_bytes"].get<std::uint64_t>();
  // The value plus "VALUE big 0 1500000\r\n" and "\r\nEND\r\n", in frames of at most 1,400 bytes.
  EXPECT_GE(bytes, big + 8 * datagrams);
  EXPECT_EQ(datagrams, (bytes + 1399) / 1400);
  EXPECT_GT(deep["amplification"].get<double>(), 50000.0);
  // The server agrees: one more hit, and the value went out once.
  auto after = bw::testing::statMap(bw::testing::memcachedTcp("198.18.1.40", "stats\r\n"));
  EXPECT_EQ(std::stoull(after["get_hits"]), std::stoull(before["get_hits"]) + 1);

  // Nothing stored: nothing worse than the stats reply to measure.
  nlohmann::json empty = measureMemcachedWorstCase(*IpAddress::parse("198.18.1.41"), 11211, o);
  ASSERT_TRUE(empty.contains("skipped"));
  EXPECT_NE(empty["skipped"].get<std::string>().find("no items"), std::string::npos);
}

}  // namespace
}  // namespace bw::audit
