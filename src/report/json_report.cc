#include "report/json_report.h"

#include <cmath>

#include "report/format.h"

namespace bw {

namespace {

using nlohmann::json;
using report::epochSeconds;
using report::toValidUtf8;

double finiteOrZero(double v) { return std::isfinite(v) ? v : 0.0; }

double durationSeconds(std::int64_t start_ns, std::int64_t end_ns) {
  return end_ns > start_ns ? static_cast<double>(end_ns - start_ns) / 1e9 : 0.0;
}

json counters(const std::map<std::string, std::uint64_t>& m) {
  json out = json::object();
  for (const auto& [k, v] : m) out[toValidUtf8(k)] = v;
  return out;
}

json engineToJson(const EngineStats& s) {
  json out = json::object();
  for (const EngineStatsField& f : kEngineStatsFields) out[f.name] = s.*f.member;
  return out;
}

json captureToJson(const CaptureSummary& c) {
  json out{{"packets", c.packets},
           {"bytes", c.bytes},
           {"malformed", counters(c.malformed)},
           {"source", toValidUtf8(c.source)},
           {"sampled", c.sampled},
           {"decode", counters(c.decode)}};
  if (c.packets > 0) {
    out["first"] = epochSeconds(c.first_ns);
    out["last"] = epochSeconds(c.last_ns);
    out["duration"] = durationSeconds(c.first_ns, c.last_ns);
  } else {  // no packets, no times: null rather than a fake 1970
    out["first"] = nullptr;
    out["last"] = nullptr;
    out["duration"] = 0.0;
  }
  out["format"] = c.format.empty() ? json(nullptr) : json(toValidUtf8(c.format));
  return out;
}

json telemetryToJson(const TelemetrySummary& t) {
  json exporters = json::array();
  for (const ExporterSummary& e : t.exporters) {
    exporters.push_back(json{{"address", e.address},
                             {"agent", e.agent.empty() ? json(nullptr) : json(e.agent)},
                             {"protocol", e.protocol},
                             {"domain", e.domain},
                             {"datagrams", e.datagrams},
                             {"records", e.records},
                             {"lost", e.lost},
                             {"sampling_rate", e.sampling_rate}});
  }
  return json{{"datagrams", counters(t.datagrams)},
              {"records", t.records},
              {"lost", t.lost},
              {"issues", counters(t.issues)},
              {"exporters", std::move(exporters)}};
}

}  // namespace

json attackToJson(const AttackRecord& a, const AsnDatabase* asn) {
  json reflectors = json::array();
  for (const ReflectorStat& r : a.top_reflectors) {
    json item{{"ip", r.ip.toString()}, {"packets", r.packets}, {"bytes", r.bytes}};
    std::optional<AsnInfo> info = asn != nullptr ? asn->lookup(r.ip) : std::nullopt;
    if (info) {
      item["asn"] = info->asn;
      item["as_name"] = toValidUtf8(info->name);
    } else {
      item["asn"] = nullptr;
      item["as_name"] = nullptr;
    }
    reflectors.push_back(std::move(item));
  }
  json abused = json::array();
  for (const IpAddress& ip : a.abused_hosts) abused.push_back(ip.toString());
  json notes = json::array();
  for (const RansomEvidence& n : a.ransom_notes) {
    json addresses = json::array();
    for (const std::string& m : n.monero_addresses) addresses.push_back(toValidUtf8(m));
    notes.push_back(json{{"text", toValidUtf8(n.text)}, {"monero_addresses", addresses}});
  }
  return json{
      {"id", a.id},
      {"victim", a.victim.toString()},
      {"direction", directionName(a.direction)},
      {"vector", a.vectorLabel()},
      {"protocol", protocolName(a.protocol)},
      {"source_port", a.source_port},
      {"start", epochSeconds(a.start_ns)},
      {"end", epochSeconds(a.end_ns)},
      {"duration", durationSeconds(a.start_ns, a.end_ns)},
      {"detected_at", epochSeconds(a.detected_ns)},
      {"active", a.active},
      {"packets", a.packets},
      {"bytes", a.bytes},
      {"fragments", a.fragments},
      {"peak_pps", finiteOrZero(a.peak_pps)},
      {"peak_bps", finiteOrZero(a.peak_bps)},
      {"reflectors", a.reflectors},
      {"reflectors_estimated", a.reflectors_estimated},
      {"top_reflectors", std::move(reflectors)},
      {"abused_hosts", std::move(abused)},
      {"ransom_notes", std::move(notes)},
      {"evidence", evidenceNames(a.evidence)},
      {"threshold_pps", finiteOrZero(a.threshold_pps)},
      {"threshold_bps", finiteOrZero(a.threshold_bps)},
  };
}

json scannerToJson(const ScannerRecord& s) {
  return json{
      {"source", s.source.toString()},
      {"protocol", protocolName(s.protocol)},
      {"port", s.port},
      {"vector", s.vector == Vector::None ? json(nullptr) : json(vectorLabel(s.vector, s.port))},
      {"targets", s.targets},
      {"packets", s.packets},
      {"responders", s.responders},
      {"start", epochSeconds(s.start_ns)},
      {"end", epochSeconds(s.end_ns)},
      {"duration", durationSeconds(s.start_ns, s.end_ns)},
  };
}

json toJson(const Analysis& analysis, const AsnDatabase* asn) {
  json attacks = json::array();
  for (const AttackRecord& a : analysis.attacks) attacks.push_back(attackToJson(a, asn));
  json scanners = json::array();
  for (const ScannerRecord& s : analysis.scanners) scanners.push_back(scannerToJson(s));
  json out{{"schema_version", kJsonSchemaVersion},
           {"capture", captureToJson(analysis.capture)},
           {"attacks", std::move(attacks)},
           {"scanners", std::move(scanners)}};
  out["asn_database"] = asn != nullptr ? json(toValidUtf8(asn->describe())) : json(nullptr);
  if (analysis.engine) out["engine"] = engineToJson(*analysis.engine);
  if (analysis.telemetry) out["telemetry"] = telemetryToJson(*analysis.telemetry);
  json destinations = json::array();
  for (const DestinationTotal& d : analysis.top_destinations) {
    destinations.push_back(json{{"ip", d.ip.toString()},
                                {"packets", d.packets},
                                {"bytes", d.bytes},
                                {"records", d.records}});
  }
  out["top_destinations"] = std::move(destinations);
  return out;
}

std::string dumpJson(const json& value, int indent) {
  std::string text = value.dump(indent, ' ', false, json::error_handler_t::replace);
  text.push_back('\n');
  return text;
}

std::string toJsonText(const Analysis& analysis, const AsnDatabase* asn) {
  return dumpJson(toJson(analysis, asn));
}

}  // namespace bw
