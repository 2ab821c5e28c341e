#include "synth/pcap_writer.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/bytes.h"

namespace bw::synth {
namespace {

constexpr std::size_t kBufferBytes = 1 << 20;

bool endsWith(const std::string& s, const char* suffix) {
  std::size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

PcapWriter::PcapWriter(std::string path, const PcapWriterOptions& options)
    : path_(std::move(path)), options_(options), nanosecond_(options.nanosecond) {}

Result<std::unique_ptr<PcapWriter>> PcapWriter::create(const std::string& path,
                                                       const PcapWriterOptions& options) {
  if (options.snaplen == 0 || options.snaplen > kMaxSnaplen) {
    return Error{"cannot write " + path + ": snaplen " + std::to_string(options.snaplen) +
                 " is outside 1-" + std::to_string(kMaxSnaplen)};
  }
  if (options.linktype != pcaplink::kEthernet && options.linktype != pcaplink::kRaw) {
    return Error{"cannot write " + path + ": link type " + std::to_string(options.linktype) +
                 " is not supported (1 = Ethernet, 101 = raw IP)"};
  }
  std::unique_ptr<PcapWriter> w(new PcapWriter(path, options));
  if (path == "-") {
    w->fd_ = STDOUT_FILENO;
    w->owns_fd_ = false;
  } else {
    w->fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd_ < 0) return Error{"cannot create " + path + ": " + std::strerror(errno)};
    if (endsWith(path, ".gz")) {
      // gzdopen takes the descriptor over: gzclose closes it.
      std::string mode = "wb" + std::to_string(std::clamp(options.gzip_level, 1, 9));
      gzFile gz = gzdopen(w->fd_, mode.c_str());
      if (gz == nullptr) {
        ::close(w->fd_);
        w->fd_ = -1;
        return Error{"cannot create " + path + ": gzip stream could not be initialised"};
      }
      gzbuffer(gz, kBufferBytes);
      w->gz_ = gz;
      w->fd_ = -1;
    }
  }
  w->buffer_.resize(kBufferBytes);

  std::uint8_t header[kFileHeaderBytes];
  storeLe32(header, options.nanosecond ? kMagicNanos : kMagicMicros);
  storeLe16(header + 4, 2);  // version 2.4
  storeLe16(header + 6, 4);
  storeLe32(header + 8, 0);   // thiszone
  storeLe32(header + 12, 0);  // sigfigs
  storeLe32(header + 16, options.snaplen);
  storeLe32(header + 20, options.linktype);
  w->append(header, sizeof header);
  return w;
}

PcapWriter::~PcapWriter() {
  if (!finished_) (void)finish();
}

void PcapWriter::write(std::int64_t ts_ns, const std::uint8_t* frame,
                       std::uint32_t length) noexcept {
  const std::uint32_t caplen = std::min(length, options_.snaplen);
  if (used_ + kRecordHeaderBytes + caplen > buffer_.size()) flush();
  std::uint8_t* p = buffer_.data() + used_;
  const std::int64_t sec = ts_ns / 1'000'000'000;
  const std::int64_t frac = ts_ns % 1'000'000'000;
  storeLe32(p, static_cast<std::uint32_t>(sec));
  storeLe32(p + 4, static_cast<std::uint32_t>(nanosecond_ ? frac : frac / 1000));
  storeLe32(p + 8, caplen);
  storeLe32(p + 12, length);
  std::memcpy(p + kRecordHeaderBytes, frame, caplen);
  used_ += kRecordHeaderBytes + caplen;
  bytes_written_ += kRecordHeaderBytes + caplen;
  ++records_;
}

void PcapWriter::append(const std::uint8_t* data, std::size_t length) noexcept {
  if (used_ + length > buffer_.size()) flush();
  std::memcpy(buffer_.data() + used_, data, length);
  used_ += length;
  bytes_written_ += length;
}

void PcapWriter::fail(const std::string& what) noexcept {
  if (error_.empty()) error_ = "cannot write " + path_ + ": " + what;
}

void PcapWriter::flush() noexcept {
  if (used_ == 0) return;
  if (!error_.empty()) {  // keep going cheaply; the error is reported by finish()
    used_ = 0;
    return;
  }
  if (gz_ != nullptr) {
    if (gzwrite(static_cast<gzFile>(gz_), buffer_.data(), static_cast<unsigned>(used_)) !=
        static_cast<int>(used_)) {
      int errnum = 0;
      const char* msg = gzerror(static_cast<gzFile>(gz_), &errnum);
      fail(errnum == Z_ERRNO ? std::strerror(errno) : msg);
    }
  } else {
    const std::uint8_t* p = buffer_.data();
    std::size_t left = used_;
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail(std::strerror(errno));
        break;
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  used_ = 0;
}

Status PcapWriter::finish() {
  if (finished_) return error_.empty() ? Status{} : Status{Error{error_}};
  finished_ = true;
  flush();
  if (gz_ != nullptr) {
    int rc = gzclose(static_cast<gzFile>(gz_));
    gz_ = nullptr;
    if (rc != Z_OK) fail(rc == Z_ERRNO ? std::strerror(errno) : "gzip stream error");
  } else if (fd_ >= 0 && owns_fd_) {
    if (::close(fd_) != 0) fail(std::strerror(errno));
    fd_ = -1;
  }
  if (!error_.empty()) return Error{error_};
  return {};
}

}  // namespace bw::synth
