// Engine: streaming, event-time amplification-attack detection.
//
// Feeds on PacketSummary batches (from capture files, live sockets or flow records turned
// into summaries) and keeps, per (destination, vector, service port), packet and byte
// counters in short time buckets. An attack starts when a vector's traffic to one destination
// over the last window reaches the destination's thresholds and the destination did not ask
// for it (requests it sent to that port); it ends after the rate stays below the hysteresis
// level for the quiet period. Time comes only from the packets (and advanceTime() for idle
// live sources), so replaying a capture reproduces a live run exactly.
//
// Memory is bounded by DetectionConfig's max_* fields whatever the input: rate slots are a
// fixed table that evicts the quietest entry, reflector sets degrade to HyperLogLog, and
// everything dropped is counted in EngineStats.
//
// Thread-safety: none; one engine per worker, merged by the caller.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "decode/packet.h"
#include "decode/vector.h"
#include "detect/attack.h"
#include "detect/config.h"

namespace bw {

// Lifecycle callbacks, called synchronously from process()/advanceTime()/finish().
class AttackListener {
 public:
  virtual ~AttackListener() = default;
  virtual void onAttackStarted(const AttackRecord&) {}
  virtual void onAttackUpdated(const AttackRecord&) {}  // about once per second while active
  virtual void onAttackEnded(const AttackRecord&) {}
};

struct EngineStats {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t reflection_packets = 0;  // classified as a vector's response
  std::uint64_t fragments_attributed = 0;
  std::uint64_t fragments_unattributed = 0;
  std::uint64_t late_packets = 0;   // older than their destination's current bucket
  std::uint64_t stale_packets = 0;  // of those, older than the whole window: counted now
  std::uint64_t destination_evictions = 0;
  std::uint64_t destination_table_full =
      0;                                // packets not accounted: every nearby slot in an attack
  std::uint64_t transit_packets = 0;    // neither end inside --networks
  std::uint64_t tracker_overflows = 0;  // candidates not tracked because max_tracked was hit
  std::uint64_t scanner_evictions = 0;
};

// Every EngineStats field by name, with what it counts: reports, metrics and sums of several
// engines' stats walk this list rather than naming the fields again.
struct EngineStatsField {
  const char* name;
  std::uint64_t EngineStats::*member;
  const char* help;
};
inline constexpr EngineStatsField kEngineStatsFields[] = {
    {"packets", &EngineStats::packets, "Packets the detection engine accounted."},
    {"bytes", &EngineStats::bytes, "IP bytes the detection engine accounted."},
    {"reflection_packets", &EngineStats::reflection_packets,
     "Packets classified as an amplification vector's response."},
    {"fragments_attributed", &EngineStats::fragments_attributed,
     "Non-first IP fragments attributed to a vector through their first fragment."},
    {"fragments_unattributed", &EngineStats::fragments_unattributed,
     "Non-first IP fragments whose first fragment was not seen."},
    {"late_packets", &EngineStats::late_packets,
     "Packets older than their destination's current bucket."},
    {"stale_packets", &EngineStats::stale_packets,
     "Late packets older than the whole rate window, counted in the current bucket."},
    {"destination_evictions", &EngineStats::destination_evictions,
     "Destinations evicted from the full per-destination table."},
    {"destination_table_full", &EngineStats::destination_table_full,
     "Packets not accounted because every nearby destination slot was under attack."},
    {"transit_packets", &EngineStats::transit_packets,
     "Packets with neither end inside the protected networks."},
    {"tracker_overflows", &EngineStats::tracker_overflows,
     "Attack candidates not tracked because the tracker was full."},
    {"scanner_evictions", &EngineStats::scanner_evictions,
     "Scanners evicted from the full scanner table."},
};
// A new EngineStats field must be listed above (and in docs/api.md and docs/json-schema.md).
static_assert(sizeof(EngineStats) == std::size(kEngineStatsFields) * sizeof(std::uint64_t),
              "EngineStats changed: list the new field in kEngineStatsFields");

// Reflected traffic of one named vector (classified responses and the fragments attributed
// through them), since the engine started.
struct VectorTraffic {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};
using VectorTrafficTable = std::array<VectorTraffic, static_cast<std::size_t>(Vector::kCount)>;

class Engine {
 public:
  explicit Engine(DetectionConfig config, AttackListener* listener = nullptr);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // REQUIRES: packets are roughly in time order. A packet older than its destination's
  // current bucket (stats().late_packets) goes to its own bucket while that is inside the
  // window; one older than the whole window (stats().stale_packets) is counted in the
  // current bucket.
  void process(std::span<const PacketSummary> batch) noexcept;
  // Moves event time forward without packets (live sources when idle).
  void advanceTime(std::int64_t now_ns) noexcept;
  // End of input: attacks still active end at their last packet.
  void finish() noexcept;
  // Applies a new configuration without losing counters or active attacks (SIGHUP):
  // thresholds and overrides (also for destinations already tracked), networks, ignore,
  // hysteresis, solicited-traffic and reflector settings. What sizes the engine's tables or
  // its clock (bucket_ns, window_buckets, max_*, exact_sources_*) keeps its old value; the
  // names of such keys that differ are returned so the caller can say a restart is needed.
  std::vector<std::string> reconfigure(const DetectionConfig& config);

  // Every attack seen, active and ended, in order of start.
  std::vector<AttackRecord> attacks() const;
  std::vector<ScannerRecord> scanners() const;
  const EngineStats& stats() const noexcept;
  // Indexed by Vector; None and GenericUdp stay zero.
  const VectorTrafficTable& vectorTraffic() const noexcept;
  const DetectionConfig& config() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw
