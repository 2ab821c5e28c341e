// `breakwater synth`: writes a labelled synthetic capture and its ground truth JSON. Argument
// parsing and exit codes only; the work is in src/synth (buildScenario, writeSynth).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command.h"
#include "synth/presets.h"
#include "synth/spec.h"
#include "synth/synthesize.h"

namespace bw::cli {
namespace {

std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string megabytes(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

std::string presetHelp() {
  std::string out = "Start from a ready-made scenario:";
  for (const auto& p : synth::presetList()) {
    out += "\n  " + std::string(p.name) + ": " + std::string(p.summary);
  }
  return out;
}

constexpr const char* kFooter = R"(
Specs are comma-separated key=value lists; every flag that takes one may be repeated.
  --attack   vector (memcached, dns, ntp, ssdp, cldap, chargen, snmp, netbios, portmap, ripv1,
             mssql, ws-discovery, arms, coap, ubiquiti, qotd, tftp, or udp:PORT), victim,
             direction (inbound: the victim is ours; outbound: our hosts reflect, and the
             spoofed requests reaching them are written too), pps (reflected datagrams/s),
             start, duration (seconds), reflectors (distinct sources), reflector_net (CIDR they
             come from), size (response bytes), mtu (fragment above; 0 never), ransom (memcached
             ransom note), ipv6, victim_port, timing (even|poisson)
  --benign   kind (web, dns, memcached-tcp, ntp, misc, quic), host, peers, pps, start,
             duration, port (misc)
  --scanner  vector, source, targets (CIDR swept), pps, start, passes, responders
Numbers take k/M suffixes (pps=20k, reflectors=5M).

The ground truth (<output>.truth.json unless --truth) records, per attack, the victim,
vector, start and end, packets and bytes actually written and the distinct reflectors;
docs/synth.md describes it.

Examples:
  breakwater synth -o drill.pcap --preset memcached
  breakwater synth -o flood.pcap --attack vector=memcached,victim=198.18.0.10,pps=20k,start=1,duration=5,reflectors=300,ransom=1
  breakwater synth -o dns.pcap.gz --attack vector=dns,size=4000,mtu=1280,pps=2000 --benign kind=dns --scanner vector=dns
  breakwater synth -o out.pcap --networks 203.0.113.0/24 --attack vector=ntp,direction=outbound,reflectors=5,pps=800
  breakwater synth -o bench.pcap --preset small-packets --packets 50M)";

}  // namespace

void registerSynthCommand(CLI::App& app, CommandRun& run) {
  auto request = std::make_shared<synth::SynthRequest>();
  auto duration = std::make_shared<double>(-1);
  CLI::App* cmd = app.add_subcommand(
      "synth",
      "Write a labelled synthetic capture (benign background plus chosen reflection attacks and "
      "scanners) and its ground truth JSON, for tests, benchmarks and drills.");
  cmd->footer(kFooter);
  cmd->add_option("-o,--output", request->output,
                  "Capture to write (classic pcap; a .gz name compresses it; - writes to stdout)")
      ->required();
  cmd->add_option("--preset", request->preset, presetHelp());
  cmd->add_option("--attack", request->attacks, "Add a reflection attack (SPEC below)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--benign", request->benign, "Add benign traffic a detector must not flag")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--scanner", request->scanners, "Add a scanner sweeping an amplification port")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--networks", request->networks,
                  "Our networks, comma-separated (default 198.18.0.0/24, the RFC 2544 range)");
  cmd->add_option("--seed", request->seed, "Random seed; the same seed gives identical bytes")
      ->default_val(1);
  cmd->add_option("--start", request->start,
                  "Time of the first second: Unix seconds or UTC like 2018-02-28T17:21:00Z "
                  "(the default: the GitHub memcached attack)");
  cmd->add_option("--duration", *duration,
                  "Seconds to generate (default: the preset's, or until the last spec ends)");
  cmd->add_option("--snaplen", request->snaplen,
                  "Bytes kept per packet; lengths on the wire stay whole (default 262144; 96 for "
                  "the benchmark presets)");
  cmd->add_flag("--nanosecond", request->nanosecond, "Write nanosecond timestamps");
  cmd->add_option("--truth", request->truth, "Ground truth path (default <output>.truth.json)");
  cmd->add_option("--packets", request->packets,
                  "About how many packets the scaling presets write (benign, small-packets, "
                  "spoofed); k/M suffixes");
  cmd->add_option("--link", request->link, "Link layer: ethernet (default) or raw IP")
      ->default_val("ethernet");
  cmd->add_option("--vlan", request->vlan, "Tag every Ethernet frame with this 802.1Q VLAN id");

  cmd->callback([request, duration, &run]() {
    run = [request, duration]() {
      if (*duration >= 0) request->duration = *duration;
      auto plan = synth::buildScenario(*request);
      if (!plan) {
        std::fprintf(stderr, "breakwater synth: %s\n", plan.error().message.c_str());
        return kExitUsage;
      }
      auto summary = synth::writeSynth(*plan);
      if (!summary) {
        std::fprintf(stderr, "breakwater synth: %s\n", summary.error().message.c_str());
        return kExitInput;
      }
      const synth::Tally& total = summary->truth.total;
      std::string line = "breakwater synth: wrote " + grouped(total.packets) + " packets (" +
                         megabytes(total.bytes) + " of IP) to " + summary->output;
      line += summary->truth_path.empty() ? "; no ground truth file (give --truth PATH)"
                                          : "; ground truth in " + summary->truth_path;
      std::fprintf(stderr, "%s\n", line.c_str());
      return kExitOk;
    };
  });
}

}  // namespace bw::cli
