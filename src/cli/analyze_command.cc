// `breakwater analyze`: read a capture, run it through the engine, print the incident report.
//
// The data path is the same one the live sensor uses: frames in batches from the reader,
// decoded into PacketSummary values on the stack, handed to the engine. Settings come from
// defaults, then --config, then command-line flags (the most specific wins).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "capture/capture_file.h"
#include "capture/rewindable_capture.h"
#include "cli/analyze_input.h"
#include "cli/command.h"
#include "config/config_file.h"
#include "core/prefix.h"
#include "decode/packet.h"
#include "detect/engine.h"
#include "flow/udp_collector.h"
#include "report/analysis.h"
#include "report/asn_db.h"
#include "report/json_report.h"
#include "report/text_report.h"

namespace bw::cli {
namespace {

struct AnalyzeOptions {
  std::string capture;
  std::string format = "text";
  std::string output;
  std::string config_path;
  std::optional<double> threshold_pps;
  std::optional<double> threshold_mbps;
  std::string networks;
  std::string asn_db;
  std::optional<std::uint32_t> top;
  bool progress = true;
  bool fail_on_attack = false;
  std::string input = "auto";
  std::vector<std::uint16_t> flow_ports;
  std::optional<std::size_t> top_destinations;
  std::vector<std::string> listen;
  double duration_s = 0;
};

volatile std::sig_atomic_t g_stop = 0;
void onStopSignal(int) { g_stop = 1; }

void fail(const std::string& message) {
  std::fprintf(stderr, "breakwater analyze: %s\n", message.c_str());
}

// Writes the report where the options say; returns the exit status.
int render(const AnalyzeOptions& o, const Analysis& analysis, const AsnDatabase* asn_db) {
  std::string rendered;
  bool to_terminal = o.output.empty() && isatty(STDOUT_FILENO) == 1;
  if (o.format == "json") {
    rendered = toJsonText(analysis, asn_db);
  } else {
    TextReportOptions text;
    text.color = to_terminal && wantColor(STDOUT_FILENO);
    rendered = renderText(analysis, asn_db, text);
  }
  if (o.output.empty() || o.output == "-") {
    std::fwrite(rendered.data(), 1, rendered.size(), stdout);
  } else {
    std::ofstream out(o.output, std::ios::binary | std::ios::trunc);
    out << rendered;
    out.close();
    if (!out) {
      fail("cannot write " + o.output);
      return kExitInput;
    }
  }
  if (o.fail_on_attack && !analysis.attacks.empty()) return kExitFound;
  return kExitOk;
}

// Live flow telemetry: collect until --duration passes or SIGINT/SIGTERM, then report.
int runListen(const AnalyzeOptions& o, const DetectionConfig& config, const AsnDatabase* asn_db) {
  auto opened = UdpCollector::open(o.listen);
  if (!opened) {
    fail(opened.error().message);
    return kExitInput;
  }
  std::unique_ptr<UdpCollector> collector = std::move(*opened);
  std::string where;
  for (const std::string& e : collector->endpoints()) where += (where.empty() ? "" : ", ") + e;
  std::fprintf(stderr, "breakwater analyze: collecting flow telemetry on %s%s\n", where.c_str(),
               o.duration_s > 0 ? "" : " until interrupted (Ctrl-C)");
  g_stop = 0;
  std::signal(SIGINT, onStopSignal);
  std::signal(SIGTERM, onStopSignal);

  Engine engine(config);
  TrafficTotals totals;
  InputOptions input;
  input.totals = &totals;
  TelemetrySummary telemetry;
  Analysis analysis;
  analysis.capture = feedCollector(
      *collector, engine, input, static_cast<std::int64_t>(o.duration_s * 1e9), &g_stop, telemetry);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  engine.finish();
  analysis.telemetry = std::move(telemetry);
  analysis.capture.source = "udp " + where;
  analysis.capture.format = "live";
  analysis.attacks = engine.attacks();
  analysis.scanners = engine.scanners();
  analysis.engine = engine.stats();
  analysis.top_destinations = totals.top(o.top_destinations.value_or(10));
  return render(o, analysis, asn_db);
}

int runAnalyze(const AnalyzeOptions& o) {
  // Settings: defaults < config file < flags.
  DetectionConfig config;
  std::string asn_path;
  if (!o.config_path.empty()) {
    auto loaded = loadConfigFile(o.config_path);
    if (!loaded) {
      fail(loaded.error().message);
      return kExitUsage;
    }
    config = loaded->detection;
    if (loaded->asn_db) asn_path = *loaded->asn_db;
  }
  if (o.threshold_pps) config.thresholds.pps = *o.threshold_pps;
  if (o.threshold_mbps) config.thresholds.bps = *o.threshold_mbps * 1e6;
  if (o.top) config.top_reflectors = *o.top;
  if (!o.networks.empty()) {
    auto prefixes = parsePrefixList(o.networks);
    if (!prefixes) {
      fail("--networks: " + prefixes.error().message);
      return kExitUsage;
    }
    config.networks = *prefixes;
  }
  if (!o.asn_db.empty()) asn_path = o.asn_db;

  std::unique_ptr<AsnDatabase> asn;
  if (!asn_path.empty()) {
    auto db = AsnDatabase::open(asn_path);
    if (!db) {
      fail(db.error().message);
      return kExitInput;
    }
    asn = std::move(*db);
  }

  if (!o.listen.empty() && !o.capture.empty()) {
    fail("give a capture file or --listen, not both");
    return kExitUsage;
  }
  if (o.listen.empty() && o.capture.empty()) {
    fail("give a capture file to read, or --listen ADDR:PORT to collect flow telemetry live");
    return kExitUsage;
  }
  if (!o.listen.empty()) return runListen(o, config, asn.get());

  auto opened = CaptureFile::open(o.capture);
  if (!opened) {
    fail(opened.error().message);
    return kExitInput;
  }
  std::unique_ptr<CaptureFile> capture = std::move(*opened);
  auto unsupported = [&](std::uint32_t lt) {
    fail((o.capture == "-" ? std::string("standard input") : o.capture) + " uses link type " +
         std::to_string(lt) +
         ", which is not supported (supported: Ethernet, 802.1Q/QinQ, Linux cooked v1/v2, raw "
         "IPv4/IPv6, BSD loopback)");
    return kExitInput;
  };
  if (capture->format() == CaptureFormat::Pcap && !capture->interfaces().empty() &&
      !isSupportedLinkType(capture->interfaces()[0].linktype)) {
    return unsupported(capture->interfaces()[0].linktype);
  }

  bool flows = o.input == "flows" || !o.flow_ports.empty();
  std::set<std::uint16_t> flow_ports = defaultFlowPorts();
  if (!o.flow_ports.empty()) flow_ports = {o.flow_ports.begin(), o.flow_ports.end()};
  if (o.input == "auto" && !flows && o.capture == "-") {
    // Standard input can be read once: the sniffed frames are kept and read again.
    auto rewindable = std::make_unique<RewindableCapture>(std::move(capture), kSniffBytes);
    flows = looksLikeTelemetry(*rewindable, flow_ports);
    rewindable->rewind();
    capture = std::move(rewindable);
  } else if (o.input == "auto" && !flows) {
    flows = looksLikeTelemetry(*capture, flow_ports);
    auto reopened = CaptureFile::open(o.capture);  // start again from the first frame
    if (!reopened) {
      fail(reopened.error().message);
      return kExitInput;
    }
    capture = std::move(*reopened);
  }
  if (o.input == "packets") flows = false;

  Engine engine(config);
  // Flow telemetry always reports its heaviest destinations (the figure collectors show);
  // packet captures only when asked, since it costs a lookup per packet.
  std::size_t top_destinations = o.top_destinations.value_or(flows ? 10 : 0);
  TrafficTotals totals;
  InputOptions input;
  input.progress = o.progress;
  input.totals = top_destinations > 0 ? &totals : nullptr;
  input.flow_ports = flow_ports;

  Analysis analysis;
  std::uint32_t unsupported_linktype = 0;
  if (flows) {
    TelemetrySummary telemetry;
    analysis.capture = feedTelemetry(*capture, engine, input, telemetry);
    analysis.telemetry = std::move(telemetry);
  } else {
    analysis.capture = feedPackets(*capture, engine, input, &unsupported_linktype);
  }
  engine.finish();
  // Every frame of an unsupported link type: say so rather than report an empty capture.
  auto unsupported_it =
      analysis.capture.malformed.find(decodeStatusName(DecodeStatus::UnsupportedLinkType));
  if (!flows && analysis.capture.packets > 0 &&
      unsupported_it != analysis.capture.malformed.end() &&
      unsupported_it->second == analysis.capture.packets) {
    return unsupported(unsupported_linktype);
  }
  analysis.capture.source = o.capture;
  analysis.capture.format = capture->format() == CaptureFormat::Pcap ? "pcap" : "pcapng";
  analysis.attacks = engine.attacks();
  analysis.scanners = engine.scanners();
  analysis.engine = engine.stats();
  if (top_destinations > 0) analysis.top_destinations = totals.top(top_destinations);

  return render(o, analysis, asn.get());
}

}  // namespace

void registerAnalyzeCommand(CLI::App& app, CommandRun& run) {
  auto opts = std::make_shared<AnalyzeOptions>();
  CLI::App* sub = app.add_subcommand(
      "analyze",
      "Find amplification attacks and scanners in a packet capture or in captured flow\n"
      "telemetry. Reads pcap and pcapng (optionally gzip-compressed): Ethernet, 802.1Q/QinQ,\n"
      "Linux cooked v1/v2 (tcpdump -i any), raw IPv4/IPv6. A capture of sFlow v5, NetFlow\n"
      "v5/v9 or IPFIX export datagrams is decoded and its records analysed instead, with\n"
      "counts scaled by each exporter's sampling rate. Names each flood's vector (memcached,\n"
      "dns, ntp, ssdp, cldap, ... or udp:<port>), victim, direction, size, reflectors, ASNs.");
  sub->add_option("capture", opts->capture,
                  "Capture file (pcap, pcapng, .gz) of packets or of flow export datagrams; - "
                  "reads a pcap or pcapng stream from standard input (tcpdump -w - | ...)");
  sub->add_option("-f,--format", opts->format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  sub->add_option("-o,--output", opts->output, "Write the report to FILE instead of stdout");
  sub->add_option("-c,--config", opts->config_path,
                  "TOML configuration (thresholds, per-prefix overrides, networks); flags win");
  sub->add_option("--threshold-pps", opts->threshold_pps,
                  "Onset threshold in packets/s of one vector to one destination (default 150)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--threshold-mbps", opts->threshold_mbps,
                  "Onset threshold in Mbit/s of one vector to one destination (default 8)")
      ->check(CLI::PositiveNumber);
  sub->add_option("-n,--networks", opts->networks,
                  "Prefixes you protect, comma-separated (e.g. 198.18.0.0/15,2001:db8::/32):\n"
                  "attacks on them are inbound, floods from them are outbound (our hosts abused)");
  sub->add_option("--asn-db", opts->asn_db,
                  "IP-to-ASN database: ip2asn TSV (optionally .gz) or MaxMind-format MMDB");
  sub->add_option("--top", opts->top, "Top reflectors listed per attack (default 10)")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--input", opts->input,
                  "What the capture holds: packets, flows (sFlow/NetFlow/IPFIX export\n"
                  "datagrams), or auto (exports to a flow port make up most of its first frames)")
      ->check(CLI::IsMember({"auto", "packets", "flows"}))
      ->capture_default_str();
  sub->add_option("--flow-port", opts->flow_ports,
                  "UDP port of export datagrams (repeatable; implies --input flows).\n"
                  "Default: 2055, 2056, 9995, 9996 (NetFlow), 4739 (IPFIX), 6343 (sFlow)");
  sub->add_option("--listen", opts->listen,
                  "Collect sFlow/NetFlow/IPFIX live on ADDR:PORT instead of reading a capture\n"
                  "(repeatable; e.g. 0.0.0.0:2055, [::]:6343); report when --duration ends or\n"
                  "on Ctrl-C");
  sub->add_option("--duration", opts->duration_s, "With --listen: stop after SECONDS")
      ->check(CLI::PositiveNumber);
  sub->add_option("--top-destinations", opts->top_destinations,
                  "List the N heaviest destinations of all traffic with their packets and\n"
                  "bytes (default 10 for flow telemetry, 0 for packet captures)")
      ->check(CLI::Range(0, 100000));
  sub->add_flag("!--no-progress", opts->progress, "No progress bar on stderr");
  sub->add_flag("--fail-on-attack", opts->fail_on_attack,
                "Exit with status 1 when an attack is found (for scripts and CI)");
  sub->footer(
      "Examples:\n"
      "  breakwater analyze attack.pcap\n"
      "  breakwater analyze --networks 198.18.0.0/24 --asn-db ip2asn-v4.tsv attack.pcapng.gz\n"
      "  breakwater analyze --format json -o report.json --threshold-pps 1000 capture.pcap\n"
      "  breakwater analyze --flow-port 2055 netflow-exports.pcap\n"
      "  breakwater analyze --listen 0.0.0.0:2055 --listen 0.0.0.0:6343 --duration 60\n"
      "Exit status: 0 done, 1 attacks found with --fail-on-attack, 2 bad usage or config,\n"
      "3 unreadable or unsupported input.");
  sub->callback([opts, &run] { run = [opts] { return runAnalyze(*opts); }; });
}

}  // namespace bw::cli
