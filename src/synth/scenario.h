// Scenario: what a synthetic capture contains (reflection attacks, benign traffic a good
// detector must leave alone, scanner sweeps, and which networks are "ours"), and Generator,
// which writes it to a PcapWriter in timestamp order and returns the ground truth: what was
// actually written, per attack, scanner and benign source.
//
// Everything is a pure function of the Scenario (seed included): the same scenario always
// produces byte-identical output. Generation streams packets straight into the writer; after
// setup (payload templates, pools) it allocates nothing per packet.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/ip_address.h"
#include "core/prefix.h"
#include "core/result.h"
#include "decode/vector.h"
#include "synth/packet_builder.h"
#include "synth/payloads.h"
#include "synth/pcap_writer.h"

namespace bw::synth {

// 2018-02-28T17:21:00Z, the start of the 1.35 Tbps memcached attack on GitHub.
inline constexpr std::int64_t kDefaultStartNs = 1519838460LL * 1'000'000'000;
inline constexpr const char* kDefaultNetworks = "198.18.0.0/24";  // RFC 2544 benchmark range

enum class Direction : std::uint8_t {
  Inbound,   // the victim is inside our networks; reflectors are outside
  Outbound,  // our hosts are the reflectors; the victim is outside
};
const char* directionName(Direction d) noexcept;

enum class Timing : std::uint8_t {
  Even,     // evenly spaced with +-20 % jitter: the count is pps x duration
  Poisson,  // exponential gaps with mean 1/pps
};
const char* timingName(Timing t) noexcept;

struct AttackSpec {
  Vector vector = Vector::None;
  std::uint16_t port = 0;  // GenericUdp: the reflectors' source port
  Direction direction = Direction::Inbound;
  std::optional<IpAddress> victim;      // default: inside (inbound) or outside our networks
  std::uint64_t reflectors = 100;       // distinct reflector addresses
  std::optional<Prefix> reflector_net;  // default: public addresses / our networks (outbound)
  double pps = 10000;                   // reflected datagrams per second
  double start = 0;                     // seconds after the scenario start
  double duration = 0;                  // seconds; 0 = until the scenario ends
  std::uint32_t size = 0;               // response bytes per request; 0 = vector default
  std::uint32_t mtu = 1500;             // fragment datagrams above this; 0 = never
  bool ransom = false;                  // memcached: values carry a ransom demand
  bool ipv6 = false;
  std::uint16_t victim_port = 0;  // 0 = a random port per response
  Timing timing = Timing::Even;
};

enum class BenignKind : std::uint8_t {
  Web,           // TCP 443 connections with many clients, both directions
  Dns,           // our resolver's queries to many servers and their (solicited) answers
  MemcachedTcp,  // internal clients and an internal memcached server over TCP 11211
  Ntp,           // client sync, 123 <-> 123, low rate
  Misc,          // low-rate solicited UDP answers from a known vector port (SNMP by default)
  Quic,          // our client with QUIC-like servers, UDP 443 both directions
  kCount
};
const char* benignKindName(BenignKind k) noexcept;
bool parseBenignKind(std::string_view name, BenignKind* out) noexcept;

struct BenignSpec {
  BenignKind kind = BenignKind::Web;
  std::optional<IpAddress> host;  // our host; default: a fixed address per kind
  std::uint32_t peers = 0;        // 0 = kind default
  double pps = 0;                 // packets per second, both directions; 0 = kind default
  double start = 0;
  double duration = 0;
  std::uint16_t port = 0;  // Misc: the service port (default 161)
};

struct ScannerSpec {
  std::optional<IpAddress> source;  // default: a public address
  std::optional<Prefix> targets;    // default: our first network
  Vector vector = Vector::Memcached;
  std::uint16_t port = 0;  // GenericUdp
  double pps = 100;
  double start = 0;
  std::uint32_t passes = 1;
  std::uint32_t responders = 0;  // how many targets answer
};

struct Scenario {
  std::uint64_t seed = 1;
  std::int64_t start_ns = kDefaultStartNs;
  double duration = 0;  // seconds; 0 = until the last spec ends (10 s when all are open-ended)
  std::vector<Prefix> networks;
  std::vector<AttackSpec> attacks;
  std::vector<BenignSpec> benign;
  std::vector<ScannerSpec> scanners;
  LinkOptions link;
  std::string preset;  // recorded in the ground truth
};

// Fills every default (networks, duration, victims, hosts, sources) and checks consistency.
// Errors are one sentence naming the spec: "attack 2 (dns): victim 10.0.0.1 is not inside
// --networks 198.18.0.0/24; use direction=outbound for victims outside".
Result<Scenario> resolveScenario(Scenario s);

// --- Ground truth -------------------------------------------------------------------------

struct Tally {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;     // IP bytes: IPv4 total length / IPv6 payload length + 40
  std::int64_t first_ns = -1;  // absolute, as stored in the capture
  std::int64_t last_ns = -1;
  void add(std::int64_t ts_ns, std::uint32_t ip_bytes) noexcept {
    if (packets == 0) first_ns = ts_ns;
    last_ns = ts_ns;
    ++packets;
    bytes += ip_bytes;
  }
};

struct AttackTruth {
  AttackSpec spec;    // resolved
  std::string label;  // "memcached", "udp:500"
  std::uint16_t source_port = 0;
  Tally traffic;                // reflected responses toward the victim, every fragment
  Tally requests;               // outbound: spoofed requests arriving at our hosts
  std::uint64_t responses = 0;  // requests answered (each one or more datagrams)
  std::uint64_t datagrams = 0;
  std::uint64_t reflectors = 0;         // distinct reflector addresses used
  std::vector<IpAddress> abused_hosts;  // outbound: our hosts used as reflectors
  std::vector<RansomDemand> ransom;
};

struct ScannerTruth {
  ScannerSpec spec;
  std::uint16_t port = 0;
  Tally probes;
  Tally replies;
  std::uint64_t targets = 0;  // distinct addresses probed
  std::vector<IpAddress> responders;
};

struct BenignTruth {
  BenignSpec spec;
  std::vector<IpAddress> hosts;  // our hosts involved
  Tally traffic;
};

struct GroundTruth {
  std::vector<AttackTruth> attacks;
  std::vector<ScannerTruth> scanners;
  std::vector<BenignTruth> benign;
  Tally total;
};

class Generator {
 public:
  // REQUIRES: `scenario` came from resolveScenario().
  explicit Generator(Scenario scenario) : scenario_(std::move(scenario)) {}

  // Writes the whole scenario to `writer` (whose link type must match scenario.link) and
  // returns the ground truth. Does not finish() the writer.
  Result<GroundTruth> run(PcapWriter& writer);

  const Scenario& scenario() const noexcept { return scenario_; }

 private:
  Scenario scenario_;
};

inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

}  // namespace bw::synth
