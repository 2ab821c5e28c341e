// Internal to src/synth: tiny append-only encoders used to build payload templates at setup
// time (big-endian integers, text, ASN.1 BER, DNS names). Not used per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "synth/rng.h"

namespace bw::synth::enc {

using Bytes = std::vector<std::uint8_t>;

inline void put8(Bytes& b, std::uint32_t v) { b.push_back(static_cast<std::uint8_t>(v)); }
inline void put16(Bytes& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}
inline void putLe16(Bytes& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}
inline void putText(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }
inline void putBytes(Bytes& b, const Bytes& s) { b.insert(b.end(), s.begin(), s.end()); }
inline void set16(Bytes& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

// BER definite length: short form below 128, else 0x81/0x82/0x84 long form.
inline void berLength(Bytes& b, std::size_t n, bool force_long4 = false) {
  if (force_long4) {
    put8(b, 0x84);
    put32(b, static_cast<std::uint32_t>(n));
  } else if (n < 0x80) {
    put8(b, static_cast<std::uint32_t>(n));
  } else if (n <= 0xff) {
    put8(b, 0x81);
    put8(b, static_cast<std::uint32_t>(n));
  } else if (n <= 0xffff) {
    put8(b, 0x82);
    put16(b, static_cast<std::uint32_t>(n));
  } else {
    put8(b, 0x84);
    put32(b, static_cast<std::uint32_t>(n));
  }
}
inline Bytes berTlv(std::uint8_t tag, const Bytes& content, bool force_long4 = false) {
  Bytes out;
  out.reserve(content.size() + 6);
  put8(out, tag);
  berLength(out, content.size(), force_long4);
  putBytes(out, content);
  return out;
}
inline Bytes berString(std::uint8_t tag, std::string_view s) {
  return berTlv(tag, Bytes(s.begin(), s.end()));
}
inline Bytes berInteger(std::uint32_t v, std::uint8_t tag = 0x02) {
  Bytes content;
  bool started = false;
  for (int shift = 24; shift >= 0; shift -= 8) {
    auto byte = static_cast<std::uint8_t>(v >> shift);
    if (!started && byte == 0 && shift != 0) continue;
    if (!started && (byte & 0x80)) content.push_back(0);  // keep it positive
    started = true;
    content.push_back(byte);
  }
  return berTlv(tag, content);
}
// Dotted OID text ("1.3.6.1.2.1.1.1.0") -> BER OBJECT IDENTIFIER.
inline Bytes berOid(std::string_view dotted) {
  std::vector<std::uint32_t> arcs;
  std::uint32_t cur = 0;
  for (char c : dotted) {
    if (c == '.') {
      arcs.push_back(cur);
      cur = 0;
    } else {
      cur = cur * 10 + static_cast<std::uint32_t>(c - '0');
    }
  }
  arcs.push_back(cur);
  Bytes content;
  content.push_back(static_cast<std::uint8_t>(arcs[0] * 40 + (arcs.size() > 1 ? arcs[1] : 0)));
  for (std::size_t i = 2; i < arcs.size(); ++i) {
    std::uint32_t a = arcs[i];
    std::uint8_t tmp[5];
    int n = 0;
    do {
      tmp[n++] = static_cast<std::uint8_t>(a & 0x7f);
      a >>= 7;
    } while (a != 0);
    while (n-- > 0) content.push_back(static_cast<std::uint8_t>(tmp[n] | (n > 0 ? 0x80 : 0)));
  }
  return berTlv(0x06, content);
}
inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) putBytes(out, p);
  return out;
}

// DNS name in wire form ("example.com" -> 7example3com0).
inline void dnsName(Bytes& b, std::string_view name) {
  while (!name.empty()) {
    auto dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    put8(b, static_cast<std::uint32_t>(label.size()));
    putText(b, label);
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  put8(b, 0);
}

// Printable filler text drawn from `alphabet`.
inline void putRandomText(Bytes& b, std::size_t n, Rng& rng,
                          std::string_view alphabet =
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
  for (std::size_t i = 0; i < n; ++i)
    b.push_back(static_cast<std::uint8_t>(
        alphabet[rng.below(static_cast<std::uint32_t>(alphabet.size()))]));
}
inline void putRandomBytes(Bytes& b, std::size_t n, Rng& rng) {
  for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(rng.next() >> 56));
}

}  // namespace bw::synth::enc
