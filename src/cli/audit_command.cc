// `breakwater audit`: probe the address space you are responsible for and list every exposed
// amplifier (memcached over UDP first of all) with what to do about it. Argument parsing,
// progress and exit codes only; the work is in src/audit (targets, scanner, probes, report).
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_report.h"
#include "audit/memcached_probe.h"
#include "audit/probe.h"
#include "audit/scanner.h"
#include "audit/targets.h"
#include "cli/command.h"

namespace bw::cli {
namespace {

struct AuditOptions {
  std::vector<std::string> targets;
  std::vector<std::string> excludes;
  std::string services;
  std::string format = "text";
  std::string output;
  double rate = 10000;
  std::string timeout = "1s";
  std::string min_timeout = "100ms";
  int retries = 1;
  std::size_t tcp_in_flight = 1024;
  bool deep = false;
  bool force = false;
  bool dry_run = false;
  std::optional<bool> progress;  // unset: when stderr is a terminal and the range is large
};

void fail(const std::string& message) {
  std::fprintf(stderr, "breakwater audit: %s\n", message.c_str());
}

// "250ms", "1.5s", "2" (seconds) -> milliseconds.
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || value < 0) return std::nullopt;
  std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  double ms = 0;
  if (unit == "ms") {
    ms = value;
  } else if (unit.empty() || unit == "s") {
    ms = value * 1000;
  } else {
    return std::nullopt;
  }
  if (ms < 1 || ms > 600000) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms + 0.5));
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

// Draws "[#####.....]  45%  1,234/2,560 probes  3 exposed  1.2 s" at most four times a second.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  void update(const audit::ScanProgress& p) {
    if (!enabled_ || p.pairs_total == 0) return;
    double frac = static_cast<double>(p.pairs_done) / static_cast<double>(p.pairs_total);
    int filled = static_cast<int>(frac * 30);
    std::string bar(static_cast<std::size_t>(std::clamp(filled, 0, 30)), '#');
    bar.resize(30, '.');
    std::fprintf(stderr, "\r[%s] %5.1f%%  %llu/%llu probes  %llu packets  %llu exposed  %.1f s ",
                 bar.c_str(), frac * 100, static_cast<unsigned long long>(p.pairs_done),
                 static_cast<unsigned long long>(p.pairs_total),
                 static_cast<unsigned long long>(p.packets_sent),
                 static_cast<unsigned long long>(p.findings), p.elapsed_s);
    drawn_ = true;
  }
  void clear() {
    if (drawn_) std::fprintf(stderr, "\r%100s\r", "");
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
};

// Thousands of connections need as many descriptors: take what the hard limit allows.
void raiseDescriptorLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t want = rl.rlim_max == RLIM_INFINITY ? 65536 : std::min<rlim_t>(rl.rlim_max, 65536);
  if (rl.rlim_cur < want) {
    rl.rlim_cur = want;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int runAudit(const AuditOptions& o) {
  // Probes: all by default, or the ones named (both transports of a service).
  std::vector<std::unique_ptr<audit::Probe>> all = audit::allProbes();
  std::vector<std::string> known = audit::probeServiceNames();
  std::vector<std::string> wanted;
  if (o.services.empty() || o.services == "all") {
    wanted = known;
  } else {
    std::string_view rest = o.services;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string name(rest.substr(0, comma));
      name.erase(0, name.find_first_not_of(' '));
      name.erase(name.find_last_not_of(' ') + 1);
      if (!name.empty()) {
        if (std::find(known.begin(), known.end(), name) == known.end()) {
          fail("--services: unknown service '" + name + "' (known: " + joined(known) + ")");
          return kExitUsage;
        }
        if (std::find(wanted.begin(), wanted.end(), name) == wanted.end()) wanted.push_back(name);
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (wanted.empty()) {
      fail("--services: no service named (known: " + joined(known) + ")");
      return kExitUsage;
    }
  }
  std::vector<const audit::Probe*> probes;
  for (const auto& p : all) {
    if (std::find(wanted.begin(), wanted.end(), std::string(p->service())) != wanted.end()) {
      probes.push_back(p.get());
    }
  }

  auto timeout = parseDuration(o.timeout);
  auto min_timeout = parseDuration(o.min_timeout);
  if (!timeout) {
    fail("--timeout: '" + o.timeout + "' is not a duration (e.g. 500ms, 1.5s; 1 ms to 600 s)");
    return kExitUsage;
  }
  if (!min_timeout) {
    fail("--min-timeout: '" + o.min_timeout + "' is not a duration (e.g. 50ms; 1 ms to 600 s)");
    return kExitUsage;
  }

  audit::TargetLimits limits;
  limits.force = o.force;
  auto built = audit::TargetSet::build(o.targets, o.excludes, limits);
  if (!built) {
    const std::string& m = built.error().message;
    fail(m);
    // An unreadable list is an input problem; everything else is how it was written.
    return m.find("cannot read target list") != std::string::npos ? kExitInput : kExitUsage;
  }
  const audit::TargetSet& targets = *built;
  if (targets.empty()) {
    fail("every target is excluded: nothing to probe");
    return kExitUsage;
  }

  if (o.dry_run) {
    std::printf("%llu addresses to probe (%llu excluded), %zu probes each (%s):\n",
                static_cast<unsigned long long>(targets.size()),
                static_cast<unsigned long long>(targets.excluded() + targets.specialRemoved()),
                probes.size(), joined(wanted).c_str());
    for (const auto& r : targets.ranges()) {
      std::string first = audit::fromU128(r.first).toString();
      std::string last = audit::fromU128(r.last).toString();
      std::printf("  %s\n", first == last ? first.c_str() : (first + "-" + last).c_str());
    }
    return kExitOk;
  }

  raiseDescriptorLimit();
  audit::ScanOptions scan;
  scan.rate_pps = o.rate;
  scan.timeout = *timeout;
  scan.min_timeout = std::min(*min_timeout, *timeout);
  scan.retries = o.retries;
  scan.max_tcp_in_flight = o.tcp_in_flight;

  bool show_progress = o.progress.value_or(isatty(STDERR_FILENO) == 1 && targets.size() >= 256);
  Progress progress(show_progress);
  audit::AuditReport report;
  report.targets = targets.size();
  report.excluded = targets.excluded() + targets.specialRemoved();
  report.services = wanted;
  auto stats = audit::runScan(
      targets, probes, scan, [&](audit::Finding&& f) { report.findings.push_back(std::move(f)); },
      [&](const audit::ScanProgress& p) { progress.update(p); });
  progress.clear();
  if (!stats) {
    fail(stats.error().message);
    return kExitInput;
  }
  report.stats = *stats;
  if (stats->pairs > 0 && stats->send_errors == stats->pairs) {
    fail("no probe could be sent (" + stats->last_send_error +
         "): check the routes to the targets; nothing was audited");
    return kExitInput;
  }

  if (o.deep) {
    audit::DeepProbeOptions deep;
    for (auto& f : report.findings) {
      if (f.probe->service() != "memcached" || f.probe->transport() != audit::Transport::Udp) {
        continue;
      }
      if (show_progress) {
        std::fprintf(stderr, "\rmeasuring the worst case on %s ...", f.ip.toString().c_str());
      }
      f.info.details["deep"] = audit::measureMemcachedWorstCase(f.ip, f.probe->port(), deep);
    }
    if (show_progress) std::fprintf(stderr, "\r%60s\r", "");
  }

  std::string rendered = o.format == "json"  ? audit::renderJson(report)
                         : o.format == "csv" ? audit::renderCsv(report)
                                             : audit::renderText(report);
  if (o.output.empty() || o.output == "-") {
    std::fwrite(rendered.data(), 1, rendered.size(), stdout);
    std::fflush(stdout);
  } else {
    std::ofstream out(o.output, std::ios::binary | std::ios::trunc);
    out << rendered;
    out.close();
    if (!out) {
      fail("cannot write " + o.output);
      return kExitInput;
    }
  }
  return report.findings.empty() ? kExitOk : kExitFound;
}

}  // namespace

void registerAuditCommand(CLI::App& app, CommandRun& run) {
  auto opts = std::make_shared<AuditOptions>();
  std::string services = joined(audit::probeServiceNames());
  CLI::App* sub = app.add_subcommand(
      "audit",
      "Find exposed amplifiers in address space you are responsible for.\n"
      "Sends one safe, standard request per service to each target (memcached 'stats' over UDP\n"
      "and TCP, DNS, NTP, SSDP, CLDAP, ...) and lists every positive answer with its measured\n"
      "amplification and what to do about it. Only the given targets are ever probed.");
  sub->add_option("targets", opts->targets,
                  "Addresses, CIDR prefixes (IPv4/IPv6), first-last ranges, or @FILE lists\n"
                  "(one or more per line, '#' comments)")
      ->required();
  sub->add_option("-x,--exclude", opts->excludes,
                  "Never probe these (same forms as targets; repeatable, comma-separated)");
  sub->add_option("-s,--services", opts->services,
                  "Comma-separated services to probe (default: all): " + services);
  sub->add_option("-f,--format", opts->format, "Output format")
      ->check(CLI::IsMember({"text", "json", "csv"}))
      ->capture_default_str();
  sub->add_option("-o,--output", opts->output, "Write the report to FILE instead of stdout");
  sub->add_option("-r,--rate", opts->rate, "Packets per second, all probes and retries together")
      ->check(CLI::Range(1.0, 10'000'000.0))
      ->capture_default_str();
  sub->add_option("-t,--timeout", opts->timeout,
                  "Longest wait for an answer to one attempt (e.g. 500ms, 2s); shortened to the\n"
                  "measured round trip once answers arrive, never below --min-timeout")
      ->capture_default_str();
  sub->add_option("--min-timeout", opts->min_timeout,
                  "Shortest wait per attempt (set it to --timeout for a fixed wait)")
      ->capture_default_str();
  sub->add_option("--retries", opts->retries, "Extra attempts for a probe that got no answer")
      ->check(CLI::Range(0, 7))
      ->capture_default_str();
  sub->add_option("--tcp-in-flight", opts->tcp_in_flight, "Most TCP connections open at once")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  sub->add_flag("--deep", opts->deep,
                "On memcached found answering over UDP, also measure the worst case: list the\n"
                "stored keys and fetch the largest once over UDP (sends a few more requests)");
  sub->add_flag("--force", opts->force,
                "Allow more than 2^24 addresses (up to 2^32); without it larger lists are refused");
  sub->add_flag("-n,--dry-run", opts->dry_run,
                "Print the addresses that would be probed (after exclusions) and send nothing");
  sub->add_flag("--progress,!--no-progress", opts->progress,
                "Progress on stderr (default: when stderr is a terminal and 256+ targets)");
  sub->footer(
      "Examples:\n"
      "  breakwater audit 198.18.0.0/16 --exclude 198.18.7.0/24\n"
      "  breakwater audit --services memcached --format json -o audit.json @customers.txt\n"
      "  breakwater audit 2001:db8:42::/120 198.18.1.10-198.18.1.20 --rate 2000 --retries 2\n"
      "  breakwater audit --services memcached --deep 198.18.1.0/24\n"
      "Exit status: 0 nothing exposed, 1 exposed services found (for cron and CI),\n"
      "2 bad usage or target list, 3 unreadable input, unwritable output or no probe sendable.\n"
      "Run it only against networks you are responsible for. docs/audit.md has the details.");
  sub->callback([opts, &run] { run = [opts] { return runAudit(*opts); }; });
}

}  // namespace bw::cli
