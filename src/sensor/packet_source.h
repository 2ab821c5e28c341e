// PacketSource: live capture from one network interface through an AF_PACKET socket with a
// TPACKET_V3 memory-mapped receive ring, handing out the same batches of Frame that
// CaptureFile reads from files, so decoding and detection are shared by both.
//
// How it works (docs/live-capture.md has the long version):
//   - The kernel writes frames into a ring of `block_count` blocks of `block_bytes` each, shared
//     with this process. A block is handed over when it is full or when it has held frames for
//     `retire_timeout_ms`, which bounds latency at low rates. poll() walks the handed-over
//     blocks, gives the sink spans of Frames that point straight into the ring (no copy), and
//     returns each block to the kernel once the sink has seen all its frames.
//   - When every block is waiting to be read the kernel drops what arrives; stats() reports
//     those drops (PACKET_STATISTICS) and how often the ring filled up.
//   - Several sources on one interface with the same fanout_group share its traffic: each
//     frame goes to exactly one of them. Hash mode (the default) sends both directions of a
//     flow, and every fragment of an IPv4 datagram, to the same member.
//   - An optional BPF filter (tcpdump syntax, compiled with libpcap for the interface's link
//     type) runs in the kernel before a frame takes ring space.
//   - 802.1Q/802.1ad tags that the kernel strips on receive are put back into the frame, so
//     frames look as they did on the wire and the decoder sees the tag.
//
// Errors: open() returns one sentence naming the interface and what to do ("no such interface:
// eth9", "permission denied: capturing on eth0 needs CAP_NET_RAW ..."). poll() never fails; a
// socket fault at run time (interface down or removed) is reported by stats().fault.
//
// Thread-safety: poll() from one thread at a time (frames handed to the sink are valid only
// during the sink call). wake() and stats() from any thread, at any time while the source
// exists. Distinct sources are independent, so fanout workers each own one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "capture/frame.h"
#include "core/result.h"

namespace bw {

// How a fanout group spreads frames over its members.
enum class FanoutMode : std::uint8_t {
  Hash,         // by flow (addresses, protocol, ports; addresses only for IP fragments)
  LoadBalance,  // round robin: even load, but a flow's frames are spread over every member
  Cpu,          // by the CPU that received the frame (follows the NIC's RSS queues)
};
const char* fanoutModeName(FanoutMode mode) noexcept;  // "hash", "load_balance", "cpu"

struct PacketSourceOptions {
  std::string interface;
  // Members of one group (on one interface, in one network namespace) share its traffic.
  // -1: no fanout, this source sees every frame. Otherwise 0..65535.
  int fanout_group = -1;
  FanoutMode fanout_mode = FanoutMode::Hash;
  // PACKET_FANOUT_FLAG_DEFRAG: the kernel reassembles IPv4 datagrams before fanout and
  // delivers each as one frame; fragments of datagrams that never complete are not delivered
  // at all. Off by default, because fragments are evidence the detector counts (and a
  // fragment flood is an attack of its own), and hash mode keeps a datagram's fragments on
  // one member without it.
  bool fanout_defrag = false;
  // tcpdump filter expression; empty: every frame. Compiled for the interface's link type as
  // the kernel sees frames, that is with the outer VLAN tag already removed.
  std::string bpf_filter;
  // Bytes kept per frame; 0: whole frames (up to the block size). Applied by the kernel
  // before the frame is copied into the ring, so a small value saves ring space.
  std::uint32_t snaplen = 0;
  // Ask the interface for frames not addressed to it (PACKET_ADD_MEMBERSHIP; undone when
  // the source closes). Needed on most mirror ports.
  bool promiscuous = true;
  // Ring geometry: block_bytes is a power of two of at least the page size; the ring holds
  // block_bytes * block_count bytes of frames (256 MiB with the defaults) per source. Blocks
  // are handed over when full or after retire_timeout_ms, so below block_bytes per retire
  // timeout (50 MB/s with the defaults) the ring bridges a stalled reader for block_count
  // timeouts (about 5 s), not for its size: many moderate blocks beat a few big ones.
  std::uint32_t block_bytes = 1u << 20;
  std::uint32_t block_count = 256;
  // A block holding any frame is handed over at most this long after it was opened, so at
  // low rates frames wait at most this long. 0 lets the kernel choose (about 8 ms at 1 Gbit/s
  // and above).
  std::uint32_t retire_timeout_ms = 20;
  // Copied into every Frame, so a consumer merging several sources can tell them apart.
  std::uint32_t interface_id = 0;
};

struct PacketSourceStats {
  std::uint64_t packets = 0;             // frames delivered to the sink
  std::uint64_t bytes = 0;               // their lengths on the wire (Frame::origlen)
  std::uint64_t kernel_drops = 0;        // frames that passed the filter but found the ring full
  std::uint64_t freeze_count = 0;        // times the ring filled up and the kernel began dropping
  std::uint64_t vlan_tags_restored = 0;  // frames whose stripped VLAN tag was put back
  std::uint64_t ring_errors = 0;  // inconsistent ring entries skipped (a kernel/ABI mismatch)
  // Empty while healthy; otherwise one sentence about the last socket fault, e.g. "interface
  // eth0 is down" (cleared when frames flow again) or "interface eth0 was removed; open the
  // source again once it is back" (permanent).
  std::string fault;
};

class PacketSource {
 public:
  using Sink = std::function<void(std::span<const Frame>)>;

  // Opens the socket, compiles and attaches the filter, maps the ring, joins the fanout
  // group. Needs CAP_NET_RAW (promiscuous mode needs nothing more). The socket belongs to
  // the calling thread's network namespace.
  static Result<std::unique_ptr<PacketSource>> open(const PacketSourceOptions& options);

  PacketSource(const PacketSource&) = delete;
  PacketSource& operator=(const PacketSource&) = delete;
  ~PacketSource();

  // Waits up to timeout_ns (0: just look) for a block the kernel has handed over, then hands
  // its frames to `sink` in batches of at most kBatchFrames and returns the frames delivered.
  // Returns early when wake() is called; a wake() made before the call is not lost. Reads at
  // most a few blocks per call, so a busy interface cannot hold off a shutdown.
  std::size_t poll(std::int64_t timeout_ns, const Sink& sink);

  // Interrupts a poll() in progress (or makes the next one return at once). Thread-safe.
  void wake() noexcept;

  // Cumulative since open(), including kernel drops up to now. Thread-safe.
  PacketSourceStats stats();

  const std::string& interface() const noexcept { return options_.interface; }
  std::uint32_t linktype() const noexcept { return linktype_; }

  static constexpr std::size_t kBatchFrames = 256;

 private:
  struct State;
  enum class Fault : std::uint8_t { None, Down, Removed, Other };
  explicit PacketSource(const PacketSourceOptions& options);
  std::size_t deliverBlock(std::uint8_t* block, const Sink& sink);
  void noteSocketError();
  Fault checkInterface() const noexcept;
  void setFault(Fault kind, int err);  // REQUIRES: state_->mutex held

  PacketSourceOptions options_;
  std::uint32_t linktype_ = 0;
  int ifindex_ = 0;
  int fd_ = -1;
  int wake_fd_ = -1;
  bool drop_outgoing_ = false;  // loopback without PACKET_IGNORE_OUTGOING: skip the TX copy
  std::uint8_t* ring_ = nullptr;
  std::size_t ring_bytes_ = 0;
  std::uint32_t current_block_ = 0;
  std::unique_ptr<State> state_;
};

}  // namespace bw
