// Test-only packet builder: composes link, IP and transport headers byte by byte so decoder
// tests state their input explicitly. Checksums are left zero (the decoder never reads them).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace bw::test {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
inline void putLe32(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
inline Bytes cat(Bytes a, const Bytes& b) {
  append(a, b);
  return a;
}
inline Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint16_t>(8 + payload.size()));
  put16(b, 0);
  append(b, payload);
  return b;
}

// `words` is the data offset in 32-bit words; options are zero-filled.
inline Bytes tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags, const Bytes& payload,
                 std::uint8_t words = 5) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1000);  // seq
  put32(b, 0);     // ack
  b.push_back(static_cast<std::uint8_t>(words << 4));
  b.push_back(flags);
  put16(b, 65535);                                       // window
  put32(b, 0);                                           // checksum, urgent
  for (int i = 5; i < words; ++i) put32(b, 0x01010101);  // NOP options
  append(b, payload);
  return b;
}

struct V4 {
  std::uint32_t src = 0xC0000201;  // 192.0.2.1
  std::uint32_t dst = 0xC6336402;  // 198.51.100.2
  std::uint8_t proto = 17;
  std::uint16_t id = 0x1234;
  std::uint16_t frag = 0;   // flags + offset field as on the wire (0x2000 = MF)
  int option_words = 0;     // IHL = 5 + option_words
  int total_override = -1;  // write this total length instead of the real one
  int ihl_override = -1;
};

inline Bytes ipv4(const V4& h, const Bytes& l4) {
  Bytes b;
  const int ihl = h.ihl_override >= 0 ? h.ihl_override : 5 + h.option_words;
  b.push_back(static_cast<std::uint8_t>(0x40 | (ihl & 0x0F)));
  b.push_back(0);
  const std::size_t total = 20 + 4 * h.option_words + l4.size();
  put16(b, static_cast<std::uint16_t>(h.total_override >= 0 ? h.total_override : total));
  put16(b, h.id);
  put16(b, h.frag);
  b.push_back(64);
  b.push_back(h.proto);
  put16(b, 0);
  put32(b, h.src);
  put32(b, h.dst);
  for (int i = 0; i < h.option_words; ++i) put32(b, 0x01010101);
  append(b, l4);
  return b;
}

inline Bytes v6addr(std::uint16_t last) {
  Bytes b = {0x20, 0x01, 0x0d, 0xb8};
  b.resize(14, 0);
  put16(b, last);
  return b;
}

// `chain` is everything after the fixed header (extension headers and upper layer).
inline Bytes ipv6(std::uint8_t next_header, const Bytes& chain, int plen_override = -1,
                  std::uint16_t src_last = 1, std::uint16_t dst_last = 2) {
  Bytes b = {0x60, 0, 0, 0};
  put16(b, static_cast<std::uint16_t>(plen_override >= 0 ? plen_override : chain.size()));
  b.push_back(next_header);
  b.push_back(64);
  append(b, v6addr(src_last));
  append(b, v6addr(dst_last));
  append(b, chain);
  return b;
}

// Hop-by-hop / routing / destination options: `units` 8-byte units beyond the first.
inline Bytes ext8(std::uint8_t next, std::uint8_t units = 0) {
  Bytes b = {next, units};
  b.resize(8 * (units + 1), 0);
  if (b.size() > 2) b[2] = 1;  // PadN-ish filler, contents are not interpreted
  return b;
}
// AH: length field in 4-byte units minus 2 (`words` = total 4-byte words, >= 3).
inline Bytes ah(std::uint8_t next, std::uint8_t words = 6) {
  Bytes b = {next, static_cast<std::uint8_t>(words - 2)};
  b.resize(4 * words, 0xAA);
  return b;
}
inline Bytes frag6(std::uint8_t next, std::uint16_t offset_units, bool more, std::uint32_t id) {
  Bytes b = {next, 0};
  put16(b, static_cast<std::uint16_t>((offset_units << 3) | (more ? 1 : 0)));
  put32(b, id);
  return b;
}

inline Bytes ethernet(std::uint16_t type, const Bytes& l3,
                      const std::vector<std::uint16_t>& tags = {}) {
  Bytes b = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
  for (std::uint16_t tpid : tags) {
    put16(b, tpid);
    put16(b, 100);  // PCP/DEI/VID
  }
  put16(b, type);
  append(b, l3);
  return b;
}

inline Bytes sll(std::uint16_t protocol, const Bytes& l3) {
  Bytes b;
  put16(b, 0);  // packet type: to us
  put16(b, 1);  // ARPHRD_ETHER
  put16(b, 6);
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(i));
  put16(b, protocol);
  append(b, l3);
  return b;
}

inline Bytes sll2(std::uint16_t protocol, const Bytes& l3) {
  Bytes b;
  put16(b, protocol);
  put16(b, 0);  // reserved
  put32(b, 3);  // interface index
  put16(b, 1);  // ARPHRD_ETHER
  b.push_back(0);
  b.push_back(6);
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(i));
  append(b, l3);
  return b;
}

inline Bytes nullLe(std::uint32_t af, const Bytes& l3) {
  Bytes b;
  putLe32(b, af);
  append(b, l3);
  return b;
}
inline Bytes nullBe(std::uint32_t af, const Bytes& l3) {
  Bytes b;
  put32(b, af);
  append(b, l3);
  return b;
}

inline Bytes pppoe(std::uint16_t ppp_protocol, const Bytes& l3) {
  Bytes b = {0x11, 0x00};
  put16(b, 0x0042);  // session id
  put16(b, static_cast<std::uint16_t>(l3.size() + 2));
  put16(b, ppp_protocol);
  append(b, l3);
  return b;
}

inline ByteSpan span(const Bytes& b) { return ByteSpan(b.data(), b.size()); }

}  // namespace bw::test
