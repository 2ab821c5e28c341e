#include "synth/packet_builder.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "decode/packet.h"
#include "synth/pcap_walk.h"

namespace bw::synth {
namespace {

using testing::be16;
using testing::onesComplement;
using testing::parseIp;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

std::vector<std::uint8_t> payload(std::size_t n) {
  std::vector<std::uint8_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(i * 7 + 3);
  return p;
}

// Verifies the UDP/TCP checksum of a whole (unfragmented) L4 segment over the pseudo-header.
bool l4ChecksumOk(const std::uint8_t* src, const std::uint8_t* dst, std::size_t addr_len,
                  std::uint8_t proto, const std::uint8_t* l4, std::size_t len) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < addr_len; i += 2) sum += be16(src + i) + be16(dst + i);
  sum += proto;
  sum += static_cast<std::uint32_t>(len);
  return onesComplement(l4, len, sum) == 0;
}

TEST(Checksum, MatchesRfc1071Example) {
  // RFC 1071 section 3's example words sum to 0xddf2; the checksum is its complement.
  const std::uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(internetChecksum(ByteSpan(data, sizeof data)), static_cast<std::uint16_t>(~0xddf2));
  // Chaining an even-length piece and the rest gives the same answer.
  EXPECT_EQ(checksumFinish(checksumAdd(checksumAdd(0, data, 2), data + 2, 6)),
            internetChecksum(ByteSpan(data, sizeof data)));
  const std::uint8_t odd[] = {0x12, 0x34, 0x56};
  EXPECT_EQ(internetChecksum(ByteSpan(odd, 3)), static_cast<std::uint16_t>(~(0x1234 + 0x5600)));
}

TEST(PacketBuilder, Ipv4UdpHasCorrectLengthsAndChecksums) {
  PacketBuilder b;
  FrameBatch batch;
  auto p = payload(100);
  IpFields f;
  f.id = 0x1234;
  f.ttl = 50;
  ASSERT_EQ(b.udp({ip("192.0.2.1"), ip("198.18.0.10"), 11211, 40000}, f, p, 1500, batch), 1u);
  auto fr = batch.frame(0);
  ASSERT_EQ(fr.size(), 14u + 20 + 8 + 100);
  EXPECT_EQ(batch.ipBytes(0), 128u);
  auto info = parseIp(1, fr.data(), fr.size());
  ASSERT_TRUE(info.ok);
  EXPECT_EQ(info.src, "192.0.2.1");
  EXPECT_EQ(info.dst, "198.18.0.10");
  EXPECT_EQ(info.ip_bytes, 128u);
  EXPECT_EQ(info.proto, 17);
  EXPECT_FALSE(info.fragment);
  EXPECT_TRUE(info.ipv4_checksum_ok);
  EXPECT_EQ(info.frag_id, 0x1234u);
  EXPECT_EQ(fr[14 + 8], 50);
  EXPECT_EQ(info.src_port, 11211);
  EXPECT_EQ(info.dst_port, 40000);
  const std::uint8_t* udp = fr.data() + info.l4_offset;
  EXPECT_EQ(be16(udp + 4), 108);
  EXPECT_NE(be16(udp + 6), 0);
  EXPECT_TRUE(l4ChecksumOk(fr.data() + 14 + 12, fr.data() + 14 + 16, 4, 17, udp, 108));
  EXPECT_EQ(0, std::memcmp(udp + 8, p.data(), p.size()));
}

TEST(PacketBuilder, SmallFramesArePaddedToEthernetMinimum) {
  PacketBuilder b;
  FrameBatch batch;
  auto p = payload(4);
  ASSERT_EQ(b.udp({ip("192.0.2.1"), ip("198.18.0.10"), 17, 1000}, {}, p, 1500, batch), 1u);
  EXPECT_EQ(batch.frame(0).size(), 60u);
  EXPECT_EQ(batch.ipBytes(0), 32u);  // padding is not IP bytes
  EXPECT_EQ(batch.frame(0)[59], 0);
}

TEST(PacketBuilder, Ipv6UdpChecksumIsComputed) {
  PacketBuilder b;
  FrameBatch batch;
  auto p = payload(333);
  ASSERT_EQ(b.udp({ip("2001:db8::1"), ip("2001:db8:18::10"), 389, 5555}, {}, p, 1500, batch), 1u);
  auto fr = batch.frame(0);
  auto info = parseIp(1, fr.data(), fr.size());
  ASSERT_TRUE(info.ok);
  EXPECT_TRUE(info.v6);
  EXPECT_EQ(info.ip_bytes, 40u + 8 + 333);
  EXPECT_EQ(batch.ipBytes(0), info.ip_bytes);
  const std::uint8_t* udp = fr.data() + info.l4_offset;
  EXPECT_NE(be16(udp + 6), 0);  // mandatory for IPv6
  EXPECT_TRUE(l4ChecksumOk(fr.data() + 14 + 8, fr.data() + 14 + 24, 16, 17, udp, 8 + 333));
}

TEST(PacketBuilder, TcpSegmentChecksum) {
  PacketBuilder b;
  FrameBatch batch;
  auto p = payload(517);
  TcpFields t;
  t.seq = 1000;
  t.ack = 2000;
  t.flags = tcpflag::kAck | tcpflag::kPsh;
  ASSERT_EQ(b.tcp({ip("198.18.0.20"), ip("192.0.2.9"), 443, 50000}, {}, t, p, batch), 1u);
  auto fr = batch.frame(0);
  auto info = parseIp(1, fr.data(), fr.size());
  ASSERT_TRUE(info.ok);
  EXPECT_EQ(info.proto, 6);
  EXPECT_TRUE(info.ipv4_checksum_ok);
  EXPECT_EQ(info.ip_bytes, 20u + 20 + 517);
  const std::uint8_t* tcp = fr.data() + info.l4_offset;
  EXPECT_EQ(testing::be32(tcp + 4), 1000u);
  EXPECT_EQ(tcp[13], tcpflag::kAck | tcpflag::kPsh);
  EXPECT_TRUE(l4ChecksumOk(fr.data() + 14 + 12, fr.data() + 14 + 16, 4, 6, tcp, 20 + 517));
}

// Reassembles fragments (any order) and checks the pieces against the original datagram.
void checkFragments(const FrameBatch& batch, bool v6, std::size_t l4_length, std::uint32_t mtu,
                    std::uint32_t id) {
  std::map<std::uint32_t, std::vector<std::uint8_t>> pieces;
  std::uint32_t ip_total = 0;
  std::size_t last_count = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto fr = batch.frame(i);
    auto info = parseIp(1, fr.data(), fr.size());
    ASSERT_TRUE(info.ok);
    ASSERT_TRUE(info.fragment);
    EXPECT_EQ(info.v6, v6);
    EXPECT_EQ(info.frag_id, v6 ? id : (id & 0xffff));
    EXPECT_LE(info.ip_bytes, mtu);
    EXPECT_EQ(info.ip_bytes, batch.ipBytes(i));
    if (!v6) {
      EXPECT_TRUE(info.ipv4_checksum_ok);
    }
    EXPECT_EQ(info.frag_offset % 8, 0u);
    EXPECT_EQ(info.has_ports, info.frag_offset == 0);  // only the first carries the UDP header
    if (!info.more_fragments) ++last_count;
    const std::size_t header = info.l4_offset - info.ip_offset;
    const std::size_t data = info.ip_bytes - header;
    if (info.more_fragments) {
      EXPECT_EQ(data % 8, 0u);
    }
    pieces[info.frag_offset] =
        std::vector<std::uint8_t>(fr.data() + info.l4_offset, fr.data() + info.l4_offset + data);
    ip_total += info.ip_bytes;
  }
  EXPECT_EQ(last_count, 1u);
  std::vector<std::uint8_t> whole;
  for (auto& [offset, bytes] : pieces) {
    ASSERT_EQ(offset, whole.size()) << "gap or overlap";
    whole.insert(whole.end(), bytes.begin(), bytes.end());
  }
  ASSERT_EQ(whole.size(), l4_length);
  EXPECT_EQ(be16(whole.data() + 4), l4_length);  // UDP length covers the whole datagram
  const std::size_t per_fragment_header = v6 ? 48 : 20;
  EXPECT_EQ(ip_total, l4_length + batch.size() * per_fragment_header);
}

TEST(PacketBuilder, Ipv4FragmentsAboveMtu) {
  PacketBuilder b;
  FrameBatch batch;
  auto p = payload(3000);
  IpFields f;
  f.id = 0xbeef;
  ASSERT_EQ(b.udp({ip("192.0.2.53"), ip("198.18.0.11"), 53, 33333}, f, p, 1500, batch), 3u);
  checkFragments(batch, false, 3008, 1500, 0xbeef);
  // The first fragment's data is 1480 bytes (8-byte aligned), the last carries the rest.
  EXPECT_EQ(batch.ipBytes(0), 1500u);
  EXPECT_EQ(batch.ipBytes(2), 20u + 3008 - 2 * 1480);
}

TEST(PacketBuilder, Ipv6FragmentsAboveMtu) {
  PacketBuilder b;
  FrameBatch batch;
  auto p = payload(3000);
  IpFields f;
  f.id = 0x12345678;
  const std::size_t n =
      b.udp({ip("2001:db8::53"), ip("2001:db8:18::10"), 389, 40000}, f, p, 1280, batch);
  ASSERT_EQ(n, 3u);
  checkFragments(batch, true, 3008, 1280, 0x12345678);
}

TEST(PacketBuilder, OddMtuStillAlignsOffsets) {
  PacketBuilder b;
  FrameBatch batch;
  auto p = payload(5000);
  ASSERT_GT(b.udp({ip("192.0.2.1"), ip("198.18.0.1"), 19, 1234}, {}, p, 1003, batch), 5u);
  checkFragments(batch, false, 5008, 1003, 0);
}

TEST(PacketBuilder, LargestDatagramFragmentsWithinBatch) {
  PacketBuilder b;
  FrameBatch batch;
  auto p = payload(PacketBuilder::kMaxUdpPayload);
  const std::size_t n = b.udp({ip("192.0.2.1"), ip("198.18.0.1"), 53, 1234}, {}, p, 576, batch);
  ASSERT_GT(n, 100u);
  checkFragments(batch, false, PacketBuilder::kMaxUdpPayload + 8, 576, 0);
}

TEST(PacketBuilder, RejectsWhatCannotBeBuilt) {
  PacketBuilder b;
  FrameBatch batch;
  auto p = payload(2000);
  EXPECT_EQ(b.udp({ip("192.0.2.1"), ip("2001:db8::1"), 1, 2}, {}, p, 1500, batch), 0u);
  EXPECT_EQ(b.udp({ip("192.0.2.1"), ip("198.18.0.1"), 1, 2}, {}, p, 500, batch), 0u);
  EXPECT_EQ(b.udp({ip("2001:db8::2"), ip("2001:db8::1"), 1, 2}, {}, p, 1000, batch), 0u);
  auto huge = payload(PacketBuilder::kMaxUdpPayload + 1);
  EXPECT_EQ(b.udp({ip("192.0.2.1"), ip("198.18.0.1"), 1, 2}, {}, huge, 0, batch), 0u);
  EXPECT_EQ(batch.size(), 0u);
  // mtu 0: never fragment, however large.
  EXPECT_EQ(b.udp({ip("192.0.2.1"), ip("198.18.0.1"), 1, 2}, {}, p, 0, batch), 1u);
  EXPECT_EQ(batch.ipBytes(0), 2028u);
}

TEST(PacketBuilder, VlanTagAndRawLink) {
  LinkOptions vlan;
  vlan.vlan = 42;
  PacketBuilder b(vlan);
  FrameBatch batch;
  auto p = payload(50);
  ASSERT_EQ(b.udp({ip("192.0.2.1"), ip("198.18.0.1"), 53, 999}, {}, p, 1500, batch), 1u);
  auto fr = batch.frame(0);
  EXPECT_EQ(be16(fr.data() + 12), 0x8100);
  auto info = parseIp(1, fr.data(), fr.size());
  ASSERT_TRUE(info.ok);
  EXPECT_EQ(info.vlan, 42);
  EXPECT_EQ(info.ip_offset, 18u);
  EXPECT_EQ(b.linkHeaderBytes(), 18u);

  LinkOptions raw;
  raw.linktype = pcaplink::kRaw;
  PacketBuilder r(raw);
  FrameBatch rb;
  ASSERT_EQ(r.udp({ip("2001:db8::1"), ip("2001:db8::2"), 53, 999}, {}, p, 1500, rb), 1u);
  EXPECT_EQ(rb.frame(0).size(), 40u + 8 + 50);  // no link header, no padding
  EXPECT_EQ(rb.frame(0)[0] >> 4, 6);
}

// The project's own decoder agrees with what the builder wrote.
TEST(PacketBuilder, DecoderReadsBuiltFrames) {
  PacketBuilder b;
  FrameBatch batch;
  auto p = payload(3000);
  ASSERT_EQ(b.udp({ip("192.0.2.53"), ip("198.18.0.11"), 53, 33333}, {}, p, 1500, batch), 3u);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto fr = batch.frame(i);
    PacketSummary s;
    ASSERT_EQ(
        decodeFrame(1, ByteSpan(fr.data(), fr.size()), static_cast<std::uint32_t>(fr.size()), 0, s),
        DecodeStatus::Ok);
    EXPECT_EQ(s.ip_bytes, batch.ipBytes(i));
    EXPECT_TRUE(s.isFragment());
    EXPECT_EQ(s.hasPorts(), i == 0);
    EXPECT_EQ(s.src, ip("192.0.2.53"));
  }
}

}  // namespace
}  // namespace bw::synth
