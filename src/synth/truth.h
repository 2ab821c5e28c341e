// Ground-truth JSON for a synthetic capture (format "breakwater-synth-truth", version 1):
// the scenario, then per attack, scanner and benign source what was actually written. The
// format is documented in docs/synth.md; tests and benchmarks compare detector output to it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/result.h"
#include "synth/pcap_writer.h"
#include "synth/scenario.h"

namespace bw::synth {

inline constexpr const char* kTruthFormat = "breakwater-synth-truth";
inline constexpr int kTruthVersion = 1;

// `capture` is the capture path as given (recorded verbatim).
nlohmann::json truthToJson(const Scenario& scenario, const GroundTruth& truth,
                           const std::string& capture, const PcapWriterOptions& writer);

// Writes `json` (pretty-printed) to `path`; the error names the file.
Status writeTruthFile(const std::string& path, const nlohmann::json& json);

// "<capture>.truth.json", the default ground-truth path.
std::string defaultTruthPath(const std::string& capture);

}  // namespace bw::synth
