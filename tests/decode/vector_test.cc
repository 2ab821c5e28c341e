// Vector names and ports, and classifyResponse()/classifyRequest() on decoded frames with
// realistic payloads of every service, requests versus responses, and the TFTP rules.
#include "decode/vector.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "capture/frame.h"
#include "frame_builder.h"

namespace bw {
namespace {

using test::Bytes;

// A decoded datagram that owns the frame its payload points into.
struct Datagram {
  Bytes frame;
  PacketSummary s;
};

Datagram udpDatagram(std::uint16_t sport, std::uint16_t dport, const Bytes& payload,
                     std::size_t snap = 0) {
  Datagram d;
  d.frame = test::ethernet(0x0800, test::ipv4({}, test::udp(sport, dport, payload)));
  const auto origlen = static_cast<std::uint32_t>(d.frame.size());
  if (snap != 0 && snap < d.frame.size()) d.frame.resize(snap);
  EXPECT_EQ(decodeFrame(linktype::kEthernet, test::span(d.frame), origlen, 0, d.s),
            DecodeStatus::Ok);
  return d;
}

Bytes hex(std::initializer_list<int> v) {
  Bytes b;
  for (int x : v) b.push_back(static_cast<std::uint8_t>(x));
  return b;
}

Bytes memcachedFrame(std::uint16_t seq, std::uint16_t total, const Bytes& body) {
  Bytes b;
  test::put16(b, 0x0101);
  test::put16(b, seq);
  test::put16(b, total);
  test::put16(b, 0);
  test::append(b, body);
  return b;
}

// Payloads as the services send them.
const Bytes kMemcachedStats = memcachedFrame(
    0, 1, test::text("STAT pid 2154\r\nSTAT uptime 3600\r\nSTAT version 1.4.25\r\nEND\r\n"));
const Bytes kDnsResponse =
    hex({0x1a, 0x2b, 0x81, 0x80, 0,   1, 0,   1,    0,    0, 0, 1,    7,   'e', 'x',
         'a',  'm',  'p',  'l',  'e', 3, 'c', 'o',  'm',  0, 0, 0xff, 0,   1,   0xc0,
         0x0c, 0,    1,    0,    1,   0, 0,   0x0e, 0x10, 0, 4, 93,   184, 216, 34});
const Bytes kDnsQuery = hex({0x1a, 0x2b, 0x01, 0x00, 0,   1, 0,   0,   0,   0, 0, 1,    7, 'e', 'x',
                             'a',  'm',  'p',  'l',  'e', 3, 'c', 'o', 'm', 0, 0, 0xff, 0, 1});
Bytes ntpMode7(bool response, std::uint8_t code) {
  Bytes b = hex({response ? 0x97 : 0x17, 0x00, 0x03, code, 0x00, 0x06, 0x00, 0x48});
  b.resize(8 + 6 * 72, 0x01);
  return b;
}
Bytes ntpServer() {
  Bytes b = hex({0x24, 2, 6, 0xe9});
  b.resize(48, 0x11);
  return b;
}
Bytes ntpClient() {
  Bytes b = hex({0x23, 0, 6, 0x20});
  b.resize(48, 0);
  return b;
}
const Bytes kSsdpResponse = test::text(
    "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\n"
    "USN: uuid:2f402f80-da50-11e1-9b23-001788255acc::upnp:rootdevice\r\n\r\n");
const Bytes kSsdpNotify =
    test::text("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\n\r\n");
const Bytes kSsdpSearch = test::text(
    "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n"
    "ST: ssdp:all\r\n\r\n");
// A CLDAP searchResEntry (long-form lengths, as Active Directory sends them).
const Bytes kCldapResponse =
    hex({0x30, 0x84, 0x00, 0x00, 0x00, 0x20, 0x02, 0x01, 0x01, 0x64, 0x84, 0x00, 0x00,
         0x00, 0x17, 0x04, 0x00, 0x30, 0x84, 0x00, 0x00, 0x00, 0x0f, 0x30, 0x0d, 0x04,
         0x05, 'N',  't',  'V',  'e',  'r',  0x31, 0x04, 0x04, 0x02, 0x16, 0x00, 0x00});
const Bytes kSnmpResponse =
    hex({0x30, 0x18, 0x02, 0x01, 0x01, 0x04, 0x06, 'p',  'u',  'b',  'l',  'i',  'c',
         0xa2, 0x0b, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00});
const Bytes kSnmpGetBulk =
    hex({0x30, 0x19, 0x02, 0x01, 0x01, 0x04, 0x06, 'p',  'u',  'b',  'l',  'i',  'c', 0xa5,
         0x0c, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x02, 0x27, 0x10, 0x30, 0x00});
const Bytes kChargen = test::text(
    "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n"
    "\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghi\r\n");
const Bytes kQotd = test::text("\"The only way to do great work is to love what you do.\"\r\n");
const Bytes kNbstatResponse =
    hex({0x8a, 0x1b, 0x84, 0x00, 0,    0, 0, 1, 0, 0, 0, 0, 0x20, 'C', 'K',
         'A',  'A',  0,    0,    0x21, 0, 1, 0, 0, 0, 0, 0, 0x41, 1});
const Bytes kPortmapReply = hex({0x5e, 0x3a, 0x01, 0x02, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
                                 0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x64});
const Bytes kRipv1Response =
    hex({2, 1, 0, 0, 0, 2, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
Bytes mssqlResponse() {
  const Bytes data = test::text(
      "ServerName;SQL01;InstanceName;MSSQLSERVER;IsClustered;No;Version;15.0.2000.5;tcp;1433;;");
  Bytes b = {0x05, static_cast<std::uint8_t>(data.size()), 0};
  test::append(b, data);
  return b;
}
const Bytes kWsDiscovery = test::text(
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope "
    "xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"><soap:Header/></soap:Envelope>");
const Bytes kCoapContent = hex({0x60, 0x45, 0x12, 0x34, 0xc1, 0x28, 0xff, '<', '/', 'a', '>'});
const Bytes kCoapGet =
    hex({0x40, 0x01, 0x12, 0x34, 0xbb, '.', 'w', 'e', 'l', 'l', '-', 'k', 'n', 'o', 'w', 'n'});
Bytes ubiquitiResponse() {
  Bytes b = {0x01, 0x00, 0x00, 0x00};
  Bytes tlv = {0x02, 0x00, 0x0a, 0x80, 0x2a, 0xa8, 0x8d, 0x69, 0x2b, 0xc0,
               0xa8, 0x02, 0x15, 0x0b, 0x00, 0x04, 'u',  'b',  'n',  't'};
  b[3] = static_cast<std::uint8_t>(tlv.size());
  test::append(b, tlv);
  return b;
}
Bytes tftpData(std::uint16_t block, std::size_t data_len) {
  Bytes b = {0, 3};
  test::put16(b, block);
  b.resize(4 + data_len, 0x5a);
  return b;
}
Bytes tftpError(std::uint16_t code, std::string_view msg) {
  Bytes b = {0, 5};
  test::put16(b, code);
  test::append(b, test::text(msg));
  b.push_back(0);
  return b;
}

struct ResponseCase {
  const char* name;
  std::uint16_t port;
  Bytes payload;
  Vector vector;
  std::uint8_t evidence;
};

TEST(ClassifyResponse, EveryVectorWithRealisticPayload) {
  const std::uint8_t kMatch = evidence::kPayloadMatch;
  const ResponseCase cases[] = {
      {"memcached", 11211, kMemcachedStats, Vector::Memcached,
       evidence::kMemcachedFrame | evidence::kMemcachedText | kMatch},
      {"dns", 53, kDnsResponse, Vector::Dns, kMatch},
      {"ntp monlist_1", 123, ntpMode7(true, 42), Vector::Ntp, kMatch | evidence::kNtpMonlist},
      {"ntp monlist", 123, ntpMode7(true, 20), Vector::Ntp, kMatch | evidence::kNtpMonlist},
      {"ntp mode 7 other", 123, ntpMode7(true, 4), Vector::Ntp, kMatch},
      {"ntp server", 123, ntpServer(), Vector::Ntp, kMatch},
      {"ssdp 200", 1900, kSsdpResponse, Vector::Ssdp, kMatch},
      {"ssdp notify", 1900, kSsdpNotify, Vector::Ssdp, kMatch},
      {"cldap", 389, kCldapResponse, Vector::Cldap, kMatch},
      {"chargen", 19, kChargen, Vector::Chargen, kMatch},
      {"snmp", 161, kSnmpResponse, Vector::Snmp, kMatch},
      {"netbios", 137, kNbstatResponse, Vector::Netbios, kMatch},
      {"portmap", 111, kPortmapReply, Vector::Portmap, kMatch},
      {"ripv1", 520, kRipv1Response, Vector::Ripv1, kMatch},
      {"mssql", 1434, mssqlResponse(), Vector::Mssql, kMatch},
      {"ws-discovery", 3702, kWsDiscovery, Vector::WsDiscovery, kMatch},
      {"arms", 3283, Bytes(1034, 0x42), Vector::Arms, evidence::kPortOnly},
      {"coap", 5683, kCoapContent, Vector::Coap, kMatch},
      {"ubiquiti", 10001, ubiquitiResponse(), Vector::Ubiquiti, kMatch},
      {"qotd", 17, kQotd, Vector::Qotd, kMatch},
      {"tftp from 69", 69, tftpData(1, 512), Vector::Tftp, kMatch},
  };
  for (const ResponseCase& c : cases) {
    const Datagram d = udpDatagram(c.port, 41234, c.payload);
    const VectorMatch m = classifyResponse(d.s);
    EXPECT_EQ(m.vector, c.vector) << c.name;
    EXPECT_EQ(m.service_port, c.port) << c.name;
    EXPECT_EQ(m.evidence, c.evidence) << c.name;
    EXPECT_EQ(vectorServicePort(c.vector), c.port) << c.name;
    // The same datagram is not a request to anything (41234 is no service port).
    EXPECT_EQ(classifyRequest(d.s), Vector::None) << c.name;
  }
}

TEST(ClassifyResponse, PortOnlyWhenPayloadDoesNotMatch) {
  std::mt19937 rng(7);
  Bytes noise(64);
  for (auto& b : noise) b = static_cast<std::uint8_t>(0x80 | rng());  // never printable
  noise[0] = 0x01;  // keep clear of the NTP/DNS bits that random bytes could hit
  noise[2] = 0x01;
  for (std::uint16_t port :
       {11211, 53, 1900, 389, 19, 161, 137, 520, 1434, 3702, 5683, 10001, 17}) {
    const Datagram d = udpDatagram(port, 50000, noise);
    const VectorMatch m = classifyResponse(d.s);
    EXPECT_NE(m.vector, Vector::None) << port;
    EXPECT_EQ(m.evidence, evidence::kPortOnly) << port;
  }
  // Requests that come back from the service port (or shapes that are not responses).
  EXPECT_EQ(classifyResponse(udpDatagram(53, 53, kDnsQuery).s).evidence, evidence::kPortOnly);
  EXPECT_EQ(classifyResponse(udpDatagram(123, 123, ntpClient()).s).evidence, evidence::kPortOnly);
  EXPECT_EQ(classifyResponse(udpDatagram(123, 40000, ntpMode7(false, 42)).s).evidence,
            evidence::kPortOnly);
  EXPECT_EQ(classifyResponse(udpDatagram(161, 40000, kSnmpGetBulk).s).evidence,
            evidence::kPortOnly);
  EXPECT_EQ(classifyResponse(udpDatagram(1900, 40000, kSsdpSearch).s).evidence,
            evidence::kPortOnly);
  EXPECT_EQ(classifyResponse(udpDatagram(5683, 40000, kCoapGet).s).evidence, evidence::kPortOnly);
  EXPECT_EQ(classifyResponse(udpDatagram(520, 40000, hex({1, 1, 0, 0})).s).evidence,
            evidence::kPortOnly);
}

TEST(ClassifyResponse, MemcachedEvidenceBits) {
  // A continuation datagram of a large value: frame header, raw bytes, sequence > 0.
  const Datagram cont = udpDatagram(11211, 80, memcachedFrame(3, 10, Bytes(1400, 'x')));
  EXPECT_EQ(classifyResponse(cont.s).evidence, evidence::kMemcachedFrame | evidence::kPayloadMatch);
  // First datagram of a get: VALUE line.
  const Datagram value =
      udpDatagram(11211, 80, memcachedFrame(0, 10, test::text("VALUE k 0 5000\r\nabc")));
  EXPECT_EQ(classifyResponse(value.s).evidence,
            evidence::kMemcachedFrame | evidence::kMemcachedText | evidence::kPayloadMatch);
  // A frame header alone (sequence 0) is weak evidence.
  const Datagram bare = udpDatagram(11211, 80, memcachedFrame(0, 1, Bytes(20, 0x90)));
  EXPECT_EQ(classifyResponse(bare.s).evidence, evidence::kMemcachedFrame);
  // Reserved field set: no frame.
  Bytes bad = kMemcachedStats;
  bad[7] = 1;
  EXPECT_EQ(classifyResponse(udpDatagram(11211, 80, bad).s).evidence, evidence::kPortOnly);
}

TEST(ClassifyResponse, EvidenceNeedsCapturedBytes) {
  // Snaplen cut right after the UDP header: vector by port, no payload evidence.
  const Datagram d = udpDatagram(11211, 80, kMemcachedStats, 14 + 20 + 8);
  ASSERT_EQ(d.s.payload_len, 0);
  ASSERT_EQ(d.s.payload_wire_len, kMemcachedStats.size());
  const VectorMatch m = classifyResponse(d.s);
  EXPECT_EQ(m.vector, Vector::Memcached);
  EXPECT_EQ(m.evidence, evidence::kPortOnly);
  // Cut inside the SNMP PDU header: must not read past the capture (ASan would tell).
  for (std::size_t snap = 42; snap < 42 + kSnmpResponse.size(); ++snap) {
    const Datagram cut = udpDatagram(161, 80, kSnmpResponse, snap);
    EXPECT_EQ(classifyResponse(cut.s).vector, Vector::Snmp);
  }
}

TEST(ClassifyResponse, RequestsAreNotResponses) {
  // Client (ephemeral port) to service port: a request, whatever the service.
  for (std::uint16_t port :
       {11211, 53, 123, 1900, 389, 19, 161, 137, 111, 520, 1434, 3702, 3283, 5683, 10001, 17, 69}) {
    const Datagram d = udpDatagram(45678, port, hex({0, 1, 0, 0, 0, 1, 0, 0}));
    EXPECT_EQ(classifyResponse(d.s).vector, Vector::None) << port;
    const Vector v = classifyRequest(d.s);
    EXPECT_NE(v, Vector::None) << port;
    EXPECT_EQ(vectorServicePort(v), port);
  }
  EXPECT_EQ(classifyRequest(udpDatagram(45678, 80, kDnsQuery).s), Vector::None);
  EXPECT_EQ(classifyRequest(udpDatagram(53, 45678, kDnsResponse).s), Vector::None);
}

TEST(ClassifyResponse, ServiceToServiceGoesBySourcePort) {
  const VectorMatch ntp = classifyResponse(udpDatagram(123, 123, ntpServer()).s);
  EXPECT_EQ(ntp.vector, Vector::Ntp);
  EXPECT_EQ(ntp.evidence, evidence::kPayloadMatch);
  const VectorMatch dns = classifyResponse(udpDatagram(53, 53, kDnsResponse).s);
  EXPECT_EQ(dns.vector, Vector::Dns);
  EXPECT_EQ(dns.evidence, evidence::kPayloadMatch);
  // DNS answering towards port 123 is still DNS; as a request it would be NTP.
  const Datagram d = udpDatagram(53, 123, kDnsResponse);
  EXPECT_EQ(classifyResponse(d.s).vector, Vector::Dns);
  EXPECT_EQ(classifyRequest(d.s), Vector::Ntp);
}

TEST(ClassifyResponse, TftpFromEphemeralPort) {
  // Full block from the server's transfer port to the client's port.
  VectorMatch m = classifyResponse(udpDatagram(50123, 40001, tftpData(7, 512)).s);
  EXPECT_EQ(m.vector, Vector::Tftp);
  EXPECT_EQ(m.service_port, 50123);
  EXPECT_EQ(m.evidence, evidence::kPayloadMatch);
  // Block 0 after a wrap is still a full block.
  EXPECT_EQ(classifyResponse(udpDatagram(50123, 40001, tftpData(0, 512)).s).vector, Vector::Tftp);
  // Short final block: too weak on its own.
  EXPECT_EQ(classifyResponse(udpDatagram(50123, 40001, tftpData(9, 100)).s).vector, Vector::None);
  EXPECT_EQ(classifyResponse(udpDatagram(50123, 40001, tftpData(9, 513)).s).vector, Vector::None);
  // Well-formed ERROR.
  m = classifyResponse(udpDatagram(50123, 40001, tftpError(1, "File not found")).s);
  EXPECT_EQ(m.vector, Vector::Tftp);
  EXPECT_EQ(m.service_port, 50123);
  EXPECT_EQ(classifyResponse(udpDatagram(50123, 40001, tftpError(0, "")).s).vector, Vector::Tftp);
  // ERROR with an unknown code, binary message, or no terminator.
  EXPECT_EQ(classifyResponse(udpDatagram(50123, 40001, tftpError(9, "x")).s).vector, Vector::None);
  Bytes binary = tftpError(2, "Access violation");
  binary[6] = 0x01;
  EXPECT_EQ(classifyResponse(udpDatagram(50123, 40001, binary).s).vector, Vector::None);
  Bytes unterminated = tftpError(2, "Access violation");
  unterminated.back() = '!';
  EXPECT_EQ(classifyResponse(udpDatagram(50123, 40001, unterminated).s).vector, Vector::None);
  // Low ports on either side, or a destination that is a known service: not TFTP.
  EXPECT_EQ(classifyResponse(udpDatagram(50123, 80, tftpData(7, 512)).s).vector, Vector::None);
  EXPECT_EQ(classifyResponse(udpDatagram(800, 40001, tftpData(7, 512)).s).vector, Vector::None);
  EXPECT_EQ(classifyResponse(udpDatagram(50123, 11211, tftpData(7, 512)).s).vector, Vector::None);
  // Opcode 3 but cut by the snaplen: the wire length still says 516.
  EXPECT_EQ(classifyResponse(udpDatagram(50123, 40001, tftpData(7, 512), 60).s).vector,
            Vector::Tftp);
  // Requests: RRQ to port 69.
  Bytes rrq = {0, 1};
  test::append(rrq, test::text("boot.img"));
  rrq.push_back(0);
  const Datagram req = udpDatagram(40001, 69, rrq);
  EXPECT_EQ(classifyRequest(req.s), Vector::Tftp);
  EXPECT_EQ(classifyResponse(req.s).vector, Vector::None);
}

TEST(ClassifyResponse, NotUdpOrNoPorts) {
  // TCP from port 53 and ICMP are not vectors.
  test::V4 h;
  h.proto = ipproto::kTcp;
  Bytes f = test::ipv4(h, test::tcp(53, 40000, 0x12, kDnsResponse));
  PacketSummary s;
  ASSERT_EQ(decodeFrame(linktype::kRaw, test::span(f), f.size(), 0, s), DecodeStatus::Ok);
  EXPECT_EQ(classifyResponse(s).vector, Vector::None);
  EXPECT_EQ(classifyRequest(s), Vector::None);
  h.proto = ipproto::kIcmp;
  f = test::ipv4(h, Bytes(36, 0));
  ASSERT_EQ(decodeFrame(linktype::kRaw, test::span(f), f.size(), 0, s), DecodeStatus::Ok);
  EXPECT_EQ(classifyResponse(s).vector, Vector::None);
  EXPECT_EQ(classifyRequest(s), Vector::None);

  // Fragmented DNS response: the first fragment classifies, later ones carry no ports.
  h = {};
  h.frag = 0x2000;
  const Bytes u = test::udp(53, 40000, test::cat(kDnsResponse, Bytes(1500, 0)));
  f = test::ipv4(h, Bytes(u.begin(), u.begin() + 1480));
  ASSERT_EQ(decodeFrame(linktype::kRaw, test::span(f), f.size(), 0, s), DecodeStatus::Ok);
  VectorMatch m = classifyResponse(s);
  EXPECT_EQ(m.vector, Vector::Dns);
  EXPECT_EQ(m.evidence, evidence::kPayloadMatch);
  h.frag = 185;
  f = test::ipv4(h, Bytes(u.begin() + 1480, u.end()));
  ASSERT_EQ(decodeFrame(linktype::kRaw, test::span(f), f.size(), 0, s), DecodeStatus::Ok);
  ASSERT_TRUE(s.isNonFirstFragment());
  EXPECT_EQ(classifyResponse(s).vector, Vector::None);
  EXPECT_EQ(classifyRequest(s), Vector::None);

  // Same DNS response over IPv6.
  f = test::ipv6(17, test::udp(53, 40000, kDnsResponse));
  ASSERT_EQ(decodeFrame(linktype::kRaw, test::span(f), f.size(), 0, s), DecodeStatus::Ok);
  EXPECT_EQ(classifyResponse(s).vector, Vector::Dns);
  // An unknown source port is no vector here (the caller may treat it as generic UDP).
  EXPECT_EQ(classifyResponse(udpDatagram(27015, 50000, Bytes(100, 1)).s).vector, Vector::None);
}

TEST(ClassifyResponse, TextServicesCheckTheFirst32Bytes) {
  // Chargen/QOTD need 8+ bytes, and each of the first 32 (or all, if fewer) must be text.
  for (std::size_t n = 0; n <= 48; ++n) {
    Bytes text(n);
    for (std::size_t i = 0; i < n; ++i) text[i] = static_cast<std::uint8_t>(' ' + (i * 7) % 95);
    if (n > 3) text[3] = '\r';
    if (n > 17) text[17] = '\n';
    if (n > 30) text[30] = '\t';
    const std::uint8_t clean = n >= 8 ? evidence::kPayloadMatch : evidence::kPortOnly;
    EXPECT_EQ(classifyResponse(udpDatagram(19, 40000, text).s).evidence, clean) << n;
    for (std::size_t bad_at = 0; bad_at < n; ++bad_at) {
      for (std::uint8_t bad : {0x00, 0x08, 0x0B, 0x1F, 0x7F, 0x80, 0xFF}) {
        Bytes b = text;
        b[bad_at] = bad;
        const std::uint8_t want = bad_at < 32 ? evidence::kPortOnly : clean;
        EXPECT_EQ(classifyResponse(udpDatagram(17, 40000, b).s).evidence, want)
            << "length " << n << ", byte " << int{bad} << " at " << bad_at;
      }
    }
  }
}

TEST(ClassifyRequest, OnlyServicePortsNameAVector) {
  // Every destination port: the named vectors' own ports and nothing else.
  PacketSummary s;
  s.ip_proto = ipproto::kUdp;
  s.flags = pktflag::kHasPorts;
  std::size_t named = 0;
  for (std::uint32_t port = 0; port <= 0xFFFF; ++port) {
    s.dst_port = static_cast<std::uint16_t>(port);
    const Vector v = classifyRequest(s);
    if (v == Vector::None) continue;
    ++named;
    EXPECT_EQ(vectorServicePort(v), port) << vectorName(v);
  }
  EXPECT_EQ(named, static_cast<std::size_t>(Vector::GenericUdp) - 1);
}

TEST(Classify, SameAsResponseAndRequestApart) {
  std::vector<Bytes> payloads = {kMemcachedStats,
                                 kDnsResponse,
                                 kDnsQuery,
                                 ntpMode7(true, 42),
                                 ntpClient(),
                                 kSsdpResponse,
                                 kSsdpSearch,
                                 kCldapResponse,
                                 kSnmpResponse,
                                 kSnmpGetBulk,
                                 kChargen,
                                 kQotd,
                                 kPortmapReply,
                                 kRipv1Response,
                                 mssqlResponse(),
                                 kWsDiscovery,
                                 kCoapContent,
                                 kCoapGet,
                                 ubiquitiResponse(),
                                 tftpData(7, 512),
                                 tftpError(1, "File not found"),
                                 Bytes{},
                                 Bytes(100, 0x80)};
  const std::uint16_t ports[] = {11211, 53,  123,  1900, 389,  19,    161,   137,
                                 111,   520, 1434, 3702, 3283, 5683,  10001, 17,
                                 69,    0,   1023, 1024, 3074, 27015, 40000, 65535};
  std::size_t responses = 0;
  std::size_t requests = 0;
  for (const Bytes& payload : payloads) {
    for (std::uint16_t sport : ports) {
      for (std::uint16_t dport : ports) {
        for (std::size_t snap : {std::size_t{0}, std::size_t{60}}) {
          const Datagram d = udpDatagram(sport, dport, payload, snap);
          const VectorMatch m = classifyResponse(d.s);
          const Vector req = classifyRequest(d.s);
          const Classification c = classify(d.s);
          EXPECT_EQ(c.response.vector, m.vector) << sport << " -> " << dport;
          EXPECT_EQ(c.response.service_port, m.service_port) << sport << " -> " << dport;
          EXPECT_EQ(c.response.evidence, m.evidence) << sport << " -> " << dport;
          EXPECT_EQ(c.request, req) << sport << " -> " << dport;
          // Without evidence, and the evidence asked for afterwards, it is the same again;
          // and no payload shows a bit possibleEvidence() leaves out.
          const Classification lazy = classifyWithoutEvidence(d.s);
          EXPECT_EQ(lazy.response.vector, m.vector) << sport << " -> " << dport;
          EXPECT_EQ(lazy.response.service_port, m.service_port) << sport << " -> " << dport;
          EXPECT_EQ(lazy.response.evidence, evidence::kPortOnly) << sport << " -> " << dport;
          EXPECT_EQ(lazy.request, req) << sport << " -> " << dport;
          EXPECT_EQ(payloadEvidence(m.vector, d.s), m.evidence) << sport << " -> " << dport;
          EXPECT_EQ(m.evidence & ~possibleEvidence(m.vector), 0) << sport << " -> " << dport;
          responses += m.vector != Vector::None;
          requests += req != Vector::None;
        }
      }
    }
  }
  EXPECT_GT(responses, 1000u);
  EXPECT_GT(requests, 1000u);
  // Not UDP, or no ports: nothing either way.
  PacketSummary s;
  s.ip_proto = ipproto::kTcp;
  s.flags = pktflag::kHasPorts;
  s.src_port = 53;
  s.dst_port = 53;
  Classification c = classify(s);
  EXPECT_EQ(c.response.vector, Vector::None);
  EXPECT_EQ(c.request, Vector::None);
  s.ip_proto = ipproto::kUdp;
  s.flags = pktflag::kFragment;
  c = classify(s);
  EXPECT_EQ(c.response.vector, Vector::None);
  EXPECT_EQ(c.request, Vector::None);
}

// A flow record's key has no payload: classifyPorts() is classify() on such a datagram,
// for every source port against a spread of destination ports and back, UDP or not.
TEST(Classify, PortsAloneAsClassifyWithoutPayload) {
  const std::uint16_t some[] = {0, 17, 19, 53, 69, 123, 161, 1024, 11211, 40000, 65535};
  std::size_t named = 0;
  for (const std::uint8_t proto : {ipproto::kUdp, ipproto::kTcp}) {
    for (const std::uint8_t flags :
         {pktflag::kHasPorts,
          std::uint8_t{pktflag::kHasPorts | pktflag::kFirstFragment | pktflag::kFragment},
          pktflag::kFragment}) {
      for (std::uint32_t a = 0; a <= 0xFFFF; ++a) {
        for (const std::uint16_t b : some) {
          for (const bool a_is_source : {true, false}) {
            PacketSummary p;
            p.ip_proto = proto;
            p.flags = flags;
            p.src_port = a_is_source ? static_cast<std::uint16_t>(a) : b;
            p.dst_port = a_is_source ? b : static_cast<std::uint16_t>(a);
            p.ip_bytes = 1428;
            p.payload_wire_len = 1400;  // on the wire; none of it here
            const Classification c = classify(p);
            const PortVectors v = classifyPorts(p.ip_proto, p.flags, p.src_port, p.dst_port);
            ASSERT_EQ(v.response, c.response.vector) << p.src_port << " -> " << p.dst_port;
            ASSERT_EQ(v.request, c.request) << p.src_port << " -> " << p.dst_port;
            named += v.response != Vector::None;
          }
        }
      }
    }
  }
  EXPECT_GT(named, 100u);
}

TEST(VectorNames, RoundTripAndPorts) {
  std::set<std::string> names;
  for (int i = 1; i < static_cast<int>(Vector::kCount); ++i) {
    const auto v = static_cast<Vector>(i);
    const std::string name = vectorName(v);
    names.insert(name);
    Vector parsed = Vector::None;
    std::uint16_t port = 1;
    if (v == Vector::GenericUdp) {
      EXPECT_EQ(name, "udp");
      EXPECT_EQ(vectorServicePort(v), 0);
      continue;
    }
    ASSERT_TRUE(parseVectorName(name, &parsed, &port)) << name;
    EXPECT_EQ(parsed, v);
    EXPECT_EQ(port, vectorServicePort(v));
    EXPECT_NE(port, 0) << name;
    EXPECT_EQ(vectorLabel(v, 9999), name);
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(Vector::kCount) - 1);
  EXPECT_STREQ(vectorName(Vector::WsDiscovery), "ws-discovery");
  EXPECT_STREQ(vectorName(Vector::Memcached), "memcached");
  EXPECT_EQ(vectorServicePort(Vector::None), 0);
  EXPECT_EQ(vectorServicePort(Vector::Memcached), 11211);
  EXPECT_EQ(vectorServicePort(Vector::Ubiquiti), 10001);
  EXPECT_EQ(vectorServicePort(Vector::Tftp), 69);
  EXPECT_EQ(vectorLabel(Vector::GenericUdp, 500), "udp:500");
}

TEST(VectorNames, Parse) {
  Vector v = Vector::None;
  std::uint16_t port = 0;
  ASSERT_TRUE(parseVectorName("udp:500", &v, &port));
  EXPECT_EQ(v, Vector::GenericUdp);
  EXPECT_EQ(port, 500);
  ASSERT_TRUE(parseVectorName("udp:65535", &v, &port));
  EXPECT_EQ(port, 65535);
  ASSERT_TRUE(parseVectorName("NTP", &v, &port));
  EXPECT_EQ(v, Vector::Ntp);
  EXPECT_EQ(port, 123);
  EXPECT_TRUE(parseVectorName("dns", nullptr, nullptr));
  for (const char* bad : {"", "none", "udp", "udp:", "udp:0", "udp:65536", "udp:-1", "udp:5x",
                          "udp: 5", "dns ", "ws_discovery", "memcache", "tcp:80"}) {
    v = Vector::Dns;
    port = 7;
    EXPECT_FALSE(parseVectorName(bad, &v, &port)) << bad;
    EXPECT_EQ(v, Vector::Dns) << "untouched on failure: " << bad;
    EXPECT_EQ(port, 7);
  }
}

}  // namespace
}  // namespace bw
