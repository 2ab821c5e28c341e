// DetectionConfig: every knob of the engine, with the defaults documented in
// docs/detection.md. Built by the CLI or the config loader and handed to the engine by value:
// the engine never reads globals.
#pragma once

#include <cstdint>
#include <vector>

#include "core/prefix.h"

namespace bw {

// The longest onset window, in buckets, the engine keeps per destination.
inline constexpr int kMaxWindowBuckets = 16;

struct Thresholds {
  // Onset: traffic of one vector to one destination over the last `window` reaches either.
  // Below the guarantee (any flood >= 1,000 pps or >= 10 Mbit/s for 1 s is caught) so window
  // alignment and jitter cannot hide one; above the floor (benign traffic below 100 pps is
  // never reported: 100 pps of 9,000-byte jumbo frames is 7.2 Mbit/s).
  double pps = 150;  // packets per second
  double bps = 8e6;  // IP bits per second
};

struct PrefixThresholds {
  Prefix prefix;
  Thresholds thresholds;
};

struct DetectionConfig {
  Thresholds thresholds;
  std::vector<PrefixThresholds> overrides;  // longest prefix wins
  std::vector<Prefix> networks;             // what the operator protects; empty: everything
  std::vector<Prefix> ignore;               // destinations never reported (e.g. scrubbing centre)

  std::int64_t bucket_ns = 100'000'000;       // accounting resolution
  int window_buckets = 10;                    // onset window = bucket * window (1 s)
  double end_ratio = 0.5;                     // hysteresis: below ratio * threshold counts as quiet
  std::int64_t end_quiet_ns = 5'000'000'000;  // quiet this long ends an attack
  // Answers to our own queries are not reflection: a destination whose requests to a vector's
  // port number at least this share of the responses it receives is a client, not a victim.
  double solicited_ratio = 0.2;
  // ... unless the responses outweigh the requests by this factor in bytes: a flood
  // answering spoofed requests is amplified, a client's answers are not (much).
  double solicited_max_amplification = 10;
  int generic_min_sources = 5;  // "udp:<port>" needs this many distinct sources
  std::uint32_t top_reflectors = 10;

  // Scanners: one source probing an amplification port across many destinations.
  std::uint32_t scanner_min_targets = 16;
  std::int64_t scanner_window_ns = 600'000'000'000;
  double scanner_max_answered = 0.5;  // mostly unanswered probes: a sweep, not a client

  // Memory bounds (see docs/detection.md for the arithmetic).
  std::uint32_t max_destinations = 1u << 16;  // per-(destination, vector) rate slots
  std::uint32_t max_tracked = 4096;           // candidates/attacks with reflector tracking
  // Sources counted exactly per attack, then HyperLogLog + Space-Saving. 262,144: more than
  // the ~93,000 memcached servers of the 2018 floods, so an attack by a whole population of
  // open reflectors keeps exact counts (8 MiB of map at most, out of the budget below).
  std::uint32_t exact_sources_per_attack = 1u << 18;
  std::uint64_t exact_sources_budget_bytes = 64ull << 20;  // all exact source maps together
  std::uint32_t max_scanner_sources = 1u << 16;
};

}  // namespace bw
