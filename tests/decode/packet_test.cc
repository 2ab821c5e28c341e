// decodeFrame() on hand-built frames: every link type, VLAN stacks, IPv4 options and
// fragments, IPv6 extension headers, truncation at every offset, and status names.
#include "decode/packet.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <set>
#include <string>

#include "capture/frame.h"
#include "frame_builder.h"

namespace bw {
namespace {

using test::append;
using test::Bytes;
using test::span;

const Bytes kDnsQuery = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

// Decodes a copy of `f` that outlives the call, so tests may pass temporaries and still read
// s.payload afterwards (it points into the frame).
DecodeStatus decode(std::uint32_t lt, const Bytes& f, PacketSummary& s, std::uint32_t origlen = 0) {
  static std::deque<Bytes> kept;
  const Bytes& frame = kept.emplace_back(f);
  return decodeFrame(lt, span(frame), origlen ? origlen : static_cast<std::uint32_t>(f.size()), 77,
                     s);
}

// The UDP/IPv4 packet most tests wrap in different link layers.
Bytes udp4(std::uint16_t sport = 53, std::uint16_t dport = 40000,
           const Bytes& payload = kDnsQuery) {
  return test::ipv4({}, test::udp(sport, dport, payload));
}
Bytes udp6(std::uint16_t sport = 123, std::uint16_t dport = 50000) {
  return test::ipv6(17, test::udp(sport, dport, test::text("0123456789")));
}

void expectUdp4(const PacketSummary& s, std::uint16_t sport = 53, std::uint16_t dport = 40000) {
  EXPECT_EQ(s.ts_ns, 77);
  EXPECT_EQ(s.src, *IpAddress::parse("192.0.2.1"));
  EXPECT_EQ(s.dst, *IpAddress::parse("198.51.100.2"));
  EXPECT_EQ(s.ip_proto, ipproto::kUdp);
  EXPECT_TRUE(s.hasPorts());
  EXPECT_FALSE(s.isFragment());
  EXPECT_EQ(s.src_port, sport);
  EXPECT_EQ(s.dst_port, dport);
  EXPECT_EQ(s.ip_bytes, 20u + 8u + kDnsQuery.size());
  EXPECT_EQ(s.payload_len, kDnsQuery.size());
  EXPECT_EQ(s.payload_wire_len, kDnsQuery.size());
  ASSERT_NE(s.payload, nullptr);
  EXPECT_EQ(Bytes(s.payload, s.payload + s.payload_len), kDnsQuery);
}

void expectUdp6(const PacketSummary& s) {
  EXPECT_TRUE(s.flags & pktflag::kIpv6);
  EXPECT_EQ(s.src, *IpAddress::parse("2001:db8::1"));
  EXPECT_EQ(s.dst, *IpAddress::parse("2001:db8::2"));
  EXPECT_EQ(s.ip_proto, ipproto::kUdp);
  EXPECT_EQ(s.src_port, 123);
  EXPECT_EQ(s.dst_port, 50000);
  EXPECT_EQ(s.ip_bytes, 40u + 8u + 10u);
  EXPECT_EQ(s.payload_len, 10);
}

TEST(DecodeLink, EthernetIpv4Udp) {
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kEthernet, test::ethernet(0x0800, udp4()), s), DecodeStatus::Ok);
  expectUdp4(s);
}

TEST(DecodeLink, EthernetIpv6Udp) {
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kEthernet, test::ethernet(0x86DD, udp6()), s), DecodeStatus::Ok);
  expectUdp6(s);
}

TEST(DecodeLink, VlanAndQinQStacks) {
  const std::vector<std::vector<std::uint16_t>> stacks = {
      {0x8100}, {0x88A8, 0x8100}, {0x9100, 0x8100}, {0x88A8, 0x9100, 0x8100, 0x8100}};
  for (const auto& tags : stacks) {
    PacketSummary s;
    const Bytes f = test::ethernet(0x0800, udp4(), tags);
    ASSERT_EQ(decode(linktype::kEthernet, f, s), DecodeStatus::Ok) << tags.size() << " tags";
    expectUdp4(s);
    const Bytes f6 = test::ethernet(0x86DD, udp6(), tags);
    ASSERT_EQ(decode(linktype::kEthernet, f6, s), DecodeStatus::Ok);
    expectUdp6(s);
  }
}

TEST(DecodeLink, EthernetNonIp) {
  PacketSummary s;
  // ARP, LLDP, and an 802.3 frame whose type field is a length (LLC follows).
  EXPECT_EQ(decode(linktype::kEthernet, test::ethernet(0x0806, Bytes(28, 0)), s),
            DecodeStatus::NotIp);
  EXPECT_EQ(decode(linktype::kEthernet, test::ethernet(0x88CC, Bytes(30, 0)), s),
            DecodeStatus::NotIp);
  EXPECT_EQ(decode(linktype::kEthernet, test::ethernet(46, Bytes(46, 0x42)), s),
            DecodeStatus::NotIp);
  EXPECT_EQ(decode(linktype::kEthernet, test::ethernet(1500, Bytes(46, 0x42)), s),
            DecodeStatus::NotIp);
  EXPECT_EQ(decode(linktype::kEthernet, test::ethernet(0x0806, Bytes(28, 0), {0x8100}), s),
            DecodeStatus::NotIp);
  EXPECT_FALSE(isMalformed(DecodeStatus::NotIp));
}

TEST(DecodeLink, TruncatedLinkHeaders) {
  PacketSummary s;
  EXPECT_EQ(decode(linktype::kEthernet, Bytes(13, 0), s), DecodeStatus::TruncatedLinkHeader);
  // A VLAN tag cut after its TPID.
  Bytes f = test::ethernet(0x8100, {});
  f.push_back(0);
  EXPECT_EQ(decode(linktype::kEthernet, f, s), DecodeStatus::TruncatedLinkHeader);
  EXPECT_EQ(decode(linktype::kLinuxSll, Bytes(15, 0), s), DecodeStatus::TruncatedLinkHeader);
  EXPECT_EQ(decode(linktype::kLinuxSll2, Bytes(19, 0), s), DecodeStatus::TruncatedLinkHeader);
  EXPECT_EQ(decode(linktype::kNull, Bytes(3, 0), s), DecodeStatus::TruncatedLinkHeader);
  EXPECT_EQ(decode(linktype::kLoop, Bytes(3, 0), s), DecodeStatus::TruncatedLinkHeader);
  // Link header complete, nothing after it.
  EXPECT_EQ(decode(linktype::kEthernet, test::ethernet(0x0800, {}), s),
            DecodeStatus::TruncatedIpHeader);
}

TEST(DecodeLink, LinuxCookedV1AndV2) {
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kLinuxSll, test::sll(0x0800, udp4()), s), DecodeStatus::Ok);
  expectUdp4(s);
  ASSERT_EQ(decode(linktype::kLinuxSll, test::sll(0x86DD, udp6()), s), DecodeStatus::Ok);
  expectUdp6(s);
  ASSERT_EQ(decode(linktype::kLinuxSll2, test::sll2(0x0800, udp4()), s), DecodeStatus::Ok);
  expectUdp4(s);
  ASSERT_EQ(decode(linktype::kLinuxSll2, test::sll2(0x86DD, udp6()), s), DecodeStatus::Ok);
  expectUdp6(s);
  EXPECT_EQ(decode(linktype::kLinuxSll, test::sll(0x0806, Bytes(28, 0)), s), DecodeStatus::NotIp);
  EXPECT_EQ(decode(linktype::kLinuxSll2, test::sll2(0x0004, Bytes(28, 0)), s), DecodeStatus::NotIp);
  // The v1 header is 16 bytes: decoding it as v2 lands in the wrong place.
  EXPECT_NE(decode(linktype::kLinuxSll2, test::sll(0x0800, udp4()), s), DecodeStatus::Ok);
}

TEST(DecodeLink, RawAndIpLinkTypes) {
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kRaw, udp4(), s), DecodeStatus::Ok);
  expectUdp4(s);
  ASSERT_EQ(decode(linktype::kRaw, udp6(), s), DecodeStatus::Ok);
  expectUdp6(s);
  ASSERT_EQ(decode(linktype::kIpv4, udp4(), s), DecodeStatus::Ok);
  expectUdp4(s);
  ASSERT_EQ(decode(linktype::kIpv6, udp6(), s), DecodeStatus::Ok);
  expectUdp6(s);
  EXPECT_EQ(decode(linktype::kIpv4, udp6(), s), DecodeStatus::BadIpVersion);
  EXPECT_EQ(decode(linktype::kIpv6, udp4(), s), DecodeStatus::BadIpVersion);
  Bytes bad = udp4();
  bad[0] = 0x55;
  EXPECT_EQ(decode(linktype::kRaw, bad, s), DecodeStatus::BadIpVersion);
  EXPECT_EQ(decode(linktype::kEthernet, test::ethernet(0x0800, udp6()), s),
            DecodeStatus::BadIpVersion);
  EXPECT_EQ(decode(linktype::kEthernet, test::ethernet(0x86DD, udp4()), s),
            DecodeStatus::BadIpVersion);
  EXPECT_EQ(decode(linktype::kRaw, Bytes{}, s), DecodeStatus::TruncatedIpHeader);
}

TEST(DecodeLink, BsdNullAndLoop) {
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kNull, test::nullLe(2, udp4()), s), DecodeStatus::Ok);
  expectUdp4(s);
  // Written on a big-endian host.
  ASSERT_EQ(decode(linktype::kNull, test::nullBe(2, udp4()), s), DecodeStatus::Ok);
  expectUdp4(s);
  for (std::uint32_t af : {24u, 28u, 30u}) {
    ASSERT_EQ(decode(linktype::kNull, test::nullLe(af, udp6()), s), DecodeStatus::Ok) << af;
    expectUdp6(s);
    ASSERT_EQ(decode(linktype::kNull, test::nullBe(af, udp6()), s), DecodeStatus::Ok) << af;
    ASSERT_EQ(decode(linktype::kLoop, test::nullBe(af, udp6()), s), DecodeStatus::Ok) << af;
    expectUdp6(s);
  }
  ASSERT_EQ(decode(linktype::kLoop, test::nullBe(2, udp4()), s), DecodeStatus::Ok);
  expectUdp4(s);
  // Loop is network order only: a little-endian 2 is family 0x02000000.
  EXPECT_EQ(decode(linktype::kLoop, test::nullLe(2, udp4()), s), DecodeStatus::NotIp);
  EXPECT_EQ(decode(linktype::kNull, test::nullLe(7, udp4()), s), DecodeStatus::NotIp);
}

TEST(DecodeLink, PppoeSession) {
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kEthernet, test::ethernet(0x8864, test::pppoe(0x0021, udp4())), s),
            DecodeStatus::Ok);
  expectUdp4(s);
  ASSERT_EQ(
      decode(linktype::kEthernet, test::ethernet(0x8864, test::pppoe(0x0057, udp6()), {0x8100}), s),
      DecodeStatus::Ok);
  expectUdp6(s);
  EXPECT_EQ(decode(linktype::kEthernet, test::ethernet(0x8864, test::pppoe(0xC021, Bytes(8))), s),
            DecodeStatus::NotIp);  // LCP
  EXPECT_EQ(decode(linktype::kEthernet, test::ethernet(0x8864, Bytes(7, 0)), s),
            DecodeStatus::TruncatedLinkHeader);
}

TEST(DecodeLink, UnsupportedLinkType) {
  PacketSummary s;
  EXPECT_EQ(decode(105 /* 802.11 */, test::ethernet(0x0800, udp4()), s),
            DecodeStatus::UnsupportedLinkType);
  for (std::uint32_t lt : {0u, 1u, 101u, 108u, 113u, 228u, 229u, 276u}) {
    EXPECT_TRUE(isSupportedLinkType(lt)) << lt;
  }
  for (std::uint32_t lt : {2u, 105u, 127u, 147u, 220u, 0xFFFFFFFFu}) {
    EXPECT_FALSE(isSupportedLinkType(lt)) << lt;
  }
}

TEST(DecodeIpv4, OptionsAreSkippedByIhl) {
  for (int words : {1, 3, 10}) {
    test::V4 h;
    h.option_words = words;
    const Bytes f = test::ethernet(0x0800, test::ipv4(h, test::udp(53, 40000, kDnsQuery)));
    PacketSummary s;
    ASSERT_EQ(decode(linktype::kEthernet, f, s), DecodeStatus::Ok) << words;
    EXPECT_EQ(s.src_port, 53);
    EXPECT_EQ(s.dst_port, 40000);
    EXPECT_EQ(s.ip_bytes, 20u + 4u * words + 8u + kDnsQuery.size());
    EXPECT_EQ(Bytes(s.payload, s.payload + s.payload_len), kDnsQuery);
  }
}

TEST(DecodeIpv4, BadHeaderLengths) {
  PacketSummary s;
  test::V4 h;
  h.ihl_override = 4;
  EXPECT_EQ(decode(linktype::kRaw, test::ipv4(h, test::udp(1, 2, {})), s),
            DecodeStatus::BadIpHeaderLength);
  h = {};
  h.total_override = 19;
  EXPECT_EQ(decode(linktype::kRaw, test::ipv4(h, test::udp(1, 2, {})), s),
            DecodeStatus::BadIpTotalLength);
  h = {};
  h.option_words = 2;
  h.total_override = 24;  // shorter than its own 28-byte header
  EXPECT_EQ(decode(linktype::kRaw, test::ipv4(h, test::udp(1, 2, {})), s),
            DecodeStatus::BadIpTotalLength);
  // IHL 15 (60 bytes) but only 40 bytes captured.
  h = {};
  h.ihl_override = 15;
  EXPECT_EQ(decode(linktype::kRaw, test::ipv4(h, Bytes(20, 0)), s),
            DecodeStatus::TruncatedIpHeader);
  const Bytes whole = udp4();
  EXPECT_EQ(decode(linktype::kRaw, Bytes(whole.begin(), whole.begin() + 19), s),
            DecodeStatus::TruncatedIpHeader);
  for (auto st : {DecodeStatus::BadIpHeaderLength, DecodeStatus::BadIpTotalLength,
                  DecodeStatus::TruncatedIpHeader}) {
    EXPECT_TRUE(isMalformed(st));
  }
}

TEST(DecodeIpv4, TsoZeroTotalLengthUsesWireLength) {
  const Bytes payload(3000, 0x61);
  test::V4 h;
  h.proto = ipproto::kTcp;
  h.total_override = 0;
  const Bytes full = test::ethernet(0x0800, test::ipv4(h, test::tcp(443, 50000, 0x10, payload)));
  // Captured with a 128-byte snaplen; the wire saw the whole super-frame.
  const Bytes cut(full.begin(), full.begin() + 128);
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kEthernet, cut, s, static_cast<std::uint32_t>(full.size())),
            DecodeStatus::Ok);
  EXPECT_EQ(s.ip_bytes, full.size() - 14);
  EXPECT_EQ(s.payload_wire_len, payload.size());
  EXPECT_EQ(s.payload_len, 128 - 14 - 20 - 20);
  EXPECT_EQ(s.tcp_flags, 0x10);
  // origlen below caplen (a sloppy writer): the captured bytes still count.
  ASSERT_EQ(decode(linktype::kEthernet, full, s, 60), DecodeStatus::Ok);
  EXPECT_EQ(s.ip_bytes, full.size() - 14);
}

TEST(DecodeIpv4, SnaplenTruncationKeepsWireSizes) {
  const Bytes payload(1400, 0x41);
  const Bytes full = test::ethernet(0x0800, udp4(11211, 80, payload));
  const Bytes cut(full.begin(), full.begin() + 96);
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kEthernet, cut, s, static_cast<std::uint32_t>(full.size())),
            DecodeStatus::Ok);
  EXPECT_EQ(s.ip_bytes, 20u + 8u + 1400u);
  EXPECT_EQ(s.payload_wire_len, 1400);
  EXPECT_EQ(s.payload_len, 96 - 14 - 28);
  EXPECT_EQ(s.src_port, 11211);
}

TEST(DecodeIpv4, EthernetPaddingIsNotPayload) {
  Bytes f = test::ethernet(0x0800, udp4(53, 1000, test::text("ab")));
  f.resize(60, 0xEE);  // minimum Ethernet frame
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kEthernet, f, s), DecodeStatus::Ok);
  EXPECT_EQ(s.ip_bytes, 30u);
  EXPECT_EQ(s.payload_len, 2);
  EXPECT_EQ(s.payload_wire_len, 2);
}

TEST(DecodeIpv4, Fragments) {
  const Bytes dns(1400, 0x55);
  test::V4 h;
  h.id = 0xBEEF;
  h.frag = 0x2000;  // MF, offset 0
  const Bytes first_l4 = test::udp(53, 33333, dns);
  const Bytes first = test::ipv4(h, Bytes(first_l4.begin(), first_l4.begin() + 1208));
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kRaw, first, s), DecodeStatus::Ok);
  EXPECT_TRUE(s.isFragment());
  EXPECT_FALSE(s.isNonFirstFragment());
  EXPECT_TRUE(s.flags & pktflag::kFirstFragment);
  EXPECT_TRUE(s.hasPorts());
  EXPECT_EQ(s.src_port, 53);
  EXPECT_EQ(s.frag_id, 0xBEEFu);
  EXPECT_EQ(s.ip_bytes, 1228u);
  EXPECT_EQ(s.payload_wire_len, 1200);  // this fragment's share

  h.frag = 151;  // offset 151*8 = 1208, last fragment
  const Bytes rest(first_l4.begin() + 1208, first_l4.end());
  ASSERT_EQ(decode(linktype::kRaw, test::ipv4(h, rest), s), DecodeStatus::Ok);
  EXPECT_TRUE(s.isFragment());
  EXPECT_TRUE(s.isNonFirstFragment());
  EXPECT_FALSE(s.hasPorts());
  EXPECT_EQ(s.src_port, 0);
  EXPECT_EQ(s.frag_id, 0xBEEFu);
  EXPECT_EQ(s.ip_proto, ipproto::kUdp);
  EXPECT_EQ(s.payload_len, rest.size());
  EXPECT_EQ(Bytes(s.payload, s.payload + s.payload_len), rest);

  h.frag = 0x2000 | 100;  // middle fragment
  ASSERT_EQ(decode(linktype::kRaw, test::ipv4(h, Bytes(3, 0)), s), DecodeStatus::Ok);
  EXPECT_TRUE(s.isNonFirstFragment());
  // A non-first fragment shorter than a UDP header is fine: there is no header in it.
  EXPECT_EQ(s.payload_len, 3);

  h.frag = 0x4000;  // DF only: whole datagram
  ASSERT_EQ(decode(linktype::kRaw, test::ipv4(h, test::udp(1, 2, {})), s), DecodeStatus::Ok);
  EXPECT_FALSE(s.isFragment());
  EXPECT_TRUE(s.hasPorts());
}

TEST(DecodeTransport, UdpCutInsideHeaderFillsIpFields) {
  const Bytes f = test::ethernet(0x0800, udp4());
  const Bytes cut(f.begin(), f.begin() + 14 + 20 + 5);
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kEthernet, cut, s, static_cast<std::uint32_t>(f.size())),
            DecodeStatus::TruncatedTransportHeader);
  EXPECT_EQ(s.src, *IpAddress::parse("192.0.2.1"));
  EXPECT_EQ(s.ip_bytes, 20u + 8u + kDnsQuery.size());
  EXPECT_EQ(s.ip_proto, ipproto::kUdp);
  EXPECT_FALSE(s.hasPorts());
  // A first fragment cut the same way is also truncated.
  test::V4 h;
  h.frag = 0x2000;
  const Bytes frag = test::ipv4(h, Bytes(4, 0));
  EXPECT_EQ(decode(linktype::kRaw, frag, s), DecodeStatus::TruncatedTransportHeader);
}

TEST(DecodeTransport, Tcp) {
  test::V4 h;
  h.proto = ipproto::kTcp;
  const Bytes body = test::text("GET / HTTP/1.1\r\n");
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kRaw, test::ipv4(h, test::tcp(50000, 80, 0x18, body, 8)), s),
            DecodeStatus::Ok);
  EXPECT_TRUE(s.hasPorts());
  EXPECT_EQ(s.ip_proto, ipproto::kTcp);
  EXPECT_EQ(s.src_port, 50000);
  EXPECT_EQ(s.dst_port, 80);
  EXPECT_EQ(s.tcp_flags, 0x18);
  EXPECT_EQ(Bytes(s.payload, s.payload + s.payload_len), body);
  EXPECT_EQ(s.payload_wire_len, body.size());

  // Snaplen cut through the options: ports and flags are still there.
  const Bytes full = test::ipv4(h, test::tcp(443, 1234, 0x12, body, 10));
  const Bytes cut(full.begin(), full.begin() + 20 + 24);
  ASSERT_EQ(decode(linktype::kRaw, cut, s, static_cast<std::uint32_t>(full.size())),
            DecodeStatus::Ok);
  EXPECT_EQ(s.tcp_flags, 0x12);
  EXPECT_EQ(s.payload_len, 0);
  EXPECT_EQ(s.payload_wire_len, body.size());

  // Data offset below 5 words, and one reaching past the datagram.
  EXPECT_EQ(decode(linktype::kRaw, test::ipv4(h, test::tcp(1, 2, 0x02, {}, 4)), s),
            DecodeStatus::TruncatedTransportHeader);
  Bytes over = test::ipv4(h, test::tcp(1, 2, 0x02, {}, 5));
  over[20 + 12] = 0xF0;  // 60-byte header in a 20-byte segment
  EXPECT_EQ(decode(linktype::kRaw, over, s), DecodeStatus::TruncatedTransportHeader);
  EXPECT_EQ(decode(linktype::kRaw, Bytes(full.begin(), full.begin() + 39), s,
                   static_cast<std::uint32_t>(full.size())),
            DecodeStatus::TruncatedTransportHeader);
}

TEST(DecodeTransport, IcmpHasNoPortsAndIpPayload) {
  test::V4 h;
  h.proto = ipproto::kIcmp;
  const Bytes icmp = {8, 0, 0, 0, 0, 1, 0, 1, 'p', 'i', 'n', 'g'};
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kRaw, test::ipv4(h, icmp), s), DecodeStatus::Ok);
  EXPECT_FALSE(s.hasPorts());
  EXPECT_EQ(s.ip_proto, ipproto::kIcmp);
  EXPECT_EQ(Bytes(s.payload, s.payload + s.payload_len), icmp);
  EXPECT_EQ(s.payload_wire_len, icmp.size());
  ASSERT_EQ(decode(linktype::kRaw, test::ipv6(ipproto::kIcmpv6, icmp), s), DecodeStatus::Ok);
  EXPECT_EQ(s.ip_proto, ipproto::kIcmpv6);
  EXPECT_FALSE(s.hasPorts());
  EXPECT_EQ(s.payload_len, icmp.size());
}

TEST(DecodeIpv6, EachExtensionHeader) {
  const Bytes u = test::udp(53, 40000, kDnsQuery);
  struct Case {
    const char* name;
    std::uint8_t first;
    Bytes chain;
  };
  const Case cases[] = {
      {"hop-by-hop", 0, test::cat(test::ext8(17), u)},
      {"routing", 43, test::cat(test::ext8(17, 2), u)},
      {"destination options", 60, test::cat(test::ext8(17, 1), u)},
      {"ah", 51, test::cat(test::ah(17), u)},
      {"atomic fragment", 44, test::cat(test::frag6(17, 0, false, 7), u)},
      {"hbh+dst+routing+ah", 0,
       test::cat(test::cat(test::cat(test::cat(test::ext8(60), test::ext8(43, 1)), test::ext8(51)),
                           test::ah(17, 4)),
                 u)},
  };
  for (const Case& c : cases) {
    PacketSummary s;
    const Bytes f = test::ethernet(0x86DD, test::ipv6(c.first, c.chain));
    ASSERT_EQ(decode(linktype::kEthernet, f, s), DecodeStatus::Ok) << c.name;
    EXPECT_EQ(s.ip_proto, ipproto::kUdp) << c.name;
    EXPECT_TRUE(s.hasPorts()) << c.name;
    EXPECT_FALSE(s.isFragment()) << c.name;
    EXPECT_EQ(s.src_port, 53) << c.name;
    EXPECT_EQ(s.ip_bytes, 40u + c.chain.size()) << c.name;
    EXPECT_EQ(Bytes(s.payload, s.payload + s.payload_len), kDnsQuery) << c.name;
  }
}

TEST(DecodeIpv6, Fragments) {
  const Bytes u = test::udp(53, 40000, Bytes(100, 0x33));
  PacketSummary s;
  // First fragment after a hop-by-hop header: ports present.
  const Bytes first =
      test::ipv6(0, test::cat(test::cat(test::ext8(44), test::frag6(17, 0, true, 0xCAFEF00D)),
                              Bytes(u.begin(), u.begin() + 64)));
  ASSERT_EQ(decode(linktype::kRaw, first, s), DecodeStatus::Ok);
  EXPECT_TRUE(s.isFragment());
  EXPECT_FALSE(s.isNonFirstFragment());
  EXPECT_TRUE(s.hasPorts());
  EXPECT_EQ(s.frag_id, 0xCAFEF00Du);
  EXPECT_EQ(s.src_port, 53);
  EXPECT_EQ(s.payload_wire_len, 64 - 8);
  // Later fragment: no ports, payload is the fragment data.
  const Bytes rest(u.begin() + 64, u.end());
  ASSERT_EQ(decode(linktype::kRaw,
                   test::ipv6(44, test::cat(test::frag6(17, 8, false, 0xCAFEF00D), rest)), s),
            DecodeStatus::Ok);
  EXPECT_TRUE(s.isNonFirstFragment());
  EXPECT_FALSE(s.hasPorts());
  EXPECT_EQ(s.ip_proto, ipproto::kUdp);
  EXPECT_EQ(s.frag_id, 0xCAFEF00Du);
  EXPECT_EQ(Bytes(s.payload, s.payload + s.payload_len), rest);
}

TEST(DecodeIpv6, MalformedChains) {
  PacketSummary s;
  // 17 destination-options headers: over the bound.
  Bytes chain;
  for (int i = 0; i < 17; ++i) append(chain, test::ext8(60));
  append(chain, test::udp(1, 2, {}));
  EXPECT_EQ(decode(linktype::kRaw, test::ipv6(60, chain), s), DecodeStatus::BadIpv6ExtensionHeader);
  // 16 is allowed.
  chain.clear();
  for (int i = 0; i < 15; ++i) append(chain, test::ext8(60));
  append(chain, test::ext8(17));
  append(chain, test::udp(1, 2, {}));
  EXPECT_EQ(decode(linktype::kRaw, test::ipv6(60, chain), s), DecodeStatus::Ok);
  // Extension header longer than the payload length says.
  Bytes big = test::ext8(17, 4);
  EXPECT_EQ(decode(linktype::kRaw, test::ipv6(0, big, 16), s),
            DecodeStatus::BadIpv6ExtensionHeader);
  // Capture ends right after the fixed header although a hop-by-hop header should follow.
  const Bytes cut = test::ipv6(0, {}, 16);
  EXPECT_EQ(decode(linktype::kRaw, cut, s, 56), DecodeStatus::BadIpv6ExtensionHeader);
  // Fragment header cut short.
  const Bytes fcut = test::ipv6(44, Bytes{17, 0, 0, 1}, 8);
  EXPECT_EQ(decode(linktype::kRaw, fcut, s, 48), DecodeStatus::BadIpv6ExtensionHeader);
  const Bytes whole = udp6();
  EXPECT_EQ(decode(linktype::kRaw, Bytes(whole.begin(), whole.begin() + 39), s),
            DecodeStatus::TruncatedIpHeader);
}

TEST(DecodeIpv6, NoNextHeaderAndJumbogram) {
  PacketSummary s;
  ASSERT_EQ(decode(linktype::kRaw, test::ipv6(59, {}), s), DecodeStatus::Ok);
  EXPECT_EQ(s.ip_proto, 59);
  EXPECT_FALSE(s.hasPorts());
  EXPECT_EQ(s.ip_bytes, 40u);
  EXPECT_EQ(s.payload_len, 0);
  // Payload length 0 with a jumbo payload (hop-by-hop jumbo option): the wire decides.
  const Bytes u = test::udp(53, 9999, Bytes(200, 1));
  const Bytes f = test::ipv6(0, test::cat(test::ext8(17), u), 0);
  ASSERT_EQ(decode(linktype::kRaw, Bytes(f.begin(), f.begin() + 100), s, 70000), DecodeStatus::Ok);
  EXPECT_EQ(s.ip_bytes, 70000u);
  EXPECT_EQ(s.src_port, 53);
  EXPECT_EQ(s.payload_len, 100 - 40 - 8 - 8);
  EXPECT_EQ(s.payload_wire_len, 0xFFFF);  // clamped to the field
}

// Checks what must hold for any decode, whatever the status.
void checkInvariants(const Bytes& f, const PacketSummary& s, DecodeStatus st) {
  ASSERT_LT(static_cast<int>(st), static_cast<int>(DecodeStatus::kCount));
  if (st != DecodeStatus::Ok) return;
  ASSERT_NE(s.payload, nullptr);
  ASSERT_GE(s.payload, f.data());
  ASSERT_LE(s.payload + s.payload_len, f.data() + f.size());
  ASSERT_LE(s.payload_len, s.payload_wire_len);
  if (s.hasPorts()) {
    ASSERT_TRUE(s.ip_proto == ipproto::kUdp || s.ip_proto == ipproto::kTcp);
    ASSERT_FALSE(s.isNonFirstFragment());
  }
}

TEST(DecodeRobustness, EveryTruncationOfEveryShape) {
  const Bytes u4 = udp4();
  const Bytes v6chain = test::ipv6(
      0, test::cat(test::cat(test::ext8(51), test::ah(44)),
                   test::cat(test::frag6(17, 0, true, 1), test::udp(53, 2, Bytes(30, 9)))));
  test::V4 opt;
  opt.option_words = 3;
  opt.proto = ipproto::kTcp;
  const Bytes tcp4 = test::ipv4(opt, test::tcp(1, 2, 0x02, Bytes(10, 1), 7));
  struct Shape {
    std::uint32_t lt;
    Bytes frame;
  };
  const Shape shapes[] = {
      {linktype::kEthernet, test::ethernet(0x0800, u4, {0x88A8, 0x8100})},
      {linktype::kEthernet, test::ethernet(0x86DD, v6chain)},
      {linktype::kEthernet, test::ethernet(0x8864, test::pppoe(0x0021, tcp4))},
      {linktype::kLinuxSll, test::sll(0x0800, tcp4)},
      {linktype::kLinuxSll2, test::sll2(0x86DD, v6chain)},
      {linktype::kRaw, v6chain},
      {linktype::kIpv4, tcp4},
      {linktype::kIpv6, v6chain},
      {linktype::kNull, test::nullLe(30, v6chain)},
      {linktype::kLoop, test::nullBe(2, u4)},
  };
  for (const Shape& shape : shapes) {
    PacketSummary s;
    ASSERT_EQ(decode(shape.lt, shape.frame, s), DecodeStatus::Ok);
    ASSERT_TRUE(s.hasPorts());
    for (std::size_t len = 0; len < shape.frame.size(); ++len) {
      // Exact-size heap copy so a read past the end is caught by sanitizers.
      const Bytes cut(shape.frame.begin(), shape.frame.begin() + len);
      const DecodeStatus st =
          decodeFrame(shape.lt, span(cut), static_cast<std::uint32_t>(shape.frame.size()), 0, s);
      checkInvariants(cut, s, st);
      // Snaplen truncation after the headers is normal; before them it is reported.
      if (st == DecodeStatus::Ok) {
        EXPECT_TRUE(s.hasPorts()) << "len " << len;
      } else {
        EXPECT_TRUE(isMalformed(st)) << "len " << len << " " << decodeStatusName(st);
      }
    }
  }
}

TEST(DecodeRobustness, RandomBytesAndMutations) {
  std::mt19937 rng(12345);
  const std::uint32_t lts[] = {0, 1, 101, 108, 113, 228, 229, 276};
  const Bytes seed = test::ethernet(
      0x86DD, test::ipv6(0, test::cat(test::ext8(44), test::cat(test::frag6(17, 0, true, 5),
                                                                test::udp(1, 2, Bytes(40, 7))))));
  std::set<DecodeStatus> seen;
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes f;
    if (iter % 2 == 0) {
      f.resize(rng() % 120);
      for (auto& b : f) b = static_cast<std::uint8_t>(rng());
    } else {
      f = seed;
      for (int k = 0; k < 3; ++k) f[rng() % f.size()] = static_cast<std::uint8_t>(rng());
      f.resize(rng() % (f.size() + 1));
    }
    PacketSummary s;
    const std::uint32_t lt = lts[rng() % std::size(lts)];
    const DecodeStatus st =
        decodeFrame(lt, span(f), static_cast<std::uint32_t>(rng() % 2000), 0, s);
    checkInvariants(f, s, st);
    seen.insert(st);
  }
  // The mutations reach most of the status space.
  EXPECT_GE(seen.size(), 7u);
}

TEST(DecodeStatusNames, DistinctSnakeCase) {
  std::set<std::string> names;
  for (int i = 0; i < static_cast<int>(DecodeStatus::kCount); ++i) {
    const std::string name = decodeStatusName(static_cast<DecodeStatus>(i));
    EXPECT_NE(name, "unknown");
    for (char c : name) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') << name;
    }
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(DecodeStatus::kCount));
  EXPECT_STREQ(decodeStatusName(DecodeStatus::Ok), "ok");
  EXPECT_STREQ(decodeStatusName(DecodeStatus::TruncatedLinkHeader), "truncated_link_header");
  EXPECT_STREQ(decodeStatusName(DecodeStatus::BadIpv6ExtensionHeader), "bad_ipv6_extension_header");
  EXPECT_STREQ(decodeStatusName(DecodeStatus::TruncatedTransportHeader),
               "truncated_transport_header");
  EXPECT_STREQ(decodeStatusName(DecodeStatus::UnsupportedLinkType), "unsupported_link_type");
}

}  // namespace
}  // namespace bw
