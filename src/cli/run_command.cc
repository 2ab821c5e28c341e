// `breakwater run`: the live sensor (src/daemon/sensor.h). This file handles the command
// line, the configuration layering (defaults < config file < flags), logging, signals and
// the order of start-up: open every socket and file as root, drop privileges, start.
//
// Signals are blocked in every thread and taken synchronously by the main thread
// (sigtimedwait), so no handler ever runs inside the sensor's code:
//   SIGTERM, SIGINT  stop: end active attacks, run queued actions, flush the store, exit 0
//   SIGHUP           reload the config file; on any error keep running with the old one
#include <fmt/format.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.h"
#include "config/config_file.h"
#include "core/prefix.h"
#include "daemon/privileges.h"
#include "daemon/sensor.h"

namespace bw::cli {
namespace {

struct RunOptions {
  std::string config_path;
  std::vector<std::string> interfaces;
  std::vector<std::string> sflow;
  std::vector<std::string> netflow;
  std::string networks;
  std::string api;
  bool no_api = false;
  std::string api_token;
  std::string store;
  bool no_store = false;
  std::string events;
  std::vector<std::string> notify;
  std::string webhook;
  std::string mitigation;
  std::optional<double> threshold_pps;
  std::optional<double> threshold_mbps;
  std::optional<int> workers;
  std::string bpf;
  std::string user;
  std::string asn_db;
  std::string log_level;
  double duration_s = 0;
};

std::mutex log_mu;

// "2026-11-25T00:31:02.123Z warn attack_started id=7 ...": one line per event, UTC, to
// stderr (journald adds its own time, but a terminal or a file needs one).
void writeLog(LogLevel level, const std::string& line) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string text;
  text.reserve(line.size());
  for (char c : line) text += (c == '\n' || c == '\r') ? ' ' : c;
  std::lock_guard<std::mutex> lock(log_mu);
  std::fprintf(stderr, "%s.%03ldZ %s %s\n", when, ts.tv_nsec / 1'000'000, logLevelName(level),
               text.c_str());
  std::fflush(stderr);
}

void fail(const std::string& message) { writeLog(LogLevel::Error, message); }

// The configuration: file (if any), then the flags on top.
Result<LoadedConfig> buildConfig(const RunOptions& o) {
  LoadedConfig c;
  if (!o.config_path.empty()) {
    Result<LoadedConfig> loaded = loadConfigFile(o.config_path);
    if (!loaded) return loaded;
    c = std::move(*loaded);
  }
  if (!o.interfaces.empty()) c.sensor.interfaces = o.interfaces;
  if (!o.sflow.empty()) c.sensor.sflow = o.sflow;
  if (!o.netflow.empty()) c.sensor.netflow = o.netflow;
  if (o.workers) c.sensor.workers_per_interface = *o.workers;
  if (!o.bpf.empty()) c.sensor.bpf_filter = o.bpf;
  if (!o.user.empty()) c.sensor.user = o.user;
  if (!o.log_level.empty()) c.sensor.log_level = o.log_level;
  if (!o.networks.empty()) {
    Result<std::vector<Prefix>> prefixes = parsePrefixList(o.networks);
    if (!prefixes) return Error{"--networks: " + prefixes.error().message};
    c.detection.networks = *prefixes;
  }
  if (o.threshold_pps) c.detection.thresholds.pps = *o.threshold_pps;
  if (o.threshold_mbps) c.detection.thresholds.bps = *o.threshold_mbps * 1e6;
  if (!o.api.empty()) c.api.listen = o.api;
  if (!o.api_token.empty()) c.api.token = o.api_token;
  if (o.no_api) c.api.enabled = false;
  if (!o.store.empty()) c.store.path = o.store;
  if (o.no_store) c.store.enabled = false;
  if (!o.events.empty()) c.events.file = o.events;
  if (!o.notify.empty()) c.events.notify = o.notify;
  if (!o.webhook.empty()) c.events.webhook_url = o.webhook;
  if (!o.mitigation.empty()) c.mitigation.backend = o.mitigation;
  if (!o.asn_db.empty()) c.asn_db = o.asn_db;
  return c;
}

int runSensor(const RunOptions& o) {
  // Block the signals we take synchronously before any thread exists, so every thread
  // inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A notify command or webhook peer closing early must not kill the sensor.
  signal(SIGPIPE, SIG_IGN);

  Result<LoadedConfig> config = buildConfig(o);
  if (!config) {
    fail(config.error().message);
    return kExitUsage;
  }
  SensorOptions so;
  so.config = *config;
  so.config_path = o.config_path;
  so.version = "breakwater 0.1.0";
  so.log = writeLog;
  Result<std::unique_ptr<Sensor>> opened = Sensor::open(so);
  if (!opened) {
    fail(opened.error().message);
    return kExitInput;
  }
  std::unique_ptr<Sensor> sensor = std::move(*opened);
  if (!config->sensor.user.empty()) {
    if (Status st = dropPrivileges(config->sensor.user); !st) {
      fail(st.message());
      return kExitUsage;
    }
    writeLog(LogLevel::Info,
             "running as " + config->sensor.user + " with capabilities " + currentCapabilities());
  }
  sensor->start();
  writeLog(LogLevel::Info, "ready: " + sensor->describe());
  notifySystemd("READY=1");

  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    timespec wait{0, 200'000'000};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGTERM || sig == SIGINT) {
      writeLog(LogLevel::Info, fmt::format("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
      break;
    }
    if (sig == SIGHUP) {
      notifySystemd("RELOADING=1");
      if (o.config_path.empty()) {
        writeLog(LogLevel::Warn, "SIGHUP: no --config file to reload; the event log is reopened");
      }
      Result<LoadedConfig> next = buildConfig(o);
      if (!next) {
        writeLog(LogLevel::Error, "reload failed, still running with the previous configuration: " +
                                      next.error().message);
      } else {
        sensor->reload(*next);
      }
      notifySystemd("READY=1");
    }
    if (o.duration_s > 0) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      const double elapsed = static_cast<double>(now.tv_sec - start.tv_sec) +
                             static_cast<double>(now.tv_nsec - start.tv_nsec) / 1e9;
      if (elapsed >= o.duration_s) {
        writeLog(LogLevel::Info, "--duration reached: stopping");
        break;
      }
    }
  }
  notifySystemd("STOPPING=1");
  sensor->stop();
  const SensorSnapshot s = sensor->snapshot();
  std::uint64_t drops = 0;
  for (const SourceSnapshot& src : s.sources) drops += src.drops;
  writeLog(LogLevel::Info,
           fmt::format("stopped: {} packets, {} attacks ({} ended), {} dropped by the kernel, "
                       "{} store errors",
                       s.packets, s.attacks_started, s.attacks_ended, drops, s.store_errors));
  return kExitOk;
}

}  // namespace

void registerRunCommand(CLI::App& app, CommandRun& run) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* sub = app.add_subcommand(
      "run",
      "Run the live sensor: capture on interfaces (AF_PACKET) and collect sFlow, NetFlow and\n"
      "IPFIX, detect amplification floods within a second, and act on them: JSON-lines\n"
      "events, a notify command, a webhook, the attack store, an HTTP API with /metrics,\n"
      "and a mitigation backend. Settings come from --config (docs/configuration.md);\n"
      "its flags override the matching keys. Logs go to stderr, one line each.");
  sub->add_option("-c,--config", opts->config_path, "TOML configuration file");
  sub->add_option("-i,--interface", opts->interfaces,
                  "Capture on this interface (repeatable) [sensor] interfaces");
  sub->add_option("--workers", opts->workers,
                  "Capture threads per interface, sharing it by flow hash (PACKET_FANOUT)")
      ->check(CLI::Range(1, 64));
  sub->add_option("--bpf", opts->bpf, "Kernel filter, tcpdump syntax, e.g. 'udp'");
  sub->add_option("--sflow", opts->sflow, "Collect sFlow v5 on ADDR:PORT (repeatable)");
  sub->add_option("--netflow", opts->netflow,
                  "Collect NetFlow v5/v9 and IPFIX on ADDR:PORT (repeatable)");
  sub->add_option("-n,--networks", opts->networks,
                  "Prefixes you protect, comma-separated: attacks on them are inbound,\n"
                  "floods from them outbound (our hosts abused as reflectors)");
  sub->add_option("--threshold-pps", opts->threshold_pps,
                  "Onset threshold, packets/s of one vector to one destination (default 150)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--threshold-mbps", opts->threshold_mbps,
                  "Onset threshold, Mbit/s of one vector to one destination (default 8)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--api", opts->api,
                  "HTTP API and /metrics on ADDR:PORT (default 127.0.0.1:9473)");
  sub->add_option("--api-token", opts->api_token,
                  "Bearer token the API requires (needed off loopback; prefer [api] token_file)");
  sub->add_flag("--no-api", opts->no_api, "No HTTP API");
  sub->add_option("--store", opts->store,
                  "Attack store, SQLite (default /var/lib/breakwater/attacks.db)");
  sub->add_flag("--no-store", opts->no_store, "Keep no attack store");
  sub->add_option("--events", opts->events, "Append JSON-lines lifecycle events to FILE");
  sub->add_option("--notify", opts->notify,
                  "Run this command on attack_started/attack_ended: its arguments, then event,\n"
                  "victim, vector and id; the event JSON on stdin")
      ->expected(1);
  sub->add_option("--webhook", opts->webhook, "POST every lifecycle event's JSON to this URL");
  sub->add_option("--mitigation", opts->mitigation, "Mitigation backend")
      ->check(CLI::IsMember({"none", "dry-run"}));
  sub->add_option("--asn-db", opts->asn_db, "IP-to-ASN database (ip2asn TSV or MMDB)");
  sub->add_option("--user", opts->user,
                  "After opening sockets and files, run as this user keeping only CAP_NET_RAW");
  sub->add_option("--log-level", opts->log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  sub->add_option("--duration", opts->duration_s, "Stop after SECONDS (tests, trials)")
      ->check(CLI::PositiveNumber);
  sub->footer(
      "Examples:\n"
      "  breakwater run --interface eth1 --networks 198.51.100.0/24 --events /var/log/bw.jsonl\n"
      "  breakwater run --sflow 0.0.0.0:6343 --netflow 0.0.0.0:2055 --networks 198.51.100.0/24\n"
      "  breakwater run --config /etc/breakwater/breakwater.toml\n"
      "  curl -s localhost:9473/api/v1/attacks | jq .\n"
      "Signals: SIGHUP reloads the config (keeps counters and active attacks), SIGTERM\n"
      "ends active attacks, flushes and exits.\n"
      "Exit status: 0 stopped cleanly, 2 bad usage or config, 3 a source, the store or the\n"
      "API could not be opened.");
  sub->callback([opts, &run] { run = [opts] { return runSensor(*opts); }; });
}

}  // namespace bw::cli
