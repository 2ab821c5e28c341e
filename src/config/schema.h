// The configuration file's schema as the loader knows it (internal to src/config): every
// table it validates with the keys each accepts, and the loaders of the tables that configure
// `breakwater run` (run_tables.cc). docs/configuration.md documents the same keys; a key added
// here belongs there too.
//
// Thread-safety: constants and functions of a TomlReader that is not shared.
#pragma once

#include <array>
#include <string_view>

#include "config/config_file.h"
#include "config/toml_reader.h"

namespace bw::config_internal {

inline constexpr std::string_view kDetectionKeys[] = {"threshold_pps",
                                                      "threshold_mbps",
                                                      "end_quiet_s",
                                                      "end_ratio",
                                                      "window_s",
                                                      "bucket_ms",
                                                      "solicited_ratio",
                                                      "solicited_max_amplification",
                                                      "generic_min_sources",
                                                      "top_reflectors",
                                                      "networks",
                                                      "ignore",
                                                      "override"};
inline constexpr std::string_view kOverrideKeys[] = {"prefix", "threshold_pps", "threshold_mbps"};
inline constexpr std::string_view kScannerKeys[] = {"min_targets", "window_s", "max_answered"};
inline constexpr std::string_view kLimitKeys[] = {"max_destinations", "max_tracked",
                                                  "max_scanner_sources", "exact_sources_per_attack",
                                                  "exact_sources_budget_mb"};
inline constexpr std::string_view kEnrichKeys[] = {"asn_db"};
inline constexpr std::string_view kSensorKeys[] = {
    "interfaces", "workers_per_interface", "bpf_filter", "promiscuous", "sflow",
    "netflow",    "update_interval_s",     "user",       "log_level"};
inline constexpr std::string_view kApiKeys[] = {"enabled", "listen", "token", "token_file"};
inline constexpr std::string_view kStoreKeys[] = {"enabled", "path", "max_size_mb"};
inline constexpr std::string_view kEventKeys[] = {"file",
                                                  "notify",
                                                  "notify_timeout_s",
                                                  "notify_on",
                                                  "webhook_url",
                                                  "webhook_timeout_s",
                                                  "webhook_headers",
                                                  "webhook_on"};
inline constexpr std::string_view kMitigationKeys[] = {"backend",        "flowspec",      "rtbh",
                                                       "rtbh_community", "rtbh_next_hop", "never",
                                                       "min_pps",        "min_mbps"};

// In the order messages list them; the first table holding a key is the one suggested for it
// when it is written at the top level.
inline constexpr std::array<TableKeys, 9> kTables = {{{"detection", kDetectionKeys},
                                                      {"scanners", kScannerKeys},
                                                      {"limits", kLimitKeys},
                                                      {"enrich", kEnrichKeys},
                                                      {"sensor", kSensorKeys},
                                                      {"api", kApiKeys},
                                                      {"store", kStoreKeys},
                                                      {"events", kEventKeys},
                                                      {"mitigation", kMitigationKeys}}};

inline constexpr std::string_view kLogLevels[] = {"debug", "info", "warn", "error"};
inline constexpr std::string_view kEventNames[] = {"attack_started", "attack_updated",
                                                   "attack_ended"};
inline constexpr std::string_view kMitigationBackends[] = {"none", "dry-run"};

// Each reads its table into `out`, keeping the defaults of keys not written; problems go to
// `r`. A value is stored only when it is valid.
void loadSensor(TomlReader& r, const toml::table& t, SensorSettings* out);
void loadApi(TomlReader& r, const toml::table& t, ApiSettings* out);
void loadStore(TomlReader& r, const toml::table& t, StoreSettings* out);
void loadEvents(TomlReader& r, const toml::table& t, EventSettings* out);
void loadMitigation(TomlReader& r, const toml::table& t, MitigationSettings* out);

}  // namespace bw::config_internal
