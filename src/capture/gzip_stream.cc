// gzip inflation into a sliding window. See gzip_stream.h for the contract.
#include "capture/gzip_stream.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

namespace bw {

std::unique_ptr<GzipStream> GzipStream::create(ByteSpan compressed, std::size_t capacity) {
  std::unique_ptr<GzipStream> s(new GzipStream(compressed, capacity));
  // 16 + MAX_WBITS: expect the gzip wrapper (header and CRC trailer), not raw zlib.
  if (inflateInit2(&s->z_, 16 + MAX_WBITS) != Z_OK) return nullptr;
  return s;
}

GzipStream::GzipStream(ByteSpan compressed, std::size_t capacity)
    : in_(compressed), buffer_size_(std::min(capacity, kInitialBytes)), capacity_(capacity) {
  buffer_.reset(new std::uint8_t[buffer_size_]);  // left uninitialised: inflate writes it
}

GzipStream::~GzipStream() { inflateEnd(&z_); }

void GzipStream::fail(CaptureStats& stats, const char* why) noexcept {
  stats.count(CaptureIssue::CompressedDataError);
  if (error_ == nullptr) error_ = why;
  finished_ = true;
}

void GzipStream::refill(ByteWindow& window, CaptureStats& stats) noexcept {
  const std::size_t keep = window.size - window.pos;
  const std::uint8_t* const tail = window.data + window.pos;
  bool moved = false;
  if (filled_ && !finished_ && buffer_size_ < capacity_) {
    // The stream outgrew the buffer: double it (a handful of times per file at most).
    const std::size_t grown = std::min(capacity_, buffer_size_ * 2);
    std::unique_ptr<std::uint8_t[]> bigger(new (std::nothrow) std::uint8_t[grown]);
    if (bigger != nullptr) {
      if (keep != 0) std::memcpy(bigger.get(), tail, keep);
      buffer_ = std::move(bigger);
      buffer_size_ = grown;
      moved = true;
    } else {
      capacity_ = buffer_size_;  // records that would need more become oversized
    }
  }
  std::uint8_t* const buf = buffer_.get();
  if (!moved && keep != 0 && tail != buf) std::memmove(buf, tail, keep);
  filled_ = true;
  window.data = buf;
  window.size = keep;
  window.pos = 0;
  window.capacity = capacity_;

  while (window.size < buffer_size_ && !finished_) {
    if (member_done_) {
      const std::size_t rest = in_.size() - in_pos_;
      if (rest == 0) {
        finished_ = true;
        break;
      }
      if (!isMagic(in_.subspan(in_pos_))) {
        fail(stats, "trailing data after the last gzip member");
        break;
      }
      inflateReset(&z_);
      member_done_ = false;
    }
    const std::size_t in_avail = std::min<std::size_t>(in_.size() - in_pos_, UINT_MAX);
    const std::size_t out_avail = std::min<std::size_t>(buffer_size_ - window.size, UINT_MAX);
    z_.next_in = const_cast<Bytef*>(in_.data() + in_pos_);  // zlib never writes through it
    z_.avail_in = static_cast<uInt>(in_avail);
    z_.next_out = buf + window.size;
    z_.avail_out = static_cast<uInt>(out_avail);
    const int rc = inflate(&z_, Z_NO_FLUSH);
    const std::size_t used = in_avail - z_.avail_in;
    const std::size_t produced = out_avail - z_.avail_out;
    in_pos_ += used;
    window.size += produced;
    if (rc == Z_STREAM_END) {
      member_done_ = true;
    } else if (rc == Z_OK || rc == Z_BUF_ERROR) {
      // No progress with output room left means the input ran out mid-member.
      if (used == 0 && produced == 0) fail(stats, "the gzip stream is cut short");
    } else {
      fail(stats, z_.msg != nullptr ? z_.msg : "the gzip stream is corrupt");
    }
  }
  window.eof = finished_;
}

}  // namespace bw
