// RewindableCapture: reads through another capture and keeps copies of the frames it returns
// until rewind(); after that it returns those frames again, then the rest of the capture.
//
// For input that can be read only once (standard input) when its first frames must be looked
// at before the whole is read: `breakwater analyze -` sniffs whether a stream holds packets or
// flow exports. The copies are bounded: once about `max_bytes` are kept, next() reports the
// end until rewind(), so a sniffer sees fewer frames rather than memory growing. Stats,
// interfaces and progress are the inner capture's. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "capture/capture_file.h"

namespace bw {

class RewindableCapture final : public CaptureFile {
 public:
  RewindableCapture(std::unique_ptr<CaptureFile> inner, std::size_t max_bytes);

  // Replays the frames returned so far, from the first. REQUIRES: called at most once.
  void rewind() noexcept;

  std::size_t next(std::span<Frame> out) noexcept override;
  CaptureFormat format() const noexcept override { return inner_->format(); }
  const std::vector<InterfaceInfo>& interfaces() const noexcept override {
    return inner_->interfaces();
  }
  const CaptureStats& stats() const noexcept override { return inner_->stats(); }
  std::uint64_t bytesConsumed() const noexcept override { return inner_->bytesConsumed(); }
  std::uint64_t totalBytes() const noexcept override { return inner_->totalBytes(); }

 private:
  // Frames are taken from the inner capture this many at a time while recording, which
  // bounds how far one call can overshoot max_bytes.
  static constexpr std::size_t kRecordStep = 64;

  std::unique_ptr<CaptureFile> inner_;
  std::size_t max_bytes_;
  std::vector<Frame> frames_;                     // data pointers into bytes_, once replaying
  std::vector<std::vector<std::uint8_t>> bytes_;  // each kept frame's bytes
  std::size_t kept_bytes_ = 0;
  std::size_t replayed_ = 0;
  bool recording_ = true;
};

}  // namespace bw
