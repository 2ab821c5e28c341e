// A capture whose first frames can be read twice. See rewindable_capture.h for the contract.
#include "capture/rewindable_capture.h"

#include <algorithm>
#include <utility>

namespace bw {

RewindableCapture::RewindableCapture(std::unique_ptr<CaptureFile> inner, std::size_t max_bytes)
    : inner_(std::move(inner)), max_bytes_(max_bytes) {}

void RewindableCapture::rewind() noexcept {
  recording_ = false;
  replayed_ = 0;
  for (std::size_t i = 0; i < frames_.size(); ++i) frames_[i].data = bytes_[i].data();
}

std::size_t RewindableCapture::next(std::span<Frame> out) noexcept {
  if (recording_) {
    if (kept_bytes_ >= max_bytes_) return 0;
    const std::size_t n = inner_->next(out.first(std::min(out.size(), kRecordStep)));
    for (std::size_t i = 0; i < n; ++i) {
      frames_.push_back(out[i]);
      bytes_.emplace_back(out[i].data, out[i].data + out[i].caplen);
      kept_bytes_ += out[i].caplen;
    }
    return n;
  }
  if (replayed_ < frames_.size()) {
    const std::size_t n = std::min(out.size(), frames_.size() - replayed_);
    std::copy_n(frames_.begin() + static_cast<std::ptrdiff_t>(replayed_), n, out.begin());
    replayed_ += n;
    return n;
  }
  if (!frames_.empty()) {  // the last replayed batch is no longer in use: let the copies go
    std::vector<Frame>().swap(frames_);
    std::vector<std::vector<std::uint8_t>>().swap(bytes_);
  }
  return inner_->next(out);
}

}  // namespace bw
