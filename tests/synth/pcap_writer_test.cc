#include "synth/pcap_writer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <numeric>
#include <vector>

#include "synth/pcap_walk.h"

namespace bw::synth {
namespace {

using testing::parsePcap;
using testing::readFile;
using testing::readGzipFile;
using testing::tempPath;

std::vector<std::uint8_t> frame(std::size_t n) {
  std::vector<std::uint8_t> f(n);
  std::iota(f.begin(), f.end(), 0);
  return f;
}

TEST(PcapWriter, WritesMicrosecondHeaderAndRecords) {
  const std::string path = tempPath("us.pcap");
  PcapWriterOptions o;
  o.snaplen = 65535;
  auto w = PcapWriter::create(path, o);
  ASSERT_TRUE(w.ok()) << w.error().message;
  auto f = frame(100);
  (*w)->write(1'519'838'460'123'456'789, f.data(), 100);
  (*w)->write(1'519'838'461'000'001'999, f.data(), 60);
  ASSERT_TRUE((*w)->finish().ok());
  EXPECT_EQ((*w)->records(), 2u);

  auto bytes = readFile(path);
  ASSERT_EQ(bytes.size(), 24u + 16 + 100 + 16 + 60);
  EXPECT_EQ(bytes[0], 0xd4);  // a1b2c3d4 little-endian
  EXPECT_EQ(bytes[3], 0xa1);
  auto p = parsePcap(bytes);
  ASSERT_TRUE(p.valid);
  EXPECT_FALSE(p.nanosecond);
  EXPECT_EQ(p.linktype, 1u);
  EXPECT_EQ(p.snaplen, 65535u);
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].ts_ns, 1'519'838'460'123'456'000);  // truncated to microseconds
  EXPECT_EQ(p.records[1].ts_ns, 1'519'838'461'000'001'000);
  EXPECT_EQ((*w)->storedTimestamp(1'519'838'460'123'456'789), 1'519'838'460'123'456'000);
  EXPECT_EQ(p.records[0].caplen, 100u);
  EXPECT_EQ(p.records[1].origlen, 60u);
  EXPECT_EQ(0, std::memcmp(p.records[0].data, f.data(), 100));
}

TEST(PcapWriter, NanosecondMagicKeepsNanoseconds) {
  const std::string path = tempPath("ns.pcap");
  PcapWriterOptions o;
  o.nanosecond = true;
  o.linktype = pcaplink::kRaw;
  auto w = PcapWriter::create(path, o);
  ASSERT_TRUE(w.ok());
  auto f = frame(40);
  (*w)->write(1'000'000'000'123'456'789, f.data(), 40);
  ASSERT_TRUE((*w)->finish().ok());
  auto bytes = readFile(path);
  auto p = parsePcap(bytes);
  ASSERT_TRUE(p.valid);
  EXPECT_TRUE(p.nanosecond);
  EXPECT_EQ(p.linktype, 101u);
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_EQ(p.records[0].ts_ns, 1'000'000'000'123'456'789);
}

TEST(PcapWriter, SnaplenTruncatesButKeepsOriginalLength) {
  const std::string path = tempPath("snap.pcap");
  PcapWriterOptions o;
  o.snaplen = 96;
  auto w = PcapWriter::create(path, o);
  ASSERT_TRUE(w.ok());
  auto f = frame(1514);
  (*w)->write(0, f.data(), 1514);
  (*w)->write(1000, f.data(), 60);
  ASSERT_TRUE((*w)->finish().ok());
  auto bytes = readFile(path);
  auto p = parsePcap(bytes);
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.snaplen, 96u);
  EXPECT_EQ(p.records[0].caplen, 96u);
  EXPECT_EQ(p.records[0].origlen, 1514u);
  EXPECT_EQ(0, std::memcmp(p.records[0].data, f.data(), 96));
  EXPECT_EQ(p.records[1].caplen, 60u);
  EXPECT_EQ(p.records[1].origlen, 60u);
}

TEST(PcapWriter, ManyRecordsCrossBufferFlushes) {
  const std::string path = tempPath("many.pcap");
  auto w = PcapWriter::create(path, {});
  ASSERT_TRUE(w.ok());
  auto f = frame(1500);
  for (int i = 0; i < 3000; ++i) (*w)->write(i * 1000LL, f.data(), 1000 + i % 500);
  ASSERT_TRUE((*w)->finish().ok());
  auto bytes = readFile(path);
  auto p = parsePcap(bytes);
  ASSERT_EQ(p.records.size(), 3000u);
  EXPECT_FALSE(p.truncated);
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(p.records[i].caplen, 1000u + i % 500) << i;
    ASSERT_EQ(p.records[i].data[999], f[999]);
  }
  EXPECT_EQ((*w)->bytesWritten(), bytes.size());
}

TEST(PcapWriter, GzipOutputWhenPathEndsInGz) {
  const std::string path = tempPath("z.pcap.gz");
  auto w = PcapWriter::create(path, {});
  ASSERT_TRUE(w.ok());
  auto f = frame(200);
  for (int i = 0; i < 5000; ++i) (*w)->write(i * 1000LL, f.data(), 200);
  ASSERT_TRUE((*w)->finish().ok());
  auto raw = readFile(path);
  ASSERT_GE(raw.size(), 2u);
  EXPECT_EQ(raw[0], 0x1f);  // gzip magic
  EXPECT_EQ(raw[1], 0x8b);
  EXPECT_LT(raw.size(), 5000u * 216 / 4);  // it really compressed
  auto inflated = readGzipFile(path);
  auto p = parsePcap(inflated);
  ASSERT_TRUE(p.valid);
  EXPECT_EQ(p.records.size(), 5000u);
  EXPECT_FALSE(p.truncated);
}

TEST(PcapWriter, ErrorsNameTheFile) {
  auto w = PcapWriter::create("/nonexistent-dir/out.pcap", {});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find("/nonexistent-dir/out.pcap"), std::string::npos);
  EXPECT_NE(w.error().message.find("No such file"), std::string::npos);

  PcapWriterOptions bad;
  bad.snaplen = 0;
  auto z = PcapWriter::create(tempPath("bad.pcap"), bad);
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.error().message.find("snaplen"), std::string::npos);

  PcapWriterOptions link;
  link.linktype = 113;
  EXPECT_FALSE(PcapWriter::create(tempPath("bad2.pcap"), link).ok());
}

TEST(PcapWriter, WriteFailureIsReportedByFinish) {
  std::FILE* probe = std::fopen("/dev/full", "w");
  if (probe == nullptr) GTEST_SKIP() << "/dev/full is not available";
  std::fclose(probe);
  auto w = PcapWriter::create("/dev/full", {});
  ASSERT_TRUE(w.ok());
  auto f = frame(1500);
  for (int i = 0; i < 2000; ++i) (*w)->write(i, f.data(), 1500);  // > 1 MiB: forces a flush
  Status st = (*w)->finish();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/dev/full"), std::string::npos);
  EXPECT_NE(st.message().find("No space"), std::string::npos);
}

}  // namespace
}  // namespace bw::synth
