// UdpCollector on loopback: datagrams from several IPv4 and IPv6 exporters each arrive once
// with their bytes, sender, listener and kernel timestamp; a burst into a small receive buffer
// is accounted as delivered + kernel drops; truncation; port conflicts, bad endpoints and
// permission errors name the endpoint; poll() honours its timeout and wake(); closing frees
// the ports. Every socket is bound to 127.0.0.1 or ::1 except the wildcard-coexistence case,
// which binds ephemeral wildcard ports but only sends over loopback.
#include "flow/udp_collector.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace bw {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::int64_t kMs = 1'000'000;

std::int64_t realtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t elapsedMs(Clock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - since).count();
}

IpAddress loopback(bool v6) {
  std::uint8_t b[16] = {};
  b[15] = 1;
  return v6 ? IpAddress::fromV6Bytes(b) : IpAddress::fromV4(0x7f000001);
}

std::uint16_t portOf(const std::string& endpoint) {
  return static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

std::unique_ptr<UdpCollector> mustOpen(const std::vector<std::string>& endpoints,
                                       CollectorOptions options = {}) {
  auto c = UdpCollector::open(endpoints, options);
  if (!c.ok()) ADD_FAILURE() << c.error().message;
  return c.ok() ? std::move(c).value() : nullptr;
}

// A UDP socket bound to a loopback address, closed on scope exit.
class Sender {
 public:
  explicit Sender(bool v6) : v6_(v6) {
    fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_storage sa{};
    socklen_t len = fill(&sa, 0);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      ADD_FAILURE() << "cannot bind a loopback sender: " << std::strerror(errno);
      return;
    }
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&sa)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
  }
  ~Sender() {
    if (fd_ >= 0) close(fd_);
  }
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  bool send(std::uint16_t to_port, const std::vector<std::uint8_t>& bytes) const {
    sockaddr_storage sa{};
    const socklen_t len = fill(&sa, to_port);
    return sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&sa), len) ==
           static_cast<ssize_t>(bytes.size());
  }
  std::uint16_t port() const { return port_; }
  bool v6() const { return v6_; }

 private:
  socklen_t fill(sockaddr_storage* sa, std::uint16_t port) const {
    if (v6_) {
      auto* s = reinterpret_cast<sockaddr_in6*>(sa);
      s->sin6_family = AF_INET6;
      s->sin6_port = htons(port);
      s->sin6_addr = in6addr_loopback;
      return sizeof *s;
    }
    auto* s = reinterpret_cast<sockaddr_in*>(sa);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof *s;
  }

  bool v6_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// Datagram `seq` of sender `id`: the pair in the first 8 bytes, then bytes derived from both,
// so a receiver can rebuild what it should have got.
std::vector<std::uint8_t> payload(std::uint32_t id, std::uint32_t seq, std::size_t size) {
  std::vector<std::uint8_t> p(size);
  for (std::size_t i = 0; i < size; ++i) {
    p[i] = static_cast<std::uint8_t>(id * 131 + seq * 7 + i * 13 + (i >> 8));
  }
  if (size >= 8) {
    for (int k = 0; k < 4; ++k) {
      p[k] = static_cast<std::uint8_t>(id >> (24 - 8 * k));
      p[4 + k] = static_cast<std::uint8_t>(seq >> (24 - 8 * k));
    }
  }
  return p;
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

std::size_t openDescriptors() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}

// Polls until `want` datagrams arrived or nothing came for `idle_ms`.
std::size_t pollUntil(UdpCollector& c, std::size_t want, const UdpCollector::Sink& sink,
                      int idle_ms = 500) {
  std::size_t got = 0;
  while (got < want) {
    const std::size_t n = c.poll(idle_ms * kMs, sink);
    if (n == 0) break;
    got += n;
  }
  return got;
}

TEST(ParseEndpoint, AcceptedForms) {
  std::uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  std::uint8_t any6[16] = {};
  const std::vector<std::tuple<std::string, IpAddress, std::uint16_t>> cases = {
      {"127.0.0.1:2055", IpAddress::fromV4(0x7f000001), 2055},
      {"192.0.2.10:6343", IpAddress::fromV4(0xc000020a), 6343},
      {"0.0.0.0:65535", IpAddress::fromV4(0), 65535},
      {":4739", IpAddress::fromV4(0), 4739},
      {"2055", IpAddress::fromV4(0), 2055},
      {"0", IpAddress::fromV4(0), 0},
      {"[::1]:9995", loopback(true), 9995},
      {"[::]:2055", IpAddress::fromV6Bytes(any6), 2055},
      {"[2001:db8::1]:0", IpAddress::fromV6Bytes(v6), 0},
  };
  for (const auto& [text, address, port] : cases) {
    const auto r = parseEndpoint(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
    EXPECT_EQ(r->first, address) << text;
    EXPECT_EQ(r->second, port) << text;
  }
  EXPECT_EQ(formatEndpoint(IpAddress::fromV4(0x7f000001), 2055), "127.0.0.1:2055");
  EXPECT_EQ(formatEndpoint(IpAddress::fromV6Bytes(v6), 4739), "[2001:db8::1]:4739");
  EXPECT_EQ(formatEndpoint(IpAddress::fromV6Bytes(any6), 0), "[::]:0");
}

TEST(ParseEndpoint, RejectedFormsSayWhy) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty"},
      {"2055x", "port '2055x' is not a number"},
      {"65536", "port '65536' is not a number from 0 to 65535"},
      {"-1", "not a number"},
      {"+5", "not a number"},
      {":", "port '' is not a number"},
      {"127.0.0.1:", "port '' is not a number"},
      {"127.0.0.1:99999", "not a number from 0 to 65535"},
      {"127.0.0.1", "missing ':PORT'"},
      {"::1:2055", "IPv6 addresses need brackets"},
      {"[::1]", "a port must follow"},
      {"[::1]2055", "a port must follow"},
      {"[::1:2055", "missing ']'"},
      {"[]:2055", "empty brackets"},
      {"[192.0.2.1]:2055", "'192.0.2.1' is not an IPv6 address"},
      {"[fe80::1%eth0]:2055", "scope ids"},
      {"localhost:2055", "host names are not resolved"},
      {"256.1.1.1:2055", "'256.1.1.1' is not an IPv4 address"},
  };
  for (const auto& [text, why] : cases) {
    const auto r = parseEndpoint(text);
    ASSERT_FALSE(r.ok()) << "accepted '" << text << "'";
    const std::string& m = r.error().message;
    EXPECT_NE(m.find("invalid endpoint '" + text + "'"), std::string::npos) << m;
    EXPECT_NE(m.find(why), std::string::npos) << m;
    EXPECT_NE(m.find("expected ADDR:PORT"), std::string::npos) << m;
  }
  // open() reports the same sentence and binds nothing.
  const auto c = UdpCollector::open({"127.0.0.1:0", "nonsense"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("invalid endpoint 'nonsense'"), std::string::npos);
}

TEST(UdpCollector, RejectsBadOptionsAndEmptyLists) {
  EXPECT_FALSE(UdpCollector::open({}).ok());
  CollectorOptions o;
  o.batch = 0;
  auto r = UdpCollector::open({"127.0.0.1:0"}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("batch 0"), std::string::npos) << r.error().message;
  o = {};
  o.batch = 5000;
  EXPECT_FALSE(UdpCollector::open({"127.0.0.1:0"}, o).ok());
  o = {};
  o.max_datagram_bytes = 100;
  r = UdpCollector::open({"127.0.0.1:0"}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("max_datagram_bytes 100"), std::string::npos);
}

struct Seen {
  int count = 0;
  bool bytes_ok = false;
  IpAddress from;
  std::uint16_t from_port = 0;
  std::uint16_t local_port = 0;
  std::uint32_t listener = 0;
  std::int64_t received_ns = 0;
};

TEST(UdpCollector, EveryDatagramFromEveryExporterArrivesOnceOnBothFamilies) {
  CollectorOptions options;
  options.batch = 16;  // several recvmmsg rounds per burst
  auto c = mustOpen({"127.0.0.1:0", "[::1]:0"}, options);
  ASSERT_NE(c, nullptr);
  const std::vector<std::string> eps = c->endpoints();
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].rfind("127.0.0.1:", 0), 0u) << eps[0];
  EXPECT_EQ(eps[1].rfind("[::1]:", 0), 0u) << eps[1];
  const std::uint16_t port4 = portOf(eps[0]);
  const std::uint16_t port6 = portOf(eps[1]);
  EXPECT_NE(port4, 0);
  EXPECT_NE(port6, 0);

  constexpr int kSendersPerFamily = 4;
  constexpr std::uint32_t kPerSender = 120;
  const std::size_t sizes[] = {8, 100, 576, 1400, 1472, 3000, 9000, 1200};
  std::vector<std::unique_ptr<Sender>> senders;
  for (int i = 0; i < 2 * kSendersPerFamily; ++i) {
    senders.push_back(std::make_unique<Sender>(i >= kSendersPerFamily));
  }

  std::map<std::pair<std::uint32_t, std::uint32_t>, Seen> seen;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<std::uint8_t>> sent;
  std::vector<std::vector<std::int64_t>> stamps(2);  // per listener, in delivery order
  std::size_t largest_batch = 0;
  std::uint64_t unknown = 0;
  const UdpCollector::Sink sink = [&](std::span<const ReceivedDatagram> batch) {
    largest_batch = std::max(largest_batch, batch.size());
    for (const ReceivedDatagram& d : batch) {
      if (d.data.size() < 8) {
        ++unknown;
        continue;
      }
      const auto key = std::pair{be32(d.data.data()), be32(d.data.data() + 4)};
      const auto it = sent.find(key);
      if (it == sent.end()) {
        ++unknown;
        continue;
      }
      Seen& s = seen[key];
      ++s.count;
      s.bytes_ok = std::equal(d.data.begin(), d.data.end(), it->second.begin(), it->second.end());
      s.from = d.from;
      s.from_port = d.from_port;
      s.local_port = d.local_port;
      s.listener = d.listener;
      s.received_ns = d.received_ns;
      if (d.listener < 2) stamps[d.listener].push_back(d.received_ns);
    }
  };

  const std::int64_t before = realtimeNs();
  std::size_t delivered = 0;
  // Interleaved: every sender sends a few, then the collector catches up, so the test does
  // not depend on the receive buffer the kernel grants.
  for (std::uint32_t seq = 0; seq < kPerSender; seq += 10) {
    for (std::uint32_t id = 0; id < senders.size(); ++id) {
      for (std::uint32_t k = seq; k < seq + 10; ++k) {
        auto p = payload(id, k, sizes[(id + k) % std::size(sizes)]);
        ASSERT_TRUE(senders[id]->send(senders[id]->v6() ? port6 : port4, p));
        sent[{id, k}] = std::move(p);
      }
    }
    while (std::size_t n = c->poll(0, sink)) delivered += n;
  }
  // The largest datagrams each family carries, to show the buffers hold them whole.
  for (std::uint32_t id : {0u, static_cast<std::uint32_t>(kSendersPerFamily)}) {
    const std::uint32_t k = kPerSender;
    auto p = payload(id, k, senders[id]->v6() ? 65527 : 65507);
    ASSERT_TRUE(senders[id]->send(senders[id]->v6() ? port6 : port4, p));
    sent[{id, k}] = std::move(p);
  }
  delivered += pollUntil(*c, sent.size() - delivered, sink);
  const std::int64_t after = realtimeNs();

  EXPECT_EQ(delivered, sent.size());
  EXPECT_EQ(unknown, 0u);
  EXPECT_EQ(seen.size(), sent.size());
  EXPECT_LE(largest_batch, options.batch);
  EXPECT_GT(largest_batch, 1u) << "recvmmsg never returned more than one datagram";
  for (const auto& [key, s] : seen) {
    const Sender& from = *senders[key.first];
    SCOPED_TRACE("sender " + std::to_string(key.first) + " seq " + std::to_string(key.second));
    EXPECT_EQ(s.count, 1);
    EXPECT_TRUE(s.bytes_ok);
    EXPECT_EQ(s.from, loopback(from.v6()));
    EXPECT_EQ(s.from_port, from.port());
    EXPECT_EQ(s.local_port, from.v6() ? port6 : port4);
    EXPECT_EQ(s.listener, from.v6() ? 1u : 0u);
    EXPECT_GE(s.received_ns, before);
    EXPECT_LE(s.received_ns, after);
  }
  // Kernel receive stamps differ datagram by datagram; a clock read once per batch would
  // repeat within every batch.
  for (const auto& per_listener : stamps) {
    ASSERT_GT(per_listener.size(), 100u);
    const std::set<std::int64_t> distinct(per_listener.begin(), per_listener.end());
    EXPECT_GT(distinct.size(), per_listener.size() * 9 / 10);
  }

  const std::vector<ListenerStats> st = c->stats();
  ASSERT_EQ(st.size(), 2u);
  for (int f = 0; f < 2; ++f) {
    std::uint64_t count = 0, bytes = 0;
    for (const auto& [key, p] : sent) {
      if (senders[key.first]->v6() == (f == 1)) {
        ++count;
        bytes += p.size();
      }
    }
    EXPECT_EQ(st[f].endpoint, eps[f]);
    EXPECT_EQ(st[f].datagrams, count);
    EXPECT_EQ(st[f].bytes, bytes);
    EXPECT_EQ(st[f].truncated, 0u);
    EXPECT_EQ(st[f].kernel_drops, 0u);
    EXPECT_EQ(st[f].errors, 0u);
    EXPECT_GT(st[f].receive_buffer_bytes, 0);
    if (geteuid() == 0) {  // SO_RCVBUFFORCE is honoured: the full request, doubled by Linux
      EXPECT_GE(st[f].receive_buffer_bytes, options.receive_buffer_bytes);
    }
  }
}

TEST(UdpCollector, BurstIntoSmallBufferIsDeliveredPlusKernelDrops) {
  CollectorOptions options;
  options.receive_buffer_bytes = 64 << 10;
  auto c = mustOpen({"127.0.0.1:0"}, options);
  ASSERT_NE(c, nullptr);
  const std::uint16_t port = portOf(c->endpoints()[0]);
  EXPECT_LT(c->stats()[0].receive_buffer_bytes, 1 << 20);

  constexpr std::uint32_t kSent = 2000;
  Sender sender(false);
  for (std::uint32_t seq = 0; seq < kSent; ++seq) {
    ASSERT_TRUE(sender.send(port, payload(7, seq, 1400)));
  }
  // Read from the kernel before anything is received: the drops happened after the last
  // queued datagram, so no ancillary counter has reported them yet.
  const std::uint64_t drops_before_reading = c->stats()[0].kernel_drops;
  EXPECT_GT(drops_before_reading, 0u);

  std::vector<int> count(kSent + 1, 0);
  std::size_t bad = 0;
  const UdpCollector::Sink sink = [&](std::span<const ReceivedDatagram> batch) {
    for (const ReceivedDatagram& d : batch) {
      const std::uint32_t seq = d.data.size() == 1400 ? be32(d.data.data() + 4) : kSent + 1;
      if (seq <= kSent) {
        ++count[seq];
      } else {
        ++bad;
      }
    }
  };
  const std::size_t delivered = pollUntil(*c, kSent, sink, 200);
  ListenerStats s = c->stats()[0];
  EXPECT_GT(delivered, 0u);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(s.kernel_drops, drops_before_reading);
  EXPECT_EQ(s.datagrams, delivered);
  EXPECT_EQ(delivered + s.kernel_drops, kSent);
  EXPECT_EQ(*std::max_element(count.begin(), count.end()), 1);

  // A later datagram carries the same counter as ancillary data; nothing is counted twice.
  ASSERT_TRUE(sender.send(port, payload(7, kSent, 1400)));
  EXPECT_EQ(pollUntil(*c, 1, sink), 1u);
  EXPECT_EQ(count[kSent], 1);
  s = c->stats()[0];
  EXPECT_EQ(s.kernel_drops, drops_before_reading);
  EXPECT_EQ(s.datagrams + s.kernel_drops, kSent + 1);
}

TEST(UdpCollector, OversizedDatagramsAreCountedAsTruncatedNotDelivered) {
  CollectorOptions options;
  options.max_datagram_bytes = 1024;
  auto c = mustOpen({"[::1]:0"}, options);
  ASSERT_NE(c, nullptr);
  const std::uint16_t port = portOf(c->endpoints()[0]);
  Sender sender(true);
  std::vector<std::size_t> sizes = {100, 1024, 1025, 5000, 1023, 65527, 1};
  for (std::uint32_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(sender.send(port, payload(1, i, sizes[i])));
  }
  std::vector<std::size_t> got;
  pollUntil(*c, 4, [&](std::span<const ReceivedDatagram> batch) {
    for (const ReceivedDatagram& d : batch) got.push_back(d.data.size());
  });
  EXPECT_EQ(got, (std::vector<std::size_t>{100, 1024, 1023, 1}));
  const ListenerStats s = c->stats()[0];
  EXPECT_EQ(s.truncated, 3u);
  EXPECT_EQ(s.datagrams, 4u);
  EXPECT_EQ(s.bytes, 100u + 1024 + 1023 + 1);
}

TEST(UdpCollector, PortInUseNamesTheEndpoint) {
  auto first = mustOpen({"127.0.0.1:0"});
  ASSERT_NE(first, nullptr);
  const std::string ep = first->endpoints()[0];
  const std::size_t fds = openDescriptors();

  auto again = UdpCollector::open({ep});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message,
            "address already in use: " + ep + " (another collector running?)");

  // All or nothing: the listener opened before the failing one is closed again.
  auto partly = UdpCollector::open({"[::1]:0", "127.0.0.1:0", ep});
  ASSERT_FALSE(partly.ok());
  EXPECT_NE(partly.error().message.find(ep), std::string::npos);
  EXPECT_EQ(openDescriptors(), fds);

  // Conflicts inside one list are reported as such.
  auto twice = UdpCollector::open({"127.0.0.1:40000", "127.0.0.1:40000"});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().message, "endpoint listed twice: 127.0.0.1:40000");
}

TEST(UdpCollector, OverlappingEndpointsInOneListAreNamed) {
  auto probe = mustOpen({"127.0.0.1:0"});
  ASSERT_NE(probe, nullptr);
  const std::string port = std::to_string(portOf(probe->endpoints()[0]));
  probe.reset();  // free the port, then ask for it twice over
  auto c = UdpCollector::open({"127.0.0.1:" + port, "0.0.0.0:" + port});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "address already in use: 0.0.0.0:" + port +
                                   " (overlaps 127.0.0.1:" + port + ", also listed)");
}

TEST(UdpCollector, WildcardListenersOfBothFamiliesShareAPort) {
  // Find a port free for both families, then bind both wildcards to it.
  std::unique_ptr<UdpCollector> c;
  std::uint16_t port = 0;
  for (int attempt = 0; attempt < 20 && c == nullptr; ++attempt) {
    auto probe = mustOpen({"0.0.0.0:0"});
    ASSERT_NE(probe, nullptr);
    port = portOf(probe->endpoints()[0]);
    probe.reset();
    auto r =
        UdpCollector::open({"0.0.0.0:" + std::to_string(port), "[::]:" + std::to_string(port)});
    if (r.ok()) c = std::move(r).value();
  }
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->endpoints(), (std::vector<std::string>{"0.0.0.0:" + std::to_string(port),
                                                      "[::]:" + std::to_string(port)}));
  Sender s4(false), s6(true);
  ASSERT_TRUE(s4.send(port, payload(4, 0, 64)));
  ASSERT_TRUE(s6.send(port, payload(6, 0, 64)));
  std::map<std::uint32_t, std::uint32_t> listener_of;  // sender id -> listener
  pollUntil(*c, 2, [&](std::span<const ReceivedDatagram> batch) {
    for (const ReceivedDatagram& d : batch) {
      listener_of[be32(d.data.data())] = d.listener;
      EXPECT_EQ(d.local_port, port);
    }
  });
  EXPECT_EQ(listener_of, (std::map<std::uint32_t, std::uint32_t>{{4, 0}, {6, 1}}));
}

TEST(UdpCollector, PrivilegedPortIsPermissionDenied) {
  int unprivileged_start = 0;
  std::ifstream("/proc/sys/net/ipv4/ip_unprivileged_port_start") >> unprivileged_start;
  if (unprivileged_start <= 1) GTEST_SKIP() << "port 1 needs no privilege on this host";
  const auto check = [] {
    auto c = UdpCollector::open({"127.0.0.1:1"});
    if (c.ok()) return std::string("opened");
    return c.error().message;
  };
  const std::string expected =
      "permission denied: 127.0.0.1:1 (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
  if (geteuid() != 0) {
    EXPECT_EQ(check(), expected);
    return;
  }
  // As root, drop to an unprivileged user in a child process.
  EXPECT_EXIT(
      {
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
        const std::string m = check();
        std::fprintf(stderr, "%s\n", m.c_str());
        _exit(m == expected ? 0 : 1);
      },
      testing::ExitedWithCode(0), "permission denied: 127\\.0\\.0\\.1:1 ");
}

TEST(UdpCollector, IdlePollReturnsWithinItsTimeout) {
  auto c = mustOpen({"127.0.0.1:0", "[::1]:0"});
  ASSERT_NE(c, nullptr);
  int calls = 0;
  const UdpCollector::Sink sink = [&](std::span<const ReceivedDatagram>) { ++calls; };
  auto t0 = Clock::now();
  EXPECT_EQ(c->poll(0, sink), 0u);
  EXPECT_LT(elapsedMs(t0), 50);
  t0 = Clock::now();
  EXPECT_EQ(c->poll(100 * kMs, sink), 0u);
  const std::int64_t waited = elapsedMs(t0);
  EXPECT_GE(waited, 99);
  EXPECT_LT(waited, 600);
  EXPECT_EQ(c->poll(-5, sink), 0u);  // negative: just look
  EXPECT_EQ(calls, 0);
}

TEST(UdpCollector, WakeInterruptsABlockedPoll) {
  auto c = mustOpen({"127.0.0.1:0"});
  ASSERT_NE(c, nullptr);
  std::atomic<bool> returned{false};
  std::int64_t waited = -1;
  std::thread t([&] {
    const auto t0 = Clock::now();
    (void)c->poll(10'000 * kMs, [](std::span<const ReceivedDatagram>) {});
    waited = elapsedMs(t0);
    returned = true;
  });
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_FALSE(returned.load()) << "poll returned before wake()";
  c->wake();
  t.join();
  EXPECT_LT(waited, 5000);

  // A wake before the call is kept for it, and used up by it.
  c->wake();
  auto t0 = Clock::now();
  (void)c->poll(10'000 * kMs, [](std::span<const ReceivedDatagram>) {});
  EXPECT_LT(elapsedMs(t0), 1000);
  t0 = Clock::now();
  (void)c->poll(50 * kMs, [](std::span<const ReceivedDatagram>) {});
  EXPECT_GE(elapsedMs(t0), 49);
}

// After reading only a few datagrams poll() waits gather_ns for more to gather, unless woken;
// a full batch, or gather_ns 0, returns at once.
TEST(UdpCollector, AFewDatagramsAreFollowedByAGatheringWaitThatWakeEnds) {
  CollectorOptions options;
  options.batch = 8;
  options.gather_below = 4;
  options.gather_ns = 300 * kMs;
  auto c = mustOpen({"127.0.0.1:0"}, options);
  ASSERT_NE(c, nullptr);
  const std::uint16_t port = portOf(c->endpoints()[0]);
  Sender sender(false);
  std::size_t got = 0;
  const UdpCollector::Sink sink = [&](std::span<const ReceivedDatagram> b) { got += b.size(); };

  ASSERT_TRUE(sender.send(port, payload(1, 0, 100)));
  auto t0 = Clock::now();
  EXPECT_EQ(c->poll(1000 * kMs, sink), 1u);
  EXPECT_GE(elapsedMs(t0), 290);  // one datagram: it waited for more
  EXPECT_LT(elapsedMs(t0), 2000);

  for (std::uint32_t seq = 1; seq <= 8; ++seq) ASSERT_TRUE(sender.send(port, payload(1, seq, 100)));
  t0 = Clock::now();
  EXPECT_EQ(c->poll(1000 * kMs, sink), 8u);
  EXPECT_LT(elapsedMs(t0), 250);  // a batch's worth: no wait

  ASSERT_TRUE(sender.send(port, payload(1, 9, 100)));
  std::thread waker([&] {
    std::this_thread::sleep_for(milliseconds(50));
    c->wake();
  });
  t0 = Clock::now();
  EXPECT_EQ(c->poll(1000 * kMs, sink), 1u);
  const std::int64_t woken_after = elapsedMs(t0);
  waker.join();
  EXPECT_LT(woken_after, 250);  // wake() ended the wait
  EXPECT_EQ(got, 10u);

  options.gather_ns = 0;
  auto eager = mustOpen({"127.0.0.1:0"}, options);
  ASSERT_NE(eager, nullptr);
  ASSERT_TRUE(sender.send(portOf(eager->endpoints()[0]), payload(1, 10, 100)));
  t0 = Clock::now();
  EXPECT_EQ(eager->poll(1000 * kMs, sink), 1u);
  EXPECT_LT(elapsedMs(t0), 250);
}

TEST(UdpCollector, ClosingFreesThePorts) {
  const std::size_t fds = openDescriptors();
  auto c = mustOpen({"127.0.0.1:0", "[::1]:0"});
  ASSERT_NE(c, nullptr);
  const std::vector<std::string> eps = c->endpoints();
  EXPECT_EQ(openDescriptors(), fds + 3);  // two sockets and the wakeup eventfd
  c.reset();
  EXPECT_EQ(openDescriptors(), fds);
  auto again = UdpCollector::open(eps);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ((*again)->endpoints(), eps);
}

}  // namespace
}  // namespace bw
