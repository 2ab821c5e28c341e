// Amplification vector names, ports and per-datagram classification.
//
// Stateless and allocation-free except vectorLabel(), which builds a string for reports.
// Payload checks read only the captured bytes (payload_len) and every one is bounds-checked;
// they are deliberately shallow: a response's source port decides the vector, the payload only
// adds evidence bits. TFTP is the exception (its server answers from an ephemeral port), so its
// ephemeral-port rule demands an exact packet shape.
#include "decode/vector.h"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>

#include "decode/memcached.h"

namespace bw {
namespace {

struct VectorInfo {
  const char* name;
  std::uint16_t port;
};

constexpr VectorInfo kVectors[] = {
    {"none", 0},
    {"memcached", 11211},
    {"dns", 53},
    {"ntp", 123},
    {"ssdp", 1900},
    {"cldap", 389},
    {"chargen", 19},
    {"snmp", 161},
    {"netbios", 137},
    {"portmap", 111},
    {"ripv1", 520},
    {"mssql", 1434},
    {"ws-discovery", 3702},
    {"arms", 3283},
    {"coap", 5683},
    {"ubiquiti", 10001},
    {"qotd", 17},
    {"tftp", 69},
    {"udp", 0},
};
static_assert(std::size(kVectors) == static_cast<std::size_t>(Vector::kCount));

// The vector whose well-known service port is `port` (None if none), from a 64-slot table
// indexed by a multiplicative hash that is collision-free for the named vectors' ports (the
// multiplier is searched at compile time): one load and one compare, where a switch would be
// a chain of branches that mispredicts when floods of several vectors interleave.
struct PortSlot {
  std::uint16_t port = 0;  // 0 in an empty slot: port 0 is no vector either
  Vector vector = Vector::None;
};

constexpr unsigned kPortHashBits = 6;
constexpr std::size_t kPortSlots = std::size_t{1} << kPortHashBits;

constexpr std::size_t portHash(std::uint16_t port, std::uint32_t mul) noexcept {
  return static_cast<std::uint32_t>(port * mul) >> (32 - kPortHashBits);
}

constexpr bool portHashInjective(std::uint32_t mul) noexcept {
  bool used[kPortSlots] = {};
  for (std::size_t i = 1; i < static_cast<std::size_t>(Vector::GenericUdp); ++i) {
    const std::size_t h = portHash(kVectors[i].port, mul);
    if (used[h]) return false;
    used[h] = true;
  }
  return true;
}

// Tries odd multipliers from a linear congruential sequence (neighbouring multipliers hash
// alike, so stepping by 2 would barely move). About one in ten works for 17 ports in 64 slots.
constexpr std::uint32_t findPortMultiplier() noexcept {
  std::uint32_t mul = 0x9E3779B1u;
  for (int tries = 0; tries < 1000; ++tries) {
    if (portHashInjective(mul)) return mul;
    mul = (mul * 0x5851F42Du + 0x14057B7Fu) | 1u;
  }
  return 0;
}

constexpr std::uint32_t kPortMultiplier = findPortMultiplier();
static_assert(kPortMultiplier != 0, "no collision-free port hash: widen kPortHashBits");

constexpr std::array<PortSlot, kPortSlots> makePortTable() noexcept {
  std::array<PortSlot, kPortSlots> t{};
  for (std::size_t i = 1; i < static_cast<std::size_t>(Vector::GenericUdp); ++i) {
    t[portHash(kVectors[i].port, kPortMultiplier)] = {kVectors[i].port, static_cast<Vector>(i)};
  }
  return t;
}

constexpr std::array<PortSlot, kPortSlots> kPortTable = makePortTable();

constexpr Vector vectorForPort(std::uint16_t port) noexcept {
  const PortSlot& s = kPortTable[portHash(port, kPortMultiplier)];
  return s.port == port ? s.vector : Vector::None;
}

// Every named vector is found by its port (no other port can be: a slot names one port).
constexpr bool portTableConsistent() noexcept {
  for (std::size_t i = 1; i < static_cast<std::size_t>(Vector::GenericUdp); ++i) {
    if (vectorForPort(kVectors[i].port) != static_cast<Vector>(i)) return false;
  }
  return true;
}
static_assert(portTableConsistent());

bool startsWith(const std::uint8_t* p, std::size_t n, std::string_view s) noexcept {
  return n >= s.size() && std::memcmp(p, s.data(), s.size()) == 0;
}

bool isTextByte(std::uint8_t c) noexcept {
  return (c >= 0x20 && c < 0x7F) || c == '\r' || c == '\n' || c == '\t';
}

// True when all 16 bytes at p are text bytes (isTextByte), tested side by side.
bool textBlock16(const std::uint8_t* p) noexcept {
  using Block = std::uint8_t __attribute__((vector_size(16)));
  Block c;
  std::memcpy(&c, p, sizeof c);
  const auto text = ((c - 0x20) < 0x5F) | (c == '\r') | (c == '\n') | (c == '\t');
  std::uint64_t lanes[2];
  static_assert(sizeof text == sizeof lanes);
  std::memcpy(lanes, &text, sizeof lanes);
  return (lanes[0] & lanes[1]) == ~std::uint64_t{0};
}

// Character-generator and quote services answer with text: the first bytes (up to 32) must
// be printable. From 16 bytes on, two possibly overlapping 16-byte blocks cover them.
bool looksLikeText(const std::uint8_t* p, std::size_t n) noexcept {
  if (n < 8) return false;
  if (n >= 16) {
    const std::size_t m = n < 32 ? n : 32;
    return textBlock16(p) && textBlock16(p + m - 16);
  }
  bool text = true;
  for (std::size_t i = 0; i < n; ++i) text &= isTextByte(p[i]);
  return text;
}

// Reads one BER identifier + length at p[*off] expecting `tag`. On success *off is the first
// content byte and *len the declared content length (which may run past the capture).
bool berHeader(const std::uint8_t* p, std::size_t n, std::size_t* off, std::uint8_t tag,
               std::size_t* len) noexcept {
  std::size_t o = *off;
  if (o + 2 > n || p[o] != tag) return false;
  const std::uint8_t l = p[o + 1];
  o += 2;
  if (l < 0x80) {
    *len = l;
  } else {
    const std::size_t k = l & 0x7F;
    if (k == 0 || k > 4 || o + k > n) return false;
    std::size_t v = 0;
    for (std::size_t i = 0; i < k; ++i) v = (v << 8) | p[o + i];
    o += k;
    *len = v;
  }
  *off = o;
  return true;
}

// Skips a BER INTEGER/OCTET STRING with tag `tag`; false when it is absent or not captured.
bool berSkip(const std::uint8_t* p, std::size_t n, std::size_t* off, std::uint8_t tag) noexcept {
  std::size_t len = 0;
  if (!berHeader(p, n, off, tag, &len) || len > n - *off) return false;
  *off += len;
  return true;
}

// SNMPv1/v2c: SEQUENCE { INTEGER version, OCTET STRING community, GetResponse-PDU (0xA2) }.
bool snmpResponse(const std::uint8_t* p, std::size_t n) noexcept {
  std::size_t off = 0, len = 0;
  return berHeader(p, n, &off, 0x30, &len) && berSkip(p, n, &off, 0x02) &&
         berSkip(p, n, &off, 0x04) && off < n && p[off] == 0xA2;
}

// CLDAP: SEQUENCE { INTEGER messageID, searchResEntry (0x64) | searchResDone (0x65) }.
bool cldapResponse(const std::uint8_t* p, std::size_t n) noexcept {
  std::size_t off = 0, len = 0;
  return berHeader(p, n, &off, 0x30, &len) && berSkip(p, n, &off, 0x02) && off < n &&
         (p[off] == 0x64 || p[off] == 0x65);
}

std::uint8_t ntpEvidence(const std::uint8_t* p, std::size_t n) noexcept {
  if (n < 4) return evidence::kPortOnly;
  switch (p[0] & 7) {
    case 7:  // private (ntpdc): R bit in byte 0, request code in byte 3
      if (!(p[0] & 0x80)) return evidence::kPortOnly;
      if (p[3] == 42 || p[3] == 20) return evidence::kPayloadMatch | evidence::kNtpMonlist;
      return evidence::kPayloadMatch;
    case 6:  // control (ntpq): R bit in byte 1
      return (p[1] & 0x80) ? evidence::kPayloadMatch : evidence::kPortOnly;
    case 4:  // server
      return n >= 48 ? evidence::kPayloadMatch : evidence::kPortOnly;
    default:
      return evidence::kPortOnly;
  }
}

std::uint8_t memcachedEvidence(ByteSpan payload) noexcept {
  MemcachedFrameHeader h;
  if (!parseMemcachedFrame(payload, &h)) return evidence::kPortOnly;
  std::uint8_t e = evidence::kMemcachedFrame;
  if (looksLikeMemcachedResponse(payload)) e |= evidence::kMemcachedText | evidence::kPayloadMatch;
  // Later datagrams of a multi-datagram value carry raw value bytes, no keyword.
  if (h.sequence > 0) e |= evidence::kPayloadMatch;
  return e;
}

// TFTP DATA (3) or ERROR (5) sent by a server. ERROR must be whole and well formed:
// code 0..8, printable message, NUL terminator.
bool tftpServerPacket(const PacketSummary& pk, const std::uint8_t* p, std::size_t n,
                      bool exact) noexcept {
  if (n < 4) return false;
  const std::uint16_t op = loadBe16(p);
  if (op == 3) return !exact || pk.payload_wire_len == 516;
  if (op != 5) return false;
  if (loadBe16(p + 2) > 8) return false;
  if (!exact) return true;
  if (n != pk.payload_wire_len || n < 5 || p[n - 1] != 0) return false;
  for (std::size_t i = 4; i + 1 < n; ++i) {
    if (p[i] < 0x20 || p[i] >= 0x7F) return false;
  }
  return true;
}

}  // namespace

std::uint8_t payloadEvidence(Vector v, const PacketSummary& pk) noexcept {
  const std::uint8_t* p = pk.payload;
  const std::size_t n = p != nullptr ? pk.payload_len : 0;
  if (n == 0) return evidence::kPortOnly;
  constexpr std::uint8_t kMatch = evidence::kPayloadMatch;
  constexpr std::uint8_t kNone = evidence::kPortOnly;
  switch (v) {
    case Vector::Memcached:
      return memcachedEvidence(ByteSpan(p, n));
    case Vector::Dns:  // QR set
      return n >= 12 && (p[2] & 0x80) ? kMatch : kNone;
    case Vector::Ntp:
      return ntpEvidence(p, n);
    case Vector::Ssdp:
      return startsWith(p, n, "HTTP/1.1 200") || startsWith(p, n, "NOTIFY ") ? kMatch : kNone;
    case Vector::Cldap:
      return cldapResponse(p, n) ? kMatch : kNone;
    case Vector::Chargen:
    case Vector::Qotd:
      return looksLikeText(p, n) ? kMatch : kNone;
    case Vector::Snmp:
      return snmpResponse(p, n) ? kMatch : kNone;
    case Vector::Netbios:  // DNS-like header: response bit, opcode QUERY
      return n >= 12 && (p[2] & 0x80) && ((p[2] >> 3) & 0x0F) == 0 ? kMatch : kNone;
    case Vector::Portmap:  // ONC RPC: msg_type REPLY (1), reply_stat MSG_ACCEPTED (0)
      return n >= 12 && loadBe32(p + 4) == 1 && loadBe32(p + 8) == 0 ? kMatch : kNone;
    case Vector::Ripv1:  // command response (2), version 1, must-be-zero
      return n >= 4 && p[0] == 2 && p[1] == 1 && p[2] == 0 && p[3] == 0 ? kMatch : kNone;
    case Vector::Mssql:  // SSRP SVR_RESP: 0x05, little-endian size of the data that follows
      return n >= 3 && p[0] == 0x05 && loadLe16(p + 1) > 0 &&
                     std::size_t{loadLe16(p + 1)} + 3 <= pk.payload_wire_len
                 ? kMatch
                 : kNone;
    case Vector::WsDiscovery: {  // a SOAP envelope
      if (p[0] != '<') return kNone;
      const std::string_view head(reinterpret_cast<const char*>(p), n < 256 ? n : 256);
      return head.find("Envelope") != std::string_view::npos ? kMatch : kNone;
    }
    case Vector::Coap: {  // version 1, NON or ACK, code class 2.xx/4.xx/5.xx, token <= 8
      if (n < 4 || (p[0] >> 6) != 1 || (p[0] & 0x0F) > 8) return kNone;
      const unsigned type = (p[0] >> 4) & 3;
      const unsigned cls = p[1] >> 5;
      return (type == 1 || type == 2) && (cls == 2 || cls == 4 || cls == 5) ? kMatch : kNone;
    }
    case Vector::Ubiquiti: {  // discovery v1 (01 00 len) or v2 (02 cmd len), TLVs after
      if (n < 4) return kNone;
      const bool shape = (p[0] == 1 && p[1] == 0) || p[0] == 2;
      const std::size_t len = loadBe16(p + 2);
      return shape && len >= 4 && len + 4 == pk.payload_wire_len ? kMatch : kNone;
    }
    case Vector::Tftp:
      return tftpServerPacket(pk, p, n, /*exact=*/false) ? kMatch : kNone;
    case Vector::Arms:  // no cheap signature known: port only
    default:
      return kNone;
  }
}

std::uint8_t possibleEvidence(Vector v) noexcept {
  switch (v) {
    case Vector::Memcached:
      return evidence::kPayloadMatch | evidence::kMemcachedFrame | evidence::kMemcachedText;
    case Vector::Ntp:
      return evidence::kPayloadMatch | evidence::kNtpMonlist;
    case Vector::None:
    case Vector::Arms:
    case Vector::GenericUdp:
      return evidence::kPortOnly;
    default:
      return evidence::kPayloadMatch;
  }
}

namespace {

bool isUdpWithPorts(const PacketSummary& p) noexcept {
  return (p.ip_proto == ipproto::kUdp) & p.hasPorts();
}

// TFTP servers answer from a fresh ephemeral port (RFC 1350), so the port says nothing:
// accept only a full 516-byte DATA block or a well-formed ERROR between two high ports,
// never towards a known service port (that is a request to it, whatever its bytes).
bool tftpFromEphemeralPort(const PacketSummary& p, Vector dst_vector) noexcept {
  return p.src_port >= 1024 && p.dst_port >= 1024 && dst_vector == Vector::None &&
         p.payload != nullptr && tftpServerPacket(p, p.payload, p.payload_len, /*exact=*/true);
}

// REQUIRES: p is UDP with ports; dst_vector == vectorForPort(p.dst_port).
template <bool kEvidence>
VectorMatch udpResponse(const PacketSummary& p, Vector dst_vector) noexcept {
  const Vector v = vectorForPort(p.src_port);
  if (v != Vector::None) {
    return {v, kEvidence ? payloadEvidence(v, p) : evidence::kPortOnly, p.src_port};
  }
  if (tftpFromEphemeralPort(p, dst_vector)) {
    return {Vector::Tftp, kEvidence ? evidence::kPayloadMatch : evidence::kPortOnly, p.src_port};
  }
  return {};
}

}  // namespace

const char* vectorName(Vector v) noexcept {
  const auto i = static_cast<std::size_t>(v);
  return i < std::size(kVectors) ? kVectors[i].name : "none";
}

bool parseVectorName(std::string_view name, Vector* v, std::uint16_t* port) noexcept {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  auto equalsIgnoreCase = [&](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (lower(a[i]) != b[i]) return false;
    }
    return true;
  };
  Vector found = Vector::None;
  std::uint16_t found_port = 0;
  if (name.size() > 4 && equalsIgnoreCase(name.substr(0, 4), "udp:")) {
    const std::string_view digits = name.substr(4);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size() || value == 0 || value > 0xFFFF) {
      return false;
    }
    found = Vector::GenericUdp;
    found_port = static_cast<std::uint16_t>(value);
  } else {
    // Named vectors only: the generic class needs its port ("udp" alone is not a vector).
    for (std::size_t i = 1; i < static_cast<std::size_t>(Vector::GenericUdp); ++i) {
      if (equalsIgnoreCase(name, kVectors[i].name)) {
        found = static_cast<Vector>(i);
        found_port = kVectors[i].port;
        break;
      }
    }
    if (found == Vector::None) return false;
  }
  if (v != nullptr) *v = found;
  if (port != nullptr) *port = found_port;
  return true;
}

std::uint16_t vectorServicePort(Vector v) noexcept {
  const auto i = static_cast<std::size_t>(v);
  return i < std::size(kVectors) ? kVectors[i].port : 0;
}

std::string vectorLabel(Vector v, std::uint16_t port) {
  if (v == Vector::GenericUdp) return "udp:" + std::to_string(port);
  return vectorName(v);
}

VectorMatch classifyResponse(const PacketSummary& p) noexcept {
  if (!isUdpWithPorts(p)) return {};
  return udpResponse<true>(p, vectorForPort(p.dst_port));
}

Vector classifyRequest(const PacketSummary& p) noexcept {
  if (!isUdpWithPorts(p)) return Vector::None;
  return vectorForPort(p.dst_port);
}

Classification classify(const PacketSummary& p) noexcept {
  if (!isUdpWithPorts(p)) return {};
  const Vector request = vectorForPort(p.dst_port);
  return {udpResponse<true>(p, request), request};
}

Classification classifyWithoutEvidence(const PacketSummary& p) noexcept {
  if (!isUdpWithPorts(p)) return {};
  const Vector request = vectorForPort(p.dst_port);
  return {udpResponse<false>(p, request), request};
}

// As classify() on a datagram without payload: TFTP from an ephemeral port needs its bytes,
// and every other response is named by its source port.
PortVectors classifyPorts(std::uint8_t ip_proto, std::uint8_t flags, std::uint16_t src_port,
                          std::uint16_t dst_port) noexcept {
  if (ip_proto != ipproto::kUdp || !(flags & pktflag::kHasPorts)) return {};
  return {vectorForPort(src_port), vectorForPort(dst_port)};
}

}  // namespace bw
