// pcapng block loop. See pcapng_parser.h for the contract.
#include "capture/pcapng_parser.h"

#include <algorithm>
#include <limits>

namespace bw {
namespace {

constexpr std::uint32_t kInterfaceDescriptionType = 1;
constexpr std::uint32_t kObsoletePacketType = 2;
constexpr std::uint32_t kSimplePacketType = 3;
constexpr std::uint32_t kEnhancedPacketType = 6;

// Fixed part of each block body (after type and length, before the trailer).
constexpr std::size_t kSectionHeaderFixed = 16;  // byte-order magic, version, section length
constexpr std::size_t kInterfaceFixed = 8;       // link type, reserved, snaplen
constexpr std::size_t kPacketFixed = 20;         // EPB and obsolete PB
constexpr std::size_t kSimplePacketFixed = 4;    // original length

constexpr std::uint16_t kOptEndOfOpt = 0;
constexpr std::uint16_t kOptTsResol = 9;
constexpr std::uint16_t kOptTsOffset = 14;

constexpr std::int64_t kNsPerSecond = 1'000'000'000;

std::int64_t saturate(__int128 v) noexcept {
  constexpr __int128 kMax = std::numeric_limits<std::int64_t>::max();
  constexpr __int128 kMin = std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(std::clamp(v, kMin, kMax));
}

std::uint64_t pow10(unsigned n) noexcept {  // REQUIRES: n <= 19
  std::uint64_t v = 1;
  while (n-- != 0) v *= 10;
  return v;
}

bool isPacketBlock(std::uint32_t type) noexcept {
  return type == kEnhancedPacketType || type == kSimplePacketType || type == kObsoletePacketType;
}

}  // namespace

TimestampScale TimestampScale::fromOptions(std::uint8_t tsresol,
                                           std::int64_t offset_seconds) noexcept {
  TimestampScale s;
  const unsigned n = tsresol & 0x7f;
  if (tsresol & 0x80) {  // 2^-n seconds per unit
    s.kind_ = Kind::Shift;
    s.shift_ = static_cast<std::uint8_t>(n);
    s.units_per_second_ = n <= 62 ? std::int64_t{1} << n : std::numeric_limits<std::int64_t>::max();
  } else {  // 10^-n seconds per unit
    if (n <= 9) {
      s.kind_ = Kind::Multiply;
      s.factor_ = pow10(9 - n);
    } else if (n - 9 <= 19) {
      s.kind_ = Kind::Divide;
      s.factor_ = pow10(n - 9);
    } else {  // a 64-bit count of such units is always below one nanosecond
      s.kind_ = Kind::Zero;
    }
    s.units_per_second_ =
        n <= 18 ? static_cast<std::int64_t>(pow10(n)) : std::numeric_limits<std::int64_t>::max();
  }
  s.offset_ns_ = saturate(static_cast<__int128>(offset_seconds) * kNsPerSecond);
  return s;
}

std::int64_t TimestampScale::toNs(std::uint64_t units) const noexcept {
  unsigned __int128 ns = 0;  // < 2^94 in every case, so the sum below cannot overflow
  switch (kind_) {
    case Kind::Multiply:
      ns = static_cast<unsigned __int128>(units) * factor_;
      break;
    case Kind::Divide:
      ns = units / factor_;
      break;
    case Kind::Shift:
      ns = (static_cast<unsigned __int128>(units) * kNsPerSecond) >> shift_;
      break;
    case Kind::Zero:
      break;
  }
  return saturate(static_cast<__int128>(ns) + offset_ns_);
}

bool PcapNgParser::isMagic(const std::uint8_t* p) noexcept {
  return loadLe32(p) == kSectionHeaderType;
}

bool PcapNgParser::hasValidByteOrder(const std::uint8_t* p) noexcept {
  return loadLe32(p + 8) == kByteOrderMagic || loadBe32(p + 8) == kByteOrderMagic;
}

ParseResult PcapNgParser::parse(ByteWindow& window, Frame* out, std::size_t max_frames,
                                CaptureStats& stats) noexcept {
  if (stopped_) return {0, ParseStop::End};
  std::size_t n = 0;
  for (;;) {
    const Step step = big_endian_ ? run<true>(window, out, max_frames, n, stats)
                                  : run<false>(window, out, max_frames, n, stats);
    switch (step) {
      case Step::BatchFull:
        return {n, ParseStop::BatchFull};
      case Step::NeedMore:
        return {n, ParseStop::NeedMore};
      case Step::End:
        stopped_ = true;
        return {n, ParseStop::End};
      case Step::ByteOrderChanged:
        break;  // run again with the other instantiation
    }
  }
}

template <bool kBigEndian>
PcapNgParser::Step PcapNgParser::run(ByteWindow& window, Frame* out, std::size_t max_frames,
                                     std::size_t& n, CaptureStats& stats) noexcept {
  for (;;) {
    if (skip_ != 0) {
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(skip_, window.available()));
      window.pos += take;
      skip_ -= take;
      if (skip_ != 0) {
        if (!window.eof) return Step::NeedMore;
        stats.count(CaptureIssue::BadBlock);  // its length ran past the end of the data
        return Step::End;
      }
    }
    if (n == max_frames) return Step::BatchFull;

    const std::size_t avail = window.available();
    const std::uint8_t* const p = window.cursor();
    if (avail < 8) {
      if (!window.eof) return Step::NeedMore;
      if (avail != 0) stats.count(CaptureIssue::TruncatedRecord);
      return Step::End;
    }
    const std::uint32_t type = load32<kBigEndian>(p);  // the SHB type reads the same both ways
    if (type == kSectionHeaderType) {
      if (avail < 12) {
        if (!window.eof) return Step::NeedMore;
        stats.count(CaptureIssue::TruncatedRecord);
        return Step::End;
      }
      if (!hasValidByteOrder(p)) {
        // Without a byte order nothing after this point can be framed.
        stats.count(CaptureIssue::MissingSectionHeader);
        return Step::End;
      }
      const bool big = loadBe32(p + 8) == kByteOrderMagic;
      if (big != kBigEndian) {
        big_endian_ = big;
        return Step::ByteOrderChanged;
      }
    } else if (!in_section_) {
      stats.count(CaptureIssue::MissingSectionHeader);
      return Step::End;
    }

    const std::uint32_t len = load32<kBigEndian>(p + 4);
    if (len < 12 || len % 4 != 0) {
      stats.count(CaptureIssue::BadBlock);
      return Step::End;
    }
    if (len > avail) {
      if (window.eof) {
        stats.count(CaptureIssue::BadBlock);
        return Step::End;
      }
      if (len > window.capacity) {
        // Only possible with the gzip window: drop the block as it streams past.
        if (isPacketBlock(type)) stats.count(CaptureIssue::OversizedRecord);
        skip_ = len;
        continue;
      }
      return Step::NeedMore;
    }
    if (load32<kBigEndian>(p + len - 4) != len) {
      stats.count(CaptureIssue::BadBlock);
      return Step::End;
    }

    const std::uint8_t* const body = p + 8;
    const std::size_t body_len = len - 12;
    switch (type) {
      case kSectionHeaderType:
        if (body_len < kSectionHeaderFixed) {
          stats.count(CaptureIssue::BadBlock);
          return Step::End;
        }
        in_section_ = true;
        section_first_ = interfaces_.size();
        section_interfaces_ = 0;
        break;
      case kInterfaceDescriptionType:
        if (body_len < kInterfaceFixed) {
          stats.count(CaptureIssue::BadBlock);
          return Step::End;
        }
        addInterface<kBigEndian>(body, body_len, stats);
        break;
      case kEnhancedPacketType:
      case kObsoletePacketType: {
        if (body_len < kPacketFixed) {
          stats.count(CaptureIssue::BadBlock);
          return Step::End;
        }
        const std::uint32_t id =
            type == kEnhancedPacketType ? load32<kBigEndian>(body) : load16<kBigEndian>(body);
        const std::size_t iface = lookup(id);
        if (iface == kNoInterface) {
          stats.count(CaptureIssue::UnknownInterface);
          break;
        }
        const std::uint64_t units =
            (std::uint64_t{load32<kBigEndian>(body + 4)} << 32) | load32<kBigEndian>(body + 8);
        if (emit(iface, params_[iface].scale.toNs(units), load32<kBigEndian>(body + 12),
                 load32<kBigEndian>(body + 16), body_len - kPacketFixed, body + kPacketFixed,
                 out[n], stats)) {
          ++n;
        }
        break;
      }
      case kSimplePacketType: {
        if (body_len < kSimplePacketFixed) {
          stats.count(CaptureIssue::BadBlock);
          return Step::End;
        }
        const std::size_t iface = lookup(0);
        if (iface == kNoInterface) {
          stats.count(CaptureIssue::UnknownInterface);
          break;
        }
        // The data is padded to 32 bits, so the room can exceed the original length.
        const std::uint32_t origlen = load32<kBigEndian>(body);
        const std::size_t room = body_len - kSimplePacketFixed;
        std::uint32_t caplen = static_cast<std::uint32_t>(std::min<std::size_t>(room, origlen));
        const std::uint32_t snaplen = params_[iface].snaplen;
        if (snaplen != 0 && snaplen < caplen) caplen = snaplen;
        if (emit(iface, last_ts_ns_, caplen, origlen, room, body + kSimplePacketFixed, out[n],
                 stats)) {
          ++n;
        }
        break;
      }
      default:  // name resolution, statistics, decryption secrets, custom, ...
        break;
    }
    window.pos += len;
  }
}

bool PcapNgParser::emit(std::size_t iface, std::int64_t ts_ns, std::uint32_t caplen,
                        std::uint32_t origlen, std::size_t room, const std::uint8_t* data, Frame& f,
                        CaptureStats& stats) noexcept {
  const Interface& info = params_[iface];
  if (caplen > room) {
    stats.count(CaptureIssue::BadBlock);
    return false;
  }
  if (caplen > info.max_caplen) {
    stats.count(CaptureIssue::OversizedRecord);
    return false;
  }
  f.ts_ns = ts_ns;
  f.caplen = caplen;
  f.origlen = origlen;
  f.linktype = info.linktype;
  f.interface_id = static_cast<std::uint32_t>(iface);
  f.data = data;
  last_ts_ns_ = ts_ns;
  return true;
}

template <bool kBigEndian>
void PcapNgParser::addInterface(const std::uint8_t* body, std::size_t body_len,
                                CaptureStats& stats) noexcept {
  const std::uint32_t linktype = load16<kBigEndian>(body);
  const std::uint32_t snaplen = load32<kBigEndian>(body + 4);
  std::uint8_t tsresol = 6;
  std::int64_t offset_seconds = 0;
  const std::uint8_t* q = body + kInterfaceFixed;
  const std::uint8_t* const end = body + body_len;
  while (end - q >= 4) {
    const std::uint16_t code = load16<kBigEndian>(q);
    const std::size_t opt_len = load16<kBigEndian>(q + 2);
    q += 4;
    if (code == kOptEndOfOpt) break;
    if (opt_len > static_cast<std::size_t>(end - q)) {
      stats.count(CaptureIssue::BadBlock);  // option runs past its block: ignore the rest
      break;
    }
    if (code == kOptTsResol && opt_len >= 1) tsresol = q[0];
    if (code == kOptTsOffset && opt_len >= 8) {
      offset_seconds = static_cast<std::int64_t>(load64<kBigEndian>(q));
    }
    q += std::min<std::size_t>((opt_len + 3) & ~std::size_t{3}, static_cast<std::size_t>(end - q));
  }
  if (interfaces_.size() >= kMaxInterfaces) return;
  const TimestampScale scale = TimestampScale::fromOptions(tsresol, offset_seconds);
  // Allocation per interface description, never per packet.
  params_.push_back(Interface{.linktype = linktype,
                              .snaplen = snaplen,
                              .max_caplen = std::max(snaplen, kMaxRecordBytes),
                              .scale = scale});
  interfaces_.push_back(InterfaceInfo{
      .linktype = linktype, .snaplen = snaplen, .ts_units_per_second = scale.unitsPerSecond()});
  ++section_interfaces_;
}

}  // namespace bw
