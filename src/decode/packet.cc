// Frame decoder: link layer -> IPv4/IPv6 (with extension headers) -> UDP/TCP ports, into the
// flat PacketSummary.
//
// Pure function of its arguments, safe from any thread. Every read of frame bytes is preceded
// by a check against the captured length; lengths taken from headers describe the wire and are
// clamped to the capture before anything is dereferenced. Offsets are size_t so header
// arithmetic cannot wrap.
//
// decodeFrame() first tries a straight-line path for untagged Ethernet / IPv4 without options
// / unfragmented UDP or TCP (the shape of nearly every flood packet) and hands anything else
// to the general walk, detail::decodeFrameGeneral(). Both produce identical summaries; a test
// runs both over every test frame and capture.
#include "decode/packet.h"

#include <algorithm>
#include <cstddef>

#include "capture/frame.h"  // linktype:: numbers (header only)
#include "decode/packet_internal.h"

namespace bw {
namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86DD;
constexpr std::uint16_t kEtherVlan = 0x8100;        // 802.1Q
constexpr std::uint16_t kEtherQinQ = 0x88A8;        // 802.1ad service tag
constexpr std::uint16_t kEtherQinQLegacy = 0x9100;  // pre-standard QinQ
constexpr std::uint16_t kEtherPppoeSession = 0x8864;
constexpr std::uint16_t kEtherMaxLength = 1500;  // <= this: an 802.3 length field, not a type

constexpr std::uint16_t kPppIpv4 = 0x0021;
constexpr std::uint16_t kPppIpv6 = 0x0057;

// Address families in BSD loopback headers. AF_INET6 differs between BSDs.
constexpr std::uint32_t kAfInet = 2;
constexpr std::uint32_t kAfInet6NetBsd = 24;   // NetBSD, OpenBSD, BSD/OS
constexpr std::uint32_t kAfInet6FreeBsd = 28;  // FreeBSD, DragonFly
constexpr std::uint32_t kAfInet6Darwin = 30;   // macOS, iOS

constexpr std::uint8_t kIpv6HopByHop = 0;
constexpr std::uint8_t kIpv6Routing = 43;
constexpr std::uint8_t kIpv6Fragment = 44;
constexpr std::uint8_t kIpv6Ah = 51;
constexpr std::uint8_t kIpv6DestOptions = 60;
// Real chains hold two or three headers; a longer one is malformed or an evasion attempt.
constexpr int kMaxIpv6ExtensionHeaders = 16;

constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kTcpMinHeader = 20;
constexpr std::size_t kMaxLen16 = 0xFFFF;

// What the link layer says follows it.
enum class L3 : std::uint8_t { Ipv4, Ipv6, ByVersion, None };

struct LinkResult {
  DecodeStatus status;
  L3 l3;
};

// Follows an ethertype (already read; `off` is just past it) through any number of VLAN tags
// and a PPPoE session header. Each tag consumes 4 bytes, so the loop is bounded by the frame.
inline LinkResult resolveEthertype(const std::uint8_t* d, std::size_t n, std::size_t& off,
                                   std::uint16_t type) noexcept {
  while (type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQLegacy) {
    if (n - off < 4) return {DecodeStatus::TruncatedLinkHeader, L3::None};
    type = loadBe16(d + off + 2);
    off += 4;
  }
  if (type == kEtherIpv4) return {DecodeStatus::Ok, L3::Ipv4};
  if (type == kEtherIpv6) return {DecodeStatus::Ok, L3::Ipv6};
  if (type == kEtherPppoeSession) {
    // version/type, code, session id, length, then the PPP protocol field.
    if (n - off < 8) return {DecodeStatus::TruncatedLinkHeader, L3::None};
    const std::uint16_t ppp = loadBe16(d + off + 6);
    off += 8;
    if (ppp == kPppIpv4) return {DecodeStatus::Ok, L3::Ipv4};
    if (ppp == kPppIpv6) return {DecodeStatus::Ok, L3::Ipv6};
  }
  return {DecodeStatus::NotIp, L3::None};
}

inline LinkResult loopbackFamily(std::uint32_t af) noexcept {
  if (af == kAfInet) return {DecodeStatus::Ok, L3::Ipv4};
  if (af == kAfInet6NetBsd || af == kAfInet6FreeBsd || af == kAfInet6Darwin) {
    return {DecodeStatus::Ok, L3::Ipv6};
  }
  return {DecodeStatus::NotIp, L3::None};
}

// Walks the link header; on Ok, `off` is the first byte of the IP header.
inline LinkResult decodeLink(std::uint32_t lt, const std::uint8_t* d, std::size_t n,
                             std::size_t& off) noexcept {
  switch (lt) {
    case linktype::kEthernet: {
      if (n < 14) return {DecodeStatus::TruncatedLinkHeader, L3::None};
      const std::uint16_t type = loadBe16(d + 12);
      off = 14;
      if (type <= kEtherMaxLength) return {DecodeStatus::NotIp, L3::None};  // 802.3 + LLC
      return resolveEthertype(d, n, off, type);
    }
    case linktype::kLinuxSll:
      if (n < 16) return {DecodeStatus::TruncatedLinkHeader, L3::None};
      off = 16;
      return resolveEthertype(d, n, off, loadBe16(d + 14));
    case linktype::kLinuxSll2:
      if (n < 20) return {DecodeStatus::TruncatedLinkHeader, L3::None};
      off = 20;
      return resolveEthertype(d, n, off, loadBe16(d));
    case linktype::kRaw:
      off = 0;
      return {DecodeStatus::Ok, L3::ByVersion};
    case linktype::kIpv4:
      off = 0;
      return {DecodeStatus::Ok, L3::Ipv4};
    case linktype::kIpv6:
      off = 0;
      return {DecodeStatus::Ok, L3::Ipv6};
    case linktype::kNull: {
      // Host order of the machine that captured: accept either, AF values are small.
      if (n < 4) return {DecodeStatus::TruncatedLinkHeader, L3::None};
      std::uint32_t af = loadLe32(d);
      if (af > 0xFFFF) af = __builtin_bswap32(af);
      off = 4;
      return loopbackFamily(af);
    }
    case linktype::kLoop:
      if (n < 4) return {DecodeStatus::TruncatedLinkHeader, L3::None};
      off = 4;
      return loopbackFamily(loadBe32(d));
    default:
      return {DecodeStatus::UnsupportedLinkType, L3::None};
  }
}

inline std::uint16_t clamp16(std::size_t v) noexcept {
  return static_cast<std::uint16_t>(std::min(v, kMaxLen16));
}

// The shape nearly every frame of a flood has: Ethernet without tags, IPv4 without options,
// not a fragment, UDP or TCP with its fixed header captured (and, for TCP, a sane data
// offset). Writes every field of `out` as decodeFrameGeneral() would and returns true; returns
// false for anything else, having written nothing. No TSO length (total 0) here either.
inline bool decodeEthernetIpv4Fast(const std::uint8_t* d, std::size_t n, std::int64_t ts_ns,
                                   PacketSummary& out) noexcept {
  constexpr std::size_t kIp = 14;
  constexpr std::size_t kL4 = kIp + 20;
  if (n < kL4 + kUdpHeader) return false;
  const std::uint8_t* ip = d + kIp;
  const std::size_t total = loadBe16(ip + 2);
  // Ethertype IPv4, version 4 with IHL 5, a total length that covers the header, neither MF
  // nor a fragment offset (DF may be set).
  if (loadBe16(d + 12) != kEtherIpv4 || ip[0] != 0x45 || total < 20 ||
      (loadBe16(ip + 6) & 0x3FFF) != 0) {
    return false;
  }
  const std::uint8_t proto = ip[9];
  const std::uint8_t* t = ip + 20;
  const std::size_t avail = std::min(n, kIp + total) - kL4;  // >= 0: n >= kL4, total >= 20
  const std::size_t l4_wire = total - 20;
  std::size_t hdr = kUdpHeader;
  std::uint8_t tcp_flags = 0;
  if (proto == ipproto::kUdp) {
    if (avail < kUdpHeader) return false;
  } else if (proto == ipproto::kTcp) {
    if (avail < kTcpMinHeader) return false;
    hdr = static_cast<std::size_t>(t[12] >> 4) * 4;
    if (hdr < kTcpMinHeader || hdr > l4_wire) return false;
    tcp_flags = t[13];
  } else {
    return false;
  }
  // Every field, each once (a new PacketSummary field must be set here too: the size check
  // is a reminder, the fast-path test compares every field with the general path).
  static_assert(sizeof(PacketSummary) == 80, "decodeEthernetIpv4Fast() must set every field");
  const std::size_t skip = std::min(hdr, avail);
  out.ts_ns = ts_ns;
  out.src = IpAddress::fromV4Bytes(ip + 12);
  out.dst = IpAddress::fromV4Bytes(ip + 16);
  out.ip_bytes = total;
  out.frag_id = loadBe16(ip + 4);
  out.packets = 1;
  out.src_port = loadBe16(t);
  out.dst_port = loadBe16(t + 2);
  out.ip_proto = proto;
  out.flags = pktflag::kHasPorts;
  out.tcp_flags = tcp_flags;
  out.payload_len = static_cast<std::uint16_t>(avail - skip);  // avail < total <= 65535
  out.payload_wire_len = static_cast<std::uint16_t>(l4_wire - hdr);
  out.payload = t + skip;
  return true;
}

}  // namespace

DecodeStatus decodeFrame(std::uint32_t lt, ByteSpan frame, std::uint32_t origlen,
                         std::int64_t ts_ns, PacketSummary& out) noexcept {
  if (lt == linktype::kEthernet && decodeEthernetIpv4Fast(frame.data(), frame.size(), ts_ns, out)) {
    return DecodeStatus::Ok;
  }
  return detail::decodeFrameGeneral(lt, frame, origlen, ts_ns, out);
}

namespace detail {

DecodeStatus decodeFrameGeneral(std::uint32_t lt, ByteSpan frame, std::uint32_t origlen,
                                std::int64_t ts_ns, PacketSummary& out) noexcept {
  out = PacketSummary{};
  out.ts_ns = ts_ns;
  const std::uint8_t* d = frame.data();
  const std::size_t n = frame.size();
  // On-wire frame length; a writer that left origlen below caplen is not trusted below it.
  const std::size_t wire = std::max<std::size_t>(origlen, n);

  std::size_t off = 0;
  const LinkResult link = decodeLink(lt, d, n, off);
  if (link.status != DecodeStatus::Ok) return link.status;

  if (off >= n) return DecodeStatus::TruncatedIpHeader;
  const std::uint8_t* ip = d + off;
  const unsigned version = ip[0] >> 4;
  const L3 l3 = link.l3 == L3::ByVersion ? (version == 4   ? L3::Ipv4
                                            : version == 6 ? L3::Ipv6
                                                           : L3::None)
                                         : link.l3;

  std::size_t l4 = 0;         // first byte of the upper-layer header (frame offset)
  std::size_t ip_end = 0;     // end of the IP datagram on the wire (frame offset, may exceed n)
  bool has_l4_header = true;  // false for non-first fragments
  std::uint8_t proto = 0;

  if (l3 == L3::Ipv4) {
    if (version != 4) return DecodeStatus::BadIpVersion;
    if (n - off < 20) return DecodeStatus::TruncatedIpHeader;
    const std::size_t hl = static_cast<std::size_t>(ip[0] & 0x0F) * 4;
    if (hl < 20) return DecodeStatus::BadIpHeaderLength;
    if (n - off < hl) return DecodeStatus::TruncatedIpHeader;
    std::size_t total = loadBe16(ip + 2);
    if (total == 0) {
      total = wire - off;  // TSO/LRO: the NIC fills the length in later; >= hl (checked above)
    } else if (total < hl) {
      return DecodeStatus::BadIpTotalLength;
    }
    const std::uint16_t frag = loadBe16(ip + 6);
    const bool first = (frag & 0x1FFF) == 0;
    if (frag & 0x3FFF) {  // MF or a non-zero offset
      out.flags |= first ? (pktflag::kFragment | pktflag::kFirstFragment) : pktflag::kFragment;
    }
    has_l4_header = first;
    out.frag_id = loadBe16(ip + 4);
    proto = ip[9];
    out.src = IpAddress::fromV4Bytes(ip + 12);
    out.dst = IpAddress::fromV4Bytes(ip + 16);
    out.ip_bytes = static_cast<std::uint32_t>(total);
    l4 = off + hl;
    ip_end = off + total;
  } else if (l3 == L3::Ipv6) {
    if (version != 6) return DecodeStatus::BadIpVersion;
    if (n - off < 40) return DecodeStatus::TruncatedIpHeader;
    const std::size_t plen = loadBe16(ip + 4);
    // Payload length 0: jumbogram (hop-by-hop option) or segmentation offload.
    const std::size_t total = plen != 0 ? plen + 40 : wire - off;
    out.flags |= pktflag::kIpv6;
    out.src = IpAddress::fromV6Bytes(ip + 8);
    out.dst = IpAddress::fromV6Bytes(ip + 24);
    out.ip_bytes = static_cast<std::uint32_t>(total);
    ip_end = off + total;
    const std::size_t limit = std::min(n, ip_end);  // bytes we may read
    std::uint8_t nh = ip[6];
    std::size_t pos = off + 40;
    for (int i = 0;; ++i) {
      if (nh == kIpv6HopByHop || nh == kIpv6Routing || nh == kIpv6DestOptions || nh == kIpv6Ah) {
        if (i >= kMaxIpv6ExtensionHeaders || pos + 2 > limit) {
          return DecodeStatus::BadIpv6ExtensionHeader;
        }
        const std::size_t len =
            nh == kIpv6Ah ? (std::size_t{d[pos + 1]} + 2) * 4 : (std::size_t{d[pos + 1]} + 1) * 8;
        if (pos + len > ip_end) return DecodeStatus::BadIpv6ExtensionHeader;
        nh = d[pos];
        pos += len;
      } else if (nh == kIpv6Fragment) {
        if (i >= kMaxIpv6ExtensionHeaders || pos + 8 > limit) {
          return DecodeStatus::BadIpv6ExtensionHeader;
        }
        const std::uint16_t fo = loadBe16(d + pos + 2);
        const bool first = (fo & 0xFFF8) == 0;
        if (fo & 0xFFF9) {  // offset or M: an atomic fragment (RFC 6946) is whole
          out.flags |= first ? (pktflag::kFragment | pktflag::kFirstFragment) : pktflag::kFragment;
        }
        out.frag_id = loadBe32(d + pos + 4);
        nh = d[pos];
        pos += 8;
        if (!first) {  // the rest is the middle of the fragmentable part: no headers to read
          has_l4_header = false;
          break;
        }
      } else {
        break;  // upper layer, or 59 (no next header)
      }
    }
    proto = nh;
    l4 = pos;
  } else {
    return DecodeStatus::BadIpVersion;
  }

  out.ip_proto = proto;
  const std::size_t cap_end = std::min(n, ip_end);  // drops Ethernet padding after the datagram
  const std::size_t avail = l4 <= cap_end ? cap_end - l4 : 0;
  const std::size_t l4_wire = ip_end - l4;  // l4 <= ip_end holds for both families
  const std::uint8_t* t = d + std::min(l4, n);

  std::size_t hdr = 0;
  if (has_l4_header) {
    if (proto == ipproto::kUdp) {
      if (avail < kUdpHeader) return DecodeStatus::TruncatedTransportHeader;
      out.src_port = loadBe16(t);
      out.dst_port = loadBe16(t + 2);
      out.flags |= pktflag::kHasPorts;
      hdr = kUdpHeader;
    } else if (proto == ipproto::kTcp) {
      // Only the fixed 20 bytes must be captured: snaplen often cuts through options.
      if (avail < kTcpMinHeader) return DecodeStatus::TruncatedTransportHeader;
      out.src_port = loadBe16(t);
      out.dst_port = loadBe16(t + 2);
      out.tcp_flags = t[13];
      hdr = static_cast<std::size_t>(t[12] >> 4) * 4;
      // A data offset below 5 words or past the datagram leaves no valid header to skip.
      if (hdr < kTcpMinHeader || hdr > l4_wire) return DecodeStatus::TruncatedTransportHeader;
      out.flags |= pktflag::kHasPorts;
    }
  }
  const std::size_t skip = std::min(hdr, avail);
  out.payload = t + skip;
  out.payload_len = clamp16(avail - skip);
  out.payload_wire_len = clamp16(l4_wire - hdr);
  return DecodeStatus::Ok;
}

}  // namespace detail

bool isSupportedLinkType(std::uint32_t lt) noexcept {
  switch (lt) {
    case linktype::kNull:
    case linktype::kEthernet:
    case linktype::kRaw:
    case linktype::kLoop:
    case linktype::kLinuxSll:
    case linktype::kIpv4:
    case linktype::kIpv6:
    case linktype::kLinuxSll2:
      return true;
    default:
      return false;
  }
}

const char* decodeStatusName(DecodeStatus s) noexcept {
  switch (s) {
    case DecodeStatus::Ok:
      return "ok";
    case DecodeStatus::NotIp:
      return "not_ip";
    case DecodeStatus::UnsupportedLinkType:
      return "unsupported_link_type";
    case DecodeStatus::TruncatedLinkHeader:
      return "truncated_link_header";
    case DecodeStatus::TruncatedIpHeader:
      return "truncated_ip_header";
    case DecodeStatus::BadIpVersion:
      return "bad_ip_version";
    case DecodeStatus::BadIpHeaderLength:
      return "bad_ip_header_length";
    case DecodeStatus::BadIpTotalLength:
      return "bad_ip_total_length";
    case DecodeStatus::BadIpv6ExtensionHeader:
      return "bad_ipv6_extension_header";
    case DecodeStatus::TruncatedTransportHeader:
      return "truncated_transport_header";
    case DecodeStatus::kCount:
      break;
  }
  return "unknown";
}

}  // namespace bw
