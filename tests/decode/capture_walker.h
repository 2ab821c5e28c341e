// Test-only capture walker: reads a whole classic pcap (either byte order, micro- or
// nanosecond) or a simple pcapng (SHB/IDB/EPB/SPB, one section) into frames, so decoder tests
// can run over real captures without depending on src/capture. Not hardened: tests feed it
// known files and stop at the first damaged record.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace bw::test {

struct WalkedFrame {
  std::uint32_t linktype = 0;
  std::uint32_t origlen = 0;
  std::vector<std::uint8_t> data;
};

inline std::uint32_t rd32(const std::uint8_t* p, bool swap) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}
inline std::uint16_t rd16(const std::uint8_t* p, bool swap) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return swap ? __builtin_bswap16(v) : v;
}

// Returns false when the file is missing or is neither format.
inline bool walkCapture(const std::string& path, std::vector<WalkedFrame>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  const std::vector<std::uint8_t> f((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
  if (f.size() < 24) return false;
  const std::uint32_t magic = rd32(f.data(), false);
  if (magic == 0xA1B2C3D4 || magic == 0xA1B23C4D || magic == 0xD4C3B2A1 || magic == 0x4D3CB2A1) {
    const bool swap = magic == 0xD4C3B2A1 || magic == 0x4D3CB2A1;
    const std::uint32_t lt = rd32(f.data() + 20, swap) & 0x0FFFFFFF;
    std::size_t pos = 24;
    while (pos + 16 <= f.size()) {
      const std::uint32_t caplen = rd32(f.data() + pos + 8, swap);
      const std::uint32_t origlen = rd32(f.data() + pos + 12, swap);
      pos += 16;
      if (caplen > f.size() - pos) break;
      out->push_back({lt, origlen, {f.begin() + pos, f.begin() + pos + caplen}});
      pos += caplen;
    }
    return true;
  }
  if (magic != 0x0A0D0D0A) return false;
  const bool swap = rd32(f.data() + 8, false) != 0x1A2B3C4D;
  std::vector<std::uint32_t> linktypes;  // by interface id
  std::size_t pos = 0;
  while (pos + 12 <= f.size()) {
    const std::uint32_t type = rd32(f.data() + pos, swap);
    const std::uint32_t len = rd32(f.data() + pos + 4, swap);
    if (len < 12 || len > f.size() - pos) break;
    const std::uint8_t* b = f.data() + pos + 8;
    if (type == 1 && len >= 20) {  // interface description
      linktypes.push_back(rd16(b, swap));
    } else if (type == 6 && len >= 32) {  // enhanced packet
      const std::uint32_t ifid = rd32(b, swap);
      const std::uint32_t caplen = rd32(b + 12, swap);
      const std::uint32_t origlen = rd32(b + 16, swap);
      if (ifid >= linktypes.size() || caplen > len - 32) break;
      out->push_back({linktypes[ifid], origlen, {b + 20, b + 20 + caplen}});
    } else if (type == 3 && len >= 16 && !linktypes.empty()) {  // simple packet
      const std::uint32_t origlen = rd32(b, swap);
      const std::uint32_t caplen = std::min<std::uint32_t>(origlen, len - 16);
      out->push_back({linktypes[0], origlen, {b + 4, b + 4 + caplen}});
    }
    pos += len;
  }
  return true;
}

}  // namespace bw::test
