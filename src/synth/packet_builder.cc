#include "synth/packet_builder.h"

#include <algorithm>
#include <cstring>

namespace bw::synth {
namespace {

constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoIpv6Fragment = 44;
constexpr std::size_t kIpv4Header = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kIpv6FragmentHeader = 8;
constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kTcpHeader = 20;
constexpr std::size_t kEthernetMinFrame = 60;  // without the FCS

const std::uint8_t* addrBytes(const IpAddress& a) noexcept {
  return a.isV4() ? a.bytes().data() + 12 : a.bytes().data();
}

// Sum of the pseudo-header (RFC 768 / RFC 8200 8.1) for an upper-layer length and protocol.
std::uint64_t pseudoHeaderSum(const Endpoints& e, bool v6, std::uint8_t proto,
                              std::size_t l4_length) noexcept {
  const std::size_t n = v6 ? 16 : 4;
  std::uint64_t sum = checksumAdd(0, addrBytes(e.src), n);
  sum = checksumAdd(sum, addrBytes(e.dst), n);
  return sum + proto + static_cast<std::uint64_t>(l4_length);
}

void writeIpv4(std::uint8_t* p, std::size_t total, const IpFields& ip, std::uint16_t frag_field,
               std::uint8_t proto, const Endpoints& e) noexcept {
  p[0] = 0x45;
  p[1] = ip.tos;
  storeBe16(p + 2, static_cast<std::uint16_t>(total));
  storeBe16(p + 4, static_cast<std::uint16_t>(ip.id));
  storeBe16(p + 6, frag_field);
  p[8] = ip.ttl;
  p[9] = proto;
  storeBe16(p + 10, 0);
  std::memcpy(p + 12, addrBytes(e.src), 4);
  std::memcpy(p + 16, addrBytes(e.dst), 4);
  storeBe16(p + 10, checksumFinish(checksumAdd(0, p, kIpv4Header)));
}

void writeIpv6(std::uint8_t* p, std::size_t payload_length, std::uint8_t next_header,
               const IpFields& ip, const Endpoints& e) noexcept {
  storeBe32(p, 0x60000000u | (std::uint32_t{ip.tos} << 20));
  storeBe16(p + 4, static_cast<std::uint16_t>(payload_length));
  p[6] = next_header;
  p[7] = ip.ttl;
  std::memcpy(p + 8, addrBytes(e.src), 16);
  std::memcpy(p + 24, addrBytes(e.dst), 16);
}

// Writes the UDP header and payload at `p` with the checksum filled in.
void writeUdp(std::uint8_t* p, const Endpoints& e, bool v6, ByteSpan payload) noexcept {
  const std::size_t length = kUdpHeader + payload.size();
  storeBe16(p, e.src_port);
  storeBe16(p + 2, e.dst_port);
  storeBe16(p + 4, static_cast<std::uint16_t>(length));
  storeBe16(p + 6, 0);
  if (!payload.empty()) std::memcpy(p + kUdpHeader, payload.data(), payload.size());
  std::uint64_t sum = pseudoHeaderSum(e, v6, kProtoUdp, length);
  std::uint16_t csum = checksumFinish(checksumAdd(sum, p, length));
  storeBe16(p + 6, csum == 0 ? 0xffff : csum);  // 0 means "no checksum" in UDP
}

}  // namespace

std::uint64_t checksumAdd(std::uint64_t sum, const std::uint8_t* p, std::size_t n) noexcept {
  while (n >= 16) {
    sum += loadBe32(p);
    sum += loadBe32(p + 4);
    sum += loadBe32(p + 8);
    sum += loadBe32(p + 12);
    p += 16;
    n -= 16;
  }
  while (n >= 4) {
    sum += loadBe32(p);
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    sum += loadBe16(p);
    p += 2;
    n -= 2;
  }
  if (n == 1) sum += std::uint64_t{p[0]} << 8;
  return sum;
}

std::uint16_t checksumFinish(std::uint64_t sum) noexcept {
  // Fold: 2^16 == 1 modulo 0xffff, so carries fold back in as one's-complement addition.
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

PacketBuilder::PacketBuilder(const LinkOptions& link)
    : link_(link), scratch_(kUdpHeader + kMaxUdpPayload + 64) {
  if (link_.linktype == pcaplink::kRaw) {
    link_bytes_ = 0;
  } else {
    link_bytes_ = link_.vlan != 0 ? 18 : 14;
  }
}

std::size_t PacketBuilder::writeLink(std::uint8_t* p, bool v6) const noexcept {
  if (link_bytes_ == 0) return 0;
  std::memcpy(p, link_.dst_mac.data(), 6);
  std::memcpy(p + 6, link_.src_mac.data(), 6);
  std::size_t at = 12;
  if (link_.vlan != 0) {
    storeBe16(p + 12, 0x8100);
    storeBe16(p + 14, static_cast<std::uint16_t>(link_.vlan & 0x0fff));
    at = 16;
  }
  storeBe16(p + at, v6 ? 0x86dd : 0x0800);
  return at + 2;
}

std::size_t PacketBuilder::frameLength(std::size_t unpadded) const noexcept {
  if (link_bytes_ == 0 || !link_.pad_ethernet) return unpadded;
  return std::max(unpadded, kEthernetMinFrame);
}

std::size_t PacketBuilder::udp(const Endpoints& e, const IpFields& ip, ByteSpan payload,
                               std::uint32_t mtu, FrameBatch& out) noexcept {
  const bool v6 = !e.src.isV4();
  if (v6 == e.dst.isV4() || payload.size() > kMaxUdpPayload) return 0;
  const std::size_t ip_header = v6 ? kIpv6Header : kIpv4Header;
  const std::size_t l4_length = kUdpHeader + payload.size();
  const std::size_t ip_length = ip_header + l4_length;

  if (mtu == 0 || ip_length <= mtu) {
    const std::size_t length = frameLength(link_bytes_ + ip_length);
    if (!out.fits(1, length)) return 0;
    std::uint8_t* f = out.tail();
    std::size_t at = writeLink(f, v6);
    writeUdp(f + at + ip_header, e, v6, payload);
    if (v6) {
      writeIpv6(f + at, l4_length, kProtoUdp, ip, e);
    } else {
      writeIpv4(f + at, ip_length, ip, ip.dont_fragment ? 0x4000 : 0, kProtoUdp, e);
    }
    std::memset(f + link_bytes_ + ip_length, 0, length - link_bytes_ - ip_length);
    out.commit(length, static_cast<std::uint32_t>(ip_length));
    return 1;
  }

  if (mtu < (v6 ? kMinMtuV6 : kMinMtuV4)) return 0;
  const std::size_t unfragmentable = ip_header + (v6 ? kIpv6FragmentHeader : 0);
  const std::size_t chunk = (mtu - unfragmentable) / 8 * 8;
  const std::size_t frames = (l4_length + chunk - 1) / chunk;
  const std::size_t per_frame = frameLength(link_bytes_ + unfragmentable);
  if (!out.fits(frames, frames * per_frame + l4_length)) return 0;

  writeUdp(scratch_.data(), e, v6, payload);
  for (std::size_t offset = 0; offset < l4_length; offset += chunk) {
    const std::size_t piece = std::min(chunk, l4_length - offset);
    const bool more = offset + piece < l4_length;
    const std::size_t packet = unfragmentable + piece;
    const std::size_t length = frameLength(link_bytes_ + packet);
    std::uint8_t* f = out.tail();
    std::size_t at = writeLink(f, v6);
    if (v6) {
      writeIpv6(f + at, kIpv6FragmentHeader + piece, kProtoIpv6Fragment, ip, e);
      std::uint8_t* fh = f + at + kIpv6Header;
      fh[0] = kProtoUdp;
      fh[1] = 0;
      storeBe16(fh + 2, static_cast<std::uint16_t>(offset | (more ? 1 : 0)));
      storeBe32(fh + 4, ip.id);
    } else {
      const auto field = static_cast<std::uint16_t>((offset / 8) | (more ? 0x2000 : 0));
      writeIpv4(f + at, packet, ip, field, kProtoUdp, e);
    }
    std::memcpy(f + at + unfragmentable, scratch_.data() + offset, piece);
    std::memset(f + link_bytes_ + packet, 0, length - link_bytes_ - packet);
    out.commit(length, static_cast<std::uint32_t>(packet));
  }
  return frames;
}

std::size_t PacketBuilder::tcp(const Endpoints& e, const IpFields& ip, const TcpFields& t,
                               ByteSpan payload, FrameBatch& out) noexcept {
  const bool v6 = !e.src.isV4();
  if (v6 == e.dst.isV4() || payload.size() > kMaxUdpPayload - 12) return 0;
  const std::size_t ip_header = v6 ? kIpv6Header : kIpv4Header;
  const std::size_t l4_length = kTcpHeader + payload.size();
  const std::size_t ip_length = ip_header + l4_length;
  const std::size_t length = frameLength(link_bytes_ + ip_length);
  if (!out.fits(1, length)) return 0;

  std::uint8_t* f = out.tail();
  std::size_t at = writeLink(f, v6);
  std::uint8_t* th = f + at + ip_header;
  storeBe16(th, e.src_port);
  storeBe16(th + 2, e.dst_port);
  storeBe32(th + 4, t.seq);
  storeBe32(th + 8, t.ack);
  th[12] = 5 << 4;
  th[13] = t.flags;
  storeBe16(th + 14, t.window);
  storeBe16(th + 16, 0);
  storeBe16(th + 18, 0);
  if (!payload.empty()) std::memcpy(th + kTcpHeader, payload.data(), payload.size());
  std::uint64_t sum = pseudoHeaderSum(e, v6, kProtoTcp, l4_length);
  storeBe16(th + 16, checksumFinish(checksumAdd(sum, th, l4_length)));
  if (v6) {
    writeIpv6(f + at, l4_length, kProtoTcp, ip, e);
  } else {
    writeIpv4(f + at, ip_length, ip, 0x4000, kProtoTcp, e);  // TCP stacks set DF
  }
  std::memset(f + link_bytes_ + ip_length, 0, length - link_bytes_ - ip_length);
  out.commit(length, static_cast<std::uint32_t>(ip_length));
  return 1;
}

}  // namespace bw::synth
