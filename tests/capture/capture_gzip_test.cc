// CaptureFile over gzip-compressed captures: the same frames as uncompressed, concatenated
// members, corrupt and cut-short streams, captures several times the inflate buffer, and
// records too large for it.
#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "capture/capture_file.h"
#include "capture_builder.h"

namespace bw {
namespace {

using testing::Bytes;
using testing::fourInterfaces;
using testing::FrameCopy;
using testing::gzip;
using testing::issueCount;
using testing::mustOpen;
using testing::payload;
using testing::PcapBuilder;
using testing::PcapNgBuilder;
using testing::readAll;
using testing::samplePcap;
using testing::samplePcapNg;
using testing::TempFile;
using testing::totalIssues;

void expectSameFrames(const std::vector<FrameCopy>& a, const std::vector<FrameCopy>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].ts_ns, b[i].ts_ns) << i;
    EXPECT_EQ(a[i].origlen, b[i].origlen) << i;
    EXPECT_EQ(a[i].linktype, b[i].linktype) << i;
    EXPECT_EQ(a[i].interface_id, b[i].interface_id) << i;
    EXPECT_EQ(a[i].data, b[i].data) << i;
  }
}

TEST(Gzip, EachFormatReadsTheSameAsUncompressed) {
  const Bytes images[] = {samplePcap(false, false), samplePcap(true, true), samplePcapNg(false),
                          samplePcapNg(true)};
  for (const Bytes& plain : images) {
    auto a = mustOpen(plain);
    const Bytes gz = gzip(plain);
    ASSERT_FALSE(gz.empty());
    TempFile tmp(gz, ".pcap.gz");
    auto r = CaptureFile::open(tmp.path());
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto& b = *r.value();
    EXPECT_EQ(b.format(), a->format());
    expectSameFrames(readAll(*a), readAll(b, 5));
    EXPECT_EQ(b.interfaces().size(), a->interfaces().size());
    EXPECT_EQ(totalIssues(b), 0u);
    EXPECT_EQ(b.totalBytes(), gz.size());
    EXPECT_EQ(b.bytesConsumed(), gz.size());
  }
}

TEST(Gzip, ConcatenatedMembersAreOneCapture) {
  const Bytes plain = samplePcapNg(false);
  const std::size_t cut = plain.size() / 3;  // members split mid-block on purpose
  Bytes gz = gzip(std::span(plain).first(cut));
  const Bytes second = gzip(std::span(plain).subspan(cut), 1);
  gz.insert(gz.end(), second.begin(), second.end());
  auto a = mustOpen(plain);
  auto b = mustOpen(gz);
  ASSERT_NE(b, nullptr);
  expectSameFrames(readAll(*a), readAll(*b));
  EXPECT_EQ(totalIssues(*b), 0u);
}

TEST(Gzip, CorruptStreamIsNoticedAndKeepsWhatCameBefore) {
  // Large enough that the damage lies well after the first inflated bytes.
  PcapBuilder pb(false, false);
  for (std::uint32_t i = 0; i < 2000; ++i) pb.record(i, 0, payload(200 + i % 50, i * 7919));
  const Bytes plain = pb.bytes();
  const std::size_t total = readAll(*mustOpen(plain)).size();
  Bytes gz = gzip(plain, 1);
  for (std::size_t i = gz.size() / 2; i < gz.size() / 2 + 64; ++i) gz[i] ^= 0x5a;
  auto file = mustOpen(gz);
  ASSERT_NE(file, nullptr);
  EXPECT_LT(readAll(*file).size(), total);
  // Either zlib rejects the stream, or the garbage it produced broke a record first.
  EXPECT_GE(totalIssues(*file), 1u);
}

TEST(Gzip, BadChecksumIsCountedAfterAllFrames) {
  const Bytes plain = samplePcapNg(true);
  Bytes gz = gzip(plain);
  gz[gz.size() - 8] ^= 0xff;  // CRC-32 of the member
  auto file = mustOpen(gz);
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(readAll(*file).size(), readAll(*mustOpen(plain)).size());
  EXPECT_EQ(issueCount(*file, CaptureIssue::CompressedDataError), 1u);
  EXPECT_EQ(totalIssues(*file), 1u);
}

TEST(Gzip, TrailingGarbageIsCounted) {
  const Bytes plain = samplePcap(false, false);
  Bytes gz = gzip(plain);
  gz.insert(gz.end(), {'j', 'u', 'n', 'k'});
  auto file = mustOpen(gz);
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(readAll(*file).size(), 50u);
  EXPECT_EQ(issueCount(*file, CaptureIssue::CompressedDataError), 1u);
}

TEST(Gzip, TruncationAtEveryOffsetNeverCrashes) {
  const Bytes gz = gzip(samplePcapNg(false));
  for (std::size_t len = 0; len < gz.size(); ++len) {
    SCOPED_TRACE("prefix length " + std::to_string(len));
    const Bytes prefix(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(len));
    auto r = CaptureFile::fromMemory(prefix);
    if (!r.ok()) continue;  // too little inflated to recognise a capture
    const auto frames = readAll(*r.value(), 3);
    EXPECT_LE(frames.size(), 50u);
    EXPECT_EQ(issueCount(*r.value(), CaptureIssue::CompressedDataError), 1u);
  }
}

// Captures several times the inflate buffer: frames stay intact across every slide of the
// window, and each batch is still valid when the whole batch is inspected.
void checkLargeGzip(bool pcapng) {
  constexpr std::uint32_t kRecords = 20000;  // about 3.7 x kGzipWindowBytes of data
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
  ASSERT_GT(plain.size(), 3 * kGzipWindowBytes);
  TempFile tmp(gzip(plain, 1));
  auto r = CaptureFile::open(tmp.path());
  ASSERT_TRUE(r.ok()) << r.error().message;
  CaptureFile& file = *r.value();
  std::vector<Frame> batch(97);
  std::uint32_t seen = 0;
  while (const std::size_t n = file.next(batch)) {
    for (std::size_t i = 0; i < n; ++i, ++seen) {
      ASSERT_LT(seen, kRecords);
      ASSERT_EQ(batch[i].ts_ns, seen);
      ASSERT_EQ(batch[i].caplen, sizes[seen]);
      const Bytes want = payload(sizes[seen], seen);
      ASSERT_EQ(std::memcmp(batch[i].data, want.data(), want.size()), 0) << "frame " << seen;
    }
  }
  EXPECT_EQ(seen, kRecords);
  EXPECT_EQ(totalIssues(file), 0u);
  EXPECT_EQ(file.bytesConsumed(), file.totalBytes());
}

TEST(Gzip, BatchesAcrossBufferRefillsPcap) { checkLargeGzip(false); }
TEST(Gzip, BatchesAcrossBufferRefillsPcapNg) { checkLargeGzip(true); }

// Records larger than the first, small inflate buffer make it grow instead of failing.
TEST(Gzip, RecordsLargerThanTheInitialBufferAreRead) {
  PcapBuilder b(true, false, 4u << 20);
  const std::size_t sizes[] = {100, 600'000, 3'000'000, 50, 1'000'000};
  for (std::uint32_t i = 0; i < 5; ++i) b.record(i, 0, payload(sizes[i], i));
  auto file = mustOpen(gzip(b.bytes(), 1));
  ASSERT_NE(file, nullptr);
  const auto frames = readAll(*file, 2);
  ASSERT_EQ(frames.size(), 5u);
  for (std::uint32_t i = 0; i < 5; ++i) EXPECT_EQ(frames[i].data, payload(sizes[i], i)) << i;
  EXPECT_EQ(totalIssues(*file), 0u);
}

TEST(Gzip, PcapRecordLargerThanTheBufferIsOversized) {
  PcapBuilder b(false, false, 0xffffffffu);
  b.record(1, 0, payload(100, 1));
  b.record(2, 0, Bytes(kGzipWindowBytes + 100, 0));
  b.record(3, 0, payload(100, 3));
  auto file = mustOpen(gzip(b.bytes(), 1));
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(readAll(*file).size(), 1u);
  EXPECT_EQ(issueCount(*file, CaptureIssue::OversizedRecord), 1u);
  EXPECT_EQ(totalIssues(*file), 1u);
}

TEST(Gzip, PcapNgBlocksLargerThanTheBufferAreSkipped) {
  PcapNgBuilder b;
  b.shb(false);
  b.idb(linktype::kEthernet, 0xffffffffu);
  b.epb(0, 1, payload(100, 1));
  b.block(0xBAD, Bytes(kGzipWindowBytes + 100, 0));  // custom block: skipped silently
  b.epb(0, 2, payload(100, 2));
  b.epb(0, 3, Bytes(kGzipWindowBytes + 100, 0));  // packet: skipped and counted
  b.epb(0, 4, payload(100, 4));
  auto file = mustOpen(gzip(b.bytes(), 1));
  ASSERT_NE(file, nullptr);
  const auto frames = readAll(*file);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[1].data, payload(100, 2));
  EXPECT_EQ(frames[2].data, payload(100, 4));
  EXPECT_EQ(issueCount(*file, CaptureIssue::OversizedRecord), 1u);
  EXPECT_EQ(totalIssues(*file), 1u);
}

}  // namespace
}  // namespace bw
