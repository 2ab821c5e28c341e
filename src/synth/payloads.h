// Payload templates for synthetic traffic: the reflected RESPONSE of each amplification
// vector (what floods the victim), the REQUEST that triggers it (what spoofed attackers and
// scanners send to the reflector), and memcached ransom notes with Monero addresses.
//
// Templates are built once, at scenario setup, from a seeded Rng; generating packets then
// only patches a 16-bit transaction id in place (`id_offset`) and never allocates.
// Shapes follow the real services: memcached's 8-byte UDP frame header and <= 1,400-byte
// datagrams; DNS QR=1 with a question and big TXT answers plus EDNS0; NTP mode 7 MON_GETLIST_1
// in 440-byte datagrams; HTTP-like SSDP; BER for CLDAP and SNMP; and so on (see payloads.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "decode/vector.h"
#include "synth/rng.h"

namespace bw::synth {

using Payload = std::vector<std::uint8_t>;

// What one request makes a reflector send back: one or more datagrams, in order.
struct ResponseTemplate {
  std::vector<Payload> datagrams;
  // Offset of a 16-bit transaction id present in every datagram (memcached request id, DNS
  // and NetBIOS transaction id, RPC xid low half, CoAP message id), or -1.
  int id_offset = -1;
  // The reflector's source port; 0 means a fresh ephemeral port per response (TFTP).
  std::uint16_t source_port = 0;
  std::size_t totalBytes() const noexcept {
    std::size_t n = 0;
    for (const auto& d : datagrams) n += d.size();
    return n;
  }
};

struct RequestTemplate {
  Payload bytes;
  int id_offset = -1;          // as in ResponseTemplate
  std::uint16_t dst_port = 0;  // the service port the request is sent to
};

struct ResponseOptions {
  // Approximate UDP payload bytes of one response summed over its datagrams; 0 picks the
  // vector's typical size (defaultResponseSize).
  std::uint32_t size = 0;
  // Memcached only: the response is a VALUE whose data is this ransom text (repeated to fill
  // `size` when that is larger).
  std::string ransom_text;
  std::uint16_t port = 0;  // GenericUdp: the service port
};

// The typical response size of a vector (bytes of UDP payload per request).
std::uint32_t defaultResponseSize(Vector v) noexcept;
// The largest `size` a vector accepts: 65,507 bytes (one UDP datagram) for single-datagram
// vectors (NetBIOS: 4,693, its 255-name limit); several MiB for those that answer with many
// datagrams (memcached, SSDP, RIPv1, TFTP; NTP: 128 monlist pages).
std::uint32_t maxResponseSize(Vector v) noexcept;
// True when the vector answers one request with several datagrams of bounded size rather than
// one datagram that may need IP fragmentation.
bool isMultiDatagram(Vector v) noexcept;

// REQUIRES: v is a real vector (not None/kCount); port != 0 for GenericUdp;
// options.size <= maxResponseSize(v).
ResponseTemplate makeResponse(Vector v, const ResponseOptions& options, Rng& rng);
// REQUIRES: as makeResponse.
RequestTemplate makeRequest(Vector v, std::uint16_t port, Rng& rng);

// A memcached ransom demand ("Pay 50 XMR to 4...") and its Monero address.
struct RansomDemand {
  std::string text;
  std::string monero_address;
};
// A 95-character standard Monero address (network byte 0x12, so it starts with '4'), encoded
// with Monero's block base58 from seeded key bytes. Its checksum is deliberately not the
// Keccak checksum, so no wallet accepts it.
std::string makeMoneroAddress(Rng& rng);
RansomDemand makeRansomDemand(Rng& rng);

// Benign DNS: a recursive query for `name` and a matching answer of roughly `answer_size`
// bytes (A/CNAME records), sharing transaction id offset 0.
Payload makeDnsQuery(const std::string& name, std::uint16_t qtype);
Payload makeDnsAnswer(const std::string& name, std::uint16_t qtype, std::uint32_t answer_size,
                      Rng& rng);
// Benign NTP client (mode 3) and server (mode 4) packets, 48 bytes each.
Payload makeNtpClient(Rng& rng);
Payload makeNtpServer(Rng& rng);

}  // namespace bw::synth
