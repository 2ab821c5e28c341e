// The TOML configuration file: [detection], [scanners], [limits] and [enrich] map onto
// DetectionConfig and the analyze-level settings; [sensor], [api], [store], [events] and
// [mitigation] configure `breakwater run` (docs/configuration.md has the schema).
//
// Strictness: an unknown key inside a known table is an error (a typo must not silently fall
// back to a default); unknown top-level tables are errors unless reserved for later
// components (kReservedTables), which are accepted and ignored here. Every error is one
// sentence: "<name>:<line>:<column>: <key> must be ..., got <value>".
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/prefix.h"
#include "core/result.h"
#include "detect/config.h"

namespace bw {

// [sensor]: where `breakwater run` gets its traffic and how it runs.
struct SensorSettings {
  std::vector<std::string> interfaces;  // AF_PACKET capture, e.g. "eth1"
  int workers_per_interface = 1;        // fanout members (threads) per interface, 1..64
  std::string bpf_filter;               // tcpdump syntax, applied to every interface
  bool promiscuous = true;
  std::vector<std::string> sflow;    // collector endpoints, "ADDR:PORT" / "[V6]:PORT"
  std::vector<std::string> netflow;  // NetFlow v5/v9 and IPFIX collector endpoints
  double update_interval_s = 1.0;    // attack_updated events and store writes, 0.1..3600
  std::string user;                  // drop privileges to this user after opening sockets
  std::string log_level = "info";    // "debug", "info", "warn", "error"
};

// [api]: the HTTP API and /metrics.
struct ApiSettings {
  bool enabled = true;
  std::string listen = "127.0.0.1:9473";
  // Required (as "Authorization: Bearer TOKEN") when listen is not a loopback address;
  // token_file is read once at load time (one line; surrounding whitespace trimmed).
  std::string token;
};

// [store]: the attack store.
struct StoreSettings {
  bool enabled = true;
  std::string path = "/var/lib/breakwater/attacks.db";
  std::uint64_t max_size_mb = 0;  // 0: no cap
};

// [events]: what happens on attack_started / attack_updated / attack_ended.
struct EventSettings {
  std::string file;                 // JSON-lines event log; empty: none
  std::vector<std::string> notify;  // command and arguments; empty: none
  double notify_timeout_s = 10;     // a notify command running longer is killed
  std::vector<std::string> notify_on = {"attack_started", "attack_ended"};
  std::string webhook_url;  // http:// or https://; empty: none
  double webhook_timeout_s = 5;
  std::vector<std::string> webhook_headers;  // "Name: value"
  std::vector<std::string> webhook_on = {"attack_started", "attack_updated", "attack_ended"};
};

// [mitigation]: the backend that announces FlowSpec rules / RTBH routes for attacks.
struct MitigationSettings {
  std::string backend = "none";  // "none", "dry-run" (later: "gobgp", "exabgp", ...)
  bool flowspec = true;          // FlowSpec rules dropping only the reflected traffic
  bool rtbh = false;             // also blackhole the victim (last resort)
  std::string rtbh_community = "65535:666";
  std::string rtbh_next_hop = "192.0.2.1";
  // Never mitigate victims inside these prefixes (what the operator protects from it:
  // resolvers, scrubbing centres, the BGP speakers themselves).
  std::vector<Prefix> never;
  // Only attacks whose peak reaches min_pps or min_mbps are mitigated (0 and 0: every attack).
  double min_pps = 0;
  double min_mbps = 0;
};

struct LoadedConfig {
  DetectionConfig detection;
  // [enrich] asn_db. loadConfigFile() resolves a relative path against the config file's
  // directory; loadConfigText() keeps it as written. Paths in [sensor], [store] and [events]
  // are resolved the same way.
  std::optional<std::string> asn_db;
  SensorSettings sensor;
  ApiSettings api;
  StoreSettings store;
  EventSettings events;
  MitigationSettings mitigation;
};

// Top-level tables that belong to components not configured by this loader yet. Their
// contents are not validated.
inline constexpr std::array<std::string_view, 3> kReservedTables = {"audit", "honeypot", "metrics"};

// Loads the file; the error is the first problem in the file (in line order). A relative
// api.token_file is read relative to the file's directory.
Result<LoadedConfig> loadConfigFile(const std::string& path);
// `name` stands for the file in messages ("config.toml:7:17: ..."). Paths are kept as written;
// a relative api.token_file is read relative to the current directory.
Result<LoadedConfig> loadConfigText(std::string_view text, std::string_view name);

// One problem in a configuration file.
struct ConfigProblem {
  int line = 0;  // 1-based; 0 when not tied to a place in the file
  int column = 0;
  std::string what;  // the sentence without the position: "api.token must be ..., got ..."
};
// "<name>:<line>:<column>: <what>", or "<name>: <what>" without a position.
std::string describeProblem(std::string_view name, const ConfigProblem& problem);

// Where a setting was written, by its path: "api.listen", "sensor.interfaces[1]".
struct ConfigPosition {
  int line = 0;
  int column = 0;
};
using ConfigPositions = std::map<std::string, ConfigPosition, std::less<>>;

// Everything wrong with a file, not only the first problem.
struct ConfigCheck {
  std::optional<LoadedConfig> config;  // set exactly when `errors` is empty
  // In line order. A TOML syntax error stops the check (it is then the only error); every
  // other problem is reported, each once.
  std::vector<ConfigProblem> errors;
  bool unreadable = false;    // the file could not be read at all (errors holds why)
  ConfigPositions positions;  // of the settings written in the file
};

// As loadConfigFile() / loadConfigText(), collecting every problem.
ConfigCheck checkConfigFile(const std::string& path);
ConfigCheck checkConfigText(std::string_view text, std::string_view name);

}  // namespace bw
