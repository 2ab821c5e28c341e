// PcapWriter: writes classic pcap files (libpcap format, little-endian, microsecond or
// nanosecond magic), plain or gzip-compressed (when the path ends in ".gz"), or to standard
// output when the path is "-".
//
// Records are appended to a 1 MiB buffer flushed with write(2) (or gzwrite), so writing costs
// one memcpy per record and no allocation. A record keeps at most `snaplen` bytes of its frame
// while its original length stays the frame's full length, as a capturing tool would write it.
// I/O errors are sticky: the first one is remembered and reported by finish(), naming the file.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace bw::synth {

// LINKTYPE_ numbers this writer produces (tcpdump.org/linktypes.html).
namespace pcaplink {
inline constexpr std::uint32_t kEthernet = 1;
inline constexpr std::uint32_t kRaw = 101;  // raw IPv4/IPv6, no link header
}  // namespace pcaplink

struct PcapWriterOptions {
  std::uint32_t linktype = pcaplink::kEthernet;
  std::uint32_t snaplen = 262144;  // libpcap's default maximum
  bool nanosecond = false;         // nanosecond-resolution magic 0xa1b23c4d
  int gzip_level = 1;              // ".gz" output: fast; synthetic traffic compresses well anyway
};

class PcapWriter {
 public:
  static constexpr std::uint32_t kMagicMicros = 0xa1b2c3d4;
  static constexpr std::uint32_t kMagicNanos = 0xa1b23c4d;
  static constexpr std::size_t kFileHeaderBytes = 24;
  static constexpr std::size_t kRecordHeaderBytes = 16;
  static constexpr std::uint32_t kMaxSnaplen = 262144;

  // Creates (truncates) `path`. Errors name the file: "cannot create out.pcap: Permission denied".
  static Result<std::unique_ptr<PcapWriter>> create(const std::string& path,
                                                    const PcapWriterOptions& options);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Appends one record. REQUIRES: ts_ns >= 0 (and before 2106, the pcap time limit).
  void write(std::int64_t ts_ns, const std::uint8_t* frame, std::uint32_t length) noexcept;

  // Flushes and closes the file. Returns the first error met since create().
  Status finish();

  // The timestamp as it is stored in the file (truncated to microseconds unless nanosecond).
  std::int64_t storedTimestamp(std::int64_t ts_ns) const noexcept {
    return nanosecond_ ? ts_ns : ts_ns - ts_ns % 1000;
  }
  std::uint64_t records() const noexcept { return records_; }
  // Bytes of pcap data produced (before compression).
  std::uint64_t bytesWritten() const noexcept { return bytes_written_; }
  const std::string& path() const noexcept { return path_; }
  const PcapWriterOptions& options() const noexcept { return options_; }

 private:
  PcapWriter(std::string path, const PcapWriterOptions& options);
  void append(const std::uint8_t* data, std::size_t length) noexcept;
  void flush() noexcept;
  void fail(const std::string& what) noexcept;

  std::string path_;
  PcapWriterOptions options_;
  bool nanosecond_;
  int fd_ = -1;          // plain output
  void* gz_ = nullptr;   // gzFile for ".gz" output
  bool owns_fd_ = true;  // false for standard output
  std::vector<std::uint8_t> buffer_;
  std::size_t used_ = 0;
  std::uint64_t records_ = 0;
  std::uint64_t bytes_written_ = 0;
  std::string error_;  // first error, empty while healthy
  bool finished_ = false;
};

}  // namespace bw::synth
