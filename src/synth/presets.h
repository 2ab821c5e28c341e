// Ready-made scenarios for `breakwater synth --preset NAME` (documented in docs/synth.md):
//
//   memcached      the quick-start drill: one memcached reflection flood with a ransom note
//                  (200 reflectors, 20 kpps for 5 s) on light benign traffic, after a scanner
//                  sweep that finds two exposed memcached servers.
//   mixed          eight inbound vectors (IPv4 and IPv6, fragmented DNS and CLDAP), an outbound
//                  NTP reflection through our hosts with its spoofed requests, every benign kind
//                  and an SSDP scanner.
//   benign         benign traffic only, including busy hosts at high rates (about 40 kpps).
//   small-packets  about 2 Mpps of short datagrams (four floods and a busy resolver) for
//                  throughput benchmarks; snaplen 96.
//   spoofed        one flood from N/2 distinct sources (5 million for the default 10 million
//                  packets) for memory benchmarks; snaplen 96.
//
// The last three scale with --packets. Presets place hosts at fixed offsets in the first IPv4
// network (victims from .10, benign servers .20-.60), so --networks moves them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/result.h"
#include "synth/scenario.h"

namespace bw::synth {

struct PresetInfo {
  std::string_view name;
  std::string_view summary;
  std::uint64_t default_packets;  // 0: the preset does not scale with --packets
};

std::span<const PresetInfo> presetList() noexcept;

struct PresetDefaults {
  std::uint32_t snaplen = 0;  // 0: no preference
};

// Adds the preset's specs to `s` and sets its duration. `packets` (0 = the preset's default)
// sizes the presets that scale. REQUIRES: s.networks is filled (see ensureNetworks).
// Errors name the preset: "preset 'foo' does not exist (valid: memcached, mixed, ...)".
Result<PresetDefaults> applyPreset(std::string_view name, std::uint64_t packets, Scenario& s);

// Sets s.networks to the default (198.18.0.0/24) when empty.
void ensureNetworks(Scenario& s);

}  // namespace bw::synth
