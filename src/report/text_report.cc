#include "report/text_report.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include "report/format.h"

namespace bw {

namespace {

using report::formatBitRate;
using report::formatBytes;
using report::formatCount;
using report::formatDuration;
using report::formatPacketRate;
using report::formatTimeRange;
using report::sanitizeForTerminal;

constexpr std::size_t kRansomTextChars = 72;
constexpr std::size_t kRansomNotesShown = 3;
constexpr std::size_t kAsNameChars = 24;

class Out {
 public:
  explicit Out(bool color) : color_(color) {}

  // `code` is an SGR sequence body ("1;31"); nothing is emitted without colour.
  std::string paint(std::string_view text, const char* code) const {
    if (!color_) return std::string(text);
    return fmt::format("\033[{}m{}\033[0m", code, text);
  }
  void line(std::string_view text = {}) {
    text_.append(text);
    text_.push_back('\n');
  }
  // "  label     value"
  void field(std::string_view label, std::string_view value) {
    line(fmt::format("  {:<10}{}", label, value));
  }
  std::string take() { return std::move(text_); }

 private:
  bool color_;
  std::string text_;
};

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return formatCount(n) + " " + (n == 1 ? one : many);
}

void renderCapture(const CaptureSummary& c, const AsnDatabase* asn, Out& out) {
  if (c.packets == 0) {
    out.line("  no packets");
  } else {
    out.line(fmt::format("  {}, {} IP bytes, {} ({})", plural(c.packets, "packet", "packets"),
                         formatBytes(c.bytes), formatTimeRange(c.first_ns, c.last_ns),
                         formatDuration(c.last_ns - c.first_ns)));
  }
  if (c.sampled) out.line("  sampled input: counts and rates are scaled estimates");
  std::uint64_t malformed_total = 0;
  std::string reasons;
  for (const auto& [reason, n] : c.malformed) {
    if (n == 0) continue;
    malformed_total += n;
    if (!reasons.empty()) reasons += ", ";
    reasons += formatCount(n) + " " + sanitizeForTerminal(reason, 60);
  }
  if (malformed_total > 0) out.line("  malformed: " + reasons);
  if (asn != nullptr) out.line("  ASN data: " + sanitizeForTerminal(asn->describe(), 160));
}

void renderTelemetry(const TelemetrySummary& t, Out& out) {
  std::string kinds;
  for (const auto& [protocol, n] : t.datagrams) {
    if (n == 0) continue;
    if (!kinds.empty()) kinds += ", ";
    kinds += formatCount(n) + " " + protocol;
  }
  if (kinds.empty()) {
    out.line("  telemetry: no export datagrams decoded");
  } else {
    out.line(fmt::format("  telemetry: {} datagrams, {} from {}", kinds,
                         plural(t.records, "record", "records"),
                         plural(t.exporters.size(), "exporter", "exporters")));
  }
  for (const ExporterSummary& e : t.exporters) {
    std::string line = fmt::format("    {} {}", sanitizeForTerminal(e.address, 60), e.protocol);
    if (!e.agent.empty()) line += " agent " + sanitizeForTerminal(e.agent, 60);
    if (e.domain != 0) line += fmt::format(" domain {}", e.domain);
    line += fmt::format(": {}", plural(e.records, "record", "records"));
    if (e.sampling_rate > 1) line += fmt::format(", sampled 1:{}", e.sampling_rate);
    if (e.lost > 0) line += fmt::format(", {} lost (sequence gaps)", formatCount(e.lost));
    out.line(line);
  }
  std::string reasons;
  for (const auto& [reason, n] : t.issues) {
    if (n == 0) continue;
    if (reason == "unknown_record_type") {  // skipped by design (extended switch data, ...)
      out.line(fmt::format("  skipped: {} of kinds not used for detection",
                           plural(n, "record", "records")));
      continue;
    }
    if (!reasons.empty()) reasons += ", ";
    reasons += formatCount(n) + " " + sanitizeForTerminal(reason, 60);
  }
  if (!reasons.empty()) out.line("  telemetry issues: " + reasons);
}

std::string asColumn(const std::optional<AsnInfo>& info) {
  if (!info) return "-";
  std::string s = "AS" + std::to_string(info->asn);
  if (!info->name.empty()) s += " " + sanitizeForTerminal(info->name, kAsNameChars);
  return s;
}

void renderReflectors(const AttackRecord& a, const AsnDatabase* asn, Out& out) {
  std::vector<std::optional<AsnInfo>> infos;
  std::set<std::uint32_t> asns;
  std::size_t ip_width = 15, as_width = 0;
  for (const ReflectorStat& r : a.top_reflectors) {
    infos.push_back(asn != nullptr ? asn->lookup(r.ip) : std::nullopt);
    if (infos.back()) asns.insert(infos.back()->asn);
    ip_width = std::max(ip_width, r.ip.toString().size());
    as_width = std::max(as_width, asColumn(infos.back()).size());
  }

  std::string summary = a.reflectors_estimated
                            ? "~" + formatCount(a.reflectors) + " reflectors (estimated)"
                            : plural(a.reflectors, "reflector", "reflectors");
  if (a.direction == Direction::Outbound) summary += " sending to the victim";
  if (!a.top_reflectors.empty()) {
    summary += fmt::format("; top {} by bytes", a.top_reflectors.size());
    if (asn != nullptr) summary += fmt::format(" ({})", plural(asns.size(), "ASN", "ASNs"));
    summary += ":";
  }
  out.field("sources", summary);
  for (std::size_t i = 0; i < a.top_reflectors.size(); ++i) {
    const ReflectorStat& r = a.top_reflectors[i];
    std::string row = fmt::format("{:14}{:<{}}", "", r.ip.toString(), ip_width);
    if (asn != nullptr) row += fmt::format("  {:<{}}", asColumn(infos[i]), as_width);
    row += fmt::format("  {:>10} pkts  {:>9}", formatCount(r.packets), formatBytes(r.bytes));
    out.line(row);
  }
}

void renderRansom(const AttackRecord& a, Out& out) {
  for (std::size_t i = 0; i < a.ransom_notes.size() && i < kRansomNotesShown; ++i) {
    const RansomEvidence& n = a.ransom_notes[i];
    std::string value = "\"" + sanitizeForTerminal(n.text, kRansomTextChars) + "\"";
    if (!n.monero_addresses.empty()) {
      value += "  Monero: ";
      for (std::size_t k = 0; k < n.monero_addresses.size(); ++k) {
        if (k > 0) value += ", ";
        value += sanitizeForTerminal(n.monero_addresses[k], 110);
      }
    }
    out.field(i == 0 ? "ransom" : "", value);
  }
  if (a.ransom_notes.size() > kRansomNotesShown) {
    out.field("", fmt::format("... and {} more notes", a.ransom_notes.size() - kRansomNotesShown));
  }
}

void renderAttack(std::size_t index, const AttackRecord& a, const AsnDatabase* asn, Out& out) {
  const std::string vector = a.vectorLabel();
  std::string title = fmt::format("ATTACK {}  {} reflection", index, vector);
  if (a.direction == Direction::Outbound) title += " from our hosts";
  out.line(out.paint(title, "1;31") +
           fmt::format(" \u2192 {} ({})", a.victim.toString(), directionName(a.direction)));

  std::string when = fmt::format("{} ({})", formatTimeRange(a.start_ns, a.end_ns),
                                 formatDuration(a.end_ns - a.start_ns));
  if (a.active) when += ", still active";
  out.field("when", when);
  out.field("detected",
            fmt::format("{} UTC, threshold {} or {}", report::formatTimeOfDay(a.detected_ns),
                        formatPacketRate(a.threshold_pps), formatBitRate(a.threshold_bps)));
  std::string total = fmt::format("total {}", plural(a.packets, "packet", "packets"));
  if (a.fragments > 0) total += fmt::format(" ({} fragments)", formatCount(a.fragments));
  total += ", " + formatBytes(a.bytes);
  out.field("peak",
            fmt::format("{:<28}{}", formatBitRate(a.peak_bps) + ", " + formatPacketRate(a.peak_pps),
                        total));
  renderReflectors(a, asn, out);
  if (!a.abused_hosts.empty()) {
    std::string hosts;
    for (std::size_t i = 0; i < a.abused_hosts.size(); ++i) {
      if (i == 8) {
        hosts += fmt::format(" and {} more", a.abused_hosts.size() - 8);
        break;
      }
      if (i > 0) hosts += ", ";
      hosts += a.abused_hosts[i].toString();
    }
    out.field("abused", hosts + " (our hosts used as reflectors)");
  }
  out.field("evidence", evidenceDescription(a.evidence));
  renderRansom(a, out);
}

void renderScanner(const ScannerRecord& s, std::int64_t capture_first_ns, Out& out) {
  // Times of day only, unless the scan is on another day than the capture's start.
  const bool same_day = report::formatDate(s.start_ns) == report::formatDate(capture_first_ns) &&
                        report::formatDate(s.end_ns) == report::formatDate(capture_first_ns);
  const std::string when = same_day ? report::formatTimeOfDay(s.start_ns, 1) + " \u2013 " +
                                          report::formatTimeOfDay(s.end_ns, 1)
                                    : report::formatTimestamp(s.start_ns, 1) + " \u2013 " +
                                          report::formatTimestamp(s.end_ns, 1);
  std::string text =
      fmt::format("  {} probed {}/{} on {}, {}", s.source.toString(), protocolName(s.protocol),
                  s.port, plural(s.targets, "target", "targets"), when);
  if (s.responders > 0) text += fmt::format(" ({} answered)", formatCount(s.responders));
  out.line(text);
}

}  // namespace

std::string renderText(const Analysis& analysis, const AsnDatabase* asn,
                       const TextReportOptions& options) {
  Out out(options.color);
  out.line(out.paint(fmt::format("breakwater {}: {}", options.command,
                                 sanitizeForTerminal(analysis.capture.source, 200)),
                     "1"));
  renderCapture(analysis.capture, asn, out);
  if (analysis.telemetry) renderTelemetry(*analysis.telemetry, out);
  if (!analysis.top_destinations.empty()) {
    out.line();
    out.line(out.paint("TOP DESTINATIONS", "1"));
    for (const DestinationTotal& d : analysis.top_destinations) {
      out.line(fmt::format("  {:<39} {:>14} packets {:>10}", d.ip.toString(),
                           formatCount(d.packets), formatBytes(d.bytes)));
    }
  }

  for (std::size_t i = 0; i < analysis.attacks.size(); ++i) {
    out.line();
    renderAttack(i + 1, analysis.attacks[i], asn, out);
  }
  if (!analysis.scanners.empty()) {
    out.line();
    out.line(out.paint("SCANNERS", "1;33"));
    const std::size_t shown = std::min(analysis.scanners.size(), options.max_scanners);
    for (std::size_t i = 0; i < shown; ++i) {
      renderScanner(analysis.scanners[i], analysis.capture.first_ns, out);
    }
    if (analysis.scanners.size() > shown) {
      out.line(fmt::format("  ... and {} more", analysis.scanners.size() - shown));
    }
  }
  if (analysis.attacks.empty()) {
    out.line();
    out.line(out.paint("No attacks found.", "32"));
  }
  return out.take();
}

bool wantColor(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::strcmp(term, "dumb") == 0) return false;
  return ::isatty(fd) == 1;
}

}  // namespace bw
