// Frame and capture builders for the microbenchmarks: Ethernet (optionally 802.1Q / QinQ
// tagged) frames carrying IPv4 or IPv6 UDP datagrams or fragments of them, memcached and DNS
// response payloads, and classic pcap / pcapng files assembled in memory.
//
// Benchmark setup only (allocates freely); nothing here is on a measured path. Header-only so
// each benchmark binary stays one translation unit plus this file.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/ip_address.h"

namespace bw::bench {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::uint16_t kEtherIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherIpv6 = 0x86DD;
inline constexpr std::uint16_t kEtherVlan = 0x8100;
inline constexpr std::uint16_t kEtherQinQ = 0x88A8;

// A deterministic, well-spread sequence of IPv4 addresses: i -> i * odd constant is a
// bijection on 32 bits, so the first N values are N distinct addresses for any N.
inline std::uint32_t spreadV4(std::uint64_t i) noexcept {
  return static_cast<std::uint32_t>(i) * 0x9E3779B1u;
}

struct UdpFrameSpec {
  bool ipv6 = false;
  int vlan_tags = 0;                  // 0; 1: 802.1Q; 2: 802.1ad outer + 802.1Q inner
  std::uint32_t src_v4 = 0xC6336401;  // 198.51.100.1
  std::uint32_t dst_v4 = 0xC612000A;  // 198.18.0.10
  IpAddress src_v6 = *IpAddress::parse("2001:db8:1::1");
  IpAddress dst_v6 = *IpAddress::parse("2001:db8:2::10");
  std::uint16_t src_port = 11211;
  std::uint16_t dst_port = 40000;
  std::uint32_t frag_id = 0x1234;
  // Fragmentation: `fragment` sends this piece of a larger datagram. A piece at offset 0
  // carries the UDP header (whose length covers the whole datagram, `datagram_payload`
  // bytes of UDP payload); later pieces carry `payload` only.
  bool fragment = false;
  std::uint32_t frag_offset = 0;  // bytes, multiple of 8
  bool more_fragments = false;
  std::uint32_t datagram_payload = 0;
  Bytes payload;
};

inline void putBe16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void putBe32(Bytes& b, std::uint32_t v) {
  putBe16(b, static_cast<std::uint16_t>(v >> 16));
  putBe16(b, static_cast<std::uint16_t>(v));
}
inline void putLe16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}
inline void putLe32(Bytes& b, std::uint32_t v) {
  putLe16(b, static_cast<std::uint16_t>(v));
  putLe16(b, static_cast<std::uint16_t>(v >> 16));
}

inline std::uint16_t ipv4Checksum(const std::uint8_t* h, std::size_t n) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += loadBe16(h + i);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// One Ethernet frame (no FCS) as `spec` describes it.
inline Bytes buildUdpFrame(const UdpFrameSpec& spec) {
  Bytes f;
  for (int i = 0; i < 6; ++i) f.push_back(0x02);  // destination MAC
  for (int i = 0; i < 6; ++i) f.push_back(0x04);  // source MAC
  if (spec.vlan_tags >= 2) {
    putBe16(f, kEtherQinQ);
    putBe16(f, 100);
  }
  if (spec.vlan_tags >= 1) {
    putBe16(f, kEtherVlan);
    putBe16(f, 200);
  }
  putBe16(f, spec.ipv6 ? kEtherIpv6 : kEtherIpv4);

  const bool carries_udp = !spec.fragment || spec.frag_offset == 0;
  const std::size_t udp_len =
      8 + (spec.fragment ? spec.datagram_payload : static_cast<std::uint32_t>(spec.payload.size()));
  const std::size_t l4_bytes = (carries_udp ? 8 : 0) + spec.payload.size();

  if (!spec.ipv6) {
    const std::size_t ip = f.size();
    f.push_back(0x45);
    f.push_back(0);
    putBe16(f, static_cast<std::uint16_t>(20 + l4_bytes));
    putBe16(f, static_cast<std::uint16_t>(spec.frag_id));
    std::uint16_t frag = 0;
    if (spec.fragment) {
      frag = static_cast<std::uint16_t>(spec.frag_offset / 8);
      if (spec.more_fragments) frag |= 0x2000;
    }
    putBe16(f, frag);
    f.push_back(58);  // TTL
    f.push_back(17);  // UDP
    putBe16(f, 0);    // checksum, below
    putBe32(f, spec.src_v4);
    putBe32(f, spec.dst_v4);
    storeBe16(&f[ip + 10], ipv4Checksum(&f[ip], 20));
  } else {
    putBe32(f, 0x60000000);
    putBe16(f, static_cast<std::uint16_t>(l4_bytes + (spec.fragment ? 8 : 0)));
    f.push_back(spec.fragment ? 44 : 17);  // next header: fragment or UDP
    f.push_back(58);                       // hop limit
    f.insert(f.end(), spec.src_v6.bytes().begin(), spec.src_v6.bytes().end());
    f.insert(f.end(), spec.dst_v6.bytes().begin(), spec.dst_v6.bytes().end());
    if (spec.fragment) {
      f.push_back(17);
      f.push_back(0);
      std::uint16_t off = static_cast<std::uint16_t>(spec.frag_offset & ~7u);
      if (spec.more_fragments) off |= 1;
      putBe16(f, off);
      putBe32(f, spec.frag_id);
    }
  }
  if (carries_udp) {
    putBe16(f, spec.src_port);
    putBe16(f, spec.dst_port);
    putBe16(f, static_cast<std::uint16_t>(udp_len));
    putBe16(f, 0);  // checksum optional over IPv4; nothing here verifies it
  }
  f.insert(f.end(), spec.payload.begin(), spec.payload.end());
  return f;
}

// A memcached UDP response of `size` payload bytes: the 8-byte frame header, then a
// "VALUE" text response (what the 2018 floods reflected), padded with value bytes.
inline Bytes memcachedResponse(std::size_t size, std::uint16_t request_id = 0x0101) {
  Bytes p;
  putBe16(p, request_id);
  putBe16(p, 0);  // sequence
  putBe16(p, 1);  // total datagrams
  putBe16(p, 0);  // reserved
  const std::string head = "VALUE a 0 " + std::to_string(size > 40 ? size - 40 : 0) + "\r\n";
  p.insert(p.end(), head.begin(), head.end());
  while (p.size() + 7 < size) p.push_back(static_cast<std::uint8_t>('a' + p.size() % 26));
  const std::string tail = "\r\nEND\r\n";
  p.insert(p.end(), tail.begin(), tail.end());
  p.resize(size);
  return p;
}

// A DNS response of `size` bytes: header with QR set, one question, answers as filler.
inline Bytes dnsResponse(std::size_t size, std::uint16_t id = 0x4242) {
  Bytes p;
  putBe16(p, id);
  putBe16(p, 0x8180);  // QR, RD, RA, NOERROR
  putBe16(p, 1);
  putBe16(p, 1);
  putBe16(p, 0);
  putBe16(p, 0);
  const std::uint8_t qname[] = {3, 'i', 's', 'c', 3, 'o', 'r', 'g', 0};
  p.insert(p.end(), std::begin(qname), std::end(qname));
  putBe16(p, 255);  // ANY
  putBe16(p, 1);
  while (p.size() < size) p.push_back(0);
  p.resize(size);
  return p;
}

// --- Capture files in memory ---------------------------------------------------------------

// Classic pcap, microsecond timestamps, little-endian, Ethernet.
inline Bytes pcapHeader(std::uint32_t snaplen) {
  Bytes b;
  putLe32(b, 0xA1B2C3D4);
  putLe16(b, 2);
  putLe16(b, 4);
  putLe32(b, 0);
  putLe32(b, 0);
  putLe32(b, snaplen);
  putLe32(b, 1);
  return b;
}

// Appends one record, truncating the frame to `snaplen` captured bytes.
inline void appendPcapRecord(Bytes& file, std::int64_t ts_ns, const Bytes& frame,
                             std::uint32_t snaplen) {
  const std::uint32_t caplen = std::min<std::uint32_t>(snaplen, frame.size());
  putLe32(file, static_cast<std::uint32_t>(ts_ns / 1'000'000'000));
  putLe32(file, static_cast<std::uint32_t>(ts_ns % 1'000'000'000 / 1000));
  putLe32(file, caplen);
  putLe32(file, static_cast<std::uint32_t>(frame.size()));
  file.insert(file.end(), frame.begin(), frame.begin() + caplen);
}

// pcapng: a section header and one Ethernet interface (microsecond resolution).
inline Bytes pcapngHeader(std::uint32_t snaplen) {
  Bytes b;
  putLe32(b, 0x0A0D0D0A);  // SHB
  putLe32(b, 28);
  putLe32(b, 0x1A2B3C4D);
  putLe16(b, 1);
  putLe16(b, 0);
  putLe32(b, 0xFFFFFFFF);  // section length unknown
  putLe32(b, 0xFFFFFFFF);
  putLe32(b, 28);
  putLe32(b, 1);  // IDB
  putLe32(b, 20);
  putLe16(b, 1);  // Ethernet
  putLe16(b, 0);
  putLe32(b, snaplen);
  putLe32(b, 20);
  return b;
}

// Appends one Enhanced Packet Block on interface 0.
inline void appendPcapngRecord(Bytes& file, std::int64_t ts_ns, const Bytes& frame,
                               std::uint32_t snaplen) {
  const std::uint32_t caplen = std::min<std::uint32_t>(snaplen, frame.size());
  const std::uint32_t padded = (caplen + 3) & ~3u;
  const std::uint32_t total = 32 + padded;
  const std::uint64_t ts_us = static_cast<std::uint64_t>(ts_ns / 1000);
  putLe32(file, 6);
  putLe32(file, total);
  putLe32(file, 0);
  putLe32(file, static_cast<std::uint32_t>(ts_us >> 32));
  putLe32(file, static_cast<std::uint32_t>(ts_us));
  putLe32(file, caplen);
  putLe32(file, static_cast<std::uint32_t>(frame.size()));
  file.insert(file.end(), frame.begin(), frame.begin() + caplen);
  file.resize(file.size() + (padded - caplen), 0);
  putLe32(file, total);
}

}  // namespace bw::bench
