// The engine's outputs: attack and scanner records. Plain values, safe to copy across
// threads; the JSON contract in docs/json-schema.md is a rendering of exactly these fields.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ip_address.h"
#include "decode/vector.h"

namespace bw {

enum class Direction : std::uint8_t {
  Inbound,   // the victim is one of ours (or no --networks were given)
  Outbound,  // our hosts are the abused reflectors; the victim is elsewhere
};
const char* directionName(Direction d) noexcept;

struct ReflectorStat {
  IpAddress ip;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

struct RansomEvidence {
  std::string text;
  std::vector<std::string> monero_addresses;
};

struct AttackRecord {
  std::uint64_t id = 0;  // engine-local sequence number, in order of detection
  IpAddress victim;
  Direction direction = Direction::Inbound;
  Vector vector = Vector::None;
  std::uint16_t source_port = 0;  // the reflectors' UDP source port
  std::uint8_t protocol = 17;
  std::uint8_t evidence = 0;     // evidence:: bits seen in the attack's packets
  bool active = true;            // false once the attack has ended
  std::int64_t start_ns = 0;     // first packet of the attack (before detection fired)
  std::int64_t end_ns = 0;       // last packet of the attack so far
  std::int64_t detected_ns = 0;  // event time at which the threshold was crossed
  std::uint64_t packets = 0;     // whole attack, first to last packet
  std::uint64_t bytes = 0;       // IP bytes
  std::uint64_t fragments = 0;   // non-first fragments attributed through their first one
  double peak_pps = 0;
  double peak_bps = 0;
  std::uint64_t reflectors = 0;  // distinct sources (exact up to 64 Ki, then HyperLogLog)
  bool reflectors_estimated = false;
  std::vector<ReflectorStat> top_reflectors;  // by bytes, descending
  std::vector<IpAddress> abused_hosts;        // outbound: our hosts used as reflectors
  std::vector<RansomEvidence> ransom_notes;
  double threshold_pps = 0;  // the thresholds that applied to this victim
  double threshold_bps = 0;

  std::string vectorLabel() const { return bw::vectorLabel(vector, source_port); }
};

struct ScannerRecord {
  IpAddress source;
  std::uint8_t protocol = 17;
  std::uint16_t port = 0;  // the amplification port probed
  Vector vector = Vector::None;
  std::uint64_t targets = 0;  // distinct destinations probed
  std::uint64_t packets = 0;
  std::uint64_t responders = 0;  // targets that answered from the probed port
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
};

}  // namespace bw
