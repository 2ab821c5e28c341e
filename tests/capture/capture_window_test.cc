// The reader's sliding window, shared by plain files (read piece by piece) and gzip files
// (inflated piece by piece): frames stay intact across every slide, records larger than the
// first buffer make it grow, records larger than its bound are refused or skipped as the
// format allows, and progress reaches the file's size. Each case runs on a file on disk, plain
// and compressed.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "capture/capture_file.h"
#include "capture_builder.h"

namespace bw {
namespace {

using testing::Bytes;
using testing::gzip;
using testing::issueCount;
using testing::payload;
using testing::PcapBuilder;
using testing::PcapNgBuilder;
using testing::readAll;
using testing::TempFile;
using testing::totalIssues;

// A capture written to disk, gzip-compressed or not, and a reader opened on the file.
class OnDisk {
 public:
  OnDisk(const Bytes& capture, bool compressed)
      : file_(compressed ? gzip(capture, 1) : capture, compressed ? ".pcap.gz" : ".pcap") {
    auto r = CaptureFile::open(file_.path());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (r.ok()) reader_ = std::move(r.value());
  }
  CaptureFile* get() const { return reader_.get(); }

 private:
  TempFile file_;
  std::unique_ptr<CaptureFile> reader_;
};

class Window : public ::testing::TestWithParam<bool> {
 protected:
  bool compressed() const { return GetParam(); }
};

// Captures several times the window's largest size: every frame is intact when the whole
// batch is inspected, after every slide of the window.
void checkLargeCapture(bool pcapng, bool compressed) {
  constexpr std::uint32_t kRecords = 20000;  // about 3.7 x kMaxWindowBytes of data
  std::vector<std::size_t> sizes(kRecords);
  Bytes plain;
  if (pcapng) {
    PcapNgBuilder b;
    b.shb(false);
    b.idb(linktype::kEthernet, 0, 9);
    for (std::uint32_t i = 0; i < kRecords; ++i) {
      sizes[i] = 60 + (i * 7919) % 3000;
      b.epb(0, i, payload(sizes[i], i));
      if (i % 1000 == 0) b.block(0xBAD, payload(5000, i));
    }
    plain = b.bytes();
  } else {
    PcapBuilder b(false, true);
    for (std::uint32_t i = 0; i < kRecords; ++i) {
      sizes[i] = 60 + (i * 7919) % 3000;
      b.record(0, i, payload(sizes[i], i));
    }
    plain = b.bytes();
  }
  ASSERT_GT(plain.size(), 3 * kMaxWindowBytes);
  OnDisk disk(plain, compressed);
  ASSERT_NE(disk.get(), nullptr);
  CaptureFile& file = *disk.get();
  std::vector<Frame> batch(97);
  std::uint32_t seen = 0;
  std::uint64_t last_consumed = 0;
  while (const std::size_t n = file.next(batch)) {
    for (std::size_t i = 0; i < n; ++i, ++seen) {
      ASSERT_LT(seen, kRecords);
      ASSERT_EQ(batch[i].ts_ns, seen);
      ASSERT_EQ(batch[i].caplen, sizes[seen]);
      const Bytes want = payload(sizes[seen], seen);
      ASSERT_EQ(std::memcmp(batch[i].data, want.data(), want.size()), 0) << "frame " << seen;
    }
    ASSERT_GE(file.bytesConsumed(), last_consumed);  // progress never goes back
    last_consumed = file.bytesConsumed();
  }
  EXPECT_EQ(seen, kRecords);
  EXPECT_EQ(totalIssues(file), 0u);
  EXPECT_EQ(file.bytesConsumed(), file.totalBytes());
}

TEST_P(Window, BatchesAcrossRefillsPcap) { checkLargeCapture(false, compressed()); }
TEST_P(Window, BatchesAcrossRefillsPcapNg) { checkLargeCapture(true, compressed()); }

// Records larger than the first, small buffer make it grow instead of failing.
TEST_P(Window, RecordsLargerThanTheInitialBufferAreRead) {
  PcapBuilder b(true, false, 4u << 20);
  const std::size_t sizes[] = {100, 600'000, 3'000'000, 50, 1'000'000};
  for (std::uint32_t i = 0; i < 5; ++i) b.record(i, 0, payload(sizes[i], i));
  OnDisk disk(b.bytes(), compressed());
  ASSERT_NE(disk.get(), nullptr);
  const auto frames = readAll(*disk.get(), 2);
  ASSERT_EQ(frames.size(), 5u);
  for (std::uint32_t i = 0; i < 5; ++i) EXPECT_EQ(frames[i].data, payload(sizes[i], i)) << i;
  EXPECT_EQ(totalIssues(*disk.get()), 0u);
}

TEST_P(Window, PcapRecordLargerThanTheBufferIsOversized) {
  PcapBuilder b(false, false, 0xffffffffu);
  b.record(1, 0, payload(100, 1));
  b.record(2, 0, Bytes(kMaxWindowBytes + 100, 0));
  b.record(3, 0, payload(100, 3));
  OnDisk disk(b.bytes(), compressed());
  ASSERT_NE(disk.get(), nullptr);
  EXPECT_EQ(readAll(*disk.get()).size(), 1u);
  EXPECT_EQ(issueCount(*disk.get(), CaptureIssue::OversizedRecord), 1u);
  EXPECT_EQ(totalIssues(*disk.get()), 1u);
}

TEST_P(Window, PcapNgBlocksLargerThanTheBufferAreSkipped) {
  PcapNgBuilder b;
  b.shb(false);
  b.idb(linktype::kEthernet, 0xffffffffu);
  b.epb(0, 1, payload(100, 1));
  b.block(0xBAD, Bytes(kMaxWindowBytes + 100, 0));  // custom block: skipped silently
  b.epb(0, 2, payload(100, 2));
  b.epb(0, 3, Bytes(kMaxWindowBytes + 100, 0));  // packet: skipped and counted
  b.epb(0, 4, payload(100, 4));
  OnDisk disk(b.bytes(), compressed());
  ASSERT_NE(disk.get(), nullptr);
  const auto frames = readAll(*disk.get());
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[1].data, payload(100, 2));
  EXPECT_EQ(frames[2].data, payload(100, 4));
  EXPECT_EQ(issueCount(*disk.get(), CaptureIssue::OversizedRecord), 1u);
  EXPECT_EQ(totalIssues(*disk.get()), 1u);
}

// A file cut inside a record read piece by piece ends like the same bytes in memory.
TEST_P(Window, CutInsideARecordIsTruncated) {
  PcapBuilder b(false, false);
  for (std::uint32_t i = 0; i < 3000; ++i) b.record(i, 0, payload(200 + i % 50, i));
  Bytes cut = b.bytes();
  cut.resize(cut.size() - 30);
  OnDisk disk(cut, compressed());
  ASSERT_NE(disk.get(), nullptr);
  EXPECT_EQ(readAll(*disk.get(), 7).size(), 2999u);
  EXPECT_EQ(issueCount(*disk.get(), CaptureIssue::TruncatedRecord), 1u);
  EXPECT_EQ(totalIssues(*disk.get()), 1u);
}

INSTANTIATE_TEST_SUITE_P(PlainAndGzip, Window, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Gzip" : "Plain");
                         });

}  // namespace
}  // namespace bw
