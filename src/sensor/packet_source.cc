// Live AF_PACKET capture with a TPACKET_V3 ring. See packet_source.h for the contract and
// docs/live-capture.md for the tuning guide.
#include "sensor/packet_source.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <vector>

#include "core/bytes.h"

namespace bw {
namespace {

constexpr std::uint32_t kVlanTagBytes = 4;
constexpr std::uint32_t kEthernetAddressBytes = 12;  // destination + source MAC
// Frame slot size the kernel requires for its bookkeeping. TPACKET_V3 packs frames of any
// length into a block, so this only has to divide the block size (the kernel's example value).
constexpr std::uint32_t kFrameSlotBytes = 2048;
constexpr std::uint32_t kMaxBlockCount = 65536;
constexpr std::uint32_t kMaxRetireTimeoutMs = 10000;
constexpr std::uint32_t kMinSnaplen = 96;  // link, 802.1Q, IPv6 and UDP headers with room
constexpr std::uint32_t kMaxSnaplen = 262144;
// Blocks read per poll(): enough to drain a burst without a system call per block, few
// enough that the caller's loop gets control back often (shutdown, timers).
constexpr int kMaxBlocksPerPoll = 8;
// Where the ring entry's sockaddr_ll ends; a VLAN tag is reinserted only if it fits after it.
constexpr std::uint32_t kEntryHeaderBytes = TPACKET3_HDRLEN;
constexpr std::uint32_t kSockaddrOffset = TPACKET_ALIGN(sizeof(tpacket3_hdr));

std::string errnoText(int err) { return std::strerror(err); }

// "4 MiB", "256 MiB", "2 GiB", "128 TiB": the largest unit that divides the size.
std::string sizeText(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (unit + 1 < std::size(kUnits) && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + " " + kUnits[unit];
}

void closeFd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

Status checkOptions(const PacketSourceOptions& o) {
  if (o.interface.empty()) return Error{"no interface given to capture on"};
  if (o.interface.size() >= IFNAMSIZ) {
    return Error{"interface name '" + o.interface + "' is too long (at most " +
                 std::to_string(IFNAMSIZ - 1) + " characters)"};
  }
  if (o.fanout_group < -1 || o.fanout_group > 65535) {
    return Error{"fanout group " + std::to_string(o.fanout_group) +
                 " is out of range; expected 0 to 65535, or -1 for no fanout"};
  }
  const long page = ::sysconf(_SC_PAGESIZE);
  if (o.block_bytes < static_cast<std::uint64_t>(page) || (o.block_bytes & (o.block_bytes - 1))) {
    return Error{"ring block size " + std::to_string(o.block_bytes) +
                 " must be a power of two of at least " + std::to_string(page) +
                 " bytes (the page size)"};
  }
  if (o.block_count < 2 || o.block_count > kMaxBlockCount) {
    return Error{"ring block count " + std::to_string(o.block_count) +
                 " is out of range; expected 2 to " + std::to_string(kMaxBlockCount)};
  }
  if (o.retire_timeout_ms > kMaxRetireTimeoutMs) {
    return Error{"block retire timeout " + std::to_string(o.retire_timeout_ms) +
                 " ms is out of range; expected 0 (kernel default) to " +
                 std::to_string(kMaxRetireTimeoutMs)};
  }
  if (o.snaplen != 0 && (o.snaplen < kMinSnaplen || o.snaplen > kMaxSnaplen)) {
    return Error{"snaplen " + std::to_string(o.snaplen) +
                 " is out of range; expected 0 (whole frames) or " + std::to_string(kMinSnaplen) +
                 " to " + std::to_string(kMaxSnaplen)};
  }
  return {};
}

// The link type frames from an interface of this ARPHRD type carry, with a SOCK_RAW packet
// socket: the device's own header, which for loopback is a zeroed Ethernet header.
std::uint32_t linktypeFor(int arphrd) noexcept {
  switch (arphrd) {
    case ARPHRD_ETHER:
    case ARPHRD_LOOPBACK:
      return linktype::kEthernet;
    case ARPHRD_NONE:   // tun, WireGuard: no link header
    case ARPHRD_RAWIP:  // cellular modems
      return linktype::kRaw;
    default:
      return 0;
  }
}

int dltFor(std::uint32_t link) noexcept {
  return link == linktype::kEthernet ? DLT_EN10MB : DLT_RAW;
}

// Compiles a tcpdump expression for this link type as for a capture file: without the Linux
// VLAN ancillary loads libpcap uses on live handles, since the kernel runs the filter on frames
// whose outer tag it has already removed. The program's accept value is the snap length, which
// the kernel applies when it copies the frame into the ring.
Result<std::vector<sock_filter>> compileFilter(const PacketSourceOptions& o, std::uint32_t link) {
  const int snaplen = static_cast<int>(o.snaplen != 0 ? o.snaplen : kMaxSnaplen);
  pcap_t* dead = ::pcap_open_dead(dltFor(link), snaplen);
  if (dead == nullptr) return Error{"cannot compile the capture filter: out of memory"};
  bpf_program program{};
  if (::pcap_compile(dead, &program, o.bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    std::string why = ::pcap_geterr(dead);
    ::pcap_close(dead);
    return Error{"invalid capture filter '" + o.bpf_filter + "': " + why};
  }
  static_assert(sizeof(bpf_insn) == sizeof(sock_filter), "libpcap and kernel BPF differ");
  std::vector<sock_filter> code(program.bf_len);
  std::memcpy(code.data(), program.bf_insns, code.size() * sizeof(sock_filter));
  ::pcap_freecode(&program);
  ::pcap_close(dead);
  return code;
}

Status attachFilter(int fd, std::vector<sock_filter>& code, const std::string& iface) {
  sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  if (code.size() > 0xffff ||
      ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0) {
    const int err = code.size() > 0xffff ? E2BIG : errno;
    return Error{"cannot attach the capture filter on " + iface + " (" +
                 std::to_string(code.size()) + " instructions): " + errnoText(err) +
                 (err == ENOMEM ? "; the filter is larger than net.core.optmem_max allows" : "")};
  }
  return {};
}

std::int64_t entryTimeNs(const tpacket3_hdr& h) noexcept {
  return std::int64_t{h.tp_sec} * 1'000'000'000 + h.tp_nsec;
}

}  // namespace

// Everything poll() shares with stats() and wake() on other threads, plus the batch buffer.
struct PacketSource::State {
  std::array<Frame, kBatchFrames> frames{};
  std::atomic<std::uint64_t> packets{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> vlan_tags_restored{0};
  std::atomic<std::uint64_t> ring_errors{0};
  std::atomic<Fault> fault_kind{Fault::None};
  std::mutex mutex;  // guards what follows
  std::uint64_t kernel_drops = 0;
  std::uint64_t freeze_count = 0;
  std::string fault;
};

const char* fanoutModeName(FanoutMode mode) noexcept {
  switch (mode) {
    case FanoutMode::Hash:
      return "hash";
    case FanoutMode::LoadBalance:
      return "load_balance";
    case FanoutMode::Cpu:
      return "cpu";
  }
  return "unknown";
}

PacketSource::PacketSource(const PacketSourceOptions& options)
    : options_(options), state_(std::make_unique<State>()) {}

PacketSource::~PacketSource() {
  if (ring_ != nullptr) ::munmap(ring_, ring_bytes_);
  closeFd(fd_);  // also leaves the fanout group and undoes promiscuous mode
  closeFd(wake_fd_);
}

Result<std::unique_ptr<PacketSource>> PacketSource::open(const PacketSourceOptions& o) {
  if (Status s = checkOptions(o); !s.ok()) return Error{s.message()};
  const std::string& name = o.interface;

  // From here on the source owns every descriptor and the mapping, so an early return frees
  // them all (closing the socket also drops promiscuous mode and the fanout membership).
  std::unique_ptr<PacketSource> src(new PacketSource(o));
  src->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (src->wake_fd_ < 0) {
    return Error{"cannot create the wakeup descriptor for " + name + ": " + errnoText(errno)};
  }
  // Protocol 0: the socket receives nothing until bind(), so no frame slips in before the
  // filter and the ring are in place.
  src->fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (src->fd_ < 0) {
    const int err = errno;
    if (err == EPERM || err == EACCES) {
      return Error{"permission denied: capturing on " + name +
                   " needs CAP_NET_RAW (run as root, or grant it with "
                   "'setcap cap_net_raw+ep' or systemd's AmbientCapabilities=CAP_NET_RAW)"};
    }
    if (err == EAFNOSUPPORT) return Error{"this kernel has no AF_PACKET sockets (CONFIG_PACKET)"};
    return Error{"cannot open a packet socket for " + name + ": " + errnoText(err)};
  }
  const int fd = src->fd_;

  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {
    const int err = errno;
    if (err == ENODEV) return Error{"no such interface: " + name};
    return Error{"cannot look up interface " + name + ": " + errnoText(err)};
  }
  const int ifindex = ifr.ifr_ifindex;
  src->ifindex_ = ifindex;
  if (::ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
    return Error{"cannot read the link type of " + name + ": " + errnoText(errno)};
  }
  const int arphrd = ifr.ifr_hwaddr.sa_family;
  src->linktype_ = linktypeFor(arphrd);
  if (src->linktype_ == 0) {
    return Error{"cannot capture on " + name + ": its link type (ARPHRD " + std::to_string(arphrd) +
                 ") is not supported; supported are Ethernet, loopback and raw-IP devices "
                 "(tun, WireGuard)"};
  }

  const int version = TPACKET_V3;
  if (::setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0) {
    return Error{
        "cannot capture on " + name +
        ": the kernel has no TPACKET_V3 rings (Linux 3.2 or later is needed): " + errnoText(errno)};
  }
  if (src->linktype_ == linktype::kEthernet) {
    // Headroom in front of each frame for the VLAN tag deliverBlock() puts back.
    const unsigned reserve = kVlanTagBytes;
    if (::setsockopt(fd, SOL_PACKET, PACKET_RESERVE, &reserve, sizeof reserve) != 0) {
      return Error{"cannot reserve VLAN headroom in the ring for " + name + ": " +
                   errnoText(errno)};
    }
  }
  if (arphrd == ARPHRD_LOOPBACK) {
    // Loopback hands every packet to packet sockets twice, as sent and as received. Keep one
    // copy: in the kernel where possible (Linux 4.20+), else skip the sent copy in poll().
    const int one = 1;
    if (::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0) {
      src->drop_outgoing_ = true;
    }
  }

  // With fanout, the socket would see the whole interface's traffic between bind() and
  // joining the group; a reject-everything filter covers that window, then the real one (or
  // none) replaces it.
  const bool fanout = o.fanout_group >= 0;
  const bool want_filter = !o.bpf_filter.empty() || o.snaplen != 0;
  std::vector<sock_filter> filter;
  if (want_filter) {
    auto compiled = compileFilter(o, src->linktype_);
    if (!compiled.ok()) return compiled.error();
    filter = std::move(compiled).value();
  }
  if (fanout) {
    std::vector<sock_filter> reject_all{sock_filter{BPF_RET | BPF_K, 0, 0, 0}};
    if (Status s = attachFilter(fd, reject_all, name); !s.ok()) return Error{s.message()};
  } else if (want_filter) {
    if (Status s = attachFilter(fd, filter, name); !s.ok()) return Error{s.message()};
  }

  const std::uint64_t ring_bytes = std::uint64_t{o.block_bytes} * o.block_count;
  const std::string geometry = std::to_string(o.block_count) + " blocks of " +
                               sizeText(o.block_bytes) + ", " + sizeText(ring_bytes) + " in all";
  // The kernel allocates the whole ring at once and would take the host's last free memory
  // for a mistyped geometry before failing; refuse what cannot be meant.
  const std::uint64_t memory =
      std::uint64_t(::sysconf(_SC_PHYS_PAGES)) * std::uint64_t(::sysconf(_SC_PAGESIZE));
  if (ring_bytes > memory / 2) {
    return Error{"the capture ring for " + name + " (" + geometry +
                 ") is larger than half of this host's memory (" + sizeText(memory >> 20 << 20) +
                 "); make block_bytes or block_count smaller"};
  }
  tpacket_req3 req{};
  req.tp_block_size = o.block_bytes;
  req.tp_block_nr = o.block_count;
  req.tp_frame_size = kFrameSlotBytes;
  req.tp_frame_nr = static_cast<unsigned>(ring_bytes / kFrameSlotBytes);
  req.tp_retire_blk_tov = o.retire_timeout_ms;
  if (::setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) {
    const int err = errno;
    if (err == ENOMEM) {
      return Error{"cannot allocate the capture ring for " + name + " (" + geometry +
                   "): out of memory; make block_bytes or block_count smaller"};
    }
    return Error{"the kernel refused the capture ring for " + name + " (" + geometry +
                 "): " + errnoText(err)};
  }
  void* ring = ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (ring == MAP_FAILED) {
    return Error{"cannot map the capture ring for " + name + " (" + geometry +
                 "): " + errnoText(errno)};
  }
  src->ring_ = static_cast<std::uint8_t*>(ring);
  src->ring_bytes_ = ring_bytes;

  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sll), sizeof sll) != 0) {
    const int err = errno;
    if (err == ENODEV) return Error{"no such interface: " + name};
    return Error{"cannot bind the packet socket to " + name + ": " + errnoText(err)};
  }

  if (o.promiscuous) {
    packet_mreq mreq{};
    mreq.mr_ifindex = ifindex;
    mreq.mr_type = PACKET_MR_PROMISC;
    if (::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
      return Error{"cannot put " + name + " in promiscuous mode: " + errnoText(errno)};
    }
  }

  if (fanout) {
    int mode = PACKET_FANOUT_HASH;
    if (o.fanout_mode == FanoutMode::LoadBalance) mode = PACKET_FANOUT_LB;
    if (o.fanout_mode == FanoutMode::Cpu) mode = PACKET_FANOUT_CPU;
    if (o.fanout_defrag) mode |= PACKET_FANOUT_FLAG_DEFRAG;
    const int arg = o.fanout_group | (mode << 16);
    if (::setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
      const int err = errno;
      const std::string group = "fanout group " + std::to_string(o.fanout_group);
      if (err == EINVAL) {
        return Error{"cannot join " + group + " on " + name +
                     ": the group already exists with another mode, defrag setting or "
                     "interface (use one group id per interface)"};
      }
      if (err == ENOSPC) return Error{"cannot join " + group + " on " + name + ": it is full"};
      return Error{"cannot join " + group + " on " + name + ": " + errnoText(err)};
    }
    if (want_filter) {
      if (Status s = attachFilter(fd, filter, name); !s.ok()) return Error{s.message()};
    } else if (const int unused = 0;
               ::setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof unused) != 0) {
      return Error{"cannot remove the start-up filter on " + name + ": " + errnoText(errno)};
    }
  }
  return src;
}

std::size_t PacketSource::poll(std::int64_t timeout_ns, const Sink& sink) {
  const auto blockAt = [this](std::uint32_t index) {
    return ring_ + std::size_t{index} * options_.block_bytes;
  };
  const auto ready = [](std::uint8_t* block) {
    auto* desc = reinterpret_cast<tpacket_block_desc*>(block);
    return (std::atomic_ref<std::uint32_t>(desc->hdr.bh1.block_status)
                .load(std::memory_order_acquire) &
            TP_STATUS_USER) != 0;
  };

  if (!ready(blockAt(current_block_))) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const std::int64_t t = std::max<std::int64_t>(timeout_ns, 0);
    const timespec timeout{static_cast<time_t>(t / 1'000'000'000),
                           static_cast<long>(t % 1'000'000'000)};
    if (::ppoll(fds, 2, &timeout, nullptr) <= 0) return 0;  // idle, or EINTR
    if (fds[1].revents != 0) {
      std::uint64_t count;
      (void)!::read(wake_fd_, &count, sizeof count);  // resets the eventfd; EAGAIN is harmless
    }
    if (fds[0].revents & POLLERR) noteSocketError();
  }

  std::size_t delivered = 0;
  for (int i = 0; i < kMaxBlocksPerPoll; ++i) {
    std::uint8_t* block = blockAt(current_block_);
    if (!ready(block)) break;
    delivered += deliverBlock(block, sink);
    auto* desc = reinterpret_cast<tpacket_block_desc*>(block);
    std::atomic_ref<std::uint32_t>(desc->hdr.bh1.block_status)
        .store(TP_STATUS_KERNEL, std::memory_order_release);
    current_block_ = (current_block_ + 1) % options_.block_count;
  }
  if (delivered > 0 && state_->fault_kind.load(std::memory_order_relaxed) == Fault::Down) {
    std::lock_guard lock(state_->mutex);
    if (state_->fault_kind.load(std::memory_order_relaxed) == Fault::Down) setFault(Fault::None, 0);
  }
  return delivered;
}

std::size_t PacketSource::deliverBlock(std::uint8_t* block, const Sink& sink) {
  // The ring is written by the kernel, but a layout mismatch (a new kernel, a bug) must cost
  // a counted block, not a wild read: every offset is checked against the block first.
  const std::uint32_t size = options_.block_bytes;
  const auto* desc = reinterpret_cast<const tpacket_block_desc*>(block);
  const std::uint32_t count = desc->hdr.bh1.num_pkts;
  std::uint32_t offset = desc->hdr.bh1.offset_to_first_pkt;
  Frame* batch = state_->frames.data();
  std::size_t n = 0;
  std::size_t delivered = 0;
  std::uint64_t bytes = 0;
  std::uint64_t vlan = 0;
  bool damaged = false;
  const auto flush = [&] {
    if (n == 0) return;
    sink(std::span<const Frame>(batch, n));
    delivered += n;
    n = 0;
  };

  for (std::uint32_t i = 0; i < count; ++i) {
    if (offset < sizeof(tpacket_block_desc) || offset > size - kEntryHeaderBytes) {
      damaged = true;
      break;
    }
    std::uint8_t* entry = block + offset;
    auto* h = reinterpret_cast<tpacket3_hdr*>(entry);
    const std::uint32_t mac = h->tp_mac;
    std::uint32_t caplen = h->tp_snaplen;
    if (mac < kEntryHeaderBytes || mac > size - offset || caplen > size - offset - mac) {
      damaged = true;
      break;
    }
    bool keep = true;
    if (drop_outgoing_) {
      const auto* sll = reinterpret_cast<const sockaddr_ll*>(entry + kSockaddrOffset);
      keep = sll->sll_pkttype != PACKET_OUTGOING;
    }
    if (keep) {
      std::uint8_t* data = entry + mac;
      std::uint32_t origlen = h->tp_len;
      // The kernel strips the outer 802.1Q/802.1ad tag on receive and reports it beside the
      // frame. Put it back after the MAC addresses, in the headroom PACKET_RESERVE left.
      if (linktype_ == linktype::kEthernet && (h->tp_status & TP_STATUS_VLAN_VALID) &&
          caplen >= kEthernetAddressBytes && mac >= kEntryHeaderBytes + kVlanTagBytes) {
        const std::uint16_t tpid =
            (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid : ETH_P_8021Q;
        std::memmove(data - kVlanTagBytes, data, kEthernetAddressBytes);
        data -= kVlanTagBytes;
        storeBe16(data + kEthernetAddressBytes, tpid);
        storeBe16(data + kEthernetAddressBytes + 2, static_cast<std::uint16_t>(h->hv1.tp_vlan_tci));
        caplen += kVlanTagBytes;
        origlen += kVlanTagBytes;
        ++vlan;
      }
      Frame& f = batch[n++];
      f.ts_ns = entryTimeNs(*h);
      f.caplen = caplen;
      f.origlen = std::max(origlen, caplen);
      f.linktype = linktype_;
      f.interface_id = options_.interface_id;
      f.data = data;
      bytes += f.origlen;
      if (n == kBatchFrames) flush();
    }
    if (i + 1 < count) {
      const std::uint32_t next = h->tp_next_offset;
      if (next == 0 || next > size - offset) {
        damaged = true;
        break;
      }
      offset += next;
    }
  }
  flush();

  State& s = *state_;
  s.packets.fetch_add(delivered, std::memory_order_relaxed);
  s.bytes.fetch_add(bytes, std::memory_order_relaxed);
  if (vlan != 0) s.vlan_tags_restored.fetch_add(vlan, std::memory_order_relaxed);
  if (damaged) s.ring_errors.fetch_add(1, std::memory_order_relaxed);
  return delivered;
}

// The kernel reports an interface going down and an interface being removed alike (ENETDOWN,
// once), so which one it was is read from the interface itself. A removed interface does not
// come back for this socket, even under the same name: the socket stays bound to the old index.
PacketSource::Fault PacketSource::checkInterface() const noexcept {
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, options_.interface.data(), options_.interface.size());
  if (::ioctl(fd_, SIOCGIFINDEX, &ifr) != 0) return errno == ENODEV ? Fault::Removed : Fault::Other;
  if (ifr.ifr_ifindex != ifindex_) return Fault::Removed;
  if (::ioctl(fd_, SIOCGIFFLAGS, &ifr) != 0) return Fault::Other;
  return (ifr.ifr_flags & IFF_UP) ? Fault::None : Fault::Down;
}

void PacketSource::setFault(Fault kind, int err) {
  const std::string& name = options_.interface;
  std::string text;
  switch (kind) {
    case Fault::None:
      break;
    case Fault::Down:
      text = "interface " + name + " is down";
      break;
    case Fault::Removed:
      text = "interface " + name + " was removed; open the source again once it is back";
      break;
    case Fault::Other:
      text = "capture on " + name + " failed: " + errnoText(err);
      break;
  }
  state_->fault = std::move(text);
  state_->fault_kind.store(kind, std::memory_order_relaxed);
}

void PacketSource::noteSocketError() {
  int err = 0;
  socklen_t len = sizeof err;
  // Reading SO_ERROR also clears it, so the next ppoll() does not return at once again.
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0) return;
  Fault kind = Fault::Other;
  if (err == ENETDOWN || err == ENODEV) {
    kind = checkInterface();
    if (kind == Fault::None || kind == Fault::Other) kind = Fault::Down;  // it went down, at least
  }
  std::lock_guard lock(state_->mutex);
  if (state_->fault_kind.load(std::memory_order_relaxed) == Fault::Removed) return;  // final
  setFault(kind, err);
}

void PacketSource::wake() noexcept {
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

PacketSourceStats PacketSource::stats() {
  State& s = *state_;
  PacketSourceStats out;
  std::lock_guard lock(s.mutex);
  // Reading the kernel's counters resets them, hence the running totals.
  tpacket_stats_v3 kernel{};
  socklen_t len = sizeof kernel;
  if (::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &kernel, &len) == 0) {
    s.kernel_drops += kernel.tp_drops;
    s.freeze_count += kernel.tp_freeze_q_cnt;
  }
  out.packets = s.packets.load(std::memory_order_relaxed);
  out.bytes = s.bytes.load(std::memory_order_relaxed);
  out.kernel_drops = s.kernel_drops;
  out.freeze_count = s.freeze_count;
  out.vlan_tags_restored = s.vlan_tags_restored.load(std::memory_order_relaxed);
  out.ring_errors = s.ring_errors.load(std::memory_order_relaxed);
  // The kernel says nothing when an interface comes back up, or when one that was down is
  // removed; look, so the fault a caller sees is current.
  if (s.fault_kind.load(std::memory_order_relaxed) == Fault::Down) {
    const Fault now = checkInterface();
    if (now == Fault::None || now == Fault::Removed) setFault(now, 0);
  }
  out.fault = s.fault;
  return out;
}

}  // namespace bw
