// Amplification vectors: which reflection service a UDP datagram comes from (responses,
// keyed by the service's source port, confirmed by payload where a signature is cheap), and
// which service a datagram asks (requests and scanner probes, keyed by destination port).
//
// Classification is a pure function of one PacketSummary: no state, no allocation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "decode/packet.h"

namespace bw {

enum class Vector : std::uint8_t {
  None,
  Memcached,    // 11211
  Dns,          // 53
  Ntp,          // 123
  Ssdp,         // 1900
  Cldap,        // 389
  Chargen,      // 19
  Snmp,         // 161
  Netbios,      // 137
  Portmap,      // 111
  Ripv1,        // 520
  Mssql,        // 1434 (SQL Server Resolution Service)
  WsDiscovery,  // 3702
  Arms,         // 3283 (Apple Remote Management Service)
  Coap,         // 5683
  Ubiquiti,     // 10001
  Qotd,         // 17
  Tftp,         // 69 for requests; responses come from an ephemeral port, known by opcode
  GenericUdp,   // "udp:<port>": many sources sharing one UDP source port
  kCount
};

// "memcached", "dns", ..., "udp" for GenericUdp (callers append ":<port>").
const char* vectorName(Vector v) noexcept;
// Parses the names above ("udp:500" -> GenericUdp with port 500 in *port). Case-insensitive;
// a named vector stores its service port in *port; "udp" without a port (or port 0) and "none"
// are rejected. Either pointer may be null; nothing is written on failure.
bool parseVectorName(std::string_view name, Vector* v, std::uint16_t* port) noexcept;
// The well-known service port of a named vector (0 for None and GenericUdp).
std::uint16_t vectorServicePort(Vector v) noexcept;
// "memcached", or "udp:500" for the generic class.
std::string vectorLabel(Vector v, std::uint16_t port);

namespace evidence {
inline constexpr std::uint8_t kPortOnly = 0;
inline constexpr std::uint8_t kPayloadMatch = 1;    // payload has the service's response shape
inline constexpr std::uint8_t kMemcachedFrame = 2;  // 8-byte memcached UDP frame header
inline constexpr std::uint8_t kMemcachedText = 4;   // "STAT " / "VALUE " / "END" payload
inline constexpr std::uint8_t kNtpMonlist = 8;      // NTP mode 7 MON_GETLIST(_1) response
}  // namespace evidence

// Four bytes without padding, so it is returned in a register and read back without a
// store-to-load forwarding stall.
struct VectorMatch {
  Vector vector = Vector::None;
  std::uint8_t evidence = 0;       // evidence:: bits
  std::uint16_t service_port = 0;  // the reflector's source port (GenericUdp: that port)
};
static_assert(sizeof(VectorMatch) == 4);

// Classifies a datagram as a reflected response of a known vector, by source port and (where
// cheap) payload. Non-first fragments carry no ports: they return None and are attributed by
// the caller through the first fragment. Returns None for TCP, ICMP, and UDP from ports that
// are no known vector: the caller may still treat them as GenericUdp candidates.
VectorMatch classifyResponse(const PacketSummary& p) noexcept;

// Classifies a datagram as a request to a known amplification service (by destination port):
// the direction scanners probe and legitimate clients query in.
Vector classifyRequest(const PacketSummary& p) noexcept;

// Both classifications of one datagram (alignas(8): returned in one register).
struct alignas(8) Classification {
  VectorMatch response;           // classifyResponse(p)
  Vector request = Vector::None;  // classifyRequest(p)
};

// classifyResponse(p) and classifyRequest(p) in one call: the protocol is checked and each
// port looked up once.
Classification classify(const PacketSummary& p) noexcept;

// classify() less the payload evidence, the part that reads the payload: response.evidence
// is kPortOnly, and payloadEvidence(response.vector, p) is what classify(p) would have
// reported. For a caller that needs the evidence of only some packets (the engine keeps it
// per attack, and a flood's first packets show all there is).
Classification classifyWithoutEvidence(const PacketSummary& p) noexcept;
// The evidence:: bits that `p`'s payload shows for a response of vector `v` (kPortOnly for
// None, GenericUdp and vectors without a cheap signature).
std::uint8_t payloadEvidence(Vector v, const PacketSummary& p) noexcept;
// Every bit payloadEvidence() can give for `v`: once an attack has them all, its packets'
// payloads can tell it nothing more.
std::uint8_t possibleEvidence(Vector v) noexcept;

// The vectors classify() finds for a datagram without payload (a flow record's key), from
// the fields it then reads: classifyPorts(p.ip_proto, p.flags, p.src_port, p.dst_port)
// equals {classify(p).response.vector, classify(p).request} for every such p. Evidence,
// which needs a payload, is left out.
struct PortVectors {
  Vector response = Vector::None;
  Vector request = Vector::None;
};
PortVectors classifyPorts(std::uint8_t ip_proto, std::uint8_t flags, std::uint16_t src_port,
                          std::uint16_t dst_port) noexcept;

}  // namespace bw
