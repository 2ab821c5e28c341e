#include "synth/synthesize.h"

#include <charconv>
#include <cmath>
#include <ctime>

#include "synth/presets.h"
#include "synth/spec.h"
#include "synth/truth.h"

namespace bw::synth {

std::optional<std::int64_t> parseStartTime(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (text.find('-') == std::string::npos) {  // Unix seconds, maybe with a fraction
    double v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size() || !(v >= 0) || v > 4e9) {
      return std::nullopt;
    }
    return std::llround(v * 1e9);
  }
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  std::int64_t frac_ns = 0;
  if (*rest == '.') {
    ++rest;
    std::int64_t scale = 100'000'000;
    while (*rest >= '0' && *rest <= '9') {
      frac_ns += (*rest - '0') * scale;
      scale /= 10;
      ++rest;
    }
  }
  if (std::string_view(rest) != "Z") return std::nullopt;
  const std::time_t sec = timegm(&tm);
  if (sec < 0) return std::nullopt;
  return static_cast<std::int64_t>(sec) * 1'000'000'000 + frac_ns;
}

std::optional<std::uint64_t> parseCount(const std::string& text) {
  double d = 0;
  if (!parseScaledNumber(text, &d) || !(d >= 1) || d > 1e12) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(d));
}

Result<SynthPlan> buildScenario(const SynthRequest& r) {
  SynthPlan plan;
  Scenario& s = plan.scenario;
  if (r.output.empty()) return Error{"--output FILE is required"};
  s.seed = r.seed;
  if (!r.start.empty()) {
    auto start = parseStartTime(r.start);
    if (!start) {
      return Error{"--start '" + r.start +
                   "' is not a Unix time in seconds or a UTC time such as 2018-02-28T17:21:00Z"};
    }
    s.start_ns = *start;
  }
  if (!r.networks.empty()) {
    auto nets = parsePrefixList(r.networks);
    if (!nets) return Error{"--networks: " + nets.error().message};
    if (nets->empty()) return Error{"--networks is empty; give prefixes such as 198.18.0.0/24"};
    s.networks = std::move(nets.value());
  }
  ensureNetworks(s);

  if (r.link == "raw") {
    s.link.linktype = pcaplink::kRaw;
  } else if (r.link != "ethernet") {
    return Error{"--link '" + r.link + "' must be ethernet or raw"};
  }
  if (r.vlan > 4094) return Error{"--vlan " + std::to_string(r.vlan) + " must be 1 to 4094"};
  if (r.vlan != 0 && s.link.linktype == pcaplink::kRaw) {
    return Error{"--vlan needs --link ethernet (raw IP frames have no VLAN tag)"};
  }
  s.link.vlan = r.vlan;

  std::uint64_t packets = 0;
  if (!r.packets.empty()) {
    auto n = parseCount(r.packets);
    if (!n) return Error{"--packets '" + r.packets + "' must be a count such as 5000000 or 5M"};
    if (r.preset.empty()) {
      return Error{"--packets needs --preset benign, small-packets or spoofed"};
    }
    packets = *n;
  }
  std::uint32_t preset_snaplen = 0;
  if (!r.preset.empty()) {
    auto d = applyPreset(r.preset, packets, s);
    if (!d) return d.error();
    preset_snaplen = d->snaplen;
  }
  if (r.duration) s.duration = *r.duration;
  for (const auto& text : r.attacks) {
    auto a = parseAttackSpec(text);
    if (!a) return a.error();
    s.attacks.push_back(*a);
  }
  for (const auto& text : r.benign) {
    auto b = parseBenignSpec(text);
    if (!b) return b.error();
    s.benign.push_back(*b);
  }
  for (const auto& text : r.scanners) {
    auto sc = parseScannerSpec(text);
    if (!sc) return sc.error();
    s.scanners.push_back(*sc);
  }
  if (s.attacks.empty() && s.benign.empty() && s.scanners.empty()) {
    return Error{
        "nothing to write: give --preset NAME or at least one --attack, --benign or "
        "--scanner (see breakwater synth --help)"};
  }
  auto resolved = resolveScenario(std::move(s));
  if (!resolved) return resolved.error();
  plan.scenario = std::move(resolved.value());

  plan.writer.linktype = plan.scenario.link.linktype;
  plan.writer.nanosecond = r.nanosecond;
  plan.writer.snaplen = r.snaplen != 0 ? r.snaplen : preset_snaplen != 0 ? preset_snaplen : 262144;
  if (plan.writer.snaplen < 64 || plan.writer.snaplen > PcapWriter::kMaxSnaplen) {
    return Error{"--snaplen " + std::to_string(plan.writer.snaplen) + " must be 64 to 262144"};
  }
  plan.output = r.output;
  if (!r.truth.empty()) {
    plan.truth_path = r.truth;
  } else if (r.output != "-") {
    plan.truth_path = defaultTruthPath(r.output);
  }
  return plan;
}

Result<SynthSummary> writeSynth(const SynthPlan& plan) {
  auto writer = PcapWriter::create(plan.output, plan.writer);
  if (!writer) return writer.error();
  Generator generator(plan.scenario);
  auto truth = generator.run(**writer);
  Status finished = (*writer)->finish();
  if (!truth) return truth.error();
  if (!finished.ok()) return Error{finished.message()};
  SynthSummary summary;
  summary.output = plan.output;
  summary.truth_path = plan.truth_path;
  if (!plan.truth_path.empty()) {
    Status st = writeTruthFile(plan.truth_path,
                               truthToJson(plan.scenario, *truth, plan.output, plan.writer));
    if (!st.ok()) return Error{st.message()};
  }
  summary.truth = std::move(truth.value());
  return summary;
}

}  // namespace bw::synth
