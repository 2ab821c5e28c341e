// ReceivingCollector on loopback: datagrams sent to its collector come out of drain() once
// each, in order, with their bytes and sender, while nobody polls on the calling thread; the
// receiving thread publishes listener statistics; idle() waits no longer than asked and
// returns early once a datagram arrives; stop() ends the thread from any state, keeps what
// was queued, and may be called again. Sockets are bound to 127.0.0.1 only.
#include "flow/receiving_collector.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace bw {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::int64_t elapsedMs(Clock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - since).count();
}

// A collector on an ephemeral loopback port, and a socket that sends to it.
struct Loopback {
  std::unique_ptr<UdpCollector> collector;
  int fd = -1;
  sockaddr_in to{};

  Loopback() {
    auto c = UdpCollector::open({"127.0.0.1:0"});
    if (!c.ok()) {
      ADD_FAILURE() << c.error().message;
      return;
    }
    collector = std::move(c).value();
    const std::string endpoint = collector->endpoints().at(0);
    to.sin_family = AF_INET;
    to.sin_port =
        htons(static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1))));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) ADD_FAILURE() << "no UDP socket";
  }
  ~Loopback() {
    if (fd >= 0) close(fd);
  }

  void send(std::uint32_t seq, std::size_t size) const {
    std::vector<std::uint8_t> p(size);
    for (std::size_t i = 0; i < size; ++i) p[i] = static_cast<std::uint8_t>(seq * 7 + i);
    p[0] = static_cast<std::uint8_t>(seq >> 8);
    p[1] = static_cast<std::uint8_t>(seq);
    ASSERT_EQ(sendto(fd, p.data(), p.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(p.size()));
  }
};

// Drains until `want` datagrams came or `limit_ms` passed; checks each one's bytes.
std::vector<std::uint32_t> receive(ReceivingCollector& r, std::size_t want, int limit_ms) {
  std::vector<std::uint32_t> seqs;
  const auto start = Clock::now();
  while (seqs.size() < want && elapsedMs(start) < limit_ms) {
    const bool any = r.drain([&](const DatagramQueue::Batch& b) {
      for (const DatagramQueue::Datagram& d : b.datagrams) {
        const ByteSpan data = b.data(d);
        EXPECT_EQ(d.from, IpAddress::fromV4(0x7f000001));
        EXPECT_GE(data.size(), 2u);
        if (data.size() < 2) continue;
        const std::uint32_t seq = std::uint32_t{data[0]} << 8 | data[1];
        for (std::size_t i = 2; i < data.size(); ++i) {
          ASSERT_EQ(data[i], static_cast<std::uint8_t>(seq * 7 + i)) << seq;
        }
        seqs.push_back(seq);
      }
    });
    if (!any) r.idle(milliseconds(20));
  }
  return seqs;
}

TEST(ReceivingCollector, EveryDatagramArrivesOnceInOrderWithItsBytes) {
  Loopback net;
  ASSERT_NE(net.collector, nullptr);
  ReceivingCollector r(*net.collector, "bw-test-rx", 8 << 20);
  // Paced, so that no socket buffer size the kernel may grant drops any.
  std::thread sender([&] {
    for (std::uint32_t seq = 0; seq < 2000; ++seq) {
      net.send(seq, 200 + seq % 900);
      if (seq % 50 == 49) std::this_thread::sleep_for(milliseconds(2));
    }
  });
  const std::vector<std::uint32_t> seqs = receive(r, 2000, 10'000);
  sender.join();
  ASSERT_EQ(seqs.size(), 2000u);
  for (std::uint32_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i);
  EXPECT_FALSE(r.failed());

  // The receiving thread publishes the collector's statistics at least every 250 ms.
  std::uint64_t counted = 0;
  const auto start = Clock::now();
  while (counted < 2000 && elapsedMs(start) < 2000) {
    std::this_thread::sleep_for(milliseconds(50));
    counted = 0;
    for (const ListenerStats& l : r.stats()) counted += l.datagrams;
  }
  EXPECT_EQ(counted, 2000u);
}

// Nothing comes: idle() keeps to its bound, also once it has switched to waiting to be woken.
// Then a datagram ends such a wait long before its bound.
TEST(ReceivingCollector, IdleWaitsNoLongerThanAskedAndADatagramEndsIt) {
  Loopback net;
  ASSERT_NE(net.collector, nullptr);
  ReceivingCollector r(*net.collector, "bw-test-rx", 1 << 20);
  const auto nothing = [](const DatagramQueue::Batch&) { ADD_FAILURE() << "nothing was sent"; };
  for (int i = 0; i < 150; ++i) {  // past the 100 quiet looks
    ASSERT_FALSE(r.drain(nothing));
    const auto start = Clock::now();
    r.idle(milliseconds(3));
    ASSERT_LT(elapsedMs(start), 500) << "look " << i;
  }
  std::thread sender([&] {
    std::this_thread::sleep_for(milliseconds(100));
    net.send(1, 100);
  });
  const auto start = Clock::now();
  r.idle(std::chrono::seconds(20));
  const std::int64_t waited = elapsedMs(start);
  sender.join();
  EXPECT_GE(waited, 50);
  EXPECT_LT(waited, 10'000);  // woken by the datagram, not the 20 s bound
  EXPECT_EQ(receive(r, 1, 2000).size(), 1u);
}

// stop() ends a receiving thread that is waiting in poll(), keeps what it had queued for
// drain(), and may be called again (the destructor calls it once more).
TEST(ReceivingCollector, StopEndsTheThreadAndKeepsWhatWasQueued) {
  Loopback net;
  ASSERT_NE(net.collector, nullptr);
  ReceivingCollector r(*net.collector, "bw-test-rx", 1 << 20);
  for (std::uint32_t seq = 0; seq < 50; ++seq) net.send(seq, 300);
  // Wait until the receiving thread has taken them all from the socket.
  const auto start = Clock::now();
  std::uint64_t counted = 0;
  while (counted < 50 && elapsedMs(start) < 3000) {
    std::this_thread::sleep_for(milliseconds(20));
    counted = 0;
    for (const ListenerStats& l : r.stats()) counted += l.datagrams;
  }
  ASSERT_EQ(counted, 50u);
  const auto stop_start = Clock::now();
  r.stop();
  EXPECT_LT(elapsedMs(stop_start), 2000);  // poll() waits up to 100 ms; wake() cuts it short
  r.stop();
  r.rethrowFailure();  // nothing to rethrow
  EXPECT_EQ(receive(r, 50, 1000).size(), 50u);
  // Sent after the stop: nobody receives it any more.
  net.send(99, 100);
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(r.drain([](const DatagramQueue::Batch&) {}));
}

}  // namespace
}  // namespace bw
