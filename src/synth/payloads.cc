#include "synth/payloads.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "synth/payload_encoding.h"
#include "synth/service_payloads.h"

namespace bw::synth {

using namespace enc;  // NOLINT: local encoders keep the builders readable

namespace {

constexpr std::size_t kMemcachedDatagram = 1400;  // memcached's UDP_MAX_PAYLOAD_SIZE
constexpr std::size_t kMemcachedHeader = 8;
constexpr std::uint32_t kMultiDatagramMax = 4u << 20;
constexpr std::size_t kNtpDatagram = 440;      // 8-byte header + 6 items of 72 bytes
constexpr std::size_t kNtpMaxDatagrams = 128;  // 7-bit sequence number

// Splits memcached response text into <= 1,400-byte datagrams with the 8-byte frame header
// (request id patched per response, sequence, total, reserved 0).
ResponseTemplate memcachedDatagrams(std::string_view text) {
  ResponseTemplate t;
  t.id_offset = 0;
  t.source_port = 11211;
  constexpr std::size_t kPer = kMemcachedDatagram - kMemcachedHeader;
  const std::size_t total = std::max<std::size_t>(1, (text.size() + kPer - 1) / kPer);
  for (std::size_t i = 0; i < total; ++i) {
    Payload d;
    d.reserve(kMemcachedDatagram);
    put16(d, 0);
    put16(d, static_cast<std::uint32_t>(i));
    put16(d, static_cast<std::uint32_t>(total));
    put16(d, 0);
    putText(d, text.substr(std::min(text.size(), i * kPer), kPer));
    t.datagrams.push_back(std::move(d));
  }
  return t;
}

// Text bytes that fit `size` bytes of datagrams once each carries its 8-byte header.
std::size_t memcachedTextBudget(std::size_t size) {
  const std::size_t datagrams =
      std::max<std::size_t>(1, (size + kMemcachedDatagram - 1) / kMemcachedDatagram);
  return size > datagrams * kMemcachedHeader ? size - datagrams * kMemcachedHeader : 16;
}

std::string memcachedStats(std::size_t size, Rng& rng) {
  const std::size_t budget = memcachedTextBudget(size);
  const std::uint64_t uptime = rng.range(86'400, 90'000'000);
  const std::uint64_t gets = rng.next() % 9'000'000'000ULL;
  const std::vector<std::string> lines = {
      "pid " + std::to_string(rng.range(300, 65000)),
      "uptime " + std::to_string(uptime),
      "time " + std::to_string(1519838460),
      "version 1.4.25",
      "libevent 2.0.21-stable",
      "pointer_size 64",
      "rusage_user " + std::to_string(rng.range(1000, 99999)) + ".432000",
      "rusage_system " + std::to_string(rng.range(1000, 99999)) + ".108000",
      "curr_connections " + std::to_string(rng.range(5, 900)),
      "total_connections " + std::to_string(rng.range(10'000, 90'000'000)),
      "rejected_connections 0",
      "connection_structures " + std::to_string(rng.range(10, 1000)),
      "reserved_fds 20",
      "cmd_get " + std::to_string(gets),
      "cmd_set " + std::to_string(gets / 7),
      "cmd_flush 0",
      "cmd_touch 0",
      "get_hits " + std::to_string(gets * 9 / 10),
      "get_misses " + std::to_string(gets / 10),
      "get_expired " + std::to_string(gets / 1000),
      "get_flushed 0",
      "delete_misses " + std::to_string(rng.range(0, 100000)),
      "delete_hits " + std::to_string(rng.range(0, 100000)),
      "incr_misses 0",
      "incr_hits 0",
      "decr_misses 0",
      "decr_hits 0",
      "cas_misses 0",
      "cas_hits 0",
      "cas_badval 0",
      "touch_hits 0",
      "touch_misses 0",
      "auth_cmds 0",
      "auth_errors 0",
      "bytes_read " + std::to_string(gets * 61),
      "bytes_written " + std::to_string(gets * 1230),
      "limit_maxbytes 67108864",
      "accepting_conns 1",
      "listen_disabled_num 0",
      "time_in_listen_disabled_us 0",
      "threads 4",
      "conn_yields 0",
      "hash_power_level 16",
      "hash_bytes 524288",
      "hash_is_expanding 0",
      "slab_reassign_rescues 0",
      "slab_reassign_chunk_rescues 0",
      "bytes " + std::to_string(rng.range(1'000'000, 67'000'000)),
      "curr_items " + std::to_string(rng.range(1000, 900000)),
      "total_items " + std::to_string(gets / 7),
      "expired_unfetched " + std::to_string(rng.range(0, 100000)),
      "evictions " + std::to_string(rng.range(0, 1000000)),
  };
  static constexpr std::array<std::string_view, 6> kSlabFields = {
      "chunk_size", "chunks_per_page", "total_pages", "total_chunks", "used_chunks", "free_chunks"};
  std::string text;
  std::size_t i = 0;
  const std::string_view end = "END\r\n";
  while (true) {
    std::string line = "STAT ";
    if (i < lines.size()) {
      line += lines[i];
    } else {  // beyond the general stats: per-slab lines, as "stats slabs" prints them
      std::size_t k = i - lines.size();
      line += std::to_string(k / kSlabFields.size() + 1) + ":" +
              std::string(kSlabFields[k % kSlabFields.size()]) + " " +
              std::to_string(rng.range(1, 100000));
    }
    line += "\r\n";
    if (i > 0 && text.size() + line.size() + end.size() > budget) break;
    text += line;
    ++i;
  }
  text += end;
  return text;
}

std::string memcachedValue(std::string_view key, std::string_view data) {
  std::string text = "VALUE " + std::string(key) + " 0 " + std::to_string(data.size()) + "\r\n";
  text += data;
  text += "\r\nEND\r\n";
  return text;
}

ResponseTemplate memcachedResponse(const ResponseOptions& o, Rng& rng) {
  if (!o.ransom_text.empty()) {
    std::string data = o.ransom_text;
    if (o.size != 0) {
      const std::size_t overhead = memcachedValue("pay", "").size() + 8;
      const std::size_t want = memcachedTextBudget(o.size) > overhead
                                   ? memcachedTextBudget(o.size) - overhead
                                   : data.size();
      while (data.size() + 1 + o.ransom_text.size() <= want) data += " " + o.ransom_text;
    }
    return memcachedDatagrams(memcachedValue("pay", data));
  }
  const std::size_t size = o.size != 0 ? o.size : defaultResponseSize(Vector::Memcached);
  if (size <= 4096) return memcachedDatagrams(memcachedStats(size, rng));
  // A big cached value, the "get" flavour of the attack.
  std::string key = "a" + std::to_string(rng.below(1000));
  const std::size_t budget = memcachedTextBudget(size);
  const std::size_t overhead = memcachedValue(key, "").size() + 8;
  Bytes data;
  putRandomText(data, budget > overhead ? budget - overhead : 1, rng);
  return memcachedDatagrams(memcachedValue(
      key, std::string_view(reinterpret_cast<const char*>(data.data()), data.size())));
}

const char* pickName(Rng& rng) {
  static constexpr std::array<const char*, 4> kNames = {"example.com", "example.net", "example.org",
                                                        "test.example"};
  return kNames[rng.below(kNames.size())];
}

ResponseTemplate dnsResponse(const ResponseOptions& o, Rng& rng) {
  const std::size_t size = o.size != 0 ? o.size : defaultResponseSize(Vector::Dns);
  ResponseTemplate t;
  t.id_offset = 0;
  t.source_port = 53;
  Payload b;
  b.reserve(size + 64);
  put16(b, 0);       // id, patched per response
  put16(b, 0x8180);  // QR=1, RD, RA, NOERROR
  put16(b, 1);       // QDCOUNT
  put16(b, 0);       // ANCOUNT, set below
  put16(b, 0);
  put16(b, 1);  // ARCOUNT: the OPT record
  dnsName(b, pickName(rng));
  put16(b, 255);  // QTYPE ANY
  put16(b, 1);
  constexpr std::size_t kOpt = 11;
  constexpr std::size_t kRecordOverhead = 13;  // pointer, type, class, ttl, rdlength, TXT length
  std::uint32_t answers = 0;
  const std::uint32_t ttl = rng.range(300, 86400);
  while (b.size() + kOpt + kRecordOverhead + 1 <= size) {
    const std::size_t text = std::min<std::size_t>(255, size - kOpt - kRecordOverhead - b.size());
    put16(b, 0xc00c);
    put16(b, 16);  // TXT
    put16(b, 1);
    put32(b, ttl);
    put16(b, static_cast<std::uint32_t>(text + 1));
    put8(b, static_cast<std::uint32_t>(text));
    putRandomText(b, text, rng);
    ++answers;
  }
  put8(b, 0);  // OPT: root name, type 41, 4096-byte UDP payload, DO bit
  put16(b, 41);
  put16(b, 4096);
  put16(b, 0);
  put16(b, 0x8000);
  put16(b, 0);
  set16(b, 6, answers);
  t.datagrams.push_back(std::move(b));
  return t;
}

// NTP mode 7 MON_GETLIST_1 response: byte 0 = response bit, more bit (all but the last
// datagram), version 2, mode 7; then sequence, implementation 3 (XNTPD), request code 42,
// item count 6 and item size 72.
ResponseTemplate ntpMonlist(const ResponseOptions& o, Rng& rng) {
  const std::size_t size = o.size != 0 ? o.size : defaultResponseSize(Vector::Ntp);
  const std::size_t n =
      std::clamp<std::size_t>((size + kNtpDatagram / 2) / kNtpDatagram, 1, kNtpMaxDatagrams);
  ResponseTemplate t;
  t.source_port = 123;
  for (std::size_t i = 0; i < n; ++i) {
    Payload d;
    d.reserve(kNtpDatagram);
    put8(d, i + 1 < n ? 0xd7 : 0x97);
    put8(d, static_cast<std::uint32_t>(i & 0x7f));
    put8(d, 3);
    put8(d, 42);
    put16(d, 6);
    put16(d, 72);
    for (int item = 0; item < 6; ++item) {
      put32(d, rng.range(0, 4000));                 // avg_int
      put32(d, rng.range(0, 4000));                 // last_int
      put32(d, 0);                                  // restr
      put32(d, rng.range(1, 1'000'000));            // count
      put32(d, rng.range(0x01000000, 0xdfffffff));  // addr
      put32(d, 0);                                  // daddr
      put32(d, 0);                                  // flags
      put16(d, rng.range(1024, 65535));             // port
      put8(d, rng.chance(0.7) ? 3 : 7);             // mode
      put8(d, rng.chance(0.8) ? 4 : 2);             // version
      put32(d, 0);                                  // v6_flag
      put32(d, 0);                                  // unused
      d.insert(d.end(), 32, 0);                     // addr6, daddr6
    }
    t.datagrams.push_back(std::move(d));
  }
  return t;
}

}  // namespace

std::uint32_t defaultResponseSize(Vector v) noexcept {
  switch (v) {
    case Vector::Memcached:
      return 2240;  // memcached 1.6 "stats": two datagrams
    case Vector::Dns:
      return 3000;  // ANY with big TXT sets: fragments at MTU 1500
    case Vector::Ntp:
      return 4400;  // ten monlist datagrams
    case Vector::Ssdp:
      return 960;  // three M-SEARCH answers
    case Vector::Cldap:
      return 3000;
    case Vector::Chargen:
      return 1036;  // fourteen 74-byte lines
    case Vector::Snmp:
      return 1200;
    case Vector::Netbios:
      return 175;  // four names
    case Vector::Portmap:
      return 500;
    case Vector::Ripv1:
      return 504;  // one full datagram of 25 routes
    case Vector::Mssql:
      return 400;
    case Vector::WsDiscovery:
      return 1200;
    case Vector::Arms:
      return 1034;
    case Vector::Coap:
      return 300;
    case Vector::Ubiquiti:
      return 160;
    case Vector::Qotd:
      return 120;
    case Vector::Tftp:
      return 2064;  // four 516-byte DATA blocks
    case Vector::GenericUdp:
      return 512;
    default:
      return 512;
  }
}

bool isMultiDatagram(Vector v) noexcept {
  return v == Vector::Memcached || v == Vector::Ntp || v == Vector::Ssdp || v == Vector::Ripv1 ||
         v == Vector::Tftp;
}

std::uint32_t maxResponseSize(Vector v) noexcept {
  if (v == Vector::Ntp) return static_cast<std::uint32_t>(kNtpDatagram * kNtpMaxDatagrams);
  if (v == Vector::Netbios) return 103 + 18 * 255;  // an NBSTAT answer lists at most 255 names
  if (isMultiDatagram(v)) return kMultiDatagramMax;
  return 65507;
}

ResponseTemplate makeResponse(Vector v, const ResponseOptions& o, Rng& rng) {
  const std::uint32_t size = o.size != 0 ? o.size : defaultResponseSize(v);
  switch (v) {
    case Vector::Memcached:
      return memcachedResponse(o, rng);
    case Vector::Dns:
      return dnsResponse(o, rng);
    case Vector::Ntp:
      return ntpMonlist(o, rng);
    case Vector::Ssdp:
      return ssdpResponse(size, rng);
    case Vector::Cldap:
      return cldapResponse(size, rng);
    case Vector::Chargen:
      return chargenResponse(size, rng);
    case Vector::Snmp:
      return snmpResponse(size, rng);
    case Vector::Netbios:
      return netbiosResponse(size, rng);
    case Vector::Portmap:
      return portmapResponse(size, rng);
    case Vector::Ripv1:
      return ripResponse(size, rng);
    case Vector::Mssql:
      return mssqlResponse(size, rng);
    case Vector::WsDiscovery:
      return wsDiscoveryResponse(size, rng);
    case Vector::Arms:
      return armsResponse(size, rng);
    case Vector::Coap:
      return coapResponse(size, rng);
    case Vector::Ubiquiti:
      return ubiquitiResponse(size, rng);
    case Vector::Qotd:
      return qotdResponse(size, rng);
    case Vector::Tftp:
      return tftpResponse(size, rng);
    default:
      return genericResponse(size, o.port, rng);
  }
}

RequestTemplate makeRequest(Vector v, std::uint16_t port, Rng& rng) {
  RequestTemplate r;
  Payload& b = r.bytes;
  switch (v) {
    case Vector::Memcached:
      r.id_offset = 0;
      r.dst_port = 11211;
      put16(b, 0);
      put16(b, 0);
      put16(b, 1);
      put16(b, 0);
      putText(b, "stats\r\n");
      return r;
    case Vector::Dns:
      r.id_offset = 0;
      r.dst_port = 53;
      b = makeDnsQuery(pickName(rng), 255);
      return r;
    case Vector::Ntp:  // MON_GETLIST_1 request: version 2, mode 7, XNTPD, code 42
      r.dst_port = 123;
      put8(b, 0x17);
      put8(b, 0x00);
      put8(b, 0x03);
      put8(b, 0x2a);
      put32(b, 0);
      return r;
    default:
      return serviceRequest(v, port, rng);
  }
}

Payload makeDnsQuery(const std::string& name, std::uint16_t qtype) {
  Payload b;
  put16(b, 0);       // id, patched per query
  put16(b, 0x0100);  // RD
  put16(b, 1);
  put16(b, 0);
  put16(b, 0);
  put16(b, 1);
  dnsName(b, name);
  put16(b, qtype);
  put16(b, 1);
  put8(b, 0);  // OPT, 4096 bytes
  put16(b, 41);
  put16(b, 4096);
  put16(b, 0);
  put16(b, 0);
  put16(b, 0);
  return b;
}

Payload makeDnsAnswer(const std::string& name, std::uint16_t qtype, std::uint32_t answer_size,
                      Rng& rng) {
  Payload b;
  put16(b, 0);
  put16(b, 0x8180);
  put16(b, 1);
  put16(b, 0);
  put16(b, 0);
  put16(b, 1);
  dnsName(b, name);
  put16(b, qtype);
  put16(b, 1);
  std::uint32_t answers = 0;
  // CNAME chains and A records: 16 bytes per A record, as resolvers answer for CDN names.
  while (b.size() + 16 + 11 <= answer_size || answers == 0) {
    put16(b, 0xc00c);
    put16(b, 1);
    put16(b, 1);
    put32(b, rng.range(30, 3600));
    put16(b, 4);
    put32(b, rng.range(0x01000000, 0xdfffffff));
    ++answers;
  }
  put8(b, 0);
  put16(b, 41);
  put16(b, 1232);
  put16(b, 0);
  put16(b, 0);
  put16(b, 0);
  set16(b, 6, answers);
  return b;
}

Payload makeNtpClient(Rng& rng) {
  Payload b(48, 0);
  b[0] = 0x23;  // LI 0, version 4, mode 3 (client)
  b[2] = 6;     // poll
  b[3] = 0xe9;  // precision
  for (int i = 40; i < 48; ++i) b[i] = static_cast<std::uint8_t>(rng.next() >> 56);
  return b;
}

Payload makeNtpServer(Rng& rng) {
  Payload b(48, 0);
  b[0] = 0x24;  // LI 0, version 4, mode 4 (server)
  b[1] = 2;     // stratum
  b[2] = 6;
  b[3] = 0xe7;
  for (int i = 4; i < 48; ++i) b[i] = static_cast<std::uint8_t>(rng.next() >> 56);
  return b;
}

std::string makeMoneroAddress(Rng& rng) {
  static constexpr std::string_view kAlphabet =
      "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  static constexpr std::array<int, 9> kEncodedBlock = {0, 2, 3, 5, 6, 7, 9, 10, 11};
  std::array<std::uint8_t, 69> data{};
  data[0] = 0x12;  // standard address on the main network
  for (std::size_t i = 1; i < data.size(); ++i) {
    data[i] = static_cast<std::uint8_t>(rng.next() >> 56);
  }
  std::string out;
  for (std::size_t at = 0; at < data.size(); at += 8) {
    const std::size_t n = std::min<std::size_t>(8, data.size() - at);
    unsigned __int128 value = 0;
    for (std::size_t i = 0; i < n; ++i) value = (value << 8) | data[at + i];
    std::string block(static_cast<std::size_t>(kEncodedBlock[n]), kAlphabet[0]);
    for (auto it = block.rbegin(); it != block.rend() && value != 0; ++it) {
      *it = kAlphabet[static_cast<std::size_t>(value % 58)];
      value /= 58;
    }
    out += block;
  }
  return out;
}

RansomDemand makeRansomDemand(Rng& rng) {
  static constexpr std::array<int, 4> kAmounts = {25, 50, 75, 100};
  RansomDemand d;
  d.monero_address = makeMoneroAddress(rng);
  d.text = "Pay " + std::to_string(kAmounts[rng.below(kAmounts.size())]) + " XMR to " +
           d.monero_address +
           " and the DDoS attack on your network stops. Payment is detected automatically.";
  return d;
}

}  // namespace bw::synth
