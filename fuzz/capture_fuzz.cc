// libFuzzer target for CaptureFile::fromMemory(): pcap, pcapng and gzip-compressed input.
//
// Reads every frame in small batches and sums every byte of each frame so that ASan sees any
// read outside the data the reader vouched for, and checks the invariants consumers rely on.
// Then, differentially: the same input gzip-compressed must yield the very same frames and
// issue counts through the inflate window as through the plain path.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "capture/capture_file.h"

namespace {

constexpr std::size_t kBatch = 7;

void check(bool ok) {
  if (!ok) std::abort();
}

std::vector<std::uint8_t> compress(const std::uint8_t* data, std::size_t size) {
  z_stream z{};
  if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::vector<std::uint8_t> out(deflateBound(&z, size) + 32);
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(rc == Z_STREAM_END ? z.total_out : 0);
  deflateEnd(&z);
  return out;
}

// Reads the whole capture; with `other`, also reads it in lockstep and compares.
void readAll(bw::CaptureFile& file, bw::CaptureFile* other) {
  bw::Frame batch[kBatch];
  bw::Frame other_batch[kBatch];
  std::uint64_t frames = 0;
  volatile std::uint32_t sink = 0;
  for (;;) {
    const std::size_t n = file.next(batch);
    check(n <= kBatch);
    if (other != nullptr) check(other->next(other_batch) == n);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) {
      const bw::Frame& f = batch[i];
      check(f.interface_id < file.interfaces().size());
      check(f.linktype == file.interfaces()[f.interface_id].linktype);
      std::uint32_t sum = 0;
      for (std::uint32_t k = 0; k < f.caplen; ++k) sum += f.data[k];
      sink = sink + sum;
      if (other != nullptr) {
        const bw::Frame& g = other_batch[i];
        check(f.ts_ns == g.ts_ns && f.caplen == g.caplen && f.origlen == g.origlen &&
              f.linktype == g.linktype && f.interface_id == g.interface_id);
        check(f.caplen == 0 || std::memcmp(f.data, g.data, f.caplen) == 0);
      }
    }
    frames += n;
  }
  check(frames == file.stats().frames);
  check(file.next(batch) == 0);  // the end is sticky
  check(file.bytesConsumed() <= file.totalBytes());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto plain = bw::CaptureFile::fromMemory(std::span<const std::uint8_t>(data, size));
  if (!plain.ok()) return 0;
  const bool input_is_gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  if (input_is_gzip) {
    readAll(*plain.value(), nullptr);
    return 0;
  }
  const std::vector<std::uint8_t> gz = compress(data, size);
  auto packed = bw::CaptureFile::fromMemory(gz);
  check(packed.ok() && packed.value()->format() == plain.value()->format());
  readAll(*plain.value(), packed.value().get());
  check(plain.value()->stats().issues == packed.value()->stats().issues);
  check(plain.value()->interfaces().size() == packed.value()->interfaces().size());
  return 0;
}
