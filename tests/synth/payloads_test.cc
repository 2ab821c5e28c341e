#include "synth/payloads.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "decode/memcached.h"
#include "decode/packet.h"
#include "decode/vector.h"
#include "synth/packet_builder.h"

namespace bw::synth {
namespace {

constexpr Vector kAll[] = {
    Vector::Memcached, Vector::Dns,         Vector::Ntp,       Vector::Ssdp,    Vector::Cldap,
    Vector::Chargen,   Vector::Snmp,        Vector::Netbios,   Vector::Portmap, Vector::Ripv1,
    Vector::Mssql,     Vector::WsDiscovery, Vector::Arms,      Vector::Coap,    Vector::Ubiquiti,
    Vector::Qotd,      Vector::Tftp,        Vector::GenericUdp};

std::string_view text(const Payload& p, std::size_t from = 0) {
  return {reinterpret_cast<const char*>(p.data()) + from, p.size() - from};
}

// Builds the datagram as a reflector would send it and runs the project's classifier on it.
VectorMatch classify(const Payload& p, std::uint16_t sport, std::uint16_t dport = 40000) {
  PacketBuilder b;
  FrameBatch batch;
  Endpoints e{*IpAddress::parse("192.0.2.7"), *IpAddress::parse("198.18.0.10"), sport, dport};
  EXPECT_EQ(b.udp(e, {}, p, 0, batch), 1u);
  auto f = batch.frame(0);
  PacketSummary s;
  EXPECT_EQ(
      decodeFrame(1, ByteSpan(f.data(), f.size()), static_cast<std::uint32_t>(f.size()), 0, s),
      DecodeStatus::Ok);
  return classifyResponse(s);
}

TEST(Payloads, EveryVectorClassifiesAsItself) {
  for (Vector v : kAll) {
    Rng rng(42);
    ResponseOptions o;
    o.port = 27015;
    ResponseTemplate t = makeResponse(v, o, rng);
    ASSERT_FALSE(t.datagrams.empty()) << vectorName(v);
    const std::uint16_t sport = t.source_port != 0 ? t.source_port : 45000;
    for (const auto& d : t.datagrams) {
      VectorMatch m = classify(d, sport);
      if (v == Vector::GenericUdp) {
        EXPECT_EQ(m.vector, Vector::None);  // no known port: the caller's generic class
        continue;
      }
      EXPECT_EQ(m.vector, v) << vectorName(v);
      if (v != Vector::Arms) {  // no payload signature exists for ARMS
        EXPECT_TRUE(m.evidence & evidence::kPayloadMatch) << vectorName(v);
      }
    }
  }
}

TEST(Payloads, DefaultSizesAreRoughlyHonoured) {
  for (Vector v : kAll) {
    Rng rng(7);
    ResponseOptions o;
    o.port = 500;
    ResponseTemplate t = makeResponse(v, o, rng);
    const double want = defaultResponseSize(v);
    EXPECT_GT(t.totalBytes(), want * 0.5) << vectorName(v);
    EXPECT_LT(t.totalBytes(), want * 1.6 + 200) << vectorName(v);
  }
}

TEST(Payloads, LargestSizesStayWithinUdp) {
  for (Vector v : kAll) {
    Rng rng(9);
    ResponseOptions o;
    o.port = 500;
    o.size = isMultiDatagram(v) ? 200000 : maxResponseSize(v);
    if (v == Vector::Ntp) o.size = maxResponseSize(v);
    ResponseTemplate t = makeResponse(v, o, rng);
    for (const auto& d : t.datagrams) {
      EXPECT_LE(d.size(), PacketBuilder::kMaxUdpPayload) << vectorName(v);
    }
    EXPECT_GT(t.totalBytes(), o.size / 2) << vectorName(v);
  }
}

TEST(Payloads, RequestsGoToTheServicePort) {
  for (Vector v : kAll) {
    Rng rng(3);
    RequestTemplate r = makeRequest(v, 27015, rng);
    EXPECT_FALSE(r.bytes.empty()) << vectorName(v);
    const std::uint16_t want = v == Vector::GenericUdp ? 27015 : vectorServicePort(v);
    EXPECT_EQ(r.dst_port, want) << vectorName(v);
  }
}

TEST(Payloads, MemcachedStatsUseFrameHeaderAndChunks) {
  Rng rng(1);
  ResponseTemplate t = makeResponse(Vector::Memcached, {}, rng);
  ASSERT_EQ(t.datagrams.size(), 2u);  // ~2,240 bytes as memcached 1.6 sends "stats"
  EXPECT_EQ(t.id_offset, 0);
  EXPECT_EQ(t.source_port, 11211);
  for (std::size_t i = 0; i < t.datagrams.size(); ++i) {
    const Payload& d = t.datagrams[i];
    EXPECT_LE(d.size(), 1400u);
    MemcachedFrameHeader h;
    ASSERT_TRUE(parseMemcachedFrame(ByteSpan(d.data(), d.size()), &h));
    EXPECT_EQ(h.sequence, i);
    EXPECT_EQ(h.total, 2);
  }
  EXPECT_TRUE(text(t.datagrams[0], 8).starts_with("STAT pid "));
  EXPECT_TRUE(text(t.datagrams[1]).ends_with("END\r\n"));

  ResponseOptions big;
  big.size = 1'000'000;  // the "get" of a 1 MB value: ~720 datagrams
  ResponseTemplate g = makeResponse(Vector::Memcached, big, rng);
  EXPECT_GT(g.datagrams.size(), 700u);
  EXPECT_TRUE(text(g.datagrams[0], 8).starts_with("VALUE "));
  EXPECT_NEAR(static_cast<double>(g.totalBytes()), 1e6, 2000);
}

TEST(Payloads, MemcachedRansomNoteIsFoundWithItsAddress) {
  Rng rng(5);
  RansomDemand d = makeRansomDemand(rng);
  EXPECT_EQ(d.monero_address.size(), 95u);
  EXPECT_EQ(d.monero_address[0], '4');
  EXPECT_NE(d.text.find("XMR"), std::string::npos);
  EXPECT_NE(d.text.find(d.monero_address), std::string::npos);
  ResponseOptions o;
  o.ransom_text = d.text;
  ResponseTemplate t = makeResponse(Vector::Memcached, o, rng);
  ASSERT_EQ(t.datagrams.size(), 1u);
  const Payload& p = t.datagrams[0];
  EXPECT_TRUE(text(p, 8).starts_with("VALUE "));
  auto note = findRansomNote(ByteSpan(p.data(), p.size()));
  ASSERT_TRUE(note.has_value());
  ASSERT_EQ(note->monero_addresses.size(), 1u);
  EXPECT_EQ(note->monero_addresses[0], d.monero_address);

  o.size = 5000;  // the note repeated through a bigger value
  ResponseTemplate big = makeResponse(Vector::Memcached, o, rng);
  EXPECT_GT(big.datagrams.size(), 3u);
  EXPECT_NEAR(static_cast<double>(big.totalBytes()), 5000, 400);
}

TEST(Payloads, MoneroAddressesAreBase58AndSeedDependent) {
  static constexpr std::string_view kBase58 =
      "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  Rng a(1), b(1), c(2);
  const std::string x = makeMoneroAddress(a);
  EXPECT_EQ(x, makeMoneroAddress(b));
  EXPECT_NE(x, makeMoneroAddress(c));
  for (char ch : x) EXPECT_NE(kBase58.find(ch), std::string_view::npos) << ch;
  // Network byte 0x12: standard addresses start with 4 then one of 0-9AB.
  EXPECT_EQ(x[0], '4');
  EXPECT_NE(std::string_view("123456789AB").find(x[1]), std::string_view::npos);
}

TEST(Payloads, DnsResponseIsAnAnswerThatFragments) {
  Rng rng(2);
  ResponseTemplate t = makeResponse(Vector::Dns, {}, rng);
  ASSERT_EQ(t.datagrams.size(), 1u);
  const Payload& p = t.datagrams[0];
  EXPECT_TRUE(p[2] & 0x80);  // QR
  EXPECT_EQ(p[5], 1);        // one question
  EXPECT_GT(p[7], 5);        // many answers
  EXPECT_GT(p.size() + 28, 1500u);
  EXPECT_LE(p.size(), defaultResponseSize(Vector::Dns));
}

TEST(Payloads, NtpMonlistPages) {
  Rng rng(2);
  ResponseTemplate t = makeResponse(Vector::Ntp, {}, rng);
  ASSERT_EQ(t.datagrams.size(), 10u);
  for (std::size_t i = 0; i < t.datagrams.size(); ++i) {
    const Payload& d = t.datagrams[i];
    EXPECT_EQ(d.size(), 440u);
    EXPECT_EQ(d[0], i + 1 < t.datagrams.size() ? 0xd7 : 0x97);  // response, more, v2, mode 7
    EXPECT_EQ(d[3], 42);                                        // MON_GETLIST_1
    EXPECT_EQ(d[7], 72);                                        // item size
  }
}

TEST(Payloads, TftpBlocksAndChargenLines) {
  Rng rng(2);
  ResponseTemplate t = makeResponse(Vector::Tftp, {}, rng);
  EXPECT_EQ(t.source_port, 0);  // a fresh ephemeral port per transfer
  ASSERT_EQ(t.datagrams.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(t.datagrams[i].size(), 516u);
    EXPECT_EQ(t.datagrams[i][1], 3);  // DATA
    EXPECT_EQ(t.datagrams[i][3], i + 1);
  }
  // From an ephemeral port towards an ephemeral port, the decoder recognises the DATA block.
  EXPECT_EQ(classify(t.datagrams[0], 45000, 40000).vector, Vector::Tftp);

  ResponseTemplate c = makeResponse(Vector::Chargen, {}, rng);
  const std::string_view s = text(c.datagrams[0]);
  EXPECT_EQ(s.size(), 1036u);
  EXPECT_EQ(s.substr(72, 2), "\r\n");
  // Each line starts one character further along the printable set.
  EXPECT_EQ((s[74] - 32 + 95 - (s[0] - 32)) % 95, 1);
}

}  // namespace
}  // namespace bw::synth
