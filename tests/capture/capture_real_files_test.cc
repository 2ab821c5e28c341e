// CaptureFile over the real captures listed in BW_SHARED_DIR/captures/manifest.tsv: frame
// counts must match the manifest, and timestamps must match what tshark prints. Skipped when
// the shared directory (or tshark) is not available.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "capture/capture_file.h"
#include "capture_builder.h"

namespace bw {
namespace {

using testing::Bytes;
using testing::gzip;
using testing::TempFile;
using testing::totalIssues;

const std::string kCaptures = std::string(BW_SHARED_DIR) + "/captures/";

struct ManifestRow {
  std::string file;
  std::uint64_t packets = 0;
};

std::vector<ManifestRow> readManifest() {
  std::ifstream in(kCaptures + "manifest.tsv");
  std::vector<ManifestRow> rows;
  std::string line;
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string col; std::getline(ss, col, '\t');) cols.push_back(col);
    if (header.empty()) {
      header = cols;
      continue;
    }
    ManifestRow row;
    for (std::size_t i = 0; i < cols.size() && i < header.size(); ++i) {
      if (header[i] == "file") row.file = cols[i];
      if (header[i] == "packets") row.packets = std::stoull(cols[i]);
    }
    if (!row.file.empty()) rows.push_back(row);
  }
  return rows;
}

struct Summary {
  std::uint64_t frames = 0;
  std::vector<std::int64_t> ts_ns;
};

Summary readSummary(CaptureFile& file) {
  Summary s;
  std::vector<Frame> batch(256);
  while (const std::size_t n = file.next(batch)) {
    for (std::size_t i = 0; i < n; ++i) s.ts_ns.push_back(batch[i].ts_ns);
    s.frames += n;
  }
  return s;
}

// "1700000000.123456789", as tshark prints frame.time_epoch.
std::string epochString(std::int64_t ns) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(ns / 1'000'000'000),
                static_cast<long long>(ns % 1'000'000'000));
  return buf;
}

std::vector<std::string> tsharkEpochs(const std::string& path) {
  std::vector<std::string> out;
  const std::string cmd = "tshark -r '" + path + "' -T fields -e frame.time_epoch 2>/dev/null";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char line[128];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    out.push_back(s);
  }
  ::pclose(p);
  return out;
}

bool haveTshark() { return std::system("tshark --version >/dev/null 2>&1") == 0; }

TEST(RealCaptures, FrameCountsMatchTheManifest) {
  const auto rows = readManifest();
  if (rows.empty()) GTEST_SKIP() << "no manifest at " << kCaptures << "manifest.tsv";
  for (const ManifestRow& row : rows) {
    SCOPED_TRACE(row.file);
    auto r = CaptureFile::open(kCaptures + row.file);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const Summary s = readSummary(*r.value());
    EXPECT_EQ(s.frames, row.packets);
    EXPECT_EQ(r.value()->stats().frames, row.packets);
    EXPECT_EQ(totalIssues(*r.value()), 0u);
    EXPECT_EQ(r.value()->bytesConsumed(), r.value()->totalBytes());
  }
}

TEST(RealCaptures, GzippedCopiesReadTheSame) {
  const auto rows = readManifest();
  if (rows.empty()) GTEST_SKIP() << "no manifest at " << kCaptures << "manifest.tsv";
  int checked = 0;
  for (const ManifestRow& row : rows) {
    if (row.packets < 1000) continue;  // the larger ones exercise refills
    SCOPED_TRACE(row.file);
    std::ifstream in(kCaptures + row.file, std::ios::binary);
    const Bytes plain((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    TempFile tmp(gzip(plain, 1), ".gz");
    auto a = CaptureFile::open(kCaptures + row.file);
    auto b = CaptureFile::open(tmp.path());
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(readSummary(*a.value()).ts_ns, readSummary(*b.value()).ts_ns);
    EXPECT_EQ(totalIssues(*b.value()), 0u);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// Every timestamp of a few captures, pcap and pcapng, against tshark's frame.time_epoch.
TEST(RealCaptures, TimestampsMatchTshark) {
  const auto rows = readManifest();
  if (rows.empty()) GTEST_SKIP() << "no manifest at " << kCaptures << "manifest.tsv";
  if (!haveTshark()) GTEST_SKIP() << "tshark is not installed";
  const char* picks[] = {"ndpi/dns.pcap", "ndpi/rtp.pcapng", "deepflow/memcached.pcap",
                         "ndpi/zoom.pcap", "zeek/ntp_ntp.pcap"};
  int checked = 0;
  for (const char* name : picks) {
    const std::string path = kCaptures + name;
    std::ifstream probe(path);
    if (!probe) continue;
    SCOPED_TRACE(name);
    auto r = CaptureFile::open(path);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const Summary s = readSummary(*r.value());
    const auto expected = tsharkEpochs(path);
    ASSERT_EQ(expected.size(), s.ts_ns.size());
    ASSERT_FALSE(expected.empty());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      ASSERT_EQ(epochString(s.ts_ns[i]), expected[i]) << "frame " << i + 1;
    }
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "none of the chosen captures is present";
}

}  // namespace
}  // namespace bw
