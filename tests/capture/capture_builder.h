// Test helpers for the capture reader: byte images of pcap and pcapng files written field by
// field in either byte order, gzip compression with zlib, temporary files, a reader that owns
// its bytes, and a loop that reads every frame of a CaptureFile into owned copies.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "capture/capture_file.h"

namespace bw::testing {

using Bytes = std::vector<std::uint8_t>;

// Appends integers in a chosen byte order.
class ByteWriter {
 public:
  explicit ByteWriter(bool big_endian) : big_(big_endian) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void raw(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void pad4() {
    while (out_.size() % 4 != 0) out_.push_back(0);
  }
  Bytes& bytes() { return out_; }
  std::size_t size() const { return out_.size(); }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
      const int shift = big_ ? (n - 1 - i) * 8 : i * 8;
      out_.push_back(static_cast<std::uint8_t>(v >> shift));
    }
  }
  bool big_;
  Bytes out_;
};

// A payload whose bytes encode `seed`, so a test can tell frames apart by content.
inline Bytes payload(std::size_t n, std::uint32_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed * 31 + i * 7);
  return b;
}

class PcapBuilder {
 public:
  PcapBuilder(bool big_endian, bool nanos, std::uint32_t snaplen = 65535, std::uint32_t network = 1)
      : w_(big_endian) {
    w_.u32(nanos ? 0xa1b23c4d : 0xa1b2c3d4);
    w_.u16(2);
    w_.u16(4);
    w_.u32(0);  // thiszone
    w_.u32(0);  // sigfigs
    w_.u32(snaplen);
    w_.u32(network);
  }
  // `origlen` defaults to the data size; `caplen` lets a test write a lying header.
  PcapBuilder& record(std::uint32_t sec, std::uint32_t frac, const Bytes& data,
                      std::optional<std::uint32_t> origlen = std::nullopt,
                      std::optional<std::uint32_t> caplen = std::nullopt) {
    boundaries_.push_back(w_.size());
    w_.u32(sec);
    w_.u32(frac);
    w_.u32(caplen.value_or(static_cast<std::uint32_t>(data.size())));
    w_.u32(origlen.value_or(static_cast<std::uint32_t>(data.size())));
    w_.raw(data);
    return *this;
  }
  Bytes bytes() { return w_.bytes(); }
  // Offsets at which each record starts.
  const std::vector<std::size_t>& recordStarts() const { return boundaries_; }

 private:
  ByteWriter w_;
  std::vector<std::size_t> boundaries_;
};

// pcapng blocks; the byte order is set by each section header and applies to what follows.
class PcapNgBuilder {
 public:
  PcapNgBuilder& shb(bool big_endian) {
    big_ = big_endian;
    ByteWriter body(big_);
    body.u32(0x1A2B3C4D);
    body.u16(1);
    body.u16(0);
    body.u64(~std::uint64_t{0});  // section length unknown
    return block(0x0A0D0D0A, body.bytes());
  }
  // Interface Description Block; snaplen 0 means unlimited. if_tsresol and if_tsoffset are
  // written only when given.
  PcapNgBuilder& idb(std::uint16_t linktype = 1, std::uint32_t snaplen = 0,
                     std::optional<std::uint8_t> tsresol = std::nullopt,
                     std::optional<std::int64_t> tsoffset = std::nullopt) {
    ByteWriter body(big_);
    body.u16(linktype);
    body.u16(0);
    body.u32(snaplen);
    body.u16(2);  // if_name, to be skipped
    body.u16(3);
    body.raw(Bytes{'e', 't', 'h'});
    body.pad4();
    if (tsresol) {
      body.u16(9);
      body.u16(1);
      body.u8(*tsresol);
      body.pad4();
    }
    if (tsoffset) {
      body.u16(14);
      body.u16(8);
      body.u64(static_cast<std::uint64_t>(*tsoffset));
    }
    body.u16(0);  // opt_endofopt
    body.u16(0);
    return block(1, body.bytes());
  }
  PcapNgBuilder& epb(std::uint32_t iface, std::uint64_t units, const Bytes& data,
                     std::optional<std::uint32_t> origlen = std::nullopt,
                     std::optional<std::uint32_t> caplen = std::nullopt) {
    ByteWriter body(big_);
    body.u32(iface);
    body.u32(static_cast<std::uint32_t>(units >> 32));
    body.u32(static_cast<std::uint32_t>(units));
    body.u32(caplen.value_or(static_cast<std::uint32_t>(data.size())));
    body.u32(origlen.value_or(static_cast<std::uint32_t>(data.size())));
    body.raw(data);
    body.pad4();
    body.u16(1);  // opt_comment after the data, to be ignored
    body.u16(2);
    body.raw(Bytes{'h', 'i'});
    body.pad4();
    body.u16(0);
    body.u16(0);
    return block(6, body.bytes());
  }
  // Obsolete Packet Block (type 2).
  PcapNgBuilder& pb(std::uint16_t iface, std::uint64_t units, const Bytes& data) {
    ByteWriter body(big_);
    body.u16(iface);
    body.u16(0);  // drops
    body.u32(static_cast<std::uint32_t>(units >> 32));
    body.u32(static_cast<std::uint32_t>(units));
    body.u32(static_cast<std::uint32_t>(data.size()));
    body.u32(static_cast<std::uint32_t>(data.size()));
    body.raw(data);
    body.pad4();
    return block(2, body.bytes());
  }
  PcapNgBuilder& spb(const Bytes& data, std::optional<std::uint32_t> origlen = std::nullopt) {
    ByteWriter body(big_);
    body.u32(origlen.value_or(static_cast<std::uint32_t>(data.size())));
    body.raw(data);
    body.pad4();
    return block(3, body.bytes());
  }
  // Any block, framed with its length and trailer.
  PcapNgBuilder& block(std::uint32_t type, const Bytes& body) {
    starts_.push_back(w().size());
    ByteWriter& out = w();
    const auto len = static_cast<std::uint32_t>(12 + ((body.size() + 3) & ~std::size_t{3}));
    ByteWriter head(big_);
    head.u32(type);
    head.u32(len);
    out.raw(head.bytes());
    out.raw(body);
    out.pad4();
    ByteWriter tail(big_);
    tail.u32(len);
    out.raw(tail.bytes());
    return *this;
  }
  Bytes bytes() { return w().bytes(); }
  // Offsets at which each block starts.
  const std::vector<std::size_t>& blockStarts() const { return starts_; }

 private:
  ByteWriter& w() { return out_; }
  bool big_ = false;
  ByteWriter out_{false};  // only raw() is used on it: byte order is per field above
  std::vector<std::size_t> starts_;
};

// gzip (RFC 1952) of `data` as one member.
inline Bytes gzip(std::span<const std::uint8_t> data, int level = 6) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  Bytes out(deflateBound(&z, data.size()) + 64);
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(rc == Z_STREAM_END ? z.total_out : 0);
  deflateEnd(&z);
  return out;
}

// A file under the system temp directory, removed when the object goes away.
class TempFile {
 public:
  explicit TempFile(std::span<const std::uint8_t> contents, const char* suffix = "") {
    char tmpl[] = "/tmp/bw_capture_test_XXXXXX";
    const int fd = mkstemp(tmpl);
    base_ = tmpl;
    path_ = base_ + suffix;
    if (fd >= 0) ::close(fd);
    if (path_ != base_) std::remove(base_.c_str());
    if (std::FILE* f = std::fopen(path_.c_str(), "wb")) {
      if (!contents.empty()) std::fwrite(contents.data(), 1, contents.size(), f);
      std::fclose(f);
    }
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string base_;
  std::string path_;
};

// An owned copy of a Frame, for comparing after the reader has moved on.
struct FrameCopy {
  std::int64_t ts_ns;
  std::uint32_t caplen;
  std::uint32_t origlen;
  std::uint32_t linktype;
  std::uint32_t interface_id;
  Bytes data;
};

// Every field of every frame, in order.
inline void expectSameFrames(const std::vector<FrameCopy>& a, const std::vector<FrameCopy>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].ts_ns, b[i].ts_ns) << i;
    EXPECT_EQ(a[i].origlen, b[i].origlen) << i;
    EXPECT_EQ(a[i].linktype, b[i].linktype) << i;
    EXPECT_EQ(a[i].interface_id, b[i].interface_id) << i;
    EXPECT_EQ(a[i].data, b[i].data) << i;
  }
}

inline std::vector<FrameCopy> readAll(CaptureFile& file, std::size_t batch = 64) {
  std::vector<Frame> frames(batch);
  std::vector<FrameCopy> all;
  while (const std::size_t n = file.next(frames)) {
    for (std::size_t i = 0; i < n; ++i) {
      const Frame& f = frames[i];
      all.push_back({f.ts_ns, f.caplen, f.origlen, f.linktype, f.interface_id,
                     Bytes(f.data, f.data + f.caplen)});
    }
  }
  return all;
}

inline std::uint64_t issueCount(const CaptureFile& file, CaptureIssue issue) {
  return file.stats().issues[static_cast<std::size_t>(issue)];
}

inline std::uint64_t totalIssues(const CaptureFile& file) {
  std::uint64_t sum = 0;
  for (std::uint64_t v : file.stats().issues) sum += v;
  return sum;
}

// A reader over bytes it keeps alive (fromMemory() requires the data to outlive the reader).
class Opened {
 public:
  explicit Opened(Bytes bytes) : bytes_(std::make_unique<Bytes>(std::move(bytes))) {
    auto r = CaptureFile::fromMemory(*bytes_);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (r.ok()) file_ = std::move(r.value());
  }
  CaptureFile* operator->() const { return file_.get(); }
  CaptureFile& operator*() const { return *file_; }
  bool operator==(std::nullptr_t) const { return file_ == nullptr; }

 private:
  std::unique_ptr<Bytes> bytes_;
  std::unique_ptr<CaptureFile> file_;
};

inline Opened mustOpen(Bytes bytes) { return Opened(std::move(bytes)); }

// Overwrites the 32-bit word at `off` in little-endian order.
inline void poke32(Bytes& b, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Four interfaces: Ethernet at the default µs, raw IP at ns, Linux SLL at 2^-20 s, and an
// Ethernet one at ms with a one-hour if_tsoffset.
inline PcapNgBuilder fourInterfaces(bool big) {
  PcapNgBuilder b;
  b.shb(big);
  b.idb(linktype::kEthernet, 65535);
  b.idb(linktype::kRaw, 262144, 9);
  b.idb(linktype::kLinuxSll, 0, 0x80 | 20);
  b.idb(linktype::kEthernet, 1500, 3, 3600);
  return b;
}

// Small captures of 50 packets used where the content matters less than the format.
inline Bytes samplePcap(bool big, bool nanos) {
  PcapBuilder b(big, nanos);
  for (std::uint32_t i = 0; i < 50; ++i) b.record(1000 + i, i * 3, payload(40 + i * 11, i));
  return b.bytes();
}

inline Bytes samplePcapNg(bool big) {
  PcapNgBuilder b = fourInterfaces(big);
  for (std::uint32_t i = 0; i < 50; ++i) {
    if (i % 7 == 3) {
      b.spb(payload(30 + i, i));
    } else {
      b.epb(i % 4, 1'000'000'000ULL * i + i, payload(40 + i * 11, i));
    }
  }
  return b.bytes();
}

}  // namespace bw::testing
