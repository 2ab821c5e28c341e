// CaptureFile factory: recognises the format, picks the byte source (mapping, memory or gzip
// window) and the record parser, and binds them in one reader whose next() makes no virtual
// call per frame. See capture_file.h for the contract.
#include "capture/capture_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "capture/byte_stream.h"
#include "capture/byte_window.h"
#include "capture/file_stream.h"
#include "capture/gzip_stream.h"
#include "capture/mapped_file.h"
#include "capture/pcap_parser.h"
#include "capture/pcapng_parser.h"
#include "capture/regular_file.h"

namespace bw {

const char* captureIssueName(CaptureIssue issue) noexcept {
  switch (issue) {
    case CaptureIssue::TruncatedRecord:
      return "truncated_record";
    case CaptureIssue::OversizedRecord:
      return "oversized_record";
    case CaptureIssue::BadBlock:
      return "bad_block";
    case CaptureIssue::UnknownInterface:
      return "unknown_interface";
    case CaptureIssue::MissingSectionHeader:
      return "missing_section_header";
    case CaptureIssue::CompressedDataError:
      return "compressed_data_error";
    case CaptureIssue::ReadError:
      return "read_error";
    case CaptureIssue::kCount:
      break;
  }
  return "unknown";
}

namespace {

// A mapped file's pages are given back in steps of this many bytes as reading moves on: often
// enough to keep the resident set small, rarely enough to cost nothing measurable.
constexpr std::uint64_t kReleaseBytes = 8u << 20;

// Where the bytes come from; the reader owns whichever is in use: a plain file read piece by
// piece (stream), a gzip file mapped (file) and inflated piece by piece (stream), or bytes in
// memory (neither).
struct Source {
  std::optional<MappedFile> file;
  std::unique_ptr<ByteStream> stream;
  std::uint64_t total_bytes = 0;
  bool gzipped = false;
};

template <typename Parser>
class Reader final : public CaptureFile {
 public:
  Reader(Source source, ByteWindow window, Parser parser, const CaptureStats& stats)
      : source_(std::move(source)), window_(window), parser_(std::move(parser)), stats_(stats) {}

  std::size_t next(std::span<Frame> out) noexcept override {
    if (done_ || out.empty()) return 0;
    ByteStream* const stream = source_.stream.get();
    if (source_.file) {  // the previous batch is no longer needed: let its pages go
      const std::uint64_t consumed = bytesConsumed();
      if (consumed - released_ >= kReleaseBytes) {
        source_.file->releaseBefore(static_cast<std::size_t>(consumed));
        released_ = consumed;
      }
    }
    // Sliding invalidates the previous batch, which the contract allows only here. Refilling
    // before the window runs dry keeps batches full, while the bytes moved by each slide stay
    // small next to what was read.
    if (stream != nullptr && !window_.eof &&
        (need_more_ || window_.available() < stream->lowWater())) {
      stream->refill(window_, stats_);
    }
    need_more_ = false;
    for (;;) {
      const ParseResult r = parser_.parse(window_, out.data(), out.size(), stats_);
      stats_.frames += r.frames;
      switch (r.stop) {
        case ParseStop::BatchFull:
          return r.frames;
        case ParseStop::End:
          done_ = true;
          return r.frames;
        case ParseStop::NeedMore:
          if (stream == nullptr) {  // cannot happen: bytes in memory are always at eof
            done_ = true;
            return r.frames;
          }
          if (r.frames != 0) {  // those frames point into the window: slide next time
            need_more_ = true;
            return r.frames;
          }
          stream->refill(window_, stats_);  // gains a byte or reaches eof, so this terminates
          break;
      }
    }
  }

  CaptureFormat format() const noexcept override { return Parser::kFormat; }
  const std::vector<InterfaceInfo>& interfaces() const noexcept override {
    return parser_.interfaces();
  }
  const CaptureStats& stats() const noexcept override { return stats_; }
  std::uint64_t bytesConsumed() const noexcept override {
    return source_.stream != nullptr ? source_.stream->consumed(window_) : window_.pos;
  }
  std::uint64_t totalBytes() const noexcept override { return source_.total_bytes; }

 private:
  Source source_;
  ByteWindow window_;
  Parser parser_;
  CaptureStats stats_;
  std::uint64_t released_ = 0;  // file bytes given back with MappedFile::releaseBefore
  bool need_more_ = false;
  bool done_ = false;
};

std::string hexMagic(const std::uint8_t* p, std::size_t n) {
  std::string s = "0x";
  char buf[3];
  for (std::size_t i = 0; i < n && i < 4; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", p[i]);
    s += buf;
  }
  return s;
}

// Binds a parser to the first bytes of the (inflated) capture. `what` names the capture in
// error messages ("capture file 'x.pcap'"); `stats` holds what inflating the first bytes found.
Result<std::unique_ptr<CaptureFile>> makeReader(const std::string& what, Source source,
                                                ByteWindow window, const CaptureStats& stats) {
  const bool gzipped = source.gzipped;
  const std::uint8_t* p = window.cursor();
  const std::size_t n = window.available();
  const std::string inner = gzipped ? " (after gzip decompression)" : "";
  if (n == 0) return Error{what + " is empty" + inner};
  if (n >= 4 && PcapParser::isMagic(p)) {
    if (n < PcapParser::kFileHeaderBytes) {
      return Error{what + " has a truncated pcap header (" + std::to_string(n) + " of " +
                   std::to_string(PcapParser::kFileHeaderBytes) + " bytes)" + inner};
    }
    PcapParser parser(p);
    window.pos += PcapParser::kFileHeaderBytes;
    auto reader =
        std::make_unique<Reader<PcapParser>>(std::move(source), window, std::move(parser), stats);
    return std::unique_ptr<CaptureFile>(std::move(reader));
  }
  if (n >= 4 && PcapNgParser::isMagic(p)) {
    if (n < 12) {
      return Error{what + " has a truncated pcapng section header (" + std::to_string(n) +
                   " of at least 28 bytes)" + inner};
    }
    if (!PcapNgParser::hasValidByteOrder(p)) {
      return Error{what + " has a pcapng section header with an invalid byte-order magic " +
                   hexMagic(p + 8, 4) + inner};
    }
    // The section header itself is parsed by the block loop, like every later one.
    auto reader =
        std::make_unique<Reader<PcapNgParser>>(std::move(source), window, PcapNgParser(), stats);
    return std::unique_ptr<CaptureFile>(std::move(reader));
  }
  if (n < 4) {
    return Error{what + " is not a pcap or pcapng capture (only " + std::to_string(n) +
                 " bytes, starting with " + hexMagic(p, n) + ")" + inner};
  }
  return Error{what + " is not a pcap or pcapng capture (it starts with " + hexMagic(p, 4) + ")" +
               inner};
}

Result<std::unique_ptr<CaptureFile>> openBytes(const std::string& what, Source source,
                                               ByteSpan bytes) {
  source.total_bytes = bytes.size();
  ByteWindow window;
  CaptureStats stats;
  if (!GzipStream::isMagic(bytes)) {
    window.data = bytes.data();
    window.size = bytes.size();
    window.capacity = bytes.size();
    window.eof = true;
    return makeReader(what, std::move(source), window, stats);
  }
  std::unique_ptr<GzipStream> gzip = GzipStream::create(bytes, kMaxWindowBytes);
  if (gzip == nullptr) return Error{what + " cannot be decompressed: zlib failed to start"};
  gzip->refill(window, stats);
  if (window.available() == 0 && gzip->errorMessage() != nullptr) {
    return Error{what + " is gzip-compressed but corrupt: " + gzip->errorMessage()};
  }
  source.stream = std::move(gzip);
  source.gzipped = true;
  return makeReader(what, std::move(source), window, stats);
}

// A plain file or standard input, read piece by piece. A gzip file is mapped instead (zlib
// reads it in place), which standard input cannot be.
Result<std::unique_ptr<CaptureFile>> openStream(const std::string& what,
                                                std::unique_ptr<FileStream> plain,
                                                const std::string* path) {
  ByteWindow window;
  CaptureStats stats;
  plain->refill(window, stats);
  if (window.available() == 0 && plain->errorMessage() != nullptr) {
    return Error{what + " cannot be read: " + plain->errorMessage()};
  }
  Source source;
  if (GzipStream::isMagic(ByteSpan(window.cursor(), window.available()))) {
    if (path == nullptr) {
      return Error{what + " is gzip-compressed, which only a named file can be: decompress it " +
                   "on the way in (zcat FILE.gz | breakwater analyze -)"};
    }
    Result<MappedFile> mapped = MappedFile::open(*path);
    if (!mapped.ok()) return mapped.error();
    source.file = std::move(mapped.value());
    const ByteSpan bytes = source.file->bytes();
    return openBytes(what, std::move(source), bytes);
  }
  source.total_bytes = plain->size();
  source.stream = std::move(plain);
  return makeReader(what, std::move(source), window, stats);
}

Result<std::unique_ptr<CaptureFile>> openStandardInput() {
  const std::string what = "standard input";
  if (::isatty(STDIN_FILENO) == 1) {
    return Error{what + " is a terminal, not a capture: pipe one in (tcpdump -w - | breakwater " +
                 "analyze -) or name a file"};
  }
  const int fd = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return Error{what + " cannot be read: " + std::strerror(errno)};
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  const std::uint64_t size =
      stat_ok && S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
  // A pipe's 64 KiB default makes the writer and this reader take turns every 64 KiB; 1 MiB
  // (the unprivileged maximum) lets each run longer. Advice only.
  if (stat_ok && S_ISFIFO(st.st_mode)) (void)::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
  return openStream(what, FileStream::adopt(fd, size, kMaxWindowBytes), nullptr);
}

}  // namespace

Result<std::unique_ptr<CaptureFile>> CaptureFile::open(const std::string& path) {
  if (path == "-") return openStandardInput();
  Result<std::unique_ptr<FileStream>> plain = FileStream::open(path, kMaxWindowBytes);
  if (!plain.ok()) return plain.error();
  return openStream(captureFileName(path), std::move(plain.value()), &path);
}

Result<std::unique_ptr<CaptureFile>> CaptureFile::fromMemory(std::span<const std::uint8_t> data) {
  return openBytes("capture in memory", Source{}, data);
}

}  // namespace bw
