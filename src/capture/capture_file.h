// CaptureFile: reads classic pcap (µs/ns, either byte order) and pcapng (several interfaces,
// EPB/SPB/OPB, per-interface link type and timestamp resolution), optionally gzip-compressed,
// as batches of Frames. Plain files are read, and gzip files inflated, into a bounded sliding
// buffer, so memory stays constant whatever the file size.
//
// Malformed input never aborts reading silently and never crashes: each problem is counted
// by reason (CaptureIssue) and reading stops at the first damage it cannot resynchronise from.
// Not thread-safe; one reader per thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "capture/frame.h"
#include "core/result.h"

namespace bw {

enum class CaptureFormat : std::uint8_t { Pcap, PcapNg };

// Why part of a capture could not be read. Doubles as an index into CaptureStats::issues.
enum class CaptureIssue : std::uint8_t {
  TruncatedRecord,       // file ends inside a record header or its data
  OversizedRecord,       // caplen larger than the snaplen / a sane maximum (256 KiB)
  BadBlock,              // pcapng block with an impossible length or mismatched trailer
  UnknownInterface,      // pcapng packet names an interface that was never described
  MissingSectionHeader,  // pcapng content before a section header block
  CompressedDataError,   // gzip stream is corrupt
  ReadError,             // the system failed to read the file (an I/O error)
  kCount
};
const char* captureIssueName(CaptureIssue issue) noexcept;

// Records longer than this are refused unless the capture's snaplen allows more (pcap), the
// same bound libpcap and Wireshark use for most link types.
inline constexpr std::uint32_t kMaxRecordBytes = 262144;
// The most bytes the reader's sliding buffer holds (plain files are read into it, gzip files
// inflated into it): its whole memory footprint at worst, and the largest record or pcapng
// block it can return. The buffer starts at 256 KiB and grows only as records require.
inline constexpr std::size_t kMaxWindowBytes = 8u << 20;

struct CaptureStats {
  std::uint64_t frames = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(CaptureIssue::kCount)> issues{};
  void count(CaptureIssue i) noexcept { ++issues[static_cast<std::size_t>(i)]; }
};

struct InterfaceInfo {
  std::uint32_t linktype = 0;
  std::uint32_t snaplen = 0;
  std::int64_t ts_units_per_second = 1'000'000;  // from if_tsresol (pcapng) or the magic (pcap)
};

class CaptureFile {
 public:
  // Opens `path`, recognising the format by its magic number (after gunzip when the file
  // starts with the gzip magic). The error is one sentence naming the file and the problem
  // ("is not a pcap or pcapng capture", "cannot be read: Permission denied", ...). "-" reads
  // a pcap or pcapng stream from standard input (a pipe or a redirected file; not gzip, not a
  // terminal), which can be read only once (see RewindableCapture).
  static Result<std::unique_ptr<CaptureFile>> open(const std::string& path);
  // Same over bytes already in memory (tests, fuzzers). `data` must outlive the reader.
  static Result<std::unique_ptr<CaptureFile>> fromMemory(std::span<const std::uint8_t> data);

  virtual ~CaptureFile() = default;

  // Fills `out` with up to out.size() frames and returns how many; 0 means the end (or
  // unrecoverable damage, counted in stats()). Frames stay valid until the next call.
  virtual std::size_t next(std::span<Frame> out) noexcept = 0;

  virtual CaptureFormat format() const noexcept = 0;
  // Interfaces seen so far (pcap: exactly one). pcapng interfaces of every section are listed
  // in file order, and Frame::interface_id is an index into this list.
  virtual const std::vector<InterfaceInfo>& interfaces() const noexcept = 0;
  virtual const CaptureStats& stats() const noexcept = 0;
  // For progress reporting: bytes of the (compressed) file consumed and its total size.
  virtual std::uint64_t bytesConsumed() const noexcept = 0;
  virtual std::uint64_t totalBytes() const noexcept = 0;
};

}  // namespace bw
