// PacketSource on real interfaces inside network namespaces the tests create (a veth pair,
// loopback, a tun device). Frames injected on the veth peer through a second packet socket
// arrive once each with their bytes, lengths, link type and plausible timestamps, and decode;
// VLAN tags the kernel strips come back; a fanout group splits the traffic exactly and keeps
// each IPv4 datagram's fragments on one member (and with the defrag flag delivers reassembled
// datagrams instead); BPF filters and snaplen apply in the kernel, also to tagged frames; a
// burst into a tiny ring is accounted as delivered + kernel drops against the interface's own
// receive counter; wake() ends a wait; interface faults are reported; bad options, missing
// interfaces, bad filters and missing capabilities fail with one clear sentence.
//
// Needs root (network namespaces, CAP_NET_RAW) and iproute2; skipped otherwise. Every
// namespace is named after the pid and removed by an RAII guard, also when a test fails.
#include "sensor/packet_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "decode/frame_builder.h"
#include "decode/packet.h"

namespace bw {
namespace {

using test::Bytes;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::int64_t kMs = 1'000'000;
// MAC addresses frame_builder's ethernet() writes: destination ...:01, source ...:02.
constexpr const char* kCaptureMac = "02:00:00:00:00:01";
constexpr const char* kInjectMac = "02:00:00:00:00:02";
constexpr char kMarker[] = "BWSEQ";  // payload prefix, then the 4-byte sequence number

std::int64_t realtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t elapsedMs(Clock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - since).count();
}

bool run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

std::string output(const std::string& command) {
  std::string out;
  if (FILE* p = popen((command + " 2>/dev/null").c_str(), "r")) {
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
  }
  return out;
}

// Why these tests cannot run here, or empty when they can.
std::string missingPrerequisite() {
  if (geteuid() != 0) return "needs root: network namespaces and CAP_NET_RAW";
  if (!run("ip -V")) return "needs iproute2 (the ip command)";
  return {};
}

// PacketSource::open() in the calling thread, as a source or the error message.
struct Opened {
  std::unique_ptr<PacketSource> source;
  std::string error;
};

Opened openHere(const PacketSourceOptions& options) {
  auto r = PacketSource::open(options);
  if (!r.ok()) return {nullptr, r.error().message};
  return {std::move(r).value(), {}};
}

// Clears one capability from the calling thread's effective set (capabilities are per
// thread), as a sensor that dropped privileges would run.
bool dropCapability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  data[cap / 32].effective &= ~(1u << (cap % 32));
  return syscall(SYS_capset, &header, data) == 0;
}

// A network namespace of our own, deleted on scope exit (sockets opened in it keep it alive
// until they close). IPv6 is off inside so the kernel sends nothing on its own (no router
// solicitations, no MLD reports) and the only frames are the ones a test injects.
class Netns {
 public:
  Netns() {
    static int counter = 0;
    name_ = "bwsensor" + std::to_string(getpid()) + "n" + std::to_string(counter++);
    created_ = run("ip netns add " + name_);
    ok_ = created_ &&
          run(exec("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                   "net.ipv6.conf.default.disable_ipv6=1")) &&
          ip("link set lo up");
  }
  ~Netns() {
    if (created_) run("ip netns del " + name_);
  }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  bool ip(const std::string& args) const { return run("ip -n " + name_ + " " + args); }
  std::string exec(const std::string& command) const {
    return "ip netns exec " + name_ + " " + command;
  }

  // Runs `f` on a thread that has entered the namespace (setns applies per thread), so
  // sockets and devices it creates belong to the namespace. Sockets keep their namespace
  // when used from other threads afterwards.
  bool enter(const std::function<void()>& f) const {
    std::string error;
    std::thread t([&] {
      const int fd = ::open(("/var/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        error = "cannot enter namespace " + name_ + ": " + std::strerror(errno);
        if (fd >= 0) close(fd);
        return;
      }
      close(fd);
      f();
    });
    t.join();
    if (!error.empty()) ADD_FAILURE() << error;
    return error.empty();
  }

  Opened open(const PacketSourceOptions& options) const {
    Opened opened{nullptr, "namespace not entered"};
    enter([&] { opened = openHere(options); });
    return opened;
  }

  std::unique_ptr<PacketSource> mustOpen(const PacketSourceOptions& options) const {
    Opened opened = open(options);
    if (!opened.source) ADD_FAILURE() << opened.error;
    return std::move(opened.source);
  }

  // The interface's receive counter, as the kernel keeps it (rtnl_link_stats).
  std::uint64_t rxPackets(const std::string& ifname) const {
    std::uint64_t packets = 0;
    enter([&] {
      ifaddrs* list = nullptr;
      if (getifaddrs(&list) != 0) return;
      for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
        if (a->ifa_addr && a->ifa_addr->sa_family == AF_PACKET && a->ifa_data &&
            ifname == a->ifa_name) {
          packets = static_cast<const rtnl_link_stats*>(a->ifa_data)->rx_packets;
        }
      }
      freeifaddrs(list);
    });
    return packets;
  }

  // Waits until the link is operationally up: the kernel activates a device's queue
  // asynchronously after carrier comes on, and drops what is sent before that.
  bool waitUntilUp(const std::string& ifname) const {
    const auto start = Clock::now();
    while (elapsedMs(start) < 5000) {
      if (output("ip -o -n " + name_ + " link show " + ifname).find("state UP") !=
          std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }

  int promiscuity(const std::string& ifname) const {
    const std::string text = output("ip -d -n " + name_ + " link show " + ifname);
    const std::size_t at = text.find("promiscuity ");
    return at == std::string::npos ? -1 : std::atoi(text.c_str() + at + 12);
  }

 private:
  std::string name_;
  bool created_ = false;
  bool ok_ = false;
};

// A packet socket bound to the injecting end of the pair. Protocol 0: it sends, never receives.
class Injector {
 public:
  Injector(const Netns& ns, const std::string& ifname) {
    ns.enter([&] {
      fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
      sockaddr_ll sll{};
      sll.sll_family = AF_PACKET;
      sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
      if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
        ADD_FAILURE() << "cannot open the injector on " << ifname << ": " << std::strerror(errno);
      }
    });
  }
  ~Injector() {
    if (fd_ >= 0) close(fd_);
  }
  Injector(const Injector&) = delete;
  Injector& operator=(const Injector&) = delete;

  // Sends every frame from one thread pinned to one CPU: the veth hands frames over through
  // that CPU's backlog, so they reach the capture side in the order sent.
  std::size_t send(const std::vector<Bytes>& frames) {
    std::size_t sent = 0;
    std::thread t([&] {
      cpu_set_t cpus;
      CPU_ZERO(&cpus);
      CPU_SET(sched_getcpu(), &cpus);
      (void)sched_setaffinity(0, sizeof cpus, &cpus);
      for (const Bytes& f : frames) {
        if (::send(fd_, f.data(), f.size(), 0) == static_cast<ssize_t>(f.size())) ++sent;
      }
    });
    t.join();
    return sent;
  }

 private:
  int fd_ = -1;
};

// A delivered frame, copied out of the ring.
struct Got {
  Frame meta;
  Bytes bytes;
};

// Polls until `want` frames arrived (or the deadline), then keeps polling for `settle_ms` to
// catch any frame delivered twice or unexpectedly.
std::vector<Got> collect(PacketSource& source, std::size_t want, int deadline_ms = 3000,
                         int settle_ms = 120) {
  std::vector<Got> got;
  const auto sink = [&](std::span<const Frame> frames) {
    for (const Frame& f : frames) got.push_back(Got{f, Bytes(f.data, f.data + f.caplen)});
  };
  const auto start = Clock::now();
  while (got.size() < want && elapsedMs(start) < deadline_ms) source.poll(50 * kMs, sink);
  const auto settle = Clock::now();
  while (elapsedMs(settle) < settle_ms) source.poll(20 * kMs, sink);
  return got;
}

// The sequence number a test frame carries after kMarker, or -1.
long sequenceOf(const Bytes& frame) {
  const auto* at = static_cast<const std::uint8_t*>(
      memmem(frame.data(), frame.size(), kMarker, sizeof kMarker - 1));
  if (at == nullptr || at + sizeof kMarker - 1 + 4 > frame.data() + frame.size()) return -1;
  return static_cast<long>(loadBe32(at + sizeof kMarker - 1));
}

Bytes markedPayload(std::uint32_t seq, std::size_t bytes) {
  Bytes p = test::text(kMarker);
  test::put32(p, seq);
  while (p.size() < bytes) p.push_back(static_cast<std::uint8_t>(seq * 7 + p.size()));
  return p;
}

struct UdpSpec {
  std::uint32_t seq = 0;
  std::uint16_t sport = 40000;
  std::uint16_t dport = 53;
  std::size_t payload = 64;
  std::uint32_t src = 0xC0000201;        // 192.0.2.1
  std::vector<std::uint16_t> tags = {};  // VLAN TPIDs, outermost first
};

Bytes udpFrame(const UdpSpec& s) {
  test::V4 ip;
  ip.src = s.src;
  ip.id = static_cast<std::uint16_t>(s.seq);
  return test::ethernet(
      0x0800, test::ipv4(ip, test::udp(s.sport, s.dport, markedPayload(s.seq, s.payload))), s.tags);
}

// An IPv4/UDP datagram of `udp_payload` bytes cut into fragments of at most 1480 IP payload
// bytes (a 1500-byte MTU).
std::vector<Bytes> fragmentedDatagram(std::uint32_t seq, std::uint32_t src,
                                      std::size_t udp_payload) {
  const Bytes l4 = test::udp(11211, 40000, markedPayload(seq, udp_payload));
  std::vector<Bytes> frames;
  for (std::size_t offset = 0; offset < l4.size(); offset += 1480) {
    const std::size_t len = std::min<std::size_t>(1480, l4.size() - offset);
    test::V4 ip;
    ip.src = src;
    ip.id = static_cast<std::uint16_t>(seq);
    const bool more = offset + len < l4.size();
    ip.frag = static_cast<std::uint16_t>((more ? 0x2000 : 0) | (offset / 8));
    frames.push_back(test::ethernet(
        0x0800, test::ipv4(ip, Bytes(l4.begin() + offset, l4.begin() + offset + len))));
  }
  return frames;
}

PacketSourceOptions smallRing(const std::string& ifname) {
  PacketSourceOptions o;
  o.interface = ifname;
  o.block_bytes = 1u << 16;
  o.block_count = 8;
  return o;
}

// A namespace with a veth pair: frames sent into inj0 are received on cap0.
class VethTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = missingPrerequisite(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_TRUE(ns_.ok()) << "cannot create network namespace " << ns_.name();
    ASSERT_TRUE(ns_.ip("link add cap0 address " + std::string(kCaptureMac) +
                       " type veth peer name inj0 address " + kInjectMac));
    ASSERT_TRUE(ns_.ip("link set cap0 up") && ns_.ip("link set inj0 up"));
    ASSERT_TRUE(ns_.waitUntilUp("cap0") && ns_.waitUntilUp("inj0"));
    injector_.emplace(ns_, "inj0");
  }

  Netns ns_;
  std::optional<Injector> injector_;
};

TEST_F(VethTest, DeliversEveryFrameOnceWithItsBytesLengthsAndTimestamps) {
  PacketSourceOptions o = smallRing("cap0");
  o.interface_id = 3;
  auto source = ns_.mustOpen(o);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->interface(), "cap0");
  EXPECT_EQ(source->linktype(), linktype::kEthernet);

  constexpr std::uint32_t kFrames = 300;
  std::vector<Bytes> frames;
  for (std::uint32_t i = 0; i < kFrames; ++i) {
    // 60..1514-byte frames: every size class a ring block has to pack.
    frames.push_back(udpFrame({.seq = i,
                               .sport = static_cast<std::uint16_t>(20000 + i),
                               .payload = 18 + (i * 97) % 1455}));
  }
  const std::int64_t before = realtimeNs();
  ASSERT_EQ(injector_->send(frames), kFrames);
  const auto got = collect(*source, kFrames);
  const std::int64_t after = realtimeNs();

  ASSERT_EQ(got.size(), kFrames);
  std::int64_t last_ts = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const Got& g = got[i];
    const long seq = sequenceOf(g.bytes);
    ASSERT_EQ(seq, static_cast<long>(i)) << "frames out of order or foreign";
    EXPECT_EQ(g.bytes, frames[i]) << "frame " << i;
    EXPECT_EQ(g.meta.caplen, frames[i].size());
    EXPECT_EQ(g.meta.origlen, frames[i].size());
    EXPECT_EQ(g.meta.linktype, linktype::kEthernet);
    EXPECT_EQ(g.meta.interface_id, 3u);
    EXPECT_GE(g.meta.ts_ns, before);
    EXPECT_LE(g.meta.ts_ns, after);
    EXPECT_GE(g.meta.ts_ns, last_ts) << "timestamps go back at frame " << i;
    last_ts = g.meta.ts_ns;

    PacketSummary summary;
    ASSERT_EQ(
        decodeFrame(g.meta.linktype, test::span(g.bytes), g.meta.origlen, g.meta.ts_ns, summary),
        DecodeStatus::Ok);
    EXPECT_EQ(summary.src_port, 20000 + i);
    EXPECT_EQ(summary.dst_port, 53);
  }
  // Nanosecond timestamps, not microseconds padded with zeros.
  std::size_t sub_micro = 0;
  for (const Got& g : got) sub_micro += g.meta.ts_ns % 1000 != 0;
  EXPECT_GT(sub_micro, 0u);

  const PacketSourceStats s = source->stats();
  EXPECT_EQ(s.packets, kFrames);
  std::uint64_t bytes = 0;
  for (const Bytes& f : frames) bytes += f.size();
  EXPECT_EQ(s.bytes, bytes);
  EXPECT_EQ(s.kernel_drops, 0u);
  EXPECT_EQ(s.ring_errors, 0u);
  EXPECT_EQ(s.fault, "");
}

TEST_F(VethTest, StrippedVlanTagsArePutBack) {
  auto source = ns_.mustOpen(smallRing("cap0"));
  ASSERT_NE(source, nullptr);
  const std::vector<Bytes> frames = {
      udpFrame({.seq = 0, .tags = {0x8100}}),          // 802.1Q
      udpFrame({.seq = 1, .tags = {0x88a8, 0x8100}}),  // QinQ: only the outer tag is stripped
      udpFrame({.seq = 2}),                            // untagged
      udpFrame({.seq = 3, .payload = 1400, .tags = {0x8100}}),
  };
  ASSERT_EQ(injector_->send(frames), frames.size());
  const auto got = collect(*source, frames.size());
  ASSERT_EQ(got.size(), frames.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].bytes, frames[i]) << "frame " << i << " differs from the wire";
    EXPECT_EQ(got[i].meta.origlen, frames[i].size());
    PacketSummary summary;
    EXPECT_EQ(
        decodeFrame(linktype::kEthernet, test::span(got[i].bytes), got[i].meta.origlen, 0, summary),
        DecodeStatus::Ok);
  }
  EXPECT_EQ(source->stats().vlan_tags_restored, 3u);
}

TEST_F(VethTest, ASingleFrameArrivesWithinTheRetireTimeout) {
  PacketSourceOptions o = smallRing("cap0");
  o.retire_timeout_ms = 20;
  auto source = ns_.mustOpen(o);
  ASSERT_NE(source, nullptr);
  for (std::uint32_t round = 0; round < 3; ++round) {
    ASSERT_EQ(injector_->send({udpFrame({.seq = round})}), 1u);
    const auto sent = Clock::now();
    std::size_t got = 0;
    while (got == 0 && elapsedMs(sent) < 2000) {
      got = source->poll(1000 * kMs, [](std::span<const Frame>) {});
    }
    EXPECT_EQ(got, 1u);
    // The block is handed over within 20 ms; the rest is scheduling on a busy machine.
    EXPECT_LT(elapsedMs(sent), 250) << "round " << round;
  }
}

TEST_F(VethTest, FanoutSplitsTrafficAndKeepsFragmentsTogether) {
  PacketSourceOptions o = smallRing("cap0");
  o.fanout_group = 4000 + getpid() % 1000;
  auto a = ns_.mustOpen(o);
  auto b = ns_.mustOpen(o);
  ASSERT_TRUE(a && b);

  // 64 sources, each sending one whole datagram and one of three fragments.
  std::vector<Bytes> frames;
  std::map<long, std::set<std::size_t>> fragments_of;  // seq -> frame indexes
  for (std::uint32_t flow = 0; flow < 64; ++flow) {
    const std::uint32_t src = 0xCB007100 + flow;  // 203.0.113.x
    frames.push_back(udpFrame({.seq = 1000 + flow, .sport = 11211, .src = src}));
    for (Bytes& f : fragmentedDatagram(flow, src, 3000)) {
      fragments_of[flow].insert(frames.size());
      frames.push_back(std::move(f));
    }
  }
  ASSERT_EQ(injector_->send(frames), frames.size());
  const auto got_a = collect(*a, 1, 3000, 300);
  const auto got_b = collect(*b, 1, 3000, 300);

  EXPECT_FALSE(got_a.empty());
  EXPECT_FALSE(got_b.empty());
  std::map<Bytes, int> seen;  // frame bytes -> member (0, 1), or 2 when seen by both
  for (const Got& g : got_a) seen.emplace(g.bytes, 0);
  for (const Got& g : got_b) {
    auto [it, fresh] = seen.emplace(g.bytes, 1);
    if (!fresh) it->second = 2;
  }
  EXPECT_EQ(got_a.size() + got_b.size(), frames.size())
      << "the union must be exactly the frames sent";
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto it = seen.find(frames[i]);
    ASSERT_NE(it, seen.end()) << "frame " << i << " was lost";
    EXPECT_NE(it->second, 2) << "frame " << i << " reached both members";
  }
  for (const auto& [flow, indexes] : fragments_of) {
    std::set<int> members;
    for (std::size_t i : indexes) members.insert(seen[frames[i]]);
    EXPECT_EQ(members.size(), 1u) << "fragments of datagram " << flow << " were split";
  }
  // Every fragment arrived as itself: the datagram was not reassembled.
  for (const Got& g : got_a) EXPECT_LE(g.bytes.size(), 1514u);
}

TEST_F(VethTest, FanoutDefragDeliversReassembledDatagrams) {
  PacketSourceOptions o = smallRing("cap0");
  o.fanout_group = 5000 + getpid() % 1000;
  o.fanout_defrag = true;
  auto a = ns_.mustOpen(o);
  auto b = ns_.mustOpen(o);
  ASSERT_TRUE(a && b);
  std::vector<Bytes> frames;
  for (std::uint32_t flow = 0; flow < 16; ++flow) {
    for (Bytes& f : fragmentedDatagram(flow, 0xCB007100 + flow, 3000))
      frames.push_back(std::move(f));
  }
  ASSERT_EQ(frames.size(), 48u);
  ASSERT_EQ(injector_->send(frames), frames.size());
  auto got = collect(*a, 1, 3000, 300);
  for (Got& g : collect(*b, 1, 3000, 300)) got.push_back(std::move(g));

  // One frame per datagram, as long as the whole datagram, with no fragment left in it.
  ASSERT_EQ(got.size(), 16u);
  std::set<long> datagrams;
  for (const Got& g : got) {
    datagrams.insert(sequenceOf(g.bytes));
    EXPECT_EQ(g.meta.origlen, 14u + 20 + 8 + 3000);
    PacketSummary summary;
    ASSERT_EQ(decodeFrame(g.meta.linktype, test::span(g.bytes), g.meta.origlen, 0, summary),
              DecodeStatus::Ok);
    EXPECT_FALSE(summary.isFragment());
    EXPECT_EQ(summary.payload_wire_len, 3000);
  }
  EXPECT_EQ(datagrams.size(), 16u);
}

TEST_F(VethTest, FanoutGroupRefusesAMemberWithAnotherMode) {
  PacketSourceOptions o = smallRing("cap0");
  o.fanout_group = 6000 + getpid() % 1000;
  auto a = ns_.mustOpen(o);
  ASSERT_NE(a, nullptr);
  o.fanout_mode = FanoutMode::LoadBalance;
  const Opened b = ns_.open(o);
  ASSERT_EQ(b.source, nullptr);
  EXPECT_NE(b.error.find("fanout group " + std::to_string(o.fanout_group) + " on cap0"),
            std::string::npos)
      << b.error;
  EXPECT_NE(b.error.find("another mode"), std::string::npos) << b.error;
}

TEST_F(VethTest, BpfFilterPassesOnlyMatchingFramesTaggedOrNot) {
  PacketSourceOptions o = smallRing("cap0");
  o.bpf_filter = "udp src port 11211";
  auto source = ns_.mustOpen(o);
  ASSERT_NE(source, nullptr);
  std::vector<Bytes> frames;
  std::set<long> wanted;
  for (std::uint32_t i = 0; i < 120; ++i) {
    UdpSpec s{.seq = i, .sport = static_cast<std::uint16_t>(i % 3 == 0 ? 11211 : 53)};
    if (i % 4 == 0) s.tags = {0x8100};  // the kernel filters after stripping the tag
    if (s.sport == 11211) wanted.insert(i);
    frames.push_back(udpFrame(s));
  }
  // TCP from port 11211 and UDP *to* 11211 must not pass.
  test::V4 tcp_ip;
  tcp_ip.proto = 6;
  frames.push_back(test::ethernet(
      0x0800, test::ipv4(tcp_ip, test::tcp(11211, 80, 0x10, markedPayload(500, 20)))));
  frames.push_back(udpFrame({.seq = 501, .sport = 53, .dport = 11211}));

  ASSERT_EQ(injector_->send(frames), frames.size());
  const auto got = collect(*source, wanted.size());
  std::set<long> seen;
  for (const Got& g : got) {
    const long seq = sequenceOf(g.bytes);
    EXPECT_TRUE(wanted.count(seq)) << "frame " << seq << " should have been filtered out";
    EXPECT_TRUE(seen.insert(seq).second) << "frame " << seq << " delivered twice";
    EXPECT_EQ(g.bytes, frames[seq]);
  }
  EXPECT_EQ(seen, wanted);
}

TEST_F(VethTest, SnaplenCutsFramesInTheKernel) {
  PacketSourceOptions o = smallRing("cap0");
  o.snaplen = 128;
  auto source = ns_.mustOpen(o);
  ASSERT_NE(source, nullptr);
  const std::vector<Bytes> frames = {udpFrame({.seq = 0, .payload = 1000}),
                                     udpFrame({.seq = 1, .payload = 40})};
  ASSERT_EQ(injector_->send(frames), 2u);
  const auto got = collect(*source, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].meta.caplen, 128u);
  EXPECT_EQ(got[0].meta.origlen, frames[0].size());
  EXPECT_EQ(got[0].bytes, Bytes(frames[0].begin(), frames[0].begin() + 128));
  EXPECT_EQ(got[1].bytes, frames[1]);
}

TEST_F(VethTest, RingOverflowIsCountedAsKernelDrops) {
  PacketSourceOptions o;
  o.interface = "cap0";
  o.block_bytes = 4096;  // room for about ten 300-byte frames per block
  o.block_count = 2;
  auto source = ns_.mustOpen(o);
  ASSERT_NE(source, nullptr);

  constexpr std::uint32_t kSent = 400;
  std::vector<Bytes> frames;
  for (std::uint32_t i = 0; i < kSent; ++i) frames.push_back(udpFrame({.seq = i, .payload = 258}));
  const std::uint64_t rx_before = ns_.rxPackets("cap0");
  ASSERT_EQ(injector_->send(frames), kSent);  // nothing reads the ring meanwhile
  // The interface itself received all of them: whatever the source misses, it dropped.
  ASSERT_EQ(ns_.rxPackets("cap0") - rx_before, kSent);

  const PacketSourceStats full = source->stats();
  EXPECT_GT(full.kernel_drops, 0u);
  EXPECT_GE(full.freeze_count, 1u);

  const auto got = collect(*source, kSent, 500, 200);
  const PacketSourceStats s = source->stats();
  EXPECT_EQ(s.packets, got.size());
  EXPECT_EQ(s.packets + s.kernel_drops, kSent);
  EXPECT_GE(s.kernel_drops, full.kernel_drops) << "counters must accumulate, not reset";
  EXPECT_GE(s.freeze_count, full.freeze_count);
  // The ring kept the oldest frames and the kernel dropped everything after it filled.
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(sequenceOf(got[i].bytes), static_cast<long>(i));

  // Once read, the ring takes frames again.
  ASSERT_EQ(injector_->send({udpFrame({.seq = 9999})}), 1u);
  const auto again = collect(*source, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(sequenceOf(again[0].bytes), 9999);
  EXPECT_EQ(source->stats().kernel_drops, s.kernel_drops);
}

TEST_F(VethTest, WakeEndsAWaitAndIsNotLostWhenEarly) {
  auto source = ns_.mustOpen(smallRing("cap0"));
  ASSERT_NE(source, nullptr);
  std::atomic<std::int64_t> waited_ms{-1};
  std::thread poller([&] {
    const auto start = Clock::now();
    source->poll(10'000 * kMs, [](std::span<const Frame>) {});
    waited_ms = elapsedMs(start);
  });
  std::this_thread::sleep_for(milliseconds(100));
  source->wake();
  poller.join();
  EXPECT_GE(waited_ms.load(), 90);
  EXPECT_LT(waited_ms.load(), 2000);

  source->wake();  // before the call
  const auto start = Clock::now();
  EXPECT_EQ(source->poll(5'000 * kMs, [](std::span<const Frame>) {}), 0u);
  EXPECT_LT(elapsedMs(start), 1000);
  // Consumed: the next wait times out normally.
  const auto idle = Clock::now();
  source->poll(200 * kMs, [](std::span<const Frame>) {});
  EXPECT_GE(elapsedMs(idle), 150);
}

TEST_F(VethTest, PromiscuousModeNeedsOnlyCapNetRawAndEndsWithTheSource) {
  ASSERT_EQ(ns_.promiscuity("cap0"), 0);
  PacketSourceOptions o = smallRing("cap0");
  {
    // Without CAP_NET_ADMIN (the thread's effective set only), as a sensor after dropping
    // privileges would open a second source.
    Opened first{nullptr, "not run"};
    ns_.enter([&] {
      if (dropCapability(CAP_NET_ADMIN)) first = openHere(o);
    });
    ASSERT_NE(first.source, nullptr) << first.error;
    EXPECT_EQ(ns_.promiscuity("cap0"), 1);
    auto second = ns_.mustOpen(o);
    EXPECT_EQ(ns_.promiscuity("cap0"), 2);
  }
  EXPECT_EQ(ns_.promiscuity("cap0"), 0);
  o.promiscuous = false;
  auto quiet = ns_.mustOpen(o);
  EXPECT_EQ(ns_.promiscuity("cap0"), 0);
}

TEST_F(VethTest, InterfaceDownAndRemovalAreReported) {
  ASSERT_TRUE(ns_.ip("link set cap0 down"));
  auto source = ns_.mustOpen(smallRing("cap0"));
  ASSERT_NE(source, nullptr);
  source->poll(100 * kMs, [](std::span<const Frame>) {});
  EXPECT_EQ(source->stats().fault, "interface cap0 is down");

  ASSERT_TRUE(ns_.ip("link set cap0 up"));
  EXPECT_EQ(source->stats().fault, "");
  ASSERT_TRUE(ns_.waitUntilUp("inj0"));
  ASSERT_EQ(injector_->send({udpFrame({.seq = 7})}), 1u);
  EXPECT_EQ(collect(*source, 1).size(), 1u);

  ASSERT_TRUE(ns_.ip("link del inj0"));  // takes cap0 with it
  source->poll(100 * kMs, [](std::span<const Frame>) {});
  EXPECT_EQ(source->stats().fault,
            "interface cap0 was removed; open the source again once it is back");
  // A new interface under the same name does not revive this socket, and the fault stays.
  ASSERT_TRUE(ns_.ip("link add cap0 type veth peer name inj0") && ns_.ip("link set cap0 up"));
  source->poll(50 * kMs, [](std::span<const Frame>) {});
  EXPECT_NE(source->stats().fault.find("was removed"), std::string::npos);
}

TEST_F(VethTest, BadFilterAndMissingInterfaceFailClearly) {
  PacketSourceOptions o = smallRing("cap0");
  o.bpf_filter = "udp src portt 11211";
  const std::string prefix = "invalid capture filter 'udp src portt 11211': ";
  const Opened bad = ns_.open(o);
  ASSERT_EQ(bad.source, nullptr);
  EXPECT_EQ(bad.error.rfind(prefix, 0), 0u) << bad.error;
  EXPECT_GT(bad.error.size(), prefix.size()) << "libpcap's reason is missing";

  o.bpf_filter = "udp and";
  EXPECT_EQ(ns_.open(o).error.rfind("invalid capture filter 'udp and': ", 0), 0u);

  const Opened missing = ns_.open(smallRing("eth9"));
  ASSERT_EQ(missing.source, nullptr);
  EXPECT_EQ(missing.error, "no such interface: eth9");
}

TEST_F(VethTest, ImpossibleRingFailsWithTheGeometry) {
  PacketSourceOptions o;
  o.interface = "cap0";
  o.block_bytes = 1u << 31;
  o.block_count = 65536;  // 128 TiB: refused before the kernel tries to find it
  const Opened r = ns_.open(o);
  ASSERT_EQ(r.source, nullptr);
  EXPECT_NE(r.error.find("capture ring for cap0 (65536 blocks of 2 GiB, 128 TiB in all)"),
            std::string::npos)
      << r.error;
}

TEST(PacketSourceNamespace, LoopbackFramesArriveOnceAsEthernet) {
  if (const std::string why = missingPrerequisite(); !why.empty()) GTEST_SKIP() << why;
  Netns ns;
  ASSERT_TRUE(ns.ok());
  PacketSourceOptions defaults;  // the default 256 MiB ring, once
  defaults.interface = "lo";
  auto source = ns.mustOpen(defaults);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->linktype(), linktype::kEthernet);

  int tx = -1;
  int rx = -1;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ns.enter([&] {
    tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);  // a listener, so no ICMP unreachable
    socklen_t len = sizeof to;
    ASSERT_EQ(bind(rx, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    ASSERT_EQ(getsockname(rx, reinterpret_cast<sockaddr*>(&to), &len), 0);
  });
  constexpr std::uint32_t kDatagrams = 20;
  for (std::uint32_t i = 0; i < kDatagrams; ++i) {
    const Bytes p = markedPayload(i, 40);
    ASSERT_EQ(sendto(tx, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(p.size()));
  }
  const auto got = collect(*source, kDatagrams, 3000, 200);
  close(tx);
  close(rx);

  ASSERT_EQ(got.size(), kDatagrams) << "loopback frames must not arrive twice";
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(sequenceOf(got[i].bytes), static_cast<long>(i));
    ASSERT_EQ(got[i].bytes.size(), 14u + 20 + 8 + 40);
    EXPECT_EQ(Bytes(got[i].bytes.begin(), got[i].bytes.begin() + 12), Bytes(12, 0));
    EXPECT_EQ(loadBe16(&got[i].bytes[12]), 0x0800);
    PacketSummary summary;
    ASSERT_EQ(decodeFrame(got[i].meta.linktype, test::span(got[i].bytes), got[i].meta.origlen, 0,
                          summary),
              DecodeStatus::Ok);
    EXPECT_EQ(summary.dst_port, ntohs(to.sin_port));
  }
}

TEST(PacketSourceNamespace, TunDeviceGivesRawIpFrames) {
  if (const std::string why = missingPrerequisite(); !why.empty()) GTEST_SKIP() << why;
  if (access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "needs /dev/net/tun";
  Netns ns;
  ASSERT_TRUE(ns.ok());
  int tun = -1;
  ns.enter([&] {
    tun = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "tun0");
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (tun < 0 || ioctl(tun, TUNSETIFF, &ifr) != 0) {
      ADD_FAILURE() << "cannot create tun0: " << std::strerror(errno);
    }
  });
  ASSERT_GE(tun, 0);
  struct CloseTun {
    int fd;
    ~CloseTun() { close(fd); }
  } close_tun{tun};
  ASSERT_TRUE(ns.ip("link set tun0 up"));

  PacketSourceOptions o = smallRing("tun0");
  o.bpf_filter = "udp src port 11211";  // compiled for raw IP, not Ethernet
  o.promiscuous = false;
  auto source = ns.mustOpen(o);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->linktype(), linktype::kRaw);

  std::vector<Bytes> packets;
  for (std::uint32_t i = 0; i < 10; ++i) {
    test::V4 ip;
    ip.id = static_cast<std::uint16_t>(i);
    packets.push_back(test::ipv4(ip, test::udp(i % 2 ? 11211 : 123, 4444, markedPayload(i, 30))));
    ASSERT_EQ(write(tun, packets.back().data(), packets.back().size()),
              static_cast<ssize_t>(packets.back().size()));
  }
  const auto got = collect(*source, 5);
  ASSERT_EQ(got.size(), 5u);
  for (const Got& g : got) {
    const long seq = sequenceOf(g.bytes);
    ASSERT_TRUE(seq >= 0 && seq % 2 == 1) << seq;
    EXPECT_EQ(g.bytes, packets[seq]);
    EXPECT_EQ(g.meta.linktype, linktype::kRaw);
    PacketSummary summary;
    EXPECT_EQ(decodeFrame(g.meta.linktype, test::span(g.bytes), g.meta.origlen, 0, summary),
              DecodeStatus::Ok);
  }
}

TEST(PacketSourceErrors, WithoutCapNetRawPermissionIsDenied) {
  // Runs everywhere: root gives the capability up for one thread, others never had it.
  Opened r{nullptr, "not run"};
  std::thread t([&] {
    if (dropCapability(CAP_NET_RAW)) r = openHere(smallRing("lo"));
  });
  t.join();
  ASSERT_EQ(r.source, nullptr);
  EXPECT_EQ(r.error.rfind("permission denied: capturing on lo needs CAP_NET_RAW", 0), 0u)
      << r.error;
}

TEST(PacketSourceErrors, BadOptionsNameTheOptionAndTheRange) {
  // Checked before any socket exists, so these need no privileges.
  const auto fails = [](PacketSourceOptions o, const std::string& expected) {
    const Opened r = openHere(o);
    ASSERT_EQ(r.source, nullptr) << expected;
    EXPECT_NE(r.error.find(expected), std::string::npos) << r.error;
  };
  PacketSourceOptions base;
  base.interface = "eth0";
  PacketSourceOptions o = base;
  o.interface = "";
  fails(o, "no interface given");
  o.interface = "a-very-long-interface-name";
  fails(o, "is too long (at most 15 characters)");
  o = base;
  o.block_bytes = 5000;
  fails(o, "ring block size 5000 must be a power of two");
  o = base;
  o.block_count = 1;
  fails(o, "ring block count 1 is out of range; expected 2 to 65536");
  o = base;
  o.fanout_group = 70000;
  fails(o, "fanout group 70000 is out of range");
  o = base;
  o.snaplen = 20;
  fails(o, "snaplen 20 is out of range");
  o = base;
  o.retire_timeout_ms = 60000;
  fails(o, "block retire timeout 60000 ms is out of range");
}

}  // namespace
}  // namespace bw
