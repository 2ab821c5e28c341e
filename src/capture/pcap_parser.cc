// Classic pcap record loop. See pcap_parser.h for the contract.
#include "capture/pcap_parser.h"

#include <algorithm>

namespace bw {

bool PcapParser::isMagic(const std::uint8_t* p) noexcept {
  const std::uint32_t le = loadLe32(p);
  const std::uint32_t be = loadBe32(p);
  return le == kMagicMicros || le == kMagicNanos || be == kMagicMicros || be == kMagicNanos;
}

PcapParser::PcapParser(const std::uint8_t* header) noexcept {
  const bool big = loadBe32(header) == kMagicMicros || loadBe32(header) == kMagicNanos;
  const std::uint32_t magic = big ? loadBe32(header) : loadLe32(header);
  const bool nanos = magic == kMagicNanos;
  const std::uint32_t snaplen = big ? loadBe32(header + 16) : loadLe32(header + 16);
  const std::uint32_t network = big ? loadBe32(header + 20) : loadLe32(header + 20);
  // The upper bits of the network field carry the FCS length; the link type is below them.
  linktype_ = network & 0xffff;
  max_caplen_ = std::max(snaplen, kMaxRecordBytes);
  if (big) {
    run_ = nanos ? &PcapParser::run<true, true> : &PcapParser::run<true, false>;
  } else {
    run_ = nanos ? &PcapParser::run<false, true> : &PcapParser::run<false, false>;
  }
  interfaces_.push_back(InterfaceInfo{.linktype = linktype_,
                                      .snaplen = snaplen,
                                      .ts_units_per_second = nanos ? 1'000'000'000 : 1'000'000});
}

ParseResult PcapParser::parse(ByteWindow& window, Frame* out, std::size_t max_frames,
                              CaptureStats& stats) noexcept {
  if (stopped_) return {0, ParseStop::End};
  return (this->*run_)(window, out, max_frames, stats);
}

template <bool kBigEndian, bool kNanos>
ParseResult PcapParser::run(ByteWindow& window, Frame* out, std::size_t max_frames,
                            CaptureStats& stats) noexcept {
  constexpr std::int64_t kFracToNs = kNanos ? 1 : 1000;
  const std::uint8_t* p = window.data + window.pos;
  const std::uint8_t* const end = window.data + window.size;
  const std::uint32_t linktype = linktype_;
  const std::uint32_t max_caplen = max_caplen_;
  ParseResult result;
  std::size_t n = 0;
  for (;;) {
    if (n == max_frames) {
      result.stop = ParseStop::BatchFull;
      break;
    }
    const std::size_t left = static_cast<std::size_t>(end - p);
    if (left < kRecordHeaderBytes) {
      if (!window.eof) {
        result.stop = ParseStop::NeedMore;
        break;
      }
      if (left != 0) stats.count(CaptureIssue::TruncatedRecord);
      stopped_ = true;
      result.stop = ParseStop::End;
      break;
    }
    // Each record header's load decides where the next one is: a chain of loads that would
    // each wait for memory if nothing fetched ahead.
    if (left > kPrefetchAhead) __builtin_prefetch(p + kPrefetchAhead);
    const std::uint32_t caplen = load32<kBigEndian>(p + 8);
    if (caplen > max_caplen) {
      // Hostile or garbage: the next header cannot be located reliably, so stop.
      stats.count(CaptureIssue::OversizedRecord);
      stopped_ = true;
      result.stop = ParseStop::End;
      break;
    }
    if (left - kRecordHeaderBytes < caplen) {
      if (!window.eof && kRecordHeaderBytes + caplen <= window.capacity) {
        result.stop = ParseStop::NeedMore;
        break;
      }
      // At the end of the data, or a record the (gzip) window could never hold whole.
      stats.count(window.eof ? CaptureIssue::TruncatedRecord : CaptureIssue::OversizedRecord);
      stopped_ = true;
      result.stop = ParseStop::End;
      break;
    }
    Frame& f = out[n++];
    // Seconds are read unsigned (valid until 2106); both terms fit comfortably in int64.
    f.ts_ns = static_cast<std::int64_t>(load32<kBigEndian>(p)) * 1'000'000'000 +
              static_cast<std::int64_t>(load32<kBigEndian>(p + 4)) * kFracToNs;
    f.caplen = caplen;
    f.origlen = load32<kBigEndian>(p + 12);
    f.linktype = linktype;
    f.interface_id = 0;
    f.data = p + kRecordHeaderBytes;
    p += kRecordHeaderBytes + caplen;
  }
  window.pos = static_cast<std::size_t>(p - window.data);
  result.frames = n;
  return result;
}

}  // namespace bw
