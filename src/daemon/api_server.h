// ApiServer: the sensor's HTTP API (cpp-httplib), JSON over HTTP/1.1.
//
//   GET /api/v1/attacks[?limit=N]  active and recent attacks (SensorView::attacks), {"attacks":
//   [...]} GET /api/v1/attacks/{id}       one attack with its per-second series; 404 when unknown
//   GET /api/v1/top[?n=N]          top destinations (last second) and vectors now
//   GET /api/v1/status             sources, rates, drops, lost telemetry, engine, actions, store
//   GET /metrics                   Prometheus text exposition format 0.0.4 (renderMetrics)
//
// Bound to loopback by default. Any other address requires a token: the server refuses to
// start without one, and then every request needs "Authorization: Bearer TOKEN" (401
// otherwise, compared in constant time). Only GET (and HEAD) are served; errors are JSON
// {"error": "..."} with the right status code. Requests are bounded (headers 8 KiB, no
// bodies) and served by a small fixed thread pool.
//
// Thread-safety: start()/stop() from one thread; handlers call the SensorView concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"
#include "daemon/snapshot.h"

namespace bw {

struct ApiOptions {
  std::string listen = "127.0.0.1:9473";  // "ADDR:PORT", "[V6]:PORT"; port 0 picks a free one
  std::string token;                      // required unless listen is a loopback address
  int threads = 4;
};

// Prometheus exposition of a snapshot. Metric names (all prefixed breakwater_):
//   source_packets_total{source,kind}, source_bytes_total{source,kind},
//   source_drops_total{source,kind}, source_lost_telemetry_total{source,kind},
//   source_up{source,kind} (0 while faulted), packets_total, bytes_total,
//   vector_packets_total{vector}, vector_bytes_total{vector},
//   vector_packets_per_second{vector}, vector_bits_per_second{vector},
//   attacks_active, attacks_started_total, attacks_ended_total,
//   detection_latency_seconds (histogram), engine_late_packets_total, ...,
//   action_ok_total{action}, action_failed_total{action}, action_dropped_total{action},
//   store_errors_total, config_reloads_total, start_time_seconds.
std::string renderMetrics(const SensorSnapshot& snapshot);
// The /api/v1/status and /api/v1/top bodies.
nlohmann::json statusToJson(const SensorSnapshot& snapshot);
nlohmann::json topToJson(const SensorSnapshot& snapshot, std::size_t n);

class ApiServer {
 public:
  // Binds and starts serving on background threads. Errors: "address already in use:
  // 127.0.0.1:9473", "the API listens on 0.0.0.0:9473, which is not loopback: set [api] token",
  // ...
  static Result<std::unique_ptr<ApiServer>> start(const ApiOptions& options, SensorView* view);
  ~ApiServer();  // stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  void stop();
  // Where it listens, with the real port ("127.0.0.1:40211").
  const std::string& endpoint() const noexcept;

 private:
  struct Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw
