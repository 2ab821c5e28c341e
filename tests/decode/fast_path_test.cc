// decodeFrame(), which tries a straight-line path for untagged Ethernet / IPv4 without options /
// unfragmented UDP or TCP first, against detail::decodeFrameGeneral(), the general walk alone:
// the same status and every summary field the same, on hand-built frames around each condition
// of the fast path (cut at every length), on every frame of the shared captures (whole, cut to
// a 96-byte snaplen, with short and long on-wire lengths), and on seeded random mutations of
// all of them.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "capture/frame.h"
#include "capture_walker.h"
#include "decode/packet.h"
#include "decode/packet_internal.h"
#include "frame_builder.h"

namespace bw {
namespace {

using test::Bytes;

// operator== decides; diffOf() names the differing fields for the message, and a new field
// should be named there too.
static_assert(sizeof(PacketSummary) == 80, "name the new PacketSummary field in diffOf()");

// Fills `s` with a pattern no decoder writes, so a field one path leaves unset shows up.
void poison(PacketSummary& s, int byte) { std::memset(static_cast<void*>(&s), byte, sizeof s); }

// Empty when both decodes agree, else what differs.
std::string diffOf(DecodeStatus sa, const PacketSummary& a, DecodeStatus sb,
                   const PacketSummary& b) {
  std::string d;
  auto field = [&d](const char* name, bool same) {
    if (!same) d += std::string(d.empty() ? "" : ", ") + name;
  };
  field("status", sa == sb);
  if (sa != DecodeStatus::Ok || sb != DecodeStatus::Ok) return d;  // out is unspecified then
  field("ts_ns", a.ts_ns == b.ts_ns);
  field("src", a.src == b.src);
  field("dst", a.dst == b.dst);
  field("ip_bytes", a.ip_bytes == b.ip_bytes);
  field("frag_id", a.frag_id == b.frag_id);
  field("packets", a.packets == b.packets);
  field("src_port", a.src_port == b.src_port);
  field("dst_port", a.dst_port == b.dst_port);
  field("ip_proto", a.ip_proto == b.ip_proto);
  field("flags", a.flags == b.flags);
  field("tcp_flags", a.tcp_flags == b.tcp_flags);
  field("payload_len", a.payload_len == b.payload_len);
  field("payload_wire_len", a.payload_wire_len == b.payload_wire_len);
  field("payload", a.payload == b.payload);
  return d;
}

// Runs both paths over frames and records disagreements (the first few in detail).
struct Comparison {
  std::size_t frames = 0;
  std::size_t ok = 0;
  std::size_t fast_shape = 0;  // Ok frames of the shape the fast path takes
  std::size_t mismatches = 0;
  std::string first;

  void run(std::uint32_t lt, const std::uint8_t* data, std::size_t caplen, std::uint32_t origlen,
           const std::string& label) {
    PacketSummary a;
    PacketSummary b;
    poison(a, 0xA5);
    poison(b, 0x5A);
    const ByteSpan f(data, caplen);
    const DecodeStatus sa = decodeFrame(lt, f, origlen, 1234567, a);
    const DecodeStatus sb = detail::decodeFrameGeneral(lt, f, origlen, 1234567, b);
    ++frames;
    ok += sa == DecodeStatus::Ok;
    if (sa == DecodeStatus::Ok && lt == linktype::kEthernet && caplen >= 15 && data[12] == 0x08 &&
        data[13] == 0x00 && data[14] == 0x45 && !a.isFragment() &&
        (a.ip_proto == ipproto::kUdp || a.ip_proto == ipproto::kTcp)) {
      ++fast_shape;
    }
    if (sa == sb && (sa != DecodeStatus::Ok || a == b)) return;
    std::string d = diffOf(sa, a, sb, b);
    if (d.empty()) d = "a field diffOf() does not name";
    if (++mismatches <= 5) {
      first += label + " caplen " + std::to_string(caplen) + " origlen " + std::to_string(origlen) +
               ": " + d + "\n";
    }
  }
  void run(std::uint32_t lt, const Bytes& f, std::uint32_t origlen, const std::string& label) {
    run(lt, f.data(), f.size(), origlen, label);
  }
};

// Frames around every condition of the fast path.
std::vector<Bytes> builtFrames() {
  std::vector<Bytes> out;
  const Bytes small = test::text("0123456789abcdef0123456789abcdef0123456789");  // 42 bytes
  const Bytes large(1400, 0x61);
  for (const Bytes* payload : {&small, &large}) {
    for (std::uint16_t frag : {0x0000, 0x4000, 0x8000, 0xC000, 0x2000, 0x0001, 0x2001, 0x1FFF}) {
      for (std::uint8_t proto : {17, 6, 1, 47}) {
        test::V4 h;
        h.proto = proto;
        h.frag = frag;
        const Bytes l4 = proto == 6    ? test::tcp(443, 40000, 0x18, *payload)
                         : proto == 17 ? test::udp(11211, 40000, *payload)
                                       : *payload;
        out.push_back(test::ethernet(0x0800, test::ipv4(h, l4)));
      }
    }
    // IPv4 total lengths: TSO (0), below the header, at the header, short of and past the
    // transport header, exact, long, maximum.
    for (int total : {0, 1, 19, 20, 21, 27, 28, 29, 39, 40, 41, 60, 65535}) {
      for (std::uint8_t proto : {17, 6}) {
        test::V4 h;
        h.proto = proto;
        h.total_override = total;
        const Bytes l4 =
            proto == 6 ? test::tcp(80, 50000, 0x02, *payload) : test::udp(53, 50000, *payload);
        out.push_back(test::ethernet(0x0800, test::ipv4(h, l4)));
      }
    }
    // TCP data offsets 0..15 words (below 5 and past the datagram are malformed).
    for (std::uint8_t words = 0; words < 16; ++words) {
      Bytes seg = test::tcp(443, 40000, 0x10, *payload);
      seg[12] = static_cast<std::uint8_t>(words << 4);
      out.push_back(test::ethernet(0x0800, test::ipv4({}, seg)));
    }
    for (int ihl : {0, 4, 6, 15}) {  // header lengths the fast path leaves to the general one
      test::V4 h;
      h.ihl_override = ihl;
      h.option_words = ihl > 5 ? 1 : 0;
      out.push_back(test::ethernet(0x0800, test::ipv4(h, test::udp(19, 40000, *payload))));
    }
    test::V4 opt;
    opt.option_words = 2;
    out.push_back(test::ethernet(0x0800, test::ipv4(opt, test::udp(19, 40000, *payload))));
    const Bytes v4 = test::ipv4({}, test::udp(53, 40000, *payload));
    Bytes v6_in_v4 = v4;
    v6_in_v4[0] = 0x65;
    out.push_back(test::ethernet(0x0800, v6_in_v4));
    out.push_back(test::ethernet(0x0800, v4, {0x8100}));
    out.push_back(test::ethernet(0x0800, v4, {0x88A8, 0x8100}));
    out.push_back(test::ethernet(0x86DD, v4));
    out.push_back(test::ethernet(0x86DD, test::ipv6(17, test::udp(53, 40000, *payload))));
    out.push_back(test::ethernet(0x0806, v4));
    out.push_back(test::ethernet(0x05DC, v4));  // an 802.3 length field
    out.push_back(test::ethernet(0x8864, test::pppoe(0x0021, v4)));
  }
  return out;
}

TEST(DecodeFastPath, BuiltFramesCutAtEveryLengthMatchGeneralPath) {
  Comparison c;
  for (const Bytes& f : builtFrames()) {
    const auto len = static_cast<std::uint32_t>(f.size());
    // Cut at every length up to 100 bytes, then coarser (payload bytes are not interpreted).
    for (std::size_t cap = 0; cap <= f.size(); cap += cap < 100 ? 1 : 97) {
      for (std::uint32_t origlen : {len, 0u, len + 1000}) {
        c.run(linktype::kEthernet, f.data(), cap, origlen, "built");
      }
    }
    c.run(linktype::kEthernet, f, len, "built whole");
    c.run(linktype::kLinuxSll, f, len, "built as sll");  // other link types: general path only
  }
  EXPECT_EQ(c.mismatches, 0u) << c.first;
  EXPECT_GT(c.fast_shape, 1000u) << "the built frames should exercise the fast path";
  EXPECT_GT(c.ok, c.fast_shape) << "and frames the fast path leaves to the general one";
}

TEST(DecodeFastPath, SummaryOfTheFastShapeIsComplete) {
  // Spelled out once for the dominant shape, on top of the comparison with the general path.
  test::V4 h;
  h.id = 0xBEEF;
  h.frag = 0x4000;  // DF
  const Bytes payload = test::text("VALUE k 0 40\r\n");
  const Bytes f = test::ethernet(0x0800, test::ipv4(h, test::udp(11211, 40001, payload)));
  PacketSummary s;
  poison(s, 0xA5);
  ASSERT_EQ(decodeFrame(linktype::kEthernet, test::span(f), 1500, 42, s), DecodeStatus::Ok);
  EXPECT_EQ(s.ts_ns, 42);
  EXPECT_EQ(s.src, IpAddress::fromV4(0xC0000201));
  EXPECT_EQ(s.dst, IpAddress::fromV4(0xC6336402));
  EXPECT_EQ(s.ip_bytes, 20u + 8u + payload.size());
  EXPECT_EQ(s.frag_id, 0xBEEFu);
  EXPECT_EQ(s.packets, 1u);
  EXPECT_EQ(s.src_port, 11211);
  EXPECT_EQ(s.dst_port, 40001);
  EXPECT_EQ(s.ip_proto, ipproto::kUdp);
  EXPECT_EQ(s.flags, pktflag::kHasPorts);
  EXPECT_EQ(s.tcp_flags, 0);
  EXPECT_EQ(s.payload_len, payload.size());
  EXPECT_EQ(s.payload_wire_len, payload.size());
  EXPECT_EQ(s.payload, f.data() + 42);
}

// Every capture under the shared directory, as Ethernet or whatever link type it has.
std::vector<test::WalkedFrame> sharedCaptureFrames() {
  std::vector<test::WalkedFrame> frames;
  const std::string dir = std::string(BW_SHARED_DIR) + "/captures/";
  if (!std::filesystem::is_directory(dir)) return frames;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) test::walkCapture(e.path().string(), &frames);  // skips non-captures
  }
  return frames;
}

TEST(DecodeFastPath, EveryCaptureFrameMatchesGeneralPath) {
  const std::vector<test::WalkedFrame> frames = sharedCaptureFrames();
  if (frames.empty()) GTEST_SKIP() << BW_SHARED_DIR << "/captures has no captures";
  Comparison c;
  for (const test::WalkedFrame& f : frames) {
    c.run(f.linktype, f.data, f.origlen, "capture");
    c.run(f.linktype, f.data.data(), std::min<std::size_t>(f.data.size(), 96), f.origlen,
          "capture snap96");
    c.run(f.linktype, f.data, 0, "capture origlen 0");
  }
  EXPECT_EQ(c.mismatches, 0u) << c.first;
  EXPECT_GT(c.fast_shape, 0u) << "no capture frame took the fast path";
}

TEST(DecodeFastPath, RandomMutationsMatchGeneralPath) {
  std::vector<Bytes> pool = builtFrames();
  for (const test::WalkedFrame& f : sharedCaptureFrames()) {
    if (f.linktype == linktype::kEthernet) pool.push_back(f.data);
  }
  // Values that sit on the fast path's boundaries: ethertype, version/IHL, flag bits,
  // protocols, data offsets.
  const std::uint8_t special[] = {0x00, 0x01, 0x06, 0x08, 0x11, 0x13, 0x14, 0x1F, 0x20,
                                  0x3F, 0x40, 0x45, 0x46, 0x4F, 0x50, 0x60, 0x80, 0xFF};
  std::mt19937_64 rng(20180301);
  Comparison c;
  Bytes f;
  for (int i = 0; i < 300'000; ++i) {
    f = pool[rng() % pool.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !f.empty(); ++k) {
      // Mostly the link, IPv4 and transport headers.
      const std::size_t at = (rng() % 4 != 0 ? 12 + rng() % 50 : rng()) % f.size();
      f[at] = rng() % 2 ? special[rng() % std::size(special)] : static_cast<std::uint8_t>(rng());
    }
    std::size_t cap = f.size();
    if (rng() % 4 == 0) cap = rng() % (f.size() + 1);
    const std::uint32_t origlen = rng() % 4 == 0 ? static_cast<std::uint32_t>(rng() % 2000)
                                                 : static_cast<std::uint32_t>(f.size());
    c.run(linktype::kEthernet, f.data(), cap, origlen, "mutation " + std::to_string(i));
  }
  EXPECT_EQ(c.mismatches, 0u) << c.first;
  EXPECT_GT(c.fast_shape, 10'000u);
}

}  // namespace
}  // namespace bw
