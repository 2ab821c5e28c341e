// The TOML configuration file: [detection], [scanners], [limits] and [enrich] map onto
// DetectionConfig and the analyze-level settings (docs/configuration.md has the schema).
//
// Strictness: an unknown key inside a known table is an error (a typo must not silently fall
// back to a default); unknown top-level tables are errors unless reserved for later
// components (kReservedTables), which are accepted and ignored here. Every error is one
// sentence: "<name>:<line>:<column>: <key> must be ..., got <value>".
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "detect/config.h"

namespace bw {

struct LoadedConfig {
  DetectionConfig detection;
  // [enrich] asn_db. loadConfigFile() resolves a relative path against the config file's
  // directory; loadConfigText() keeps it as written.
  std::optional<std::string> asn_db;
};

// Top-level tables that belong to other components (sensor daemon, HTTP API, mitigation
// backends, ...). Their contents are not validated by this loader.
inline constexpr std::array<std::string_view, 7> kReservedTables = {
    "sensor", "api", "mitigation", "audit", "honeypot", "metrics", "store"};

Result<LoadedConfig> loadConfigFile(const std::string& path);
// `name` stands for the file in messages ("config.toml:7:17: ...").
Result<LoadedConfig> loadConfigText(std::string_view text, std::string_view name);

}  // namespace bw
