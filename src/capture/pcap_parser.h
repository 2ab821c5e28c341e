// PcapParser: classic libpcap records (16-byte record header + data) -> Frames.
//
// The byte order and timestamp unit come from the magic number and are bound once, at
// construction, to one of four instantiations of the record loop. Frames point into the
// window. Reading stops at the first record that is oversized or cut short, since a classic
// pcap has no way to resynchronise after a damaged record header. Internal to src/capture.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "capture/byte_window.h"
#include "capture/capture_file.h"
#include "capture/frame.h"

namespace bw {

class PcapParser {
 public:
  static constexpr CaptureFormat kFormat = CaptureFormat::Pcap;
  static constexpr std::size_t kFileHeaderBytes = 24;
  static constexpr std::size_t kRecordHeaderBytes = 16;
  static constexpr std::size_t kPrefetchAhead = 1024;  // bytes ahead of the record being read

  // Magic as the first four bytes read little-endian.
  static constexpr std::uint32_t kMagicMicros = 0xa1b2c3d4;
  static constexpr std::uint32_t kMagicNanos = 0xa1b23c4d;
  static bool isMagic(const std::uint8_t* p) noexcept;

  // REQUIRES: `header` holds kFileHeaderBytes bytes and isMagic(header).
  explicit PcapParser(const std::uint8_t* header) noexcept;

  ParseResult parse(ByteWindow& window, Frame* out, std::size_t max_frames,
                    CaptureStats& stats) noexcept;

  const std::vector<InterfaceInfo>& interfaces() const noexcept { return interfaces_; }

 private:
  template <bool kBigEndian, bool kNanos>
  ParseResult run(ByteWindow& window, Frame* out, std::size_t max_frames,
                  CaptureStats& stats) noexcept;
  using RunFn = ParseResult (PcapParser::*)(ByteWindow&, Frame*, std::size_t,
                                            CaptureStats&) noexcept;

  RunFn run_;
  std::uint32_t linktype_;
  std::uint32_t max_caplen_;  // max(snaplen, kMaxRecordBytes)
  bool stopped_ = false;
  std::vector<InterfaceInfo> interfaces_;
};

}  // namespace bw
