// The whole of `breakwater synth` below argument parsing: turn the command line's strings
// into a resolved Scenario (buildScenario: every error is a usage error), then write the
// capture and its ground truth (writeSynth: every error is an I/O error). The CLI maps the two
// kinds of failure to its exit codes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "synth/pcap_writer.h"
#include "synth/scenario.h"

namespace bw::synth {

struct SynthRequest {
  std::string output;                 // capture path; ".gz" compresses; "-" is stdout
  std::string truth;                  // ground truth path; "" = <output>.truth.json
  std::string preset;                 // "" = none
  std::vector<std::string> attacks;   // --attack specs
  std::vector<std::string> benign;    // --benign specs
  std::vector<std::string> scanners;  // --scanner specs
  std::string networks;               // "" = 198.18.0.0/24
  std::uint64_t seed = 1;
  std::string start;               // Unix seconds or ISO 8601 UTC; "" = 2018-02-28T17:21:00Z
  std::optional<double> duration;  // seconds; unset = preset's or automatic
  std::uint32_t snaplen = 0;       // 0 = preset's preference or 262144
  bool nanosecond = false;
  std::string packets;            // "" = preset default; accepts k/M/G suffixes
  std::string link = "ethernet";  // or "raw"
  std::uint16_t vlan = 0;
};

struct SynthPlan {
  Scenario scenario;  // resolved
  PcapWriterOptions writer;
  std::string output;
  std::string truth_path;  // "" when no ground truth is written (output "-" without --truth)
};

struct SynthSummary {
  GroundTruth truth;
  std::string output;
  std::string truth_path;
};

// Errors are one sentence naming the flag or spec at fault.
Result<SynthPlan> buildScenario(const SynthRequest& request);
// Writes the capture and the ground truth. Errors name the file.
Result<SynthSummary> writeSynth(const SynthPlan& plan);

// "2018-02-28T17:21:00Z" (also with fractional seconds), or Unix seconds "1519838460.5".
std::optional<std::int64_t> parseStartTime(const std::string& text);
// Counts with k/M/G suffixes: "20M" -> 20000000.
std::optional<std::uint64_t> parseCount(const std::string& text);

}  // namespace bw::synth
