// Test helper for tests/synth: a deliberately independent classic-pcap reader and IP header
// parser (no src/capture or src/decode code), so the synthetic captures are checked against a
// second implementation of the formats rather than against themselves.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace bw::synth::testing {

inline std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
inline std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
inline std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t{p[3]} << 24 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[1]} << 8 | p[0];
}

inline std::vector<std::uint8_t> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

inline std::vector<std::uint8_t> readGzipFile(const std::string& path) {
  std::vector<std::uint8_t> out;
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  std::uint8_t buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  gzclose(f);
  return out;
}

struct Record {
  std::int64_t ts_ns = 0;
  std::uint32_t caplen = 0;
  std::uint32_t origlen = 0;
  const std::uint8_t* data = nullptr;
};

struct PcapFile {
  bool valid = false;
  bool nanosecond = false;
  std::uint32_t snaplen = 0;
  std::uint32_t linktype = 0;
  std::vector<Record> records;
  bool truncated = false;  // the file ended inside a record
};

// Parses a little-endian classic pcap held in `bytes` (which must outlive the result).
inline PcapFile parsePcap(const std::vector<std::uint8_t>& bytes) {
  PcapFile f;
  if (bytes.size() < 24) return f;
  const std::uint32_t magic = le32(bytes.data());
  if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) return f;
  f.nanosecond = magic == 0xa1b23c4d;
  if (bytes[4] != 2 || bytes[6] != 4) return f;
  f.snaplen = le32(bytes.data() + 16);
  f.linktype = le32(bytes.data() + 20);
  std::size_t at = 24;
  while (at < bytes.size()) {
    if (at + 16 > bytes.size()) {
      f.truncated = true;
      break;
    }
    Record r;
    const std::uint32_t sec = le32(bytes.data() + at);
    const std::uint32_t frac = le32(bytes.data() + at + 4);
    r.ts_ns = std::int64_t{sec} * 1'000'000'000 + (f.nanosecond ? frac : std::int64_t{frac} * 1000);
    r.caplen = le32(bytes.data() + at + 8);
    r.origlen = le32(bytes.data() + at + 12);
    if (at + 16 + r.caplen > bytes.size()) {
      f.truncated = true;
      break;
    }
    r.data = bytes.data() + at + 16;
    f.records.push_back(r);
    at += 16 + r.caplen;
  }
  f.valid = true;
  return f;
}

// What the tests need from one frame's IP and transport headers.
struct IpInfo {
  bool ok = false;
  bool v6 = false;
  std::uint16_t vlan = 0;
  std::string src;
  std::string dst;
  std::uint32_t ip_bytes = 0;  // IPv4 total length / IPv6 payload length + 40
  std::uint8_t proto = 0;      // upper layer (after an IPv6 fragment header)
  bool fragment = false;
  bool more_fragments = false;
  std::uint32_t frag_offset = 0;  // bytes
  std::uint32_t frag_id = 0;
  std::size_t ip_offset = 0;   // in the frame
  std::size_t l4_offset = 0;   // in the frame (start of UDP/TCP header or fragment data)
  std::uint16_t src_port = 0;  // when the frame carries the transport header
  std::uint16_t dst_port = 0;
  bool has_ports = false;
  bool ipv4_checksum_ok = false;
};

inline std::string ipText(const std::uint8_t* p, bool v6) {
  char buf[64];
  if (!v6) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    return buf;
  }
  std::string s;
  for (int i = 0; i < 16; i += 2) {
    std::snprintf(buf, sizeof buf, "%x", be16(p + i));
    s += (i ? ":" : "") + std::string(buf);
  }
  return s;  // uncompressed form; compare against the same helper
}

inline std::uint16_t onesComplement(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += be16(p + i);
  if (n % 2) sum += std::uint32_t{p[n - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

inline IpInfo parseIp(std::uint32_t linktype, const std::uint8_t* f, std::size_t n) {
  IpInfo info;
  std::size_t at = 0;
  if (linktype == 1) {
    if (n < 14) return info;
    std::uint16_t type = be16(f + 12);
    at = 14;
    if (type == 0x8100) {
      if (n < 18) return info;
      info.vlan = be16(f + 14) & 0x0fff;
      type = be16(f + 16);
      at = 18;
    }
    if (type != 0x0800 && type != 0x86dd) return info;
  }
  if (at + 1 > n) return info;
  info.ip_offset = at;
  const std::uint8_t* ip = f + at;
  if ((ip[0] >> 4) == 4) {
    if (at + 20 > n) return info;
    info.src = ipText(ip + 12, false);
    info.dst = ipText(ip + 16, false);
    info.ip_bytes = be16(ip + 2);
    info.proto = ip[9];
    const std::uint16_t frag = be16(ip + 6);
    info.more_fragments = frag & 0x2000;
    info.frag_offset = (frag & 0x1fff) * 8u;
    info.fragment = info.more_fragments || info.frag_offset != 0;
    info.frag_id = be16(ip + 4);
    info.ipv4_checksum_ok = onesComplement(ip, (ip[0] & 0x0f) * 4u) == 0;
    info.l4_offset = at + (ip[0] & 0x0f) * 4u;
  } else if ((ip[0] >> 4) == 6) {
    if (at + 40 > n) return info;
    info.v6 = true;
    info.src = ipText(ip + 8, true);
    info.dst = ipText(ip + 24, true);
    info.ip_bytes = be16(ip + 4) + 40u;
    info.proto = ip[6];
    info.l4_offset = at + 40;
    if (info.proto == 44) {
      if (info.l4_offset + 8 > n) return info;
      const std::uint8_t* fh = f + info.l4_offset;
      info.proto = fh[0];
      info.frag_offset = be16(fh + 2) & 0xfff8;
      info.more_fragments = be16(fh + 2) & 1;
      info.fragment = true;
      info.frag_id = be32(fh + 4);
      info.l4_offset += 8;
    }
  } else {
    return info;
  }
  if ((info.proto == 17 || info.proto == 6) && info.frag_offset == 0 && info.l4_offset + 4 <= n) {
    info.src_port = be16(f + info.l4_offset);
    info.dst_port = be16(f + info.l4_offset + 2);
    info.has_ports = true;
  }
  info.ok = true;
  return info;
}

inline std::string tempPath(const std::string& name) {
  return ::testing::TempDir() + "bw_synth_" + name;
}

}  // namespace bw::synth::testing
