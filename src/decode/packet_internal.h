// Internals of the frame decoder that tests need to reach: the general decoding path on its
// own, without the fast path decodeFrame() tries first, so the two can be compared frame by
// frame. Not for use outside src/decode and its tests.
#pragma once

#include <cstdint>

#include "core/bytes.h"
#include "decode/packet.h"

namespace bw::detail {

// decodeFrame() without its fast path: the same contract and results for every input.
DecodeStatus decodeFrameGeneral(std::uint32_t linktype, ByteSpan frame, std::uint32_t origlen,
                                std::int64_t ts_ns, PacketSummary& out) noexcept;

}  // namespace bw::detail
