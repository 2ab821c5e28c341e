// SensorSnapshot: what the running sensor knows right now, as plain values. The sensor's
// engine thread publishes one about every 100 ms (and on request); the HTTP API renders it
// as JSON (/api/v1/status, /api/v1/top) and in Prometheus exposition format (/metrics).
// Copying one is cheap enough to do per request.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "detect/engine.h"

namespace bw {

// One traffic source: an interface (all its fanout workers together) or a collector endpoint.
struct SourceSnapshot {
  std::string name;  // "eth1", "sflow 0.0.0.0:6343", "netflow [::]:2055"
  std::string kind;  // "interface", "sflow", "netflow"
  // Interfaces: frames and their wire bytes. Collectors: datagrams and payload bytes.
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  // Lost before we saw it: ring full (interfaces), socket queue full (collectors).
  std::uint64_t drops = 0;
  std::uint64_t records = 0;         // collectors: flow records and packet samples decoded
  std::uint64_t lost_telemetry = 0;  // collectors: sequence gaps reported by exporters
  std::uint64_t rejected = 0;        // malformed frames / datagrams, over every reason
  std::string fault;                 // empty while healthy, else one sentence
};

// Reflection traffic of one vector (classified responses), everything seen since start and
// the rate over the last second.
struct VectorSnapshot {
  std::string vector;  // vector label: "memcached", "dns", "udp:500"
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  double pps = 0;
  double bps = 0;
};

// A destination's traffic over the last second (all traffic, attack or not).
struct DestinationRate {
  std::string ip;
  double pps = 0;
  double bps = 0;
};

// One event action (event log, notify command, webhook, mitigation backend).
struct ActionSnapshot {
  std::string name;  // "events-file", "notify", "webhook", "mitigation:dry-run"
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::uint64_t dropped = 0;  // events not handed to it because its queue was full
  std::string last_error;
};

// Seconds from an attack's first packet to its attack_started event, as a cumulative
// histogram (Prometheus semantics: counts[i] = observations <= bounds[i]).
struct LatencyHistogram {
  std::vector<double> bounds = {0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10};
  std::vector<std::uint64_t> counts = std::vector<std::uint64_t>(11, 0);
  std::uint64_t count = 0;
  double sum = 0;
  void observe(double seconds) {
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      if (seconds <= bounds[i]) ++counts[i];
    }
    ++count;
    sum += seconds;
  }
};

struct SensorSnapshot {
  double now = 0;         // wall clock, EPOCH seconds
  double started_at = 0;  // when the sensor started
  double config_loaded_at = 0;
  std::string config_path;  // empty when run from flags only
  std::uint64_t config_reloads = 0;
  std::string version;  // "breakwater 0.1.0"

  std::vector<SourceSnapshot> sources;
  EngineStats engine;
  std::int64_t event_time_ns = 0;  // the engine's clock
  // Everything decoded (all sources), and the rate over the last second.
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  double pps = 0;
  double bps = 0;
  std::vector<VectorSnapshot> vectors;            // by bytes, descending
  std::vector<DestinationRate> top_destinations;  // by bits per second, descending, at most 20

  std::uint64_t active_attacks = 0;
  std::uint64_t attacks_started = 0;  // since the sensor started
  std::uint64_t attacks_ended = 0;
  LatencyHistogram detection_latency;

  std::vector<ActionSnapshot> actions;
  bool store_enabled = false;
  std::string store_path;
  std::uint64_t store_errors = 0;
  std::string store_fault;  // last store error, empty while healthy
};

// What the HTTP API asks of the sensor. Implemented by the sensor; tests use fakes.
// Thread-safety: every method may be called from any thread, concurrently.
class SensorView {
 public:
  virtual ~SensorView() = default;
  virtual SensorSnapshot snapshot() = 0;
  // Attack records (attackToJson() plus "id" (global, the store's), "state" ("active" or
  // "ended") and "detected_at" (wall clock)): active ones first, then ended ones, newest
  // start first, at most `limit`.
  virtual nlohmann::json attacks(std::size_t limit) = 0;
  // One attack with its per-second series under "series" (array of {"t", "packets",
  // "bytes", "pps", "bps", "reflectors"}); nullopt when unknown.
  virtual std::optional<nlohmann::json> attack(std::uint64_t id) = 0;
};

}  // namespace bw
