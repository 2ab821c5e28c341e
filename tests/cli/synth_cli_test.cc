// `breakwater synth` as an operator meets it: a capture plus its ground truth, one-sentence
// errors with exit 2 for bad specs and exit 3 when the output cannot be written.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_support.h"

namespace bw {
namespace {

using testing::readFile;
using testing::runBreakwater;
using testing::TempDir;

TEST(SynthCli, WritesCaptureAndTruth) {
  TempDir dir;
  std::string pcap = dir.file("drill.pcap");
  auto r = runBreakwater({"synth", "-o", pcap, "--attack",
                          "vector=ntp,victim=198.18.0.9,pps=2k,duration=1,reflectors=12"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GT(std::filesystem::file_size(pcap), 24u);
  auto truth = nlohmann::json::parse(readFile(pcap + ".truth.json"));
  ASSERT_EQ(truth["attacks"].size(), 1u);
  EXPECT_EQ(truth["attacks"][0]["vector"], "ntp");
  EXPECT_EQ(truth["attacks"][0]["reflectors"], 12);
}

TEST(SynthCli, BadSpecsAndOutputsAreOneSentence) {
  TempDir dir;
  auto r =
      runBreakwater({"synth", "-o", dir.file("x.pcap"), "--attack", "vector=memcached,pps=fast"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("pps"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  r = runBreakwater({"synth", "-o", dir.file("x.pcap"), "--attack", "vector=gopher"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("gopher"), std::string::npos) << r.err;
  r = runBreakwater({"synth", "-o", "/nonexistent-dir/x.pcap", "--preset", "memcached"});
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("/nonexistent-dir/x.pcap"), std::string::npos) << r.err;
  EXPECT_EQ(runBreakwater({"synth"}).status, 2);
}

}  // namespace
}  // namespace bw
