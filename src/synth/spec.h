// Parsing of the command-line specs of `breakwater synth`: comma-separated key=value lists
// such as "vector=memcached,victim=198.18.0.10,pps=20k,start=1,duration=5,ransom=1".
//
// Errors are one sentence naming the option, the key and what would be valid:
//   --attack 'vector=memcache': unknown vector 'memcache' (valid: memcached, dns, ...)
// Values are checked for syntax here; consistency with the networks and the scenario is
// checked by resolveScenario().
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "synth/scenario.h"

namespace bw::synth {

// A number with an optional k/M/G suffix (x1e3, x1e6, x1e9): "20k", "5M".
bool parseScaledNumber(std::string_view text, double* out);

Result<AttackSpec> parseAttackSpec(std::string_view text);
Result<BenignSpec> parseBenignSpec(std::string_view text);
Result<ScannerSpec> parseScannerSpec(std::string_view text);

// "memcached, dns, ntp, ..., udp:PORT": the vector names the specs accept.
std::string vectorNameList();
// Keys accepted by each spec, for help text and errors.
inline constexpr const char* kAttackKeys =
    "vector, victim, direction, pps, start, duration, reflectors, reflector_net, size, mtu, "
    "ransom, ipv6, victim_port, timing";
inline constexpr const char* kBenignKeys = "kind, host, peers, pps, start, duration, port";
inline constexpr const char* kScannerKeys =
    "vector, source, targets, pps, start, passes, responders";

}  // namespace bw::synth
