#include "synth/service_payloads.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "synth/payload_encoding.h"

namespace bw::synth {

using namespace enc;  // NOLINT: local encoders keep the builders readable

namespace {

std::string hex(Rng& rng, int digits) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < digits; ++i) s += kHex[rng.below(16)];
  return s;
}

std::string uuid(Rng& rng) {
  return hex(rng, 8) + "-" + hex(rng, 4) + "-" + hex(rng, 4) + "-" + hex(rng, 4) + "-" +
         hex(rng, 12);
}

std::string upperName(Rng& rng, int n) {
  static constexpr std::string_view kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s;
  for (int i = 0; i < n; ++i) s += kChars[rng.below(kChars.size())];
  return s;
}

ResponseTemplate single(Payload p, std::uint16_t port, int id_offset = -1) {
  ResponseTemplate t;
  t.datagrams.push_back(std::move(p));
  t.source_port = port;
  t.id_offset = id_offset;
  return t;
}

// Adds datagrams from `make(i)` until their total reaches about `size` bytes.
template <typename Make>
ResponseTemplate repeatUntil(std::uint32_t size, std::uint16_t port, int id_offset, Make make) {
  ResponseTemplate t;
  t.source_port = port;
  t.id_offset = id_offset;
  std::size_t total = 0;
  for (std::size_t i = 0;; ++i) {
    Payload d = make(i);
    if (!t.datagrams.empty() && total + d.size() / 2 > size) break;
    total += d.size();
    t.datagrams.push_back(std::move(d));
  }
  return t;
}

}  // namespace

ResponseTemplate ssdpResponse(std::uint32_t size, Rng& rng) {
  static constexpr std::array<const char*, 8> kTypes = {
      "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
      "urn:schemas-upnp-org:service:Layer3Forwarding:1",
      "urn:schemas-upnp-org:device:WANDevice:1",
      "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1",
      "urn:schemas-upnp-org:device:WANConnectionDevice:1",
      "urn:schemas-upnp-org:service:WANIPConnection:1",
      "urn:schemas-upnp-org:service:WANPPPConnection:1",
      "urn:schemas-wifialliance-org:device:WFADevice:1"};
  static constexpr std::array<const char*, 3> kServers = {
      "Linux/3.14.0 UPnP/1.0 MiniUPnPd/1.9",
      "Linux, UPnP/1.0, Portable SDK for UPnP devices/1.6.19", "Custom/1.0 UPnP/1.0 Proc/Ver"};
  const std::string id = uuid(rng);
  const std::string location = "http://192.168." + std::to_string(rng.below(4)) +
                               ".1:" + std::to_string(1900 + rng.below(4) * 1000) + "/rootDesc.xml";
  const char* server = kServers[rng.below(kServers.size())];
  return repeatUntil(size, 1900, -1, [&](std::size_t i) {
    std::string st = i == 0   ? std::string("upnp:rootdevice")
                     : i == 1 ? "uuid:" + id
                              : std::string(kTypes[(i - 2) % kTypes.size()]);
    std::string text =
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
        "DATE: Wed, 28 Feb 2018 17:21:00 GMT\r\nEXT:\r\nLOCATION: " +
        location + "\r\nSERVER: " + server + "\r\nST: " + st + "\r\nUSN: uuid:" + id +
        (i == 1 ? std::string() : "::" + st) + "\r\n\r\n";
    return Payload(text.begin(), text.end());
  });
}

// CLDAP rootDSE answer as Active Directory sends it: a searchResEntry (0x64) and a
// searchResDone (0x65), each in a SEQUENCE with 4-byte long-form lengths.
ResponseTemplate cldapResponse(std::uint32_t size, Rng& rng) {
  const std::string host = "DC" + std::to_string(rng.range(1, 9));
  const std::string base = "DC=corp,DC=example,DC=com";
  std::vector<std::pair<std::string, std::vector<std::string>>> attrs = {
      {"currentTime", {"20180228172100.0Z"}},
      {"subschemaSubentry", {"CN=Aggregate,CN=Schema,CN=Configuration," + base}},
      {"dsServiceName",
       {"CN=NTDS Settings,CN=" + host +
        ",CN=Servers,CN=Default-First-Site-Name,CN=Sites,"
        "CN=Configuration," +
        base}},
      {"namingContexts",
       {base, "CN=Configuration," + base, "CN=Schema,CN=Configuration," + base,
        "DC=DomainDnsZones," + base, "DC=ForestDnsZones," + base}},
      {"defaultNamingContext", {base}},
      {"dnsHostName", {host + ".corp.example.com"}},
      {"ldapServiceName", {"corp.example.com:" + host + "$@CORP.EXAMPLE.COM"}},
      {"supportedLDAPVersion", {"3", "2"}},
      {"supportedSASLMechanisms", {"GSSAPI", "GSS-SPNEGO", "EXTERNAL", "DIGEST-MD5"}},
      {"supportedControl", {"1.2.840.113556.1.4.319", "1.2.840.113556.1.4.801"}},
  };
  const Bytes id = berInteger(rng.range(1, 127));
  auto encode = [&]() {
    Bytes list;
    for (const auto& [type, values] : attrs) {
      Bytes set;
      for (const auto& v : values) putBytes(set, berString(0x04, v));
      putBytes(list, berTlv(0x30, concat({berString(0x04, type), berTlv(0x31, set)})));
    }
    Bytes entry = berTlv(0x64, concat({berString(0x04, ""), berTlv(0x30, list, true)}), true);
    Bytes done =
        berTlv(0x65, concat({berInteger(0, 0x0a), berString(0x04, ""), berString(0x04, "")}));
    return concat(
        {berTlv(0x30, concat({id, entry}), true), berTlv(0x30, concat({id, done}), true)});
  };
  Payload p = encode();
  auto& controls = attrs.back().second;
  while (p.size() + 40 <= size) {
    const std::size_t add = (size - p.size() - 8) / 26;
    for (std::size_t i = 0; i < std::max<std::size_t>(1, add); ++i) {
      controls.push_back("1.2.840.113556.1.4." + std::to_string(rng.range(1000, 9999)));
    }
    p = encode();
  }
  return single(std::move(p), 389);
}

// RFC 864: lines of 72 printable characters, each starting one character further on.
ResponseTemplate chargenResponse(std::uint32_t size, Rng& rng) {
  Payload p;
  p.reserve(size + 74);
  const std::uint32_t start = rng.below(95);
  for (std::uint32_t line = 0; p.size() < size; ++line) {
    for (std::uint32_t j = 0; j < 72; ++j)
      p.push_back(static_cast<std::uint8_t>(32 + (start + line + j) % 95));
    p.push_back('\r');
    p.push_back('\n');
  }
  p.resize(std::max<std::uint32_t>(size, 1));
  return single(std::move(p), 19);
}

namespace {
Bytes snmpMessage(std::uint8_t pdu_tag, std::uint32_t request_id, std::uint32_t a, std::uint32_t b,
                  const Bytes& varbinds) {
  Bytes pdu =
      concat({berInteger(request_id), berInteger(a), berInteger(b), berTlv(0x30, varbinds)});
  return berTlv(0x30, concat({berInteger(1), berString(0x04, "public"), berTlv(pdu_tag, pdu)}));
}
Bytes varbind(std::string_view oid, const Bytes& value) {
  return berTlv(0x30, concat({berOid(oid), value}));
}
}  // namespace

// SNMPv2c GetResponse (0xa2) answering a GetBulk walk: system group, then interface rows.
ResponseTemplate snmpResponse(std::uint32_t size, Rng& rng) {
  const std::string name = "gw-" + std::to_string(rng.range(1, 99));
  Bytes vbs = concat({
      varbind("1.3.6.1.2.1.1.1.0",
              berString(0x04, "Linux " + name + " 2.6.36 #1 Fri Feb 2 09:15:38 CST 2018 mips")),
      varbind("1.3.6.1.2.1.1.2.0", berOid("1.3.6.1.4.1.8072.3.2.10")),
      varbind("1.3.6.1.2.1.1.3.0", berInteger(rng.range(100000, 900000000), 0x43)),
      varbind("1.3.6.1.2.1.1.4.0", berString(0x04, "root@localhost")),
      varbind("1.3.6.1.2.1.1.5.0", berString(0x04, name)),
      varbind("1.3.6.1.2.1.1.6.0", berString(0x04, "Unknown")),
      varbind("1.3.6.1.2.1.1.7.0", berInteger(72)),
  });
  const std::uint32_t request_id = rng.next() & 0x7fffffff;
  Payload p = snmpMessage(0xa2, request_id, 0, 0, vbs);
  // Interface rows (ifDescr, ifSpeed) of at most 56 bytes each, added in batches.
  for (std::uint32_t row = 1; p.size() + 64 <= size;) {
    const std::size_t batch = std::max<std::size_t>(1, (size - p.size() - 8) / 56);
    for (std::size_t i = 0; i < batch; ++i, ++row) {
      const std::string idx = std::to_string(row);
      putBytes(vbs, varbind("1.3.6.1.2.1.2.2.1.2." + idx, berString(0x04, "eth" + idx)));
      putBytes(vbs, varbind("1.3.6.1.2.1.2.2.1.5." + idx, berInteger(1000000000, 0x42)));
    }
    p = snmpMessage(0xa2, request_id, 0, 0, vbs);
  }
  return single(std::move(p), 161);
}

// NetBIOS name service NBSTAT (node status) response: one answer listing the node's names.
ResponseTemplate netbiosResponse(std::uint32_t size, Rng& rng) {
  const std::uint32_t names = std::clamp<std::uint32_t>(size > 103 ? (size - 103) / 18 : 1, 1, 255);
  const std::string host = "WIN-" + upperName(rng, 11);
  struct Name {
    std::string name;
    std::uint8_t suffix;
    std::uint16_t flags;
  };
  const std::array<Name, 6> kNames = {Name{host, 0x00, 0x0400}, Name{"WORKGROUP", 0x00, 0x8400},
                                      Name{host, 0x20, 0x0400}, Name{"WORKGROUP", 0x1e, 0x8400},
                                      Name{host, 0x03, 0x0400}, Name{"WORKGROUP", 0x1d, 0x0400}};
  Payload p;
  put16(p, 0);       // transaction id
  put16(p, 0x8400);  // response, authoritative
  put16(p, 0);
  put16(p, 1);
  put16(p, 0);
  put16(p, 0);
  put8(p, 0x20);
  putText(p, "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");  // "*" first-level encoded
  put8(p, 0);
  put16(p, 0x0021);  // NBSTAT
  put16(p, 0x0001);
  put32(p, 0);
  put16(p, 1 + names * 18 + 46);
  put8(p, names);
  for (std::uint32_t i = 0; i < names; ++i) {
    const Name& n = kNames[i % kNames.size()];
    std::string padded = i < kNames.size() ? n.name : "SVC" + std::to_string(i);
    padded.resize(15, ' ');
    putText(p, padded);
    put8(p, n.suffix);
    put16(p, n.flags);
  }
  put8(p, 0x00);  // unit id (MAC) and statistics
  for (int i = 0; i < 5; ++i) put8(p, rng.below(256));
  p.insert(p.end(), 40, 0);
  return single(std::move(p), 137, 0);
}

// ONC RPC reply to PMAPPROC_DUMP: the list of registered programs.
ResponseTemplate portmapResponse(std::uint32_t size, Rng& rng) {
  struct Prog {
    std::uint32_t prog, vers, prot, port;
  };
  const std::uint32_t statd = rng.range(32768, 60999);
  const std::uint32_t mountd = rng.range(32768, 60999);
  const std::array<Prog, 14> kProgs = {
      Prog{100000, 4, 6, 111}, {100000, 3, 6, 111},        {100000, 2, 6, 111},
      {100000, 4, 17, 111},    {100000, 3, 17, 111},       {100000, 2, 17, 111},
      {100024, 1, 17, statd},  {100024, 1, 6, statd},      {100005, 1, 17, mountd},
      {100005, 3, 6, mountd},  {100003, 3, 6, 2049},       {100003, 4, 6, 2049},
      {100227, 3, 6, 2049},    {100021, 4, 17, mountd + 1}};
  const std::uint32_t entries = std::max<std::uint32_t>(1, size > 28 ? (size - 28) / 20 : 1);
  Payload p;
  put32(p, rng.next() & 0xffff0000u);  // xid; low half patched per response
  put32(p, 1);                         // REPLY
  put32(p, 0);                         // MSG_ACCEPTED
  put32(p, 0);                         // verifier AUTH_NULL
  put32(p, 0);
  put32(p, 0);  // SUCCESS
  for (std::uint32_t i = 0; i < entries; ++i) {
    const Prog& g = kProgs[i % kProgs.size()];
    put32(p, 1);  // value follows
    put32(p, g.prog);
    put32(p, g.vers);
    put32(p, g.prot);
    put32(p, i < kProgs.size() ? g.port : rng.range(600, 1023));
  }
  put32(p, 0);
  return single(std::move(p), 111, 2);
}

// RIPv1 response (command 2, version 1): up to 25 routes of 20 bytes per datagram.
ResponseTemplate ripResponse(std::uint32_t size, Rng& rng) {
  const std::uint32_t routes = std::max<std::uint32_t>(1, size * 25 / 504);
  ResponseTemplate t;
  t.source_port = 520;
  for (std::uint32_t done = 0; done < routes;) {
    Payload d;
    put8(d, 2);
    put8(d, 1);
    put16(d, 0);
    for (int i = 0; i < 25 && done < routes; ++i, ++done) {
      put16(d, 2);  // AF_INET
      put16(d, 0);
      put32(d, (10u << 24) | (rng.below(256) << 16) | (rng.below(256) << 8));
      put32(d, 0);
      put32(d, 0);
      put32(d, rng.range(1, 15));
    }
    t.datagrams.push_back(std::move(d));
  }
  return t;
}

// SQL Server Resolution Service SVR_RESP: 0x05, little-endian length, instance list.
ResponseTemplate mssqlResponse(std::uint32_t size, Rng& rng) {
  const std::string host = "SQL-" + upperName(rng, 6);
  std::string text = "ServerName;" + host +
                     ";InstanceName;MSSQLSERVER;IsClustered;No;Version;12.0.2000.8;tcp;1433;;";
  for (int i = 1; text.size() + 3 < size; ++i) {
    const std::string inst = i == 1 ? "SQLEXPRESS" : "SQLEXPRESS" + std::to_string(i);
    std::string more = "ServerName;" + host + ";InstanceName;" + inst +
                       ";IsClustered;No;Version;10.50.1600.1;tcp;" +
                       std::to_string(rng.range(49152, 65535)) + ";np;\\\\" + host +
                       "\\pipe\\MSSQL$" + inst + "\\sql\\query;;";
    if (text.size() + 3 + more.size() > size) break;
    text += more;
  }
  Payload p;
  put8(p, 0x05);
  putLe16(p, static_cast<std::uint32_t>(text.size()));
  putText(p, text);
  return single(std::move(p), 1434);
}

// WS-Discovery ProbeMatches from an ONVIF camera.
ResponseTemplate wsDiscoveryResponse(std::uint32_t size, Rng& rng) {
  const std::string head =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP-ENV:Envelope "
      "xmlns:SOAP-ENV=\"http://www.w3.org/2003/05/soap-envelope\" "
      "xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" "
      "xmlns:wsd=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" "
      "xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\"><SOAP-ENV:Header><wsa:MessageID>uuid:" +
      uuid(rng) + "</wsa:MessageID><wsa:RelatesTo>uuid:" + uuid(rng) +
      "</wsa:RelatesTo><wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
      "</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches"
      "</wsa:Action></SOAP-ENV:Header><SOAP-ENV:Body><wsd:ProbeMatches><wsd:ProbeMatch>"
      "<wsa:EndpointReference><wsa:Address>urn:uuid:" +
      uuid(rng) +
      "</wsa:Address></wsa:EndpointReference><wsd:Types>dn:NetworkVideoTransmitter</wsd:Types>"
      "<wsd:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/type/ptz "
      "onvif://www.onvif.org/hardware/IPC-" +
      upperName(rng, 5) + " onvif://www.onvif.org/location/country/china";
  const std::string tail = "</wsd:Scopes><wsd:XAddrs>http://192.168.1." +
                           std::to_string(rng.range(2, 254)) +
                           "/onvif/device_service</wsd:XAddrs><wsd:MetadataVersion>1"
                           "</wsd:MetadataVersion></wsd:ProbeMatch></wsd:ProbeMatches>"
                           "</SOAP-ENV:Body></SOAP-ENV:Envelope>";
  std::string text = head;
  for (int i = 0; text.size() + tail.size() + 64 <= size; ++i) {
    text += " onvif://www.onvif.org/name/Camera" + std::to_string(i) + "-" + upperName(rng, 6);
  }
  text += tail;
  return single(Payload(text.begin(), text.end()), 3702);
}

// Apple Remote Management Service (ARD) status reply to the 5-byte probe.
ResponseTemplate armsResponse(std::uint32_t size, Rng& rng) {
  Payload p;
  put16(p, 0x0001);
  put16(p, 0x0001);
  put32(p, std::max<std::uint32_t>(size, 64) - 8);
  std::string name = "Mac-" + upperName(rng, 6);
  put8(p, static_cast<std::uint32_t>(name.size()));
  putText(p, name);
  std::string model = "Macmini8,1";
  put8(p, static_cast<std::uint32_t>(model.size()));
  putText(p, model);
  putRandomBytes(p, 6, rng);  // hardware address
  if (p.size() < size) p.resize(std::max<std::uint32_t>(size, 64), 0);
  return single(std::move(p), 3283);
}

// CoAP ACK, 2.05 Content, Content-Format 40 (link-format), /.well-known/core listing.
ResponseTemplate coapResponse(std::uint32_t size, Rng& rng) {
  static constexpr std::array<const char*, 8> kResources = {
      "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\"",
      "</sensors/light>;rt=\"light-lux\";if=\"sensor\"",
      "</actuators/leds>;if=\"actuator\"",
      "</firmware/v>;rt=\"firmware\"",
      "</.well-known/core>;ct=40",
      "</config/net>;ct=50",
      "</obs>;obs;rt=\"observe\"",
      "</large>;rt=\"block\";sz=1280"};
  Payload p;
  put8(p, 0x60);  // version 1, ACK, token length 0
  put8(p, 0x45);  // 2.05 Content
  put16(p, 0);    // message id, patched per response
  put8(p, 0xc1);  // option 12 (Content-Format), length 1
  put8(p, 40);
  put8(p, 0xff);
  std::string text;
  for (std::uint32_t i = rng.below(kResources.size());; ++i) {
    std::string next = std::string(text.empty() ? "" : ",") + kResources[i % kResources.size()];
    if (!text.empty() && p.size() + text.size() + next.size() > size) break;
    text += next;
  }
  putText(p, text);
  return single(std::move(p), 5683, 2);
}

// Ubiquiti discovery (version 1, command 0) reply: TLVs of addresses, names, firmware.
ResponseTemplate ubiquitiResponse(std::uint32_t size, Rng& rng) {
  Bytes mac;
  putRandomBytes(mac, 6, rng);
  mac[0] = 0x24;  // a Ubiquiti OUI-looking prefix
  mac[1] = 0xa4;
  mac[2] = 0x3c;
  Bytes tlvs;
  auto tlv = [&](std::uint8_t type, const Bytes& value) {
    put8(tlvs, type);
    put16(tlvs, static_cast<std::uint32_t>(value.size()));
    putBytes(tlvs, value);
  };
  auto text = [](std::string_view s) { return Bytes(s.begin(), s.end()); };
  Bytes ipinfo = mac;
  put32(ipinfo, (192u << 24) | (168u << 16) | (1u << 8) | rng.range(2, 254));
  tlv(0x02, ipinfo);
  tlv(0x01, mac);
  Bytes uptime;
  put32(uptime, rng.range(1000, 9000000));
  tlv(0x0a, uptime);
  tlv(0x0b, text("ubnt-" + upperName(rng, 4)));
  tlv(0x0c, text("NanoStation loco M5"));
  tlv(0x03, text("XW.ar934x.v5.6.2.27929.150720.1604"));
  tlv(0x0d, text("wisp-" + upperName(rng, 4)));
  while (tlvs.size() + 4 + 13 <= size) {  // further interface addresses
    Bytes more = mac;
    put32(more, (10u << 24) | rng.below(1u << 24));
    tlv(0x02, more);
  }
  Payload p;
  put8(p, 0x01);
  put8(p, 0x00);
  put16(p, static_cast<std::uint32_t>(tlvs.size()));
  putBytes(p, tlvs);
  return single(std::move(p), 10001);
}

ResponseTemplate qotdResponse(std::uint32_t size, Rng& rng) {
  static constexpr std::array<const char*, 5> kQuotes = {
      "\"Brevity is the soul of wit.\"\r\n William Shakespeare (1564-1616)\r\n",
      "\"Well begun is half done.\"\r\n Aristotle (384-322 BC)\r\n",
      "\"An investment in knowledge pays the best interest.\"\r\n Benjamin Franklin\r\n",
      "\"Knowledge is power.\"\r\n Francis Bacon (1561-1626)\r\n",
      "\"The only thing we have to fear is fear itself.\"\r\n Franklin D. Roosevelt\r\n"};
  std::string text;
  for (std::uint32_t i = rng.below(kQuotes.size()); text.empty() || text.size() < size; ++i) {
    text += kQuotes[i % kQuotes.size()];
  }
  if (text.size() > size && size > 0) text.resize(size);
  return single(Payload(text.begin(), text.end()), 17);
}

// TFTP DATA blocks (opcode 3) of 512 bytes, sent from a fresh ephemeral port per transfer.
ResponseTemplate tftpResponse(std::uint32_t size, Rng& rng) {
  const std::uint32_t blocks = std::max<std::uint32_t>(1, size / 516);
  ResponseTemplate t;
  t.source_port = 0;
  for (std::uint32_t b = 1; b <= blocks; ++b) {
    Payload d;
    put16(d, 3);
    put16(d, b & 0xffff);
    putRandomBytes(d, 512, rng);
    t.datagrams.push_back(std::move(d));
  }
  return t;
}

ResponseTemplate genericResponse(std::uint32_t size, std::uint16_t port, Rng& rng) {
  Payload p;
  putRandomBytes(p, std::max<std::uint32_t>(size, 1), rng);
  return single(std::move(p), port);
}

RequestTemplate serviceRequest(Vector v, std::uint16_t port, Rng& rng) {
  RequestTemplate r;
  Payload& b = r.bytes;
  switch (v) {
    case Vector::Ssdp:
      r.dst_port = 1900;
      putText(b,
              "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
              "MX: 1\r\nST: ssdp:all\r\n\r\n");
      break;
    case Vector::Cldap: {
      r.dst_port = 389;
      Bytes search = concat({berString(0x04, ""), berInteger(0, 0x0a), berInteger(0, 0x0a),
                             berInteger(0), berInteger(0), berTlv(0x01, Bytes{0}),
                             berString(0x87, "objectClass"), berTlv(0x30, Bytes{})});
      b = berTlv(0x30, concat({berInteger(rng.range(1, 127)), berTlv(0x63, search)}));
      break;
    }
    case Vector::Chargen:
      r.dst_port = 19;
      put8(b, 0x0a);
      break;
    case Vector::Snmp: {
      r.dst_port = 161;
      Bytes vbs = varbind("1.3.6.1.2.1", Bytes{0x05, 0x00});
      b = snmpMessage(0xa5, rng.next() & 0x7fffffff, 0, 2250, vbs);  // GetBulkRequest
      break;
    }
    case Vector::Netbios:
      r.dst_port = 137;
      r.id_offset = 0;
      put16(b, 0);
      put16(b, 0);
      put16(b, 1);
      put16(b, 0);
      put16(b, 0);
      put16(b, 0);
      put8(b, 0x20);
      putText(b, "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
      put8(b, 0);
      put16(b, 0x0021);
      put16(b, 0x0001);
      break;
    case Vector::Portmap:  // RPC CALL portmapper v2 DUMP with AUTH_NULL
      r.dst_port = 111;
      r.id_offset = 2;
      put32(b, rng.next() & 0xffff0000u);
      put32(b, 0);
      put32(b, 2);
      put32(b, 100000);
      put32(b, 2);
      put32(b, 4);
      for (int i = 0; i < 4; ++i) put32(b, 0);
      break;
    case Vector::Ripv1:  // request for the whole table: one entry, AFI 0, metric 16
      r.dst_port = 520;
      put8(b, 1);
      put8(b, 1);
      put16(b, 0);
      for (int i = 0; i < 4; ++i) put32(b, 0);
      put32(b, 16);
      break;
    case Vector::Mssql:
      r.dst_port = 1434;
      put8(b, 0x02);  // CLNT_BCAST_EX
      break;
    case Vector::WsDiscovery:
      r.dst_port = 3702;
      putText(b,
              "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope "
              "xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\" "
              "xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" "
              "xmlns:wsd=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\"><soap:Header>"
              "<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>"
              "<wsa:MessageID>uuid:" +
                  uuid(rng) +
                  "</wsa:MessageID></soap:Header><soap:Body><wsd:Probe/></soap:Body>"
                  "</soap:Envelope>");
      break;
    case Vector::Arms:
      r.dst_port = 3283;
      b = {0x00, 0x14, 0x00, 0x01, 0x03};
      break;
    case Vector::Coap:  // CON GET /.well-known/core
      r.dst_port = 5683;
      r.id_offset = 2;
      put8(b, 0x40);
      put8(b, 0x01);
      put16(b, 0);
      put8(b, 0xbb);
      putText(b, ".well-known");
      put8(b, 0x04);
      putText(b, "core");
      break;
    case Vector::Ubiquiti:
      r.dst_port = 10001;
      b = {0x01, 0x00, 0x00, 0x00};
      break;
    case Vector::Qotd:
      r.dst_port = 17;
      put8(b, 0x0a);
      break;
    case Vector::Tftp:  // RRQ "pxelinux.0" octet
      r.dst_port = 69;
      put16(b, 1);
      putText(b, "pxelinux.0");
      put8(b, 0);
      putText(b, "octet");
      put8(b, 0);
      break;
    default:
      r.dst_port = port;
      putRandomBytes(b, 16, rng);
      break;
  }
  return r;
}

}  // namespace bw::synth
