// PacketBuilder: complete Ethernet (optionally 802.1Q-tagged) or raw-IP frames carrying
// IPv4/IPv6 + UDP/TCP, with correct lengths and checksums (IPv4 header, UDP and TCP over the
// pseudo-header for both families), and IP fragmentation of UDP datagrams above an MTU:
// IPv4 fragments share the datagram's identification, carry 8-byte-aligned offsets and the MF
// flag on all but the last; IPv6 fragments carry a Fragment extension header. Only the first
// fragment carries the UDP header.
//
// Frames are written into a caller-owned FrameBatch that is allocated once and reused, so
// building never allocates. Not thread-safe; one builder per generating thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "core/ip_address.h"
#include "synth/pcap_writer.h"

namespace bw::synth {

// One's-complement checksum helpers (RFC 1071). `checksumAdd` may be chained over pieces as
// long as every piece but the last has an even length.
std::uint64_t checksumAdd(std::uint64_t sum, const std::uint8_t* p, std::size_t n) noexcept;
std::uint16_t checksumFinish(std::uint64_t sum) noexcept;
inline std::uint16_t internetChecksum(ByteSpan data) noexcept {
  return checksumFinish(checksumAdd(0, data.data(), data.size()));
}

namespace tcpflag {
inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;
}  // namespace tcpflag

struct LinkOptions {
  std::uint32_t linktype = pcaplink::kEthernet;
  std::uint16_t vlan = 0;  // 802.1Q VLAN id (1-4094); 0 = untagged
  std::array<std::uint8_t, 6> dst_mac = {0x02, 0x42, 0x57, 0x00, 0x00, 0x01};
  std::array<std::uint8_t, 6> src_mac = {0x02, 0x42, 0x57, 0x00, 0x00, 0xfe};
  bool pad_ethernet = true;  // pad to the 60-byte minimum, as frames received from a wire are
};

struct Endpoints {
  IpAddress src;
  IpAddress dst;  // same family as src
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
};

struct IpFields {
  std::uint32_t id = 0;  // IPv4 identification (low 16 bits) / IPv6 fragment identification
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;
  bool dont_fragment = false;  // IPv4 DF on unfragmented packets
};

struct TcpFields {
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = tcpflag::kAck;
  std::uint16_t window = 64240;
};

// Frames built together (one datagram and its fragments), stored back to back in one buffer
// allocated at construction.
class FrameBatch {
 public:
  static constexpr std::size_t kCapacityBytes = 192 * 1024;
  static constexpr std::size_t kMaxFrames = 160;

  FrameBatch() : buffer_(kCapacityBytes) {}

  void clear() noexcept {
    count_ = 0;
    used_ = 0;
  }
  std::size_t size() const noexcept { return count_; }
  std::span<const std::uint8_t> frame(std::size_t i) const noexcept {
    return {buffer_.data() + entries_[i].offset, entries_[i].length};
  }
  // IP bytes of frame i: IPv4 total length, or IPv6 payload length + 40.
  std::uint32_t ipBytes(std::size_t i) const noexcept { return entries_[i].ip_bytes; }

 private:
  friend class PacketBuilder;
  struct Entry {
    std::uint32_t offset;
    std::uint32_t length;
    std::uint32_t ip_bytes;
  };
  bool fits(std::size_t frames, std::size_t bytes) const noexcept {
    return count_ + frames <= kMaxFrames && used_ + bytes <= buffer_.size();
  }
  std::uint8_t* tail() noexcept { return buffer_.data() + used_; }
  void commit(std::size_t length, std::uint32_t ip_bytes) noexcept {
    entries_[count_++] =
        Entry{static_cast<std::uint32_t>(used_), static_cast<std::uint32_t>(length), ip_bytes};
    used_ += length;
  }

  std::vector<std::uint8_t> buffer_;
  std::array<Entry, kMaxFrames> entries_{};
  std::size_t count_ = 0;
  std::size_t used_ = 0;
};

class PacketBuilder {
 public:
  static constexpr std::uint32_t kMinMtuV4 = 576;
  static constexpr std::uint32_t kMinMtuV6 = 1280;
  static constexpr std::size_t kMaxUdpPayload = 65507;  // 65535 - IPv4 header - UDP header

  explicit PacketBuilder(const LinkOptions& link = {});

  // Appends the frame(s) carrying one UDP datagram to `out`: one frame when the IP packet fits
  // `mtu` (or mtu == 0), else its fragments. Returns the number of frames appended; 0 when the
  // endpoints mix families, the payload exceeds kMaxUdpPayload, mtu is below the family's
  // minimum, or `out` is full.
  std::size_t udp(const Endpoints& e, const IpFields& ip, ByteSpan payload, std::uint32_t mtu,
                  FrameBatch& out) noexcept;

  // Appends one TCP segment (no options, never fragmented). Returns 1, or 0 as udp() does.
  std::size_t tcp(const Endpoints& e, const IpFields& ip, const TcpFields& tcp, ByteSpan payload,
                  FrameBatch& out) noexcept;

  // Bytes before the IP header: 0 (raw), 14 (Ethernet) or 18 (802.1Q).
  std::size_t linkHeaderBytes() const noexcept { return link_bytes_; }

 private:
  std::size_t writeLink(std::uint8_t* p, bool v6) const noexcept;
  std::size_t frameLength(std::size_t unpadded) const noexcept;

  LinkOptions link_;
  std::size_t link_bytes_;
  std::vector<std::uint8_t> scratch_;  // a whole UDP datagram awaiting fragmentation
};

}  // namespace bw::synth
