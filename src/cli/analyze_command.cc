// `breakwater analyze`: read a capture, run it through the engine, print the incident report.
//
// The data path is the same one the live sensor uses: frames in batches from the reader,
// decoded into PacketSummary values on the stack, handed to the engine. Settings come from
// defaults, then --config, then command-line flags (the most specific wins).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "capture/capture_file.h"
#include "cli/command.h"
#include "config/config_file.h"
#include "core/prefix.h"
#include "decode/packet.h"
#include "detect/engine.h"
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
};

void fail(const std::string& message) {
  std::fprintf(stderr, "breakwater analyze: %s\n", message.c_str());
}

// A one-line progress bar on stderr, redrawn at most four times a second.
class Progress {
 public:
  Progress(bool enabled, std::uint64_t total) : enabled_(enabled && total > 0), total_(total) {}
  void update(std::uint64_t done, std::uint64_t packets) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    double frac = static_cast<double>(done) / static_cast<double>(total_);
    double secs = std::chrono::duration<double>(now - start_).count();
    int filled = static_cast<int>(frac * 30);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(30, '.');
    std::fprintf(stderr, "\r[%s] %5.1f%%  %.1f M packets  %.1f Mpps ", bar.c_str(), frac * 100,
                 static_cast<double>(packets) / 1e6,
                 secs > 0 ? static_cast<double>(packets) / secs / 1e6 : 0.0);
    drawn_ = true;
  }
  void clear() {
    if (drawn_) std::fprintf(stderr, "\r%60s\r", "");
  }

 private:
  bool enabled_;
  std::uint64_t total_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

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

  auto opened = CaptureFile::open(o.capture);
  if (!opened) {
    fail(opened.error().message);
    return kExitInput;
  }
  std::unique_ptr<CaptureFile> capture = std::move(*opened);
  auto unsupported = [&](std::uint32_t lt) {
    fail(o.capture + " uses link type " + std::to_string(lt) +
         ", which is not supported (supported: Ethernet, 802.1Q/QinQ, Linux cooked v1/v2, raw "
         "IPv4/IPv6, BSD loopback)");
    return kExitInput;
  };
  if (capture->format() == CaptureFormat::Pcap && !capture->interfaces().empty() &&
      !isSupportedLinkType(capture->interfaces()[0].linktype)) {
    return unsupported(capture->interfaces()[0].linktype);
  }

  Engine engine(config);
  Progress progress(!o.progress ? false : isatty(STDERR_FILENO) == 1, capture->totalBytes());
  constexpr std::size_t kBatch = 256;
  std::array<Frame, kBatch> frames;
  std::array<PacketSummary, kBatch> packets;
  std::array<std::uint64_t, static_cast<std::size_t>(DecodeStatus::kCount)> statuses{};
  CaptureSummary summary;
  summary.source = o.capture;
  summary.format = capture->format() == CaptureFormat::Pcap ? "pcap" : "pcapng";
  std::uint64_t ip_bytes = 0;
  std::int64_t first = 0, last = 0;
  std::uint32_t last_unsupported = 0;
  std::size_t batches = 0;
  while (std::size_t n = capture->next(frames)) {
    std::size_t ok = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const Frame& f = frames[i];
      DecodeStatus st =
          decodeFrame(f.linktype, ByteSpan(f.data, f.caplen), f.origlen, f.ts_ns, packets[ok]);
      ++statuses[static_cast<std::size_t>(st)];
      if (st == DecodeStatus::Ok) {
        ip_bytes += packets[ok].ip_bytes;
        ++ok;
      } else if (st == DecodeStatus::UnsupportedLinkType) {
        last_unsupported = f.linktype;
      }
    }
    if (summary.packets == 0) first = frames[0].ts_ns;
    last = frames[n - 1].ts_ns;
    summary.packets += n;
    engine.process(std::span<const PacketSummary>(packets.data(), ok));
    if ((++batches & 63) == 0) progress.update(capture->bytesConsumed(), summary.packets);
  }
  progress.clear();
  engine.finish();

  std::uint64_t unsupported_frames =
      statuses[static_cast<std::size_t>(DecodeStatus::UnsupportedLinkType)];
  if (summary.packets > 0 && unsupported_frames == summary.packets) {
    return unsupported(last_unsupported);
  }

  summary.bytes = ip_bytes;
  summary.first_ns = first;
  summary.last_ns = last;
  const CaptureStats& cs = capture->stats();
  for (std::size_t i = 0; i < cs.issues.size(); ++i) {
    if (cs.issues[i])
      summary.malformed[captureIssueName(static_cast<CaptureIssue>(i))] = cs.issues[i];
  }
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    auto st = static_cast<DecodeStatus>(i);
    if (!statuses[i] || st == DecodeStatus::Ok) continue;
    (isMalformed(st) ? summary.malformed : summary.decode)[decodeStatusName(st)] = statuses[i];
  }

  Analysis analysis;
  analysis.capture = std::move(summary);
  analysis.attacks = engine.attacks();
  analysis.scanners = engine.scanners();
  analysis.engine = engine.stats();

  std::string rendered;
  bool to_terminal = o.output.empty() && isatty(STDOUT_FILENO) == 1;
  if (o.format == "json") {
    rendered = toJsonText(analysis, asn.get());
  } else {
    TextReportOptions text;
    text.color = to_terminal && wantColor(STDOUT_FILENO);
    rendered = renderText(analysis, asn.get(), text);
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

}  // namespace

void registerAnalyzeCommand(CLI::App& app, CommandRun& run) {
  auto opts = std::make_shared<AnalyzeOptions>();
  CLI::App* sub = app.add_subcommand(
      "analyze",
      "Find amplification attacks and scanners in a packet capture.\n"
      "Reads pcap and pcapng (optionally gzip-compressed): Ethernet, 802.1Q/QinQ, Linux cooked\n"
      "v1/v2 (tcpdump -i any), raw IPv4/IPv6. Names each flood's vector (memcached, dns, ntp,\n"
      "ssdp, cldap, ... or udp:<port>), victim, direction, size, reflectors and their ASNs.");
  sub->add_option("capture", opts->capture, "Capture file (pcap, pcapng, .gz)")->required();
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
  sub->add_flag("!--no-progress", opts->progress, "No progress bar on stderr");
  sub->add_flag("--fail-on-attack", opts->fail_on_attack,
                "Exit with status 1 when an attack is found (for scripts and CI)");
  sub->footer(
      "Examples:\n"
      "  breakwater analyze attack.pcap\n"
      "  breakwater analyze --networks 198.18.0.0/24 --asn-db ip2asn-v4.tsv attack.pcapng.gz\n"
      "  breakwater analyze --format json -o report.json --threshold-pps 1000 capture.pcap\n"
      "Exit status: 0 done, 1 attacks found with --fail-on-attack, 2 bad usage or config,\n"
      "3 unreadable or unsupported input.");
  sub->callback([opts, &run] { run = [opts] { return runAnalyze(*opts); }; });
}

}  // namespace bw::cli
