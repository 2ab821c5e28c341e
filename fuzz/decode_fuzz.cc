// libFuzzer target for the frame decoder and the vector classifier.
//
// Input: the first byte picks one of the supported link types, the rest is the frame. The
// on-wire length is derived from the frame so TSO/jumbogram paths (length 0 in the header)
// are reached too. Every payload byte the summary points at is read, so a bad pointer or
// length shows up under ASan. decodeFrame()'s fast path must agree with the general decoder
// field by field, and classify() with the two separate classifiers.
#include <cstddef>
#include <cstdint>
#include <iterator>

#include "capture/frame.h"
#include "decode/memcached.h"
#include "decode/packet.h"
#include "decode/packet_internal.h"
#include "decode/vector.h"

namespace {

constexpr std::uint32_t kLinkTypes[] = {
    bw::linktype::kEthernet, bw::linktype::kLinuxSll, bw::linktype::kLinuxSll2, bw::linktype::kRaw,
    bw::linktype::kIpv4,     bw::linktype::kIpv6,     bw::linktype::kNull,      bw::linktype::kLoop,
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t selector = data[0];
  const std::uint32_t lt = kLinkTypes[selector % std::size(kLinkTypes)];
  const bw::ByteSpan frame(data + 1, size - 1);
  // High selector bits stretch the wire length past the capture (snaplen truncation).
  const auto origlen = static_cast<std::uint32_t>(frame.size() + (selector >> 3) * 97);

  bw::PacketSummary s;
  const bw::DecodeStatus st = bw::decodeFrame(lt, frame, origlen, 1, s);
  if (static_cast<int>(st) >= static_cast<int>(bw::DecodeStatus::kCount)) __builtin_trap();
  if (bw::decodeStatusName(st) == nullptr) __builtin_trap();
  bw::PacketSummary g;
  if (bw::detail::decodeFrameGeneral(lt, frame, origlen, 1, g) != st) __builtin_trap();
  if (st != bw::DecodeStatus::Ok) return 0;
  if (!(g == s)) __builtin_trap();

  // Invariants the rest of the pipeline relies on.
  if (s.payload == nullptr || s.payload < frame.data() ||
      s.payload + s.payload_len > frame.data() + frame.size()) {
    __builtin_trap();
  }
  if (s.payload_len > s.payload_wire_len) __builtin_trap();
  if (s.hasPorts() && s.isNonFirstFragment()) __builtin_trap();

  volatile std::uint8_t sink = 0;
  for (std::size_t i = 0; i < s.payload_len; ++i) sink = sink + s.payload[i];

  const bw::VectorMatch m = bw::classifyResponse(s);
  if (m.vector != bw::Vector::None && !s.hasPorts()) __builtin_trap();
  const bw::Vector req = bw::classifyRequest(s);
  if (req != bw::Vector::None && !s.hasPorts()) __builtin_trap();
  sink = sink + static_cast<std::uint8_t>(m.evidence) + static_cast<std::uint8_t>(req);
  const bw::Classification c = bw::classify(s);
  if (c.response.vector != m.vector || c.response.evidence != m.evidence ||
      c.response.service_port != m.service_port || c.request != req) {
    __builtin_trap();
  }
  if (m.vector == bw::Vector::Memcached) (void)bw::findRansomNote(s.payloadSpan());
  (void)sink;
  return 0;
}
