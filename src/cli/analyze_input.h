// The two inputs `breakwater analyze` reads from a capture file, each driven into the same
// engine: packets (the capture's own frames) and flow telemetry (UDP export datagrams of
// sFlow v5, NetFlow v5/v9 and IPFIX inside the capture, decoded and replayed as weighted
// packet summaries). Also the sniffing that tells them apart.
#pragma once

#include <csignal>
#include <cstdint>
#include <set>
#include <string>

#include "capture/capture_file.h"
#include "detect/engine.h"
#include "detect/traffic_totals.h"
#include "flow/udp_collector.h"
#include "report/analysis.h"

namespace bw::cli {

// UDP ports export datagrams are recognised on without --flow-port: NetFlow (2055, 2056,
// 9995, 9996), IPFIX (4739) and sFlow (6343).
std::set<std::uint16_t> defaultFlowPorts();

// How much of a stream that can be read only once (standard input) is kept while sniffing
// it, to be read again: enough for looksLikeTelemetry's frames at any common snaplen.
inline constexpr std::size_t kSniffBytes = 8u << 20;

// True when most of the first frames of `capture` are export datagrams to `ports` (checked
// by port and by a valid NetFlow/IPFIX/sFlow header, so a capture that merely contains some
// exports is still read as packets).
bool looksLikeTelemetry(CaptureFile& capture, const std::set<std::uint16_t>& ports);

struct InputOptions {
  bool progress = false;               // progress bar on stderr
  TrafficTotals* totals = nullptr;     // per-destination totals, when wanted
  std::set<std::uint16_t> flow_ports;  // telemetry: UDP destination ports of exports
};

// Reads every frame, decodes it and feeds the engine; fills the summary's counters.
CaptureSummary feedPackets(CaptureFile& capture, Engine& engine, const InputOptions& options,
                           std::uint32_t* unsupported_linktype);

// Reads every frame, decodes export datagrams to `options.flow_ports` and feeds their records
// to the engine; other frames are counted as `not_telemetry`.
CaptureSummary feedTelemetry(CaptureFile& capture, Engine& engine, const InputOptions& options,
                             TelemetrySummary& telemetry);

// Receives export datagrams live until `duration_ns` passes (0: no limit) or *stop is set
// (a signal handler's flag), then ends the input. `packets`/`bytes` in the summary count
// datagrams and their payload bytes.
CaptureSummary feedCollector(UdpCollector& collector, Engine& engine, const InputOptions& options,
                             std::int64_t duration_ns, const volatile std::sig_atomic_t* stop,
                             TelemetrySummary& telemetry);

}  // namespace bw::cli
