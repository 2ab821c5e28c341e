// Mitigation plans and the backend interface.
//
// planMitigation() turns an attack into what would stop exactly its reflected traffic:
//  - inbound (the victim is ours): FlowSpec (RFC 8955/8956) rules matching destination =
//    victim/32 (/128), protocol = UDP, source port = the vector's port, action discard
//    (traffic-rate 0); plus a rule for non-first fragments to the victim when the attack
//    carried fragments (they have no UDP header, so no port to match). RTBH (the victim's
//    /32 with the blackhole community) only when enabled: it drops everything to the victim.
//  - outbound (our hosts are the reflectors): FlowSpec rules matching source = each abused
//    host, protocol UDP, source port = the vector's port, destination = the victim; never RTBH
//    (it would blackhole the victim, who is not ours).
//  - nothing when the victim is inside settings.never, below min_pps/min_mbps, or the vector
//    has no port to match (generic floods without a source port): `skipped` says why.
//
// A MitigationBackend announces and withdraws plans: dry-run logs them; GoBGP, ExaBGP and
// nftables backends come later behind the same interface.
// Thread-safety: planMitigation() is pure; a backend is used from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config_file.h"
#include "core/prefix.h"
#include "core/result.h"
#include "detect/attack.h"

namespace bw {

struct FlowSpecRule {
  std::optional<Prefix> destination;
  std::optional<Prefix> source;
  std::uint8_t protocol = 17;
  std::optional<std::uint16_t> source_port;
  bool non_first_fragments = false;  // match "fragment is-fragment and not first-fragment"
  double rate_bps = 0;               // traffic-rate action; 0 = discard

  // One line in the style of GoBGP's CLI: "match destination 198.51.100.7/32 protocol udp
  // source-port ==11211 then discard".
  std::string text() const;
  nlohmann::json toJson() const;
  friend bool operator==(const FlowSpecRule&, const FlowSpecRule&) = default;
};

struct RtbhRoute {
  Prefix prefix;
  std::string community = "65535:666";
  std::string next_hop;

  std::string text() const;  // "198.51.100.7/32 next-hop 192.0.2.1 community 65535:666"
  nlohmann::json toJson() const;
  friend bool operator==(const RtbhRoute&, const RtbhRoute&) = default;
};

struct MitigationPlan {
  std::uint64_t attack_id = 0;  // global (store) id
  std::vector<FlowSpecRule> flowspec;
  std::optional<RtbhRoute> rtbh;
  std::string skipped;  // non-empty: why nothing is announced

  bool empty() const noexcept { return flowspec.empty() && !rtbh; }
  nlohmann::json toJson() const;
};

MitigationPlan planMitigation(std::uint64_t attack_id, const AttackRecord& attack,
                              const MitigationSettings& settings);

class MitigationBackend {
 public:
  virtual ~MitigationBackend() = default;
  virtual std::string name() const = 0;  // "dry-run"
  virtual Status announce(const MitigationPlan& plan) = 0;
  virtual Status withdraw(const MitigationPlan& plan) = 0;
};

// Logs "would announce flowspec ..." / "would withdraw ..." lines through `log`.
std::unique_ptr<MitigationBackend> makeDryRunBackend(std::function<void(const std::string&)> log);

// "none" -> nullptr, "dry-run" -> makeDryRunBackend(log); anything else is an error naming the
// known backends.
Result<std::unique_ptr<MitigationBackend>> makeMitigationBackend(
    const MitigationSettings& settings, std::function<void(const std::string&)> log);

}  // namespace bw
