// CaptureFile over gzip-compressed captures: the same frames as uncompressed, concatenated
// members, corrupt and cut-short streams. The sliding window gzip shares with plain files
// (captures several times its size, records too large for it) is tested in
// capture_window_test.cc.
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "capture/capture_file.h"
#include "capture_builder.h"

namespace bw {
namespace {

using testing::Bytes;
using testing::expectSameFrames;
using testing::FrameCopy;
using testing::gzip;
using testing::issueCount;
using testing::mustOpen;
using testing::payload;
using testing::PcapBuilder;
using testing::readAll;
using testing::samplePcap;
using testing::samplePcapNg;
using testing::TempFile;
using testing::totalIssues;

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

}  // namespace
}  // namespace bw
