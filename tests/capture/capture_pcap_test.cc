// CaptureFile over classic pcap images built byte by byte (µs/ns, both byte orders, snaplen,
// oversized and cut-short records), plus open() errors and the public odds and ends.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <tuple>

#include "capture/capture_file.h"
#include "capture_builder.h"

namespace bw {
namespace {

using testing::Bytes;
using testing::FrameCopy;
using testing::gzip;
using testing::issueCount;
using testing::mustOpen;
using testing::payload;
using testing::PcapBuilder;
using testing::PcapNgBuilder;
using testing::poke32;
using testing::readAll;
using testing::samplePcap;
using testing::TempFile;
using testing::totalIssues;

class PcapVariants : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(PcapVariants, ReadsRecordsWithTimestampsLengthsAndData) {
  const auto [big, nanos] = GetParam();
  const std::uint32_t frac = nanos ? 123456789 : 123456;
  PcapBuilder b(big, nanos, 65535, linktype::kEthernet);
  b.record(1700000000, frac, payload(60, 1));
  b.record(1700000001, 0, payload(1514, 2));
  b.record(4000000000u, nanos ? 999999999 : 999999, payload(1, 3), 9000);  // after 2038
  auto file = mustOpen(b.bytes());
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->format(), CaptureFormat::Pcap);
  ASSERT_EQ(file->interfaces().size(), 1u);
  EXPECT_EQ(file->interfaces()[0].linktype, linktype::kEthernet);
  EXPECT_EQ(file->interfaces()[0].snaplen, 65535u);
  EXPECT_EQ(file->interfaces()[0].ts_units_per_second, nanos ? 1'000'000'000 : 1'000'000);

  const auto frames = readAll(*file, 2);  // a batch boundary inside the file
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].ts_ns, 1700000000LL * 1'000'000'000 + 123456789 - (nanos ? 0 : 789));
  EXPECT_EQ(frames[1].ts_ns, 1700000001LL * 1'000'000'000);
  EXPECT_EQ(frames[2].ts_ns, 4000000000LL * 1'000'000'000 + 999999999 - (nanos ? 0 : 999));
  EXPECT_EQ(frames[0].data, payload(60, 1));
  EXPECT_EQ(frames[1].data, payload(1514, 2));
  EXPECT_EQ(frames[1].caplen, 1514u);
  EXPECT_EQ(frames[2].caplen, 1u);
  EXPECT_EQ(frames[2].origlen, 9000u);  // snaplen truncation is normal
  for (const FrameCopy& f : frames) {
    EXPECT_EQ(f.linktype, linktype::kEthernet);
    EXPECT_EQ(f.interface_id, 0u);
  }
  EXPECT_EQ(file->stats().frames, 3u);
  EXPECT_EQ(totalIssues(*file), 0u);
  EXPECT_EQ(file->bytesConsumed(), file->totalBytes());
  Frame extra[4];
  EXPECT_EQ(file->next(extra), 0u);  // stays at the end
}

INSTANTIATE_TEST_SUITE_P(ByteOrderAndUnit, PcapVariants,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "Big" : "Little") +
                                  (std::get<1>(info.param) ? "Nanos" : "Micros");
                         });

TEST(Pcap, LinkTypeIgnoresFcsBitsOfTheNetworkField) {
  PcapBuilder b(false, false, 65535, 0x14000000u | linktype::kRaw);
  b.record(1, 0, payload(20, 1));
  auto file = mustOpen(b.bytes());
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->interfaces()[0].linktype, linktype::kRaw);
  const auto frames = readAll(*file);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].linktype, linktype::kRaw);
}

TEST(Pcap, EmptyCaptureHasNoFramesAndNoIssues) {
  auto file = mustOpen(PcapBuilder(false, false).bytes());
  ASSERT_NE(file, nullptr);
  EXPECT_TRUE(readAll(*file).empty());
  EXPECT_EQ(totalIssues(*file), 0u);
}

TEST(Pcap, OversizedRecordStopsReading) {
  PcapBuilder b(false, false, 65535);
  b.record(1, 0, payload(100, 1));
  b.record(2, 0, payload(100, 2), std::nullopt, kMaxRecordBytes + 1);  // lying caplen
  b.record(3, 0, payload(100, 3));
  auto file = mustOpen(b.bytes());
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(readAll(*file).size(), 1u);
  EXPECT_EQ(issueCount(*file, CaptureIssue::OversizedRecord), 1u);
  EXPECT_EQ(totalIssues(*file), 1u);
}

TEST(Pcap, LargeSnaplenAllowsRecordsOverTheDefaultLimit) {
  PcapBuilder b(false, false, 1u << 20);
  b.record(1, 0, payload(300000, 1));
  auto file = mustOpen(b.bytes());
  ASSERT_NE(file, nullptr);
  const auto frames = readAll(*file);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].caplen, 300000u);
  EXPECT_EQ(totalIssues(*file), 0u);
}

TEST(Pcap, RecordCutShortIsTruncated) {
  PcapBuilder b(true, false);
  b.record(1, 0, payload(100, 1));
  b.record(2, 0, payload(100, 2));
  Bytes bytes = b.bytes();
  bytes.resize(bytes.size() - 10);
  auto file = mustOpen(bytes);
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(readAll(*file).size(), 1u);
  EXPECT_EQ(issueCount(*file, CaptureIssue::TruncatedRecord), 1u);
  EXPECT_EQ(totalIssues(*file), 1u);
}

// Every prefix of a small capture: never crashes, returns exactly the complete records, and
// counts one truncation whenever the cut is not on a record boundary.
TEST(Pcap, TruncationAtEveryOffset) {
  PcapBuilder b(false, true);
  for (std::uint32_t i = 0; i < 5; ++i) b.record(10 + i, i, payload(17 + i * 13, i));
  const Bytes full = b.bytes();
  const auto& starts = b.recordStarts();
  for (std::size_t len = 0; len <= full.size(); ++len) {
    SCOPED_TRACE("prefix length " + std::to_string(len));
    const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    auto r = CaptureFile::fromMemory(prefix);
    if (len < 24) {
      ASSERT_FALSE(r.ok());
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.error().message;
    std::size_t complete = 0;
    bool on_boundary = len == full.size();
    for (std::size_t i = 0; i < starts.size(); ++i) {
      const std::size_t end = i + 1 < starts.size() ? starts[i + 1] : full.size();
      if (end <= len) ++complete;
      if (starts[i] == len) on_boundary = true;
    }
    EXPECT_EQ(readAll(*r.value(), 3).size(), complete);
    EXPECT_EQ(issueCount(*r.value(), CaptureIssue::TruncatedRecord), on_boundary ? 0u : 1u);
    EXPECT_EQ(totalIssues(*r.value()), on_boundary ? 0u : 1u);
  }
}

// ---------------------------------------------------------------------------------------
// open() errors

std::string openError(const std::string& path) {
  auto r = CaptureFile::open(path);
  return r.ok() ? std::string("(opened)") : r.error().message;
}

TEST(Open, MissingFile) {
  const std::string msg = openError("/nonexistent/dir/x.pcap");
  EXPECT_NE(msg.find("/nonexistent/dir/x.pcap"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot be opened"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::strerror(ENOENT)), std::string::npos) << msg;
}

TEST(Open, Directory) {
  const std::string msg = openError("/tmp");
  EXPECT_NE(msg.find("'/tmp' is a directory"), std::string::npos) << msg;
}

TEST(Open, Fifo) {
  const std::string path = "/tmp/bw_capture_test_fifo_" + std::to_string(::getpid());
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const std::string msg = openError(path);  // must not block waiting for a writer
  ::unlink(path.c_str());
  EXPECT_NE(msg.find("is not a regular file"), std::string::npos) << msg;
}

TEST(Open, EmptyFile) {
  TempFile tmp(Bytes{});
  const std::string msg = openError(tmp.path());
  EXPECT_NE(msg.find(tmp.path()), std::string::npos) << msg;
  EXPECT_NE(msg.find("is empty"), std::string::npos) << msg;
}

TEST(Open, NotACaptureNamesTheMagic) {
  TempFile tmp(Bytes{'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P'});
  const std::string msg = openError(tmp.path());
  EXPECT_NE(msg.find(tmp.path()), std::string::npos) << msg;
  EXPECT_NE(msg.find("is not a pcap or pcapng capture"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0x47455420"), std::string::npos) << msg;
}

TEST(Open, TruncatedPcapHeader) {
  Bytes bytes = PcapBuilder(false, false).bytes();
  bytes.resize(10);
  TempFile tmp(bytes);
  const std::string msg = openError(tmp.path());
  EXPECT_NE(msg.find("truncated pcap header (10 of 24 bytes)"), std::string::npos) << msg;
}

TEST(Open, InvalidPcapNgByteOrder) {
  PcapNgBuilder b;
  b.shb(false);
  Bytes bytes = b.bytes();
  poke32(bytes, 8, 0xdeadbeef);
  auto r = CaptureFile::fromMemory(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("byte-order magic"), std::string::npos) << r.error().message;
}

TEST(Open, GzipOfSomethingElse) {
  const Bytes text(100, 'x');
  TempFile tmp(gzip(text));
  const std::string msg = openError(tmp.path());
  EXPECT_NE(msg.find("is not a pcap or pcapng capture"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gzip"), std::string::npos) << msg;
}

TEST(Open, CorruptGzipHeader) {
  Bytes gz = gzip(samplePcap(false, false));
  gz[2] = 99;  // compression method other than deflate
  auto r = CaptureFile::fromMemory(gz);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("gzip-compressed but corrupt"), std::string::npos)
      << r.error().message;
}

TEST(Open, EmptyMemory) {
  auto r = CaptureFile::fromMemory({});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("is empty"), std::string::npos);
}

TEST(Issues, SnakeCaseNames) {
  EXPECT_STREQ(captureIssueName(CaptureIssue::TruncatedRecord), "truncated_record");
  EXPECT_STREQ(captureIssueName(CaptureIssue::OversizedRecord), "oversized_record");
  EXPECT_STREQ(captureIssueName(CaptureIssue::BadBlock), "bad_block");
  EXPECT_STREQ(captureIssueName(CaptureIssue::UnknownInterface), "unknown_interface");
  EXPECT_STREQ(captureIssueName(CaptureIssue::MissingSectionHeader), "missing_section_header");
  EXPECT_STREQ(captureIssueName(CaptureIssue::CompressedDataError), "compressed_data_error");
}

TEST(Batches, EmptySpanReturnsNothingAndLosesNothing) {
  auto file = mustOpen(samplePcap(false, false));
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->next({}), 0u);
  EXPECT_EQ(readAll(*file, 1).size(), 50u);
}

}  // namespace
}  // namespace bw
