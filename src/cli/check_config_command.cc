// `breakwater check-config FILE`: everything wrong with a configuration file, not only the
// first problem, then what this host would make of it (interfaces, users, directories) as
// warnings, and a summary of what `breakwater run` would do with it. Argument parsing,
// output and exit codes only; the checks are src/config's (checkConfigFile, checkHost).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/command.h"
#include "config/config_file.h"
#include "config/host_checks.h"

namespace bw::cli {
namespace {

// Keys in the order written: "file" and "ok" first.
using json = nlohmann::ordered_json;

struct CheckConfigOptions {
  std::string file;
  std::string format = "text";
  bool strict = false;
};

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// "a", "a and b", "a, b and c".
std::string listed(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// One paragraph: what `breakwater run` would do with this configuration.
std::string summaryText(const LoadedConfig& c) {
  std::vector<std::string> sentences;
  const SensorSettings& s = c.sensor;
  std::vector<std::string> sources;
  if (!s.interfaces.empty()) {
    std::string capture =
        "capture on " + listed(s.interfaces) + " (" +
        plural(static_cast<std::size_t>(s.workers_per_interface), "worker", "workers") +
        (s.interfaces.size() > 1 ? " each" : "") + (s.promiscuous ? ", promiscuous" : "") +
        (s.bpf_filter.empty() ? "" : ", filter \"" + s.bpf_filter + "\"") + ")";
    sources.push_back(capture);
  }
  if (!s.sflow.empty()) sources.push_back("collect sFlow on " + listed(s.sflow));
  if (!s.netflow.empty()) sources.push_back("collect NetFlow/IPFIX on " + listed(s.netflow));
  if (sources.empty()) {
    sentences.push_back(
        "No traffic source: breakwater run needs sensor.interfaces, sensor.sflow or "
        "sensor.netflow.");
  } else {
    std::string first = "Would " + listed(sources);
    if (!s.user.empty()) first += ", then run as " + s.user;
    sentences.push_back(first + "; updates every " + number(s.update_interval_s) +
                        " s, log level " + s.log_level + ".");
  }
  const DetectionConfig& d = c.detection;
  std::string detect = "Attacks start at " + number(d.thresholds.pps) + " pps or " +
                       number(d.thresholds.bps / 1e6) + " Mbit/s to one destination";
  if (!d.networks.empty()) {
    detect += ", inside " + plural(d.networks.size(), "protected network", "protected networks");
  }
  if (!d.overrides.empty()) {
    detect += " (" + plural(d.overrides.size(), "override", "overrides") + ")";
  }
  sentences.push_back(detect + ".");
  if (c.api.enabled) {
    sentences.push_back("The API listens on " + c.api.listen +
                        (c.api.token.empty() ? " without a token." : " and requires a token."));
  } else {
    sentences.push_back("The API is off.");
  }
  if (c.store.enabled) {
    sentences.push_back("Attacks are stored in " + c.store.path +
                        (c.store.max_size_mb > 0
                             ? " (at most " + std::to_string(c.store.max_size_mb) + " MB)."
                             : "."));
  } else {
    sentences.push_back("The attack store is off.");
  }
  const EventSettings& e = c.events;
  if (!e.file.empty()) sentences.push_back("Events are logged to " + e.file + ".");
  if (!e.notify.empty() && !e.notify_on.empty()) {
    sentences.push_back("On " + listed(e.notify_on) + ", " + e.notify[0] + " runs.");
  }
  if (!e.webhook_url.empty() && !e.webhook_on.empty()) {
    sentences.push_back("On " + listed(e.webhook_on) + ", events are posted to " + e.webhook_url +
                        ".");
  }
  const MitigationSettings& m = c.mitigation;
  if (m.backend == "none") {
    sentences.push_back("No mitigation.");
  } else {
    std::vector<std::string> what;
    if (m.flowspec) what.push_back("FlowSpec rules");
    if (m.rtbh) what.push_back("RTBH routes (community " + m.rtbh_community + ")");
    std::string mit = "Mitigation through the " + m.backend + " backend: " +
                      (what.empty() ? "nothing (flowspec and rtbh are off)" : listed(what));
    if (!m.never.empty()) {
      mit += ", never for victims inside " + plural(m.never.size(), "prefix", "prefixes");
    }
    sentences.push_back(mit + ".");
  }

  // Wrapped at 100 columns.
  std::string out;
  std::size_t column = 0;
  for (const std::string& sentence : sentences) {
    std::size_t pos = 0;
    while (pos < sentence.size()) {
      std::size_t end = sentence.find(' ', pos);
      if (end == std::string::npos) end = sentence.size();
      const std::string word = sentence.substr(pos, end - pos);
      if (column > 0 && column + 1 + word.size() > 100) {
        out += '\n';
        column = 0;
      } else if (column > 0) {
        out += ' ';
        ++column;
      }
      out += word;
      column += word.size();
      pos = end + 1;
    }
  }
  return out + "\n";
}

json summaryJson(const LoadedConfig& c) {
  const SensorSettings& s = c.sensor;
  const EventSettings& e = c.events;
  const MitigationSettings& m = c.mitigation;
  json never = json::array();
  for (const Prefix& p : m.never) never.push_back(p.toString());
  return json{
      {"sensor",
       {{"interfaces", s.interfaces},
        {"workers_per_interface", s.workers_per_interface},
        {"bpf_filter", s.bpf_filter},
        {"promiscuous", s.promiscuous},
        {"sflow", s.sflow},
        {"netflow", s.netflow},
        {"update_interval_s", s.update_interval_s},
        {"user", s.user},
        {"log_level", s.log_level}}},
      {"detection",
       {{"threshold_pps", c.detection.thresholds.pps},
        {"threshold_mbps", c.detection.thresholds.bps / 1e6},
        {"networks", c.detection.networks.size()},
        {"overrides", c.detection.overrides.size()}}},
      {"api",
       {{"enabled", c.api.enabled}, {"listen", c.api.listen}, {"token", !c.api.token.empty()}}},
      {"store",
       {{"enabled", c.store.enabled},
        {"path", c.store.path},
        {"max_size_mb", c.store.max_size_mb}}},
      {"events",
       {{"file", e.file},
        {"notify", e.notify},
        {"notify_on", e.notify_on},
        {"webhook_url", e.webhook_url},
        {"webhook_on", e.webhook_on}}},
      {"mitigation",
       {{"backend", m.backend}, {"flowspec", m.flowspec}, {"rtbh", m.rtbh}, {"never", never}}},
      {"asn_db", c.asn_db ? json(*c.asn_db) : json(nullptr)},
  };
}

json problemsJson(const std::vector<ConfigProblem>& problems) {
  json out = json::array();
  for (const ConfigProblem& p : problems) {
    out.push_back({{"line", p.line}, {"column", p.column}, {"message", p.what}});
  }
  return out;
}

int runCheckConfig(const CheckConfigOptions& o) {
  ConfigCheck check = checkConfigFile(o.file);
  std::vector<ConfigProblem> warnings;
  if (check.config) warnings = checkHost(*check.config, check.positions);
  if (o.strict) {
    check.errors.insert(check.errors.end(), warnings.begin(), warnings.end());
    warnings.clear();
  }
  const bool ok = check.errors.empty();
  const int code = check.unreadable ? kExitInput : ok ? kExitOk : kExitUsage;

  if (o.format == "json") {
    json doc{{"file", o.file},
             {"ok", ok},
             {"errors", problemsJson(check.errors)},
             {"warnings", problemsJson(warnings)},
             {"summary", ok ? summaryJson(*check.config) : json(nullptr)}};
    std::printf("%s\n", doc.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return code;
  }
  if (check.unreadable) {
    std::fprintf(stderr, "breakwater check-config: %s\n", check.errors.front().what.c_str());
    return code;
  }
  for (const ConfigProblem& p : check.errors) {
    std::printf("%s\n", describeProblem(o.file, p).c_str());
  }
  for (const ConfigProblem& p : warnings) {
    std::printf(
        "%s\n",
        describeProblem(o.file, ConfigProblem{p.line, p.column, "warning: " + p.what}).c_str());
  }
  const std::string warned = warnings.empty() ? "" : plural(warnings.size(), "warning", "warnings");
  if (!ok) {
    std::printf("%s%s\n", plural(check.errors.size(), "error", "errors").c_str(),
                warned.empty() ? "" : (", " + warned).c_str());
    return code;
  }
  std::printf("%s: OK%s\n%s", o.file.c_str(), warned.empty() ? "" : (" with " + warned).c_str(),
              summaryText(*check.config).c_str());
  return code;
}

}  // namespace

void registerCheckConfigCommand(CLI::App& app, CommandRun& run) {
  auto o = std::make_shared<CheckConfigOptions>();
  CLI::App* sub = app.add_subcommand(
      "check-config",
      "Check a configuration file: every error with its line, then what this host lacks for it\n"
      "(interfaces, users, directories, commands) as warnings, and what 'breakwater run' would\n"
      "do with it.");
  sub->add_option("file", o->file, "The TOML configuration file")->required();
  sub->add_option("-f,--format", o->format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_val("text");
  sub->add_flag("--strict", o->strict, "Treat the host's warnings as errors");
  sub->callback([o, &run] { run = [o] { return runCheckConfig(*o); }; });
  sub->footer(
      "Examples:\n"
      "  breakwater check-config /etc/breakwater/breakwater.toml\n"
      "  breakwater check-config --strict --format json sensor.toml\n"
      "Exit status: 0 valid (warnings allowed unless --strict), 2 errors (or warnings with\n"
      "--strict), 3 file missing or unreadable.");
}

}  // namespace bw::cli
