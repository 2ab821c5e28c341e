// CaptureFile over pcapng images built block by block: interfaces with different link types
// and timestamp resolutions, SPB and obsolete PB, unknown blocks, several sections in both
// byte orders, and damage of every kind.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

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
using testing::poke32;
using testing::readAll;
using testing::TempFile;
using testing::totalIssues;

constexpr std::int64_t kSec = 1'000'000'000;

class PcapNgByteOrder : public ::testing::TestWithParam<bool> {};

TEST_P(PcapNgByteOrder, InterfacesWithDifferentLinkTypesAndResolutions) {
  PcapNgBuilder b = fourInterfaces(GetParam());
  b.epb(0, 1700000000123456ULL, payload(60, 0));
  b.epb(1, 1700000000123456789ULL, payload(40, 1));
  b.epb(2, (1700000000ULL << 20) | (1u << 19), payload(50, 2), 1000);  // x.5 s in 2^-20 s
  b.epb(3, 1700000000250ULL, payload(61, 3));                          // ms, +1 h
  auto file = mustOpen(b.bytes());
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->format(), CaptureFormat::PcapNg);

  const auto frames = readAll(*file);
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[0].ts_ns, 1700000000 * kSec + 123456000);
  EXPECT_EQ(frames[1].ts_ns, 1700000000 * kSec + 123456789);
  EXPECT_EQ(frames[2].ts_ns, 1700000000 * kSec + 500000000);
  EXPECT_EQ(frames[3].ts_ns, (1700000000 + 3600) * kSec + 250000000);
  const std::uint32_t expect_link[] = {linktype::kEthernet, linktype::kRaw, linktype::kLinuxSll,
                                       linktype::kEthernet};
  for (std::uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(frames[i].linktype, expect_link[i]);
    EXPECT_EQ(frames[i].interface_id, i);
  }
  EXPECT_EQ(frames[0].data, payload(60, 0));
  EXPECT_EQ(frames[3].data, payload(61, 3));  // data padded in the block, caplen exact
  EXPECT_EQ(frames[2].origlen, 1000u);

  const auto& ifs = file->interfaces();
  ASSERT_EQ(ifs.size(), 4u);
  EXPECT_EQ(ifs[0].ts_units_per_second, 1'000'000);
  EXPECT_EQ(ifs[1].ts_units_per_second, 1'000'000'000);
  EXPECT_EQ(ifs[2].ts_units_per_second, 1 << 20);
  EXPECT_EQ(ifs[3].ts_units_per_second, 1000);
  EXPECT_EQ(ifs[1].linktype, linktype::kRaw);
  EXPECT_EQ(ifs[3].snaplen, 1500u);
  EXPECT_EQ(totalIssues(*file), 0u);
  EXPECT_EQ(file->bytesConsumed(), file->totalBytes());
}

INSTANTIATE_TEST_SUITE_P(Both, PcapNgByteOrder, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Big" : "Little"; });

TEST(PcapNg, SimpleAndObsoletePacketBlocks) {
  PcapNgBuilder b;
  b.shb(false);
  b.idb(linktype::kEthernet, 100);
  b.spb(payload(10, 9));  // before any timestamp: 0
  b.epb(0, 5'000'000, payload(20, 1));
  b.spb(payload(61, 2));         // padded to 64 in the block
  b.spb(payload(100, 3), 1500);  // origlen beyond what is stored
  b.spb(payload(120, 4));        // more stored than the snaplen allows
  b.pb(0, 7'000'000, payload(30, 5));
  auto file = mustOpen(b.bytes());
  ASSERT_NE(file, nullptr);
  const auto frames = readAll(*file);
  ASSERT_EQ(frames.size(), 6u);
  EXPECT_EQ(frames[0].ts_ns, 0);
  EXPECT_EQ(frames[0].caplen, 10u);
  EXPECT_EQ(frames[1].ts_ns, 5 * kSec);
  EXPECT_EQ(frames[2].ts_ns, 5 * kSec);  // SPB reuses the previous frame's time
  EXPECT_EQ(frames[2].caplen, 61u);
  EXPECT_EQ(frames[2].data, payload(61, 2));
  EXPECT_EQ(frames[3].caplen, 100u);
  EXPECT_EQ(frames[3].origlen, 1500u);
  EXPECT_EQ(frames[4].caplen, 100u);  // snaplen
  EXPECT_EQ(frames[4].origlen, 120u);
  EXPECT_EQ(frames[5].ts_ns, 7 * kSec);
  EXPECT_EQ(frames[5].data, payload(30, 5));
  for (const FrameCopy& f : frames) EXPECT_EQ(f.linktype, linktype::kEthernet);
  EXPECT_EQ(totalIssues(*file), 0u);
}

TEST(PcapNg, OtherBlockTypesAreSkipped) {
  PcapNgBuilder b;
  b.shb(true);
  b.idb();
  b.block(4, payload(23, 0));  // name resolution
  b.epb(0, 1, payload(20, 1));
  b.block(5, payload(28, 0));           // interface statistics
  b.block(0x0000000A, payload(40, 0));  // decryption secrets
  b.block(0x00000BAD, payload(8, 0));   // custom
  b.block(0x80000001, {});              // local use, empty body
  b.epb(0, 2, payload(20, 2));
  auto file = mustOpen(b.bytes());
  ASSERT_NE(file, nullptr);
  const auto frames = readAll(*file);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].data, payload(20, 1));
  EXPECT_EQ(frames[1].data, payload(20, 2));
  EXPECT_EQ(totalIssues(*file), 0u);
}

TEST(PcapNg, NewSectionResetsInterfacesAndMayChangeByteOrder) {
  PcapNgBuilder b;
  b.shb(false);
  b.idb();
  b.idb(linktype::kRaw, 0, 9);
  b.epb(1, 1'000'000'000, payload(20, 1));
  b.shb(true);
  b.idb(linktype::kLinuxSll2, 0, 3);
  b.epb(1, 5, payload(20, 2));  // interface 1 does not exist in this section
  b.epb(0, 2000, payload(20, 3));
  auto file = mustOpen(b.bytes());
  ASSERT_NE(file, nullptr);
  const auto frames = readAll(*file);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].linktype, linktype::kRaw);
  EXPECT_EQ(frames[0].ts_ns, 1 * kSec);
  EXPECT_EQ(frames[0].interface_id, 1u);
  EXPECT_EQ(frames[1].linktype, linktype::kLinuxSll2);
  EXPECT_EQ(frames[1].ts_ns, 2 * kSec);
  EXPECT_EQ(frames[1].interface_id, 2u);  // index into interfaces(), across sections
  ASSERT_EQ(file->interfaces().size(), 3u);
  EXPECT_EQ(file->interfaces()[2].linktype, linktype::kLinuxSll2);
  EXPECT_EQ(issueCount(*file, CaptureIssue::UnknownInterface), 1u);
  EXPECT_EQ(totalIssues(*file), 1u);
}

TEST(PcapNg, PacketsForUndeclaredInterfacesAreSkipped) {
  PcapNgBuilder b;
  b.shb(false);
  b.spb(payload(10, 0));  // no interface 0 yet
  b.idb();
  b.epb(7, 1, payload(10, 1));
  b.pb(3, 1, payload(10, 2));
  b.epb(0, 1, payload(10, 3));
  auto file = mustOpen(b.bytes());
  ASSERT_NE(file, nullptr);
  const auto frames = readAll(*file);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].data, payload(10, 3));
  EXPECT_EQ(issueCount(*file, CaptureIssue::UnknownInterface), 3u);
}

TEST(PcapNg, ExtremeResolutionsNeverOverflow) {
  const std::uint64_t kMaxUnits = ~std::uint64_t{0};
  PcapNgBuilder b;
  b.shb(false);
  b.idb(linktype::kEthernet, 0, 0);                     // seconds: 2^64 s does not fit, saturates
  b.idb(linktype::kEthernet, 0, 19);                    // 10^-19 s
  b.idb(linktype::kEthernet, 0, 0x80 | 127);            // 2^-127 s
  b.idb(linktype::kEthernet, 0, 0x80 | 0);              // 2^0 s
  b.idb(linktype::kEthernet, 0, 127, -5);               // 10^-127 s: always 0 ns, then the offset
  b.idb(linktype::kEthernet, 0, 0x80 | 32, INT64_MIN);  // offset saturates low
  b.epb(0, kMaxUnits, {});
  b.epb(0, 3, {});
  b.epb(1, kMaxUnits, {});
  b.epb(2, kMaxUnits, {});
  b.epb(3, 7, {});
  b.epb(4, kMaxUnits, {});
  b.epb(5, 0, {});
  auto file = mustOpen(b.bytes());
  ASSERT_NE(file, nullptr);
  const auto frames = readAll(*file);
  ASSERT_EQ(frames.size(), 7u);
  EXPECT_EQ(frames[0].ts_ns, INT64_MAX);
  EXPECT_EQ(frames[1].ts_ns, 3 * kSec);
  EXPECT_EQ(frames[2].ts_ns, static_cast<std::int64_t>(kMaxUnits / 10'000'000'000ULL));
  EXPECT_EQ(frames[3].ts_ns, 0);  // (2^64 - 1) * 10^9 / 2^127 < 1
  EXPECT_EQ(frames[4].ts_ns, 7 * kSec);
  EXPECT_EQ(frames[5].ts_ns, -5 * kSec);
  EXPECT_EQ(frames[6].ts_ns, INT64_MIN);
  EXPECT_EQ(file->interfaces()[1].ts_units_per_second, INT64_MAX);  // 10^19 saturates
  EXPECT_EQ(file->interfaces()[3].ts_units_per_second, 1);
  EXPECT_EQ(totalIssues(*file), 0u);
}

struct BadBlockCase {
  const char* name;
  std::uint32_t length;  // written into the third block's header
  bool fix_trailer;      // also write it into the trailer
};

class PcapNgBadBlock : public ::testing::TestWithParam<BadBlockCase> {};

TEST_P(PcapNgBadBlock, StopsAfterTheLastGoodBlock) {
  PcapNgBuilder b;
  b.shb(false);
  b.idb();
  b.epb(0, 1, payload(20, 1));
  b.epb(0, 2, payload(20, 2));
  b.epb(0, 3, payload(20, 3));
  Bytes bytes = b.bytes();
  const std::size_t start = b.blockStarts()[3];
  const std::size_t good_len = b.blockStarts()[4] - start;
  poke32(bytes, start + 4, GetParam().length);
  if (GetParam().fix_trailer && GetParam().length <= bytes.size() - start &&
      GetParam().length >= 12) {
    poke32(bytes, start + GetParam().length - 4, GetParam().length);
  }
  ASSERT_GT(good_len, 12u);
  auto file = mustOpen(bytes);
  ASSERT_NE(file, nullptr);
  const auto frames = readAll(*file);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].data, payload(20, 1));
  EXPECT_EQ(issueCount(*file, CaptureIssue::BadBlock), 1u);
  EXPECT_EQ(totalIssues(*file), 1u);
}

INSTANTIATE_TEST_SUITE_P(Lengths, PcapNgBadBlock,
                         ::testing::Values(BadBlockCase{"TooShort", 8, false},
                                           BadBlockCase{"Zero", 0, false},
                                           BadBlockCase{"NotMultipleOf4", 62, false},
                                           BadBlockCase{"PastEndOfFile", 4096, false},
                                           BadBlockCase{"TrailerMismatch", 56, false},
                                           BadBlockCase{"ShorterThanAnEpb", 28, true}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PcapNg, CaplenBeyondTheBlockIsCountedAndSkipped) {
  PcapNgBuilder b;
  b.shb(false);
  b.idb();
  b.epb(0, 1, payload(20, 1), std::nullopt, 400);  // claims more data than the block holds
  b.epb(0, 2, payload(20, 2));
  auto file = mustOpen(b.bytes());
  ASSERT_NE(file, nullptr);
  const auto frames = readAll(*file);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].data, payload(20, 2));
  EXPECT_EQ(issueCount(*file, CaptureIssue::BadBlock), 1u);
}

TEST(PcapNg, OversizedPacketIsCountedAndSkipped) {
  PcapNgBuilder b;
  b.shb(false);
  b.idb();
  b.epb(0, 1, payload(kMaxRecordBytes + 4, 1));
  b.epb(0, 2, payload(20, 2));
  auto file = mustOpen(b.bytes());
  ASSERT_NE(file, nullptr);
  const auto frames = readAll(*file);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].data, payload(20, 2));
  EXPECT_EQ(issueCount(*file, CaptureIssue::OversizedRecord), 1u);
  EXPECT_EQ(totalIssues(*file), 1u);
}

TEST(PcapNg, SectionHeaderWithUnknownByteOrderStopsReading) {
  PcapNgBuilder b;
  b.shb(false);
  b.idb();
  b.epb(0, 1, payload(20, 1));
  b.shb(false);
  b.epb(0, 2, payload(20, 2));
  Bytes bytes = b.bytes();
  poke32(bytes, b.blockStarts()[3] + 8, 0x11223344);
  auto file = mustOpen(bytes);
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(readAll(*file).size(), 1u);
  EXPECT_EQ(issueCount(*file, CaptureIssue::MissingSectionHeader), 1u);
}

TEST(PcapNg, TruncationAtEveryOffset) {
  PcapNgBuilder b = fourInterfaces(true);
  b.epb(0, 1, payload(33, 1));
  b.spb(payload(17, 2));
  b.block(5, payload(12, 0));
  b.epb(2, 1, payload(7, 3));
  b.pb(1, 1, payload(40, 4));
  const Bytes full = b.bytes();
  const auto& starts = b.blockStarts();
  const std::size_t packet_blocks[] = {5, 6, 8, 9};  // indices of the packet blocks
  for (std::size_t len = 0; len <= full.size(); ++len) {
    SCOPED_TRACE("prefix length " + std::to_string(len));
    const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    auto r = CaptureFile::fromMemory(prefix);
    if (len < 12) {
      ASSERT_FALSE(r.ok());
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.error().message;
    std::size_t complete = 0;
    for (std::size_t i : packet_blocks) {
      const std::size_t end = i + 1 < starts.size() ? starts[i + 1] : full.size();
      if (end <= len) ++complete;
    }
    bool on_boundary = len == full.size();
    for (std::size_t s : starts) on_boundary = on_boundary || s == len;
    auto& file = *r.value();
    EXPECT_EQ(readAll(file, 2).size(), complete);
    // A cut inside a block header is a truncated record; inside its body, a block whose
    // length runs past the end of the data.
    EXPECT_EQ(totalIssues(file), on_boundary ? 0u : 1u);
    EXPECT_EQ(
        issueCount(file, CaptureIssue::TruncatedRecord) + issueCount(file, CaptureIssue::BadBlock),
        on_boundary ? 0u : 1u);
  }
}

}  // namespace
}  // namespace bw
