// Test-only helpers for real export captures: the UDP payloads of a pcap (read with the
// project's own capture reader and frame decoder), and tshark's independent decode of the same
// file as per-destination totals.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "capture/capture_file.h"
#include "core/ip_address.h"
#include "decode/packet.h"

namespace bw::test {

struct ExportDatagram {
  IpAddress source;
  std::uint16_t port = 0;  // UDP destination port
  std::int64_t ts_ns = 0;
  std::vector<std::uint8_t> payload;
};

// Every whole UDP datagram of the capture. Fails the test on a truncated one.
inline std::vector<ExportDatagram> readExportDatagrams(const std::string& path) {
  std::vector<ExportDatagram> out;
  auto file = CaptureFile::open(path);
  if (!file.ok()) {
    ADD_FAILURE() << file.error().message;
    return out;
  }
  std::array<Frame, 64> frames;
  while (const std::size_t n = (*file)->next(frames)) {
    for (std::size_t i = 0; i < n; ++i) {
      const Frame& f = frames[i];
      PacketSummary s;
      if (decodeFrame(f.linktype, ByteSpan(f.data, f.caplen), f.origlen, f.ts_ns, s) !=
              DecodeStatus::Ok ||
          s.ip_proto != ipproto::kUdp || !s.hasPorts()) {
        continue;
      }
      EXPECT_EQ(s.payload_len, s.payload_wire_len) << path << ": cut datagram";
      out.push_back({s.src, s.dst_port, f.ts_ns, {s.payload, s.payload + s.payload_len}});
    }
  }
  return out;
}

struct DstTotals {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t flows = 0;
  friend bool operator==(const DstTotals&, const DstTotals&) = default;
};
using DstMap = std::map<std::string, DstTotals>;

inline bool haveTshark() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }

inline std::string run(const std::string& cmd) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) return out;
  std::array<char, 4096> buf;
  while (const std::size_t n = std::fread(buf.data(), 1, buf.size(), p.get()))
    out.append(buf.data(), n);
  return out;
}

inline std::vector<std::string> splitList(const std::string& s, char sep) {
  std::vector<std::string> v;
  if (s.empty()) return v;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep)) v.push_back(item);
  if (!s.empty() && s.back() == sep) v.emplace_back();
  return v;
}

// tshark's cflow dissector, raw counters (no sampling renormalisation), one line per frame.
// Records of templates with both address families take the non-zero one; RFC 5103 biflow
// records (two counter values per record) credit the reverse counters to the forward source,
// the convention of peers/flows/tshark_cflow_dst.py.
inline DstMap tsharkTotals(const std::string& path, std::uint16_t port) {
  const std::string p = std::to_string(port);
  const std::string cmd = "tshark -r '" + path + "' -d udp.port==" + p +
                          ",cflow -T fields -E separator='|' -e cflow.dstaddr -e cflow.dstaddrv6"
                          " -e cflow.packets -e cflow.octets -e cflow.srcaddr -e cflow.srcaddrv6"
                          " 2>/dev/null";
  DstMap m;
  std::stringstream lines(run(cmd));
  std::string line;
  while (std::getline(lines, line)) {
    const auto f = splitList(line, '|');
    if (f.size() < 6) continue;
    const auto d4 = splitList(f[0], ','), d6 = splitList(f[1], ',');
    const auto pk = splitList(f[2], ','), by = splitList(f[3], ',');
    const auto s4 = splitList(f[4], ','), s6 = splitList(f[5], ',');
    if (pk.empty()) continue;  // templates or options only
    EXPECT_EQ(pk.size(), by.size()) << line;
    const std::size_t n4 = d4.size(), n6 = d6.size();
    const bool biflow = n6 == 0 && pk.size() == 2 * n4;
    const std::size_t records = biflow ? n4 : pk.size();
    if (!biflow && !((n4 == records || n4 == 0) && (n6 == records || n6 == 0))) {
      ADD_FAILURE() << "cannot pair addresses with counters: " << line;
      continue;
    }
    for (std::size_t i = 0; i < records; ++i) {
      const bool v6 = n6 == records && (n4 == 0 || d6[i] != "::");
      const std::string dst = v6 ? d6[i] : d4[i];
      const std::size_t c = biflow ? 2 * i : i;
      DstTotals& t = m[dst];
      t.packets += std::stoull(pk[c]);
      t.bytes += std::stoull(by[c]);
      ++t.flows;
      if (biflow && std::stoull(pk[c + 1]) != 0) {
        DstTotals& r = m[s4[i]];
        r.packets += std::stoull(pk[c + 1]);
        r.bytes += std::stoull(by[c + 1]);
        ++r.flows;
      }
    }
  }
  return m;
}

// Numbers tshark prints for one field, over every frame (comma lists flattened).
inline std::vector<std::uint64_t> tsharkField(const std::string& path, std::uint16_t port,
                                              const std::string& field) {
  const std::string cmd = "tshark -r '" + path + "' -d udp.port==" + std::to_string(port) +
                          ",cflow -T fields -e " + field + " 2>/dev/null";
  std::vector<std::uint64_t> v;
  std::stringstream lines(run(cmd));
  std::string line;
  while (std::getline(lines, line)) {
    for (const std::string& s : splitList(line, ',')) {
      if (!s.empty()) v.push_back(std::stoull(s));
    }
  }
  return v;
}

}  // namespace bw::test
