// Discovery protocols: SSDP, WS-Discovery, CoAP, Ubiquiti and NetBIOS. Requests as tshark
// reads them; real datagrams from the shared captures (nDPI and suricata-verify SSDP
// searches and NOTIFYs, nDPI's UniFi gateway announcements); replies shaped like what
// devices send, checked with tshark before the probe reads them; hostile variants.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "audit/probe_factories.h"
#include "probe_test_support.h"

namespace bw::audit {
namespace {

using test::Bytes;

// --- SSDP --------------------------------------------------------------------------------

TEST(SsdpProbe, RequestIsAnMSearchForAll) {
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  test::TempDir dir;
  const std::string pcap = dir.file("q.pcap");
  test::writePcap(pcap, {{40000, 1900, makeSsdpProbe()->request(0), false}});
  const auto rows = test::tsharkFields(
      pcap, "ssdp", {"http.request.method", "http.request.uri", "http.request.line"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "M-SEARCH");
  EXPECT_EQ(rows[0][1], "*");
  EXPECT_NE(rows[0][2].find("ST: ssdp:all"), std::string::npos);
  EXPECT_NE(rows[0][2].find("MAN: \"ssdp:discover\""), std::string::npos);
}

TEST(SsdpProbe, CapturedSearchesAndNotifiesAreNotReplies) {
  const std::vector<std::string> files = {"ndpi/ssdp-m-search-ua.pcap", "ndpi/1kxun.pcap",
                                          "suricata-verify/sip-ssdp-pm__ssdp.pcap"};
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  const auto probe = makeSsdpProbe();
  ReplyInfo info;
  std::size_t searches = 0, notifies = 0;
  for (const std::string& f : files) {
    if (!std::filesystem::exists(test::kCaptures + f)) continue;
    for (const auto& row :
         test::tsharkFields(test::kCaptures + f, "ssdp", {"udp.payload", "http.request.method"})) {
      probe->parse(test::span(test::fromHex(row[0])), 0, info);
      searches += row[1] == "M-SEARCH";
      notifies += row[1] == "NOTIFY";
    }
  }
  if (searches + notifies == 0) GTEST_SKIP() << "no SSDP captures under " << test::kCaptures;
  EXPECT_FALSE(info.positive);
  EXPECT_GT(notifies, 0u);
  EXPECT_EQ(info.details["rejected"]["notify"], notifies);
  EXPECT_EQ(info.details["rejected"]["not_response"], searches);
}

std::string ssdpReply(std::string_view st) {
  return "HTTP/1.1 200 OK\r\n"
         "CACHE-CONTROL: max-age=120\r\n"
         "ST: " +
         std::string(st) +
         "\r\n"
         "USN: uuid:7f4d0c2e-1dd2-11b2-a5e8-0123456789ab::" +
         std::string(st) +
         "\r\n"
         "EXT:\r\n"
         "SERVER: Linux/3.14 UPnP/1.1 MiniUPnPd/2.2.1\r\n"
         "LOCATION: http://192.168.1.1:5000/rootDesc.xml\r\n"
         "\r\n";
}

TEST(SsdpProbe, RepliesReadBackByTshark) {
  const std::vector<std::string> targets = {
      "upnp:rootdevice", "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
      "urn:schemas-upnp-org:service:WANIPConnection:1", "upnp:rootdevice"};
  std::vector<Bytes> replies;
  for (const std::string& st : targets) replies.push_back(test::bytesOf(ssdpReply(st)));
  if (test::haveTool("tshark")) {
    test::TempDir dir;
    const std::string pcap = dir.file("r.pcap");
    std::vector<test::Datagram> d;
    for (const Bytes& r : replies) d.push_back({1900, 40000, r, true});
    test::writePcap(pcap, d);
    const auto rows =
        test::tsharkFields(pcap, "ssdp", {"http.response.code", "http.server", "http.location"});
    ASSERT_EQ(rows.size(), replies.size());
    for (const auto& row : rows) {
      EXPECT_EQ(row[0], "200");
      EXPECT_EQ(row[1], "Linux/3.14 UPnP/1.1 MiniUPnPd/2.2.1");
      EXPECT_EQ(row[2], "http://192.168.1.1:5000/rootDesc.xml");
    }
  }
  const auto probe = makeSsdpProbe();
  const ReplyInfo info = test::parseAll(*probe, replies, 0);
  EXPECT_TRUE(info.positive);
  EXPECT_FALSE(info.complete);  // ssdp:all replies are not counted in advance
  EXPECT_EQ(info.details["responses"], 4);
  EXPECT_EQ(info.details["st"].size(), 3u);  // distinct search targets
  EXPECT_EQ(info.version, "Linux/3.14 UPnP/1.1 MiniUPnPd/2.2.1");
  EXPECT_EQ(info.details["location"], "http://192.168.1.1:5000/rootDesc.xml");
}

TEST(SsdpProbe, HostileReplies) {
  const auto probe = makeSsdpProbe();
  EXPECT_FALSE(test::parseOne(*probe, probe->request(0), 0).positive);
  EXPECT_FALSE(test::parseOne(*probe, test::bytesOf("HTTP/1.1 404 Not Found\r\n\r\n"), 0).positive);
  EXPECT_FALSE(
      test::parseOne(*probe, test::bytesOf("HTTP/1.1 200 OK\r\n\r\nST: x\r\n"), 0).positive);
  EXPECT_FALSE(test::parseOne(*probe, test::bytesOf("HTTP/1.1 200"), 0).positive);
  EXPECT_FALSE(test::parseOne(*probe, {}, 0).positive);
  // Headers past the first 64 lines are not read.
  std::string padded = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 100; ++i) padded += "X-Pad: " + std::to_string(i) + "\r\n";
  padded += "ST: upnp:rootdevice\r\n\r\n";
  EXPECT_FALSE(test::parseOne(*probe, test::bytesOf(padded), 0).positive);
  // The same reply 10,000 times: the details stay small.
  ReplyInfo info;
  const Bytes r = test::bytesOf(ssdpReply("upnp:rootdevice"));
  for (int i = 0; i < 10000; ++i) probe->parse(test::span(r), 0, info);
  EXPECT_LT(info.details.dump().size(), 1000u);
}

// --- WS-Discovery ------------------------------------------------------------------------

std::string probeMatches(std::string_view relates_to) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
         "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://www.w3.org/2003/05/soap-envelope\" "
         "xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" "
         "xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" "
         "xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\">"
         "<SOAP-ENV:Header>"
         "<wsa:MessageID>uuid:1e0b7a3c-4f2d-4c8e-9a61-5b2f0c7d9e11</wsa:MessageID>"
         "<wsa:RelatesTo>" +
         std::string(relates_to) +
         "</wsa:RelatesTo>"
         "<wsa:To SOAP-ENV:mustUnderstand=\"true\">"
         "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>"
         "<wsa:Action SOAP-ENV:mustUnderstand=\"true\">"
         "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>"
         "</SOAP-ENV:Header>"
         "<SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch>"
         "<wsa:EndpointReference><wsa:Address>urn:uuid:2419d68a-2dd2-21b2-a205-ac"
         "cc8e0a0b0c</wsa:Address></wsa:EndpointReference>"
         "<d:Types>dn:NetworkVideoTransmitter</d:Types>"
         "<d:Scopes>onvif://www.onvif.org/type/video_encoder "
         "onvif://www.onvif.org/hardware/DS-2CD2143G0-I onvif://www.onvif.org/name/Camera1 "
         "onvif://www.onvif.org/location/city/hangzhou</d:Scopes>"
         "<d:XAddrs>http://192.168.1.64/onvif/device_service</d:XAddrs>"
         "<d:MetadataVersion>10</d:MetadataVersion>"
         "</d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>";
}

// The MessageID our request carries, as tshark's XML dissector reads it.
std::string requestMessageId(std::uint16_t token, std::string* tags) {
  test::TempDir dir;
  const std::string pcap = dir.file("q.pcap");
  test::writePcap(pcap, {{40000, 3702, makeWsDiscoveryProbe()->request(token), false}});
  const auto rows =
      test::tsharkFields(pcap, "xml", {"xml.tag", "xml.cdata"}, "--enable-heuristic xml_udp");
  if (rows.empty()) return {};
  *tags = rows[0][0];
  for (const std::string& v : test::split(rows[0][1], ',')) {
    if (v.rfind("urn:uuid:", 0) == 0) return v;
  }
  return {};
}

TEST(WsDiscoveryProbe, ProbeAndProbeMatches) {
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  const std::uint16_t token = 0xA11C;
  std::string tags;
  const std::string id = requestMessageId(token, &tags);
  ASSERT_FALSE(id.empty()) << "tshark found no MessageID in the request";
  EXPECT_NE(tags.find("<wsd:Probe/>"), std::string::npos);
  EXPECT_NE(tags.find("<wsa:MessageID>"), std::string::npos);
  std::string other_tags;
  ASSERT_NE(requestMessageId(token + 1, &other_tags), id);  // the token is in the id

  const Bytes reply = test::bytesOf(probeMatches(id));
  test::TempDir dir;
  const std::string pcap = dir.file("r.pcap");
  test::writePcap(pcap, {{3702, 40000, reply, true}});
  const auto rows =
      test::tsharkFields(pcap, "xml", {"xml.tag", "_ws.expert"}, "--enable-heuristic xml_udp");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NE(rows[0][0].find("<d:ProbeMatches>"), std::string::npos);
  EXPECT_EQ(rows[0][1], "");

  const auto probe = makeWsDiscoveryProbe();
  ReplyInfo info = test::parseOne(*probe, reply, token);
  EXPECT_TRUE(info.positive);
  EXPECT_TRUE(info.complete);
  EXPECT_EQ(info.details["matches"], 1);
  EXPECT_EQ(info.details["types"], "dn:NetworkVideoTransmitter");
  EXPECT_EQ(info.details["xaddrs"], "http://192.168.1.64/onvif/device_service");
  EXPECT_EQ(info.details["hardware"], "DS-2CD2143G0-I");
  EXPECT_EQ(info.details["name"], "Camera1");

  // Someone else's probe, our own probe, a fault, a Hello, and every truncation.
  info = test::parseOne(*probe, reply, token + 1);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["rejected"]["wrong_id"], 1);
  info = test::parseOne(*probe, probe->request(token), token);
  EXPECT_EQ(info.details["rejected"]["not_response"], 1);
  std::string fault = probeMatches(id);
  fault.insert(fault.find("<SOAP-ENV:Body>") + 15, "<SOAP-ENV:Fault></SOAP-ENV:Fault>");
  EXPECT_FALSE(test::parseOne(*probe, test::bytesOf(fault), token).positive);
  std::string hello = probeMatches(id);
  for (std::size_t at; (at = hello.find("ProbeMatch")) != std::string::npos;) {
    hello.replace(at, 10, "Hello");
  }
  EXPECT_FALSE(test::parseOne(*probe, test::bytesOf(hello), token).positive);
  const std::size_t body = probeMatches(id).find("<SOAP-ENV:Body>");
  for (std::size_t n = 0; n < body + 20; ++n) {
    const Bytes cut(reply.begin(), reply.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(test::parseOne(*probe, cut, token).positive) << n;
  }
}

TEST(WsDiscoveryProbe, TagSoupStaysLinear) {
  const auto probe = makeWsDiscoveryProbe();
  std::string soup;
  while (soup.size() < 60000) soup += "<a:ProbeMatches><";
  const auto start = std::chrono::steady_clock::now();
  ReplyInfo info = test::parseOne(*probe, test::bytesOf("<Envelope>" + soup), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_TRUE(info.positive);  // an envelope with ProbeMatches and no RelatesTo
  EXPECT_FALSE(test::parseOne(*probe, test::bytesOf(std::string(60000, '<')), 1).positive);
}

// --- CoAP --------------------------------------------------------------------------------

Bytes coapContent(std::uint8_t type, std::uint16_t mid, std::uint16_t token,
                  std::string_view payload, std::uint8_t code = 0x45, bool more = false) {
  Bytes m = {static_cast<std::uint8_t>(0x40 | type << 4 | 2),
             code,
             static_cast<std::uint8_t>(mid >> 8),
             static_cast<std::uint8_t>(mid),
             static_cast<std::uint8_t>(token >> 8),
             static_cast<std::uint8_t>(token)};
  m.push_back(0xC1);  // Content-Format (12), 1 byte
  m.push_back(40);    // application/link-format
  if (more) {
    m.push_back(0xB1);  // Block2 (23 = 12 + 11), 1 byte: block 0, more, 64 bytes
    m.push_back(0x0A);
  }
  if (!payload.empty()) {
    m.push_back(0xFF);
    m.insert(m.end(), payload.begin(), payload.end());
  }
  return m;
}

constexpr std::string_view kLinks =
    "</.well-known/core>;ct=40,</sensors/temp>;rt=\"temperature-c\";if=\"sensor\","
    "</sensors/light>;rt=\"light-lux\";if=\"sensor\",</actuators/led>;if=\"actuator\"";

TEST(CoapProbe, RequestAndContentReadByTshark) {
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  const std::uint16_t token = 0x5A17;
  const auto probe = makeCoapProbe();
  const Bytes reply = coapContent(2, token, token, kLinks);
  test::TempDir dir;
  const std::string pcap = dir.file("c.pcap");
  test::writePcap(pcap, {{40000, 5683, probe->request(token), false}, {5683, 40000, reply, true}});
  const auto rows = test::tsharkFields(
      pcap, "coap",
      {"coap.type", "coap.code", "coap.mid", "coap.token", "coap.opt.uri_path_recon",
       "coap.opt.ctype", "coap.payload_length", "_ws.expert"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "0");  // CON
  EXPECT_EQ(rows[0][1], "1");  // GET
  EXPECT_EQ(rows[0][2], std::to_string(token));
  EXPECT_EQ(rows[0][3], "5a17");
  EXPECT_EQ(rows[0][4], "/.well-known/core");
  EXPECT_EQ(rows[0][7], "");
  EXPECT_EQ(rows[1][0], "2");   // ACK
  EXPECT_EQ(rows[1][1], "69");  // 2.05 Content
  EXPECT_EQ(rows[1][3], "5a17");
  EXPECT_EQ(rows[1][6], std::to_string(kLinks.size()));

  const ReplyInfo info = test::parseOne(*probe, reply, token);
  EXPECT_TRUE(info.positive);
  EXPECT_EQ(info.details["code"], "2.05");
  EXPECT_EQ(info.details["content_format"], 40);
  EXPECT_EQ(info.details["resource_count"], 4);
  EXPECT_EQ(info.details["resources"][1], "/sensors/temp");
  EXPECT_FALSE(info.details.contains("more_blocks"));
}

TEST(CoapProbe, SeparateResponsesErrorsAndHostileBytes) {
  const std::uint16_t token = 0x0102;
  const auto probe = makeCoapProbe();
  // An empty ACK, then the response as a CON with a new message id and our token.
  ReplyInfo info;
  probe->parse(test::span(Bytes{0x60, 0x00, 0x01, 0x02}), token, info);
  EXPECT_FALSE(info.positive);
  probe->parse(test::span(coapContent(0, 0x7777, token, kLinks, 0x45, true)), token, info);
  EXPECT_TRUE(info.positive);
  EXPECT_EQ(info.details["more_blocks"], true);

  info = test::parseOne(*probe, coapContent(2, token, token, "", 0x84), token);  // 4.04
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["code"], "4.04");
  info = test::parseOne(*probe, Bytes{0x70, 0x00, 0x01, 0x02}, token);  // RST
  EXPECT_EQ(info.details["rejected"]["reset"], 1);
  info = test::parseOne(*probe, probe->request(token), token);
  EXPECT_EQ(info.details["rejected"]["not_response"], 1);
  EXPECT_FALSE(test::parseOne(*probe, coapContent(2, token, token ^ 1, kLinks), token).positive);
  EXPECT_FALSE(test::parseOne(*probe, coapContent(2, token ^ 1, token, kLinks), token).positive);
  const Bytes good = coapContent(2, token, token, kLinks);
  for (std::size_t n = 0; n < 9; ++n) {  // up to the payload marker
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(test::parseOne(*probe, cut, token).positive) << n;
  }
  // An option length of 14 (two extension bytes) promising 65804 bytes, and nibble 15.
  Bytes huge = coapContent(2, token, token, "");
  huge.push_back(0x0E);
  huge.push_back(0xFF);
  huge.push_back(0xFF);
  EXPECT_FALSE(test::parseOne(*probe, huge, token).positive);
  Bytes reserved = coapContent(2, token, token, "");
  reserved.push_back(0xF1);
  EXPECT_FALSE(test::parseOne(*probe, reserved, token).positive);
}

// --- Ubiquiti ----------------------------------------------------------------------------

Bytes ubntField(std::uint8_t type, const Bytes& value) {
  Bytes f = {type, static_cast<std::uint8_t>(value.size() >> 8),
             static_cast<std::uint8_t>(value.size())};
  f.insert(f.end(), value.begin(), value.end());
  return f;
}

TEST(UbiquitiProbe, CapturedAnnouncements) {
  const std::string path = test::kCaptures + "ndpi/ubntac2.pcap";
  if (!test::haveTool("tshark") || !std::filesystem::exists(path)) {
    GTEST_SKIP() << "needs tshark and " << path;
  }
  const auto rows = test::tsharkFields(path, "udp.port == 10001", {"udp.payload"});
  ASSERT_EQ(rows.size(), 8u);
  const auto probe = makeUbiquitiProbe();
  for (const auto& row : rows) {
    const ReplyInfo info = test::parseOne(*probe, test::fromHex(row[0]), 0);
    EXPECT_TRUE(info.positive);
    // Read off the capture's hex dump: a UniFi Security Gateway named "ubnt".
    EXPECT_EQ(info.details["hostname"], "ubnt");
    EXPECT_EQ(info.details["product"], "UGW3");
    EXPECT_EQ(info.details["mac"], "80:2a:a8:8d:69:2b");
    EXPECT_EQ(info.details["addresses"], nlohmann::json({"192.168.2.21", "192.168.1.1"}));
    EXPECT_EQ(info.version, "UniFiSecurityGateway.ER-e120.v4.3.33.4936086.161203.2031");
    EXPECT_EQ(info.details["protocol_version"], 2);
  }
}

TEST(UbiquitiProbe, V1ReplyReadByTshark) {
  const Bytes fields = [] {
    Bytes f;
    for (const Bytes& p :
         {ubntField(0x02, {0x24, 0xa4, 0x3c, 0x01, 0x02, 0x03, 10, 0, 0, 7}),
          ubntField(0x01, {0x24, 0xa4, 0x3c, 0x01, 0x02, 0x03}),
          ubntField(0x0A, {0x00, 0x01, 0x51, 0x80}), ubntField(0x0B, test::bytesOf("tower-ap-3")),
          ubntField(0x0C, test::bytesOf("NSM5")),
          ubntField(0x03, test::bytesOf("XW.ar934x.v6.3.6.33330.210818.1900")),
          ubntField(0x0D, test::bytesOf("wisp-backhaul"))}) {
      f.insert(f.end(), p.begin(), p.end());
    }
    return f;
  }();
  Bytes reply = {0x01, 0x00, static_cast<std::uint8_t>(fields.size() >> 8),
                 static_cast<std::uint8_t>(fields.size())};
  reply.insert(reply.end(), fields.begin(), fields.end());
  if (test::haveTool("tshark")) {
    test::TempDir dir;
    const std::string pcap = dir.file("u.pcap");
    test::writePcap(pcap, {{10001, 40000, reply, true}});
    const auto rows = test::tsharkFields(pcap, "ubdp",
                                         {"ubdp.version", "ubdp.hostname", "ubdp.product",
                                          "ubdp.firmware_full", "ubdp.ssid", "ubdp.uptime"},
                                         "-d udp.port==10001,ubdp");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0][0], "1");
    EXPECT_EQ(rows[0][1], "tower-ap-3");
    EXPECT_EQ(rows[0][2], "NSM5");
    EXPECT_EQ(rows[0][3], "XW.ar934x.v6.3.6.33330.210818.1900");
    EXPECT_EQ(rows[0][4], "wisp-backhaul");
    EXPECT_EQ(rows[0][5], "86400");
  }
  const auto probe = makeUbiquitiProbe();
  ReplyInfo info = test::parseOne(*probe, reply, 0);
  EXPECT_TRUE(info.positive);
  EXPECT_EQ(info.details["hostname"], "tower-ap-3");
  EXPECT_EQ(info.details["product"], "NSM5");
  EXPECT_EQ(info.details["essid"], "wisp-backhaul");
  EXPECT_EQ(info.details["uptime_s"], 86400);
  EXPECT_EQ(info.details["addresses"], nlohmann::json({"10.0.0.7"}));
  EXPECT_EQ(info.version, "XW.ar934x.v6.3.6.33330.210818.1900");

  info = test::parseOne(*probe, probe->request(0), 0);
  EXPECT_EQ(info.details["rejected"]["not_response"], 1);
  for (std::size_t n = 0; n < reply.size(); ++n) {
    const Bytes cut(reply.begin(), reply.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(test::parseOne(*probe, cut, 0).positive) << n;
  }
  Bytes bad_field = reply;
  bad_field[4 + 1] = 0xFF;  // the first field claims 65290 bytes
  info = test::parseOne(*probe, bad_field, 0);
  EXPECT_FALSE(info.positive);
  EXPECT_FALSE(info.details.contains("hostname"));  // nothing kept from a malformed reply
}

// --- NetBIOS -----------------------------------------------------------------------------

Bytes nbstatReply(std::uint16_t id) {
  Bytes r = {static_cast<std::uint8_t>(id >> 8),
             static_cast<std::uint8_t>(id),
             0x84,
             0x00,
             0,
             0,
             0,
             1,
             0,
             0,
             0,
             0};
  const Bytes name = [] {  // "*" encoded, as the answer owner
    Bytes n = {0x20, 'C', 'K'};
    for (int i = 0; i < 30; ++i) n.push_back('A');
    n.push_back(0);
    return n;
  }();
  r.insert(r.end(), name.begin(), name.end());
  Bytes rdata = {3};
  auto entry = [&](std::string_view nb, std::uint8_t suffix, std::uint16_t flags) {
    std::string padded(nb);
    padded.resize(15, ' ');
    rdata.insert(rdata.end(), padded.begin(), padded.end());
    rdata.push_back(suffix);
    rdata.push_back(static_cast<std::uint8_t>(flags >> 8));
    rdata.push_back(static_cast<std::uint8_t>(flags));
  };
  entry("FILESERVER", 0x00, 0x0400);
  entry("FILESERVER", 0x20, 0x0400);
  entry("WORKGROUP", 0x00, 0x8400);
  const Bytes mac = {0x00, 0x0c, 0x29, 0xaa, 0xbb, 0xcc};
  rdata.insert(rdata.end(), mac.begin(), mac.end());
  rdata.resize(rdata.size() + 40, 0);  // the statistics block
  const Bytes tail = {0x00,
                      0x21,
                      0x00,
                      0x01,
                      0,
                      0,
                      0,
                      0,
                      static_cast<std::uint8_t>(rdata.size() >> 8),
                      static_cast<std::uint8_t>(rdata.size())};
  r.insert(r.end(), tail.begin(), tail.end());
  r.insert(r.end(), rdata.begin(), rdata.end());
  return r;
}

TEST(NetbiosProbe, NodeStatusReadByTshark) {
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  const std::uint16_t token = 0x0137;
  const auto probe = makeNetbiosProbe();
  const Bytes reply = nbstatReply(token);
  test::TempDir dir;
  const std::string pcap = dir.file("n.pcap");
  test::writePcap(pcap, {{40000, 137, probe->request(token), false}, {137, 40000, reply, true}});
  const auto rows = test::tsharkFields(
      pcap, "nbns",
      {"nbns.id", "nbns.flags.response", "nbns.type", "nbns.name", "nbns.number_of_names",
       "nbns.unit_id", "nbns.netbios_name", "_ws.expert"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "0x0137");
  EXPECT_EQ(rows[0][1], "0");
  EXPECT_EQ(rows[0][2], "33");  // NBSTAT
  EXPECT_EQ(rows[0][3].substr(0, 6), "*<00><");
  EXPECT_EQ(rows[0][7], "");
  EXPECT_EQ(rows[1][1], "1");
  EXPECT_EQ(rows[1][4], "3");
  EXPECT_EQ(rows[1][5], "00:0c:29:aa:bb:cc");
  EXPECT_EQ(rows[1][7], "");

  const ReplyInfo info = test::parseOne(*probe, reply, token);
  EXPECT_TRUE(info.positive);
  EXPECT_EQ(info.details["names"].size(), 3u);
  EXPECT_EQ(info.details["hostname"], "FILESERVER");
  EXPECT_EQ(info.details["workgroup"], "WORKGROUP");
  EXPECT_EQ(info.details["mac"], rows[1][5]);
  EXPECT_EQ(info.details["names"][2], "WORKGROUP<00> group");
}

TEST(NetbiosProbe, CapturedQueriesAndHostileReplies) {
  const auto probe = makeNetbiosProbe();
  const std::string path = test::kCaptures + "zeek/wikipedia.pcap";
  if (test::haveTool("tshark") && std::filesystem::exists(path)) {
    ReplyInfo info;
    for (const auto& row : test::tsharkFields(path, "nbns", {"udp.payload", "nbns.id"})) {
      const auto id = static_cast<std::uint16_t>(std::stoul(row[1], nullptr, 16));
      probe->parse(test::span(test::fromHex(row[0])), id, info);
    }
    EXPECT_FALSE(info.positive);  // name queries, not node status answers
    EXPECT_GT(info.details["rejected"]["not_response"], 5);
  }
  const Bytes good = nbstatReply(9);
  EXPECT_FALSE(test::parseOne(*probe, good, 10).positive);
  for (std::size_t n = 0; n < 12 + 34 + 10 + 1 + 3 * 18; ++n) {
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(test::parseOne(*probe, cut, 9).positive) << n;
  }
  Bytes many = good;
  many[12 + 34 + 10] = 0xFF;  // 255 names claimed in a 3-name table
  EXPECT_FALSE(test::parseOne(*probe, many, 9).positive);
  Bytes error = good;
  error[3] = 0x03;  // RCODE 3
  const ReplyInfo info = test::parseOne(*probe, error, 9);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["rcode"], 3);
}

}  // namespace
}  // namespace bw::audit
