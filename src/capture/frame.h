// Frame: one captured link-layer frame as read from a capture file or a live source.
//
// `data` points into the source's buffer and stays valid only until the source's next call
// that produces frames; consumers copy what they keep (in practice: a PacketSummary).
#pragma once

#include <cstdint>

namespace bw {

// Link-layer header types, by their LINKTYPE_ numbers (tcpdump.org/linktypes.html).
namespace linktype {
inline constexpr std::uint32_t kNull = 0;  // BSD loopback, host-order AF word
inline constexpr std::uint32_t kEthernet = 1;
inline constexpr std::uint32_t kRaw = 101;       // raw IPv4 or IPv6, version nibble decides
inline constexpr std::uint32_t kLoop = 108;      // OpenBSD loopback, network-order AF word
inline constexpr std::uint32_t kLinuxSll = 113;  // tcpdump -i any (libpcap < 1.10 default)
inline constexpr std::uint32_t kIpv4 = 228;
inline constexpr std::uint32_t kIpv6 = 229;
inline constexpr std::uint32_t kLinuxSll2 = 276;  // tcpdump -i any with libpcap >= 1.10
}  // namespace linktype

struct Frame {
  std::int64_t ts_ns = 0;      // capture time, nanoseconds since the Unix epoch
  std::uint32_t caplen = 0;    // bytes present at `data`
  std::uint32_t origlen = 0;   // length on the wire (>= caplen when snaplen truncated it)
  std::uint32_t linktype = 0;  // linktype:: value of the interface it came from
  std::uint32_t interface_id = 0;
  const std::uint8_t* data = nullptr;
};

}  // namespace bw
