// Analysis: everything one run of `breakwater analyze` found, as plain values. The CLI fills
// it from the capture reader, the decoder's counters and the engine; the JSON and text
// renderers (json_report.h, text_report.h) only read it. Also the small naming helpers both
// renderers share, so the terminal and JSON always agree on names.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "detect/attack.h"
#include "detect/engine.h"
#include "detect/traffic_totals.h"

namespace bw {

struct CaptureSummary {
  std::string source;         // capture path (or interface) as the operator named it
  std::string format;         // "pcap", "pcapng", ... ; empty when unknown
  std::uint64_t packets = 0;  // frames read
  std::uint64_t bytes = 0;    // IP bytes (IPv4 total length / IPv6 payload + 40)
  std::int64_t first_ns = 0;  // first and last frame timestamps; meaningless when packets == 0
  std::int64_t last_ns = 0;
  std::map<std::string, std::uint64_t> malformed;  // decode failure reason -> frames
  std::map<std::string, std::uint64_t> decode;     // other decoder counters (not_ip, ...)
  bool sampled = false;                            // true when the input is sampled (flow records)
};

// One exporter (NetFlow/IPFIX source id or observation domain, sFlow agent) heard from.
struct ExporterSummary {
  std::string address;   // the datagrams' UDP source
  std::string agent;     // sFlow agent address; empty for NetFlow/IPFIX
  std::string protocol;  // "sflow5", "netflow5", "netflow9", "ipfix"
  std::uint32_t domain = 0;
  std::uint64_t datagrams = 0;
  std::uint64_t records = 0;
  std::uint64_t lost = 0;  // sequence gaps, in the protocol's unit
  std::uint32_t sampling_rate = 1;
};

// What flow telemetry input carried: present only when the input was export datagrams.
struct TelemetrySummary {
  std::map<std::string, std::uint64_t> datagrams;  // protocol -> datagrams decoded
  std::uint64_t records = 0;                       // flow records and packet samples
  std::uint64_t lost = 0;                          // sequence gaps over all exporters
  std::map<std::string, std::uint64_t> issues;     // rejection reason -> count
  std::vector<ExporterSummary> exporters;
};

struct Analysis {
  CaptureSummary capture;
  std::optional<TelemetrySummary> telemetry;
  // Heaviest destinations of all traffic seen (attack or not), by bytes.
  std::vector<DestinationTotal> top_destinations;
  std::vector<AttackRecord> attacks;  // in order of start
  std::vector<ScannerRecord> scanners;
  std::optional<EngineStats> engine;  // the engine's own counters, when the CLI has them
};

// "udp", "tcp", "icmp", "icmpv6", else the protocol number.
std::string protocolName(std::uint8_t protocol);
// evidence:: bits as stable identifiers: "payload_match", "memcached_frame",
// "memcached_text", "ntp_monlist" (empty for a port-only match).
std::vector<std::string> evidenceNames(std::uint8_t evidence_bits);
// The same for people: "memcached UDP frame header, STAT/VALUE payloads", or
// "source port only" when no payload evidence was seen.
std::string evidenceDescription(std::uint8_t evidence_bits);

}  // namespace bw
