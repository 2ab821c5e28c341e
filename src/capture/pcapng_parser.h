// PcapNgParser: pcapng blocks -> Frames.
//
// Understands Section Header (each one sets the byte order and starts a new interface list),
// Interface Description (link type, snaplen, if_tsresol, if_tsoffset), Enhanced, Simple and
// obsolete Packet Blocks; every other block is skipped by its length. The block loop is
// instantiated once per byte order and re-dispatched only when a section changes it.
//
// Damage handling: a block whose length is impossible (< 12, not a multiple of 4, past the
// end of the data, trailer mismatch) or a section header with an unknown byte-order magic
// stops reading, since the next block cannot be found. A block that is well framed but whose
// contents are wrong (packet for an undeclared interface, caplen beyond the block, record over
// the size limit) is counted and skipped. Internal to src/capture.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "capture/byte_window.h"
#include "capture/capture_file.h"
#include "capture/frame.h"

namespace bw {

// pcapng timestamp units -> nanoseconds since the epoch, for one interface. Exact for every
// if_tsresol (10^-n and 2^-n, n up to 127) thanks to 128-bit intermediates; results outside
// the int64 range saturate.
class TimestampScale {
 public:
  TimestampScale() noexcept = default;  // microseconds, no offset (the pcapng default)
  // `tsresol` is the raw if_tsresol byte; `offset_seconds` the if_tsoffset value.
  static TimestampScale fromOptions(std::uint8_t tsresol, std::int64_t offset_seconds) noexcept;

  std::int64_t toNs(std::uint64_t units) const noexcept;
  // Units per second, saturated to the int64 range (InterfaceInfo::ts_units_per_second).
  std::int64_t unitsPerSecond() const noexcept { return units_per_second_; }

 private:
  enum class Kind : std::uint8_t { Multiply, Divide, Shift, Zero };
  Kind kind_ = Kind::Multiply;
  std::uint8_t shift_ = 0;
  std::uint64_t factor_ = 1000;  // multiplier or divisor
  std::int64_t offset_ns_ = 0;
  std::int64_t units_per_second_ = 1'000'000;
};

class PcapNgParser {
 public:
  static constexpr CaptureFormat kFormat = CaptureFormat::PcapNg;
  static constexpr std::uint32_t kSectionHeaderType = 0x0A0D0D0A;
  static constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;
  // Interfaces kept over the whole file; later descriptions are ignored (their packets are
  // counted as UnknownInterface), so hostile files cannot grow memory without bound.
  static constexpr std::size_t kMaxInterfaces = 65536;

  // True when `p` (at least 4 bytes) starts a section header block.
  static bool isMagic(const std::uint8_t* p) noexcept;
  // REQUIRES: `p` holds at least 12 bytes. True when the byte-order magic is valid.
  static bool hasValidByteOrder(const std::uint8_t* p) noexcept;

  PcapNgParser() noexcept = default;

  ParseResult parse(ByteWindow& window, Frame* out, std::size_t max_frames,
                    CaptureStats& stats) noexcept;

  const std::vector<InterfaceInfo>& interfaces() const noexcept { return interfaces_; }

 private:
  struct Interface {
    std::uint32_t linktype;
    std::uint32_t snaplen;     // 0: unlimited
    std::uint32_t max_caplen;  // max(snaplen, kMaxRecordBytes)
    TimestampScale scale;
  };
  enum class Step : std::uint8_t { BatchFull, NeedMore, End, ByteOrderChanged };

  template <bool kBigEndian>
  Step run(ByteWindow& window, Frame* out, std::size_t max_frames, std::size_t& n,
           CaptureStats& stats) noexcept;
  template <bool kBigEndian>
  void addInterface(const std::uint8_t* body, std::size_t body_len, CaptureStats& stats) noexcept;
  // Index into interfaces_ of the section's interface `id`, or kNoInterface.
  static constexpr std::size_t kNoInterface = ~std::size_t{0};
  std::size_t lookup(std::uint32_t id) const noexcept {
    return id < section_interfaces_ ? section_first_ + id : kNoInterface;
  }
  // Fills `f` from a packet with `caplen` bytes at `data` and `room` bytes of block body left
  // there; false (counted) when it must be skipped.
  bool emit(std::size_t iface, std::int64_t ts_ns, std::uint32_t caplen, std::uint32_t origlen,
            std::size_t room, const std::uint8_t* data, Frame& f, CaptureStats& stats) noexcept;

  bool big_endian_ = false;
  bool in_section_ = false;
  bool stopped_ = false;
  std::uint64_t skip_ = 0;  // bytes of an over-large block still to drop (gzip window only)
  std::size_t section_first_ = 0;
  std::size_t section_interfaces_ = 0;
  std::int64_t last_ts_ns_ = 0;
  std::vector<Interface> params_;
  std::vector<InterfaceInfo> interfaces_;
};

}  // namespace bw
