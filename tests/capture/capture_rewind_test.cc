// RewindableCapture: the frames read before rewind() come back in order, byte for byte, then
// the rest of the capture follows; once its copies reach their bound it reports the end until
// rewound, and nothing is lost or read twice after that.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "capture/capture_file.h"
#include "capture/rewindable_capture.h"
#include "capture_builder.h"

namespace bw {
namespace {

using testing::Bytes;
using testing::expectSameFrames;
using testing::FrameCopy;
using testing::payload;
using testing::PcapBuilder;
using testing::readAll;
using testing::samplePcapNg;

// Reads up to `frames` frames in batches of `batch`.
std::vector<FrameCopy> readSome(CaptureFile& file, std::size_t frames, std::size_t batch) {
  std::vector<Frame> out(batch);
  std::vector<FrameCopy> got;
  while (got.size() < frames) {
    const std::size_t n = file.next(out);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) {
      const Frame& f = out[i];
      got.push_back({f.ts_ns, f.caplen, f.origlen, f.linktype, f.interface_id,
                     Bytes(f.data, f.data + f.caplen)});
    }
  }
  return got;
}

std::unique_ptr<CaptureFile> open(const Bytes& bytes) {
  auto r = CaptureFile::fromMemory(bytes);
  EXPECT_TRUE(r.ok());
  return r.ok() ? std::move(r.value()) : nullptr;
}

Bytes manyRecords(std::uint32_t n) {
  PcapBuilder b(false, false);
  for (std::uint32_t i = 0; i < n; ++i) b.record(i, 0, payload(60 + i % 700, i));
  return b.bytes();
}

TEST(RewindableCapture, SniffedFramesComeBackThenTheRest) {
  for (const Bytes& bytes : {manyRecords(3000), samplePcapNg(false)}) {
    const std::vector<FrameCopy> all = readAll(*open(bytes), 64);
    ASSERT_GT(all.size(), 40u);
    for (const std::size_t sniffed : {std::size_t{0}, std::size_t{1}, std::size_t{37},
                                      all.size() / 2, all.size(), all.size() + 10}) {
      SCOPED_TRACE(sniffed);
      RewindableCapture r(open(bytes), 8u << 20);
      const auto first = readSome(r, sniffed, 5);
      r.rewind();
      expectSameFrames(readAll(r, 256), all);
      EXPECT_EQ(r.stats().frames, all.size());  // each frame read once from the capture
      EXPECT_LE(first.size(), all.size());
    }
  }
}

TEST(RewindableCapture, CopiesStopAtTheirBound) {
  const Bytes bytes = manyRecords(3000);
  const std::vector<FrameCopy> all = readAll(*open(bytes), 64);
  RewindableCapture r(open(bytes), 20'000);
  const auto sniffed = readSome(r, all.size(), 256);
  // Stopped near the bound (at most one step of 64 frames past it), long before the end.
  std::size_t kept = 0;
  for (const FrameCopy& f : sniffed) kept += f.data.size();
  EXPECT_GE(kept, 20'000u);
  EXPECT_LT(sniffed.size(), 200u);
  std::vector<Frame> more(8);
  EXPECT_EQ(r.next(more), 0u);  // the end, until rewound
  r.rewind();
  expectSameFrames(readAll(r, 100), all);
}

}  // namespace
}  // namespace bw
