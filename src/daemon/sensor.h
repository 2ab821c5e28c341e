// Sensor: the engine running live, as `breakwater run` leaves it running.
//
// Threads and data flow (docs/sensor.md has the picture):
//   capture workers   one per (interface, fanout member): AF_PACKET ring -> decodeFrame ->
//                     batches of PacketSummary (payload prefixes copied with them, since the
//                     ring block goes back to the kernel)            -> queue
//   collectors        for sFlow endpoints and for NetFlow/IPFIX endpoints, two threads
//                     each: UdpCollector -> (receiving thread, ReceivingCollector) ->
//                     FlowDecoder -> FlowFeed                        -> queue
//   engine            the only thread that touches the engines; turns their lifecycle
//                     callbacks into events, store writes, per-second series and the
//                     snapshot the API reads
//   store writer      AttackStore writes, so a slow or full disk never stalls detection
//   event actions     one thread each (EventDispatcher): event log, notify, webhook, mitigation
//   API               cpp-httplib's pool
//
// Two clocks. Packets and sFlow samples carry the time they crossed the wire, close to the
// wall clock, and share one engine whose clock is also moved by the wall clock when traffic
// stops (so attacks end on time). NetFlow/IPFIX records describe the past (up to the
// exporter's active timeout) and reach their own engine through FlowFeed's holdback, on the
// records' clock; their attacks are declared later by that delay, never early or inflated.
//
// Capture workers block (briefly, re-checking for shutdown) when the engine falls behind,
// so overload shows up as kernel ring drops counted per interface, not as unbounded memory.
//
// Attack ids are global and never reused: the sensor continues after the store's last id.
// Thread-safety: start(), stop(), reload() from one controlling thread; SensorView methods
// from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config_file.h"
#include "core/result.h"
#include "daemon/snapshot.h"

namespace bw {

enum class LogLevel : std::uint8_t { Debug, Info, Warn, Error };
const char* logLevelName(LogLevel level) noexcept;  // "debug", "info", "warn", "error"
// "debug" | "info" | "warn" | "error"; false otherwise.
bool parseLogLevel(std::string_view name, LogLevel* level) noexcept;

// One line, no trailing newline. Called from any thread.
using SensorLog = std::function<void(LogLevel, const std::string&)>;

struct SensorOptions {
  LoadedConfig config;
  std::string config_path;  // empty when configured by flags only
  std::string version = "breakwater";
  SensorLog log;
};

class Sensor final : public SensorView {
 public:
  // Opens everything that may fail or needs privileges, in this order: the store (closing
  // attacks a previous run left active), capture sockets, collector sockets, event actions,
  // the API. The first failure closes what was opened and comes back as one sentence.
  static Result<std::unique_ptr<Sensor>> open(SensorOptions options);
  ~Sensor() override;  // stop()
  Sensor(const Sensor&) = delete;
  Sensor& operator=(const Sensor&) = delete;

  // Starts the threads. Call once, after dropping privileges if wanted.
  void start();
  // Stops taking traffic, ends every active attack (attack_ended events, store updates),
  // runs the queued event actions, flushes the store and stops the API. Idempotent.
  void stop();
  // Applies a new configuration (SIGHUP): detection settings and event actions now, without
  // losing counters or active attacks; settings that need a restart (sources, store, API,
  // table sizes) are logged and keep their running values. The event log is reopened.
  void reload(const LoadedConfig& config);

  // Where the API listens (empty when disabled).
  std::string apiEndpoint() const;
  // One sentence per open source, for the "ready" log line.
  std::string describe() const;

  SensorSnapshot snapshot() override;
  nlohmann::json attacks(std::size_t limit) override;
  std::optional<nlohmann::json> attack(std::uint64_t id) override;

 private:
  struct Impl;
  explicit Sensor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw
