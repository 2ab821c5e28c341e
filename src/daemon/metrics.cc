// The sensor snapshot rendered for the API: Prometheus text exposition format 0.0.4
// (/metrics) and the JSON bodies of /api/v1/status and /api/v1/top. docs/api.md lists every
// metric and field; keep it in step with this file.
//
// Pure functions of the snapshot; thread-safe.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <iterator>
#include <string_view>
#include <utility>

#include "daemon/api_server.h"
#include "report/format.h"

namespace bw {

namespace {

using nlohmann::json;
using report::toValidUtf8;

double finiteOrZero(double v) { return std::isfinite(v) ? v : 0.0; }

// Whole numbers print as integers ("1700000000", not "1.7e+09"); others in the shortest form
// that reads back exactly, which Prometheus parses like Go's ParseFloat.
void appendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (std::fabs(v) < 1e15 && v == std::trunc(v)) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
    out.append(buf, end);
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc() ? end : buf);
  }
}

void appendUint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Builds the exposition one family at a time; samples follow their family's HELP and TYPE.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (char c : help) {  // HELP text escapes backslash and newline only
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_ += c;
      }
    }
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(std::string_view name, Labels labels, std::uint64_t value) {
    head(name, labels);
    appendUint(out_, value);
    out_ += '\n';
  }
  void sample(std::string_view name, Labels labels, double value) {
    head(name, labels);
    appendDouble(out_, value);
    out_ += '\n';
  }

  // A family with one unlabelled sample.
  void counter(std::string_view name, std::string_view help, std::uint64_t value) {
    family(name, "counter", help);
    sample(name, {}, value);
  }
  void gauge(std::string_view name, std::string_view help, double value) {
    family(name, "gauge", help);
    sample(name, {}, value);
  }

  std::string take() { return std::move(out_); }

 private:
  void head(std::string_view name, Labels labels) {
    out_ += name;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [label, value] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += label;
        out_ += "=\"";
        appendLabelValue(value);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
  }

  // Label values are UTF-8 with backslash, double quote and newline escaped.
  void appendLabelValue(std::string_view value) {
    for (char c : toValidUtf8(value)) {
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '"') {
        out_ += "\\\"";
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_ += c;
      }
    }
  }

  std::string out_;
};

void renderSources(Exposition& e, const std::vector<SourceSnapshot>& sources) {
  struct Counter {
    const char* name;
    std::uint64_t SourceSnapshot::*member;
    const char* help;
  };
  static constexpr Counter kCounters[] = {
      {"breakwater_source_packets_total", &SourceSnapshot::packets,
       "Frames (interfaces) or datagrams (collectors) received."},
      {"breakwater_source_bytes_total", &SourceSnapshot::bytes,
       "Wire bytes (interfaces) or datagram payload bytes (collectors) received."},
      {"breakwater_source_drops_total", &SourceSnapshot::drops,
       "Lost before decoding: capture ring full or socket receive queue full."},
      {"breakwater_source_records_total", &SourceSnapshot::records,
       "Collectors: flow records and packet samples decoded."},
      {"breakwater_source_lost_telemetry_total", &SourceSnapshot::lost_telemetry,
       "Collectors: records or datagrams missing according to exporter sequence numbers."},
      {"breakwater_source_rejected_total", &SourceSnapshot::rejected,
       "Malformed frames or datagrams, over every reason."},
  };
  for (const Counter& c : kCounters) {
    e.family(c.name, "counter", c.help);
    for (const SourceSnapshot& s : sources) {
      e.sample(c.name, {{"source", s.name}, {"kind", s.kind}}, s.*c.member);
    }
  }
  e.family("breakwater_source_up", "gauge", "1 while the source is healthy, 0 while faulted.");
  for (const SourceSnapshot& s : sources) {
    e.sample("breakwater_source_up", {{"source", s.name}, {"kind", s.kind}},
             s.fault.empty() ? 1.0 : 0.0);
  }
}

void renderVectors(Exposition& e, const std::vector<VectorSnapshot>& vectors) {
  e.family("breakwater_vector_packets_total", "counter",
           "Reflection packets (classified responses) of an amplification vector.");
  for (const VectorSnapshot& v : vectors) {
    e.sample("breakwater_vector_packets_total", {{"vector", v.vector}}, v.packets);
  }
  e.family("breakwater_vector_bytes_total", "counter",
           "IP bytes of an amplification vector's reflection packets.");
  for (const VectorSnapshot& v : vectors) {
    e.sample("breakwater_vector_bytes_total", {{"vector", v.vector}}, v.bytes);
  }
  e.family("breakwater_vector_packets_per_second", "gauge",
           "Reflection packet rate of a vector over the last second.");
  for (const VectorSnapshot& v : vectors) {
    e.sample("breakwater_vector_packets_per_second", {{"vector", v.vector}}, finiteOrZero(v.pps));
  }
  e.family("breakwater_vector_bits_per_second", "gauge",
           "Reflection bit rate of a vector over the last second.");
  for (const VectorSnapshot& v : vectors) {
    e.sample("breakwater_vector_bits_per_second", {{"vector", v.vector}}, finiteOrZero(v.bps));
  }
}

void renderLatency(Exposition& e, const LatencyHistogram& h) {
  constexpr std::string_view kName = "breakwater_detection_latency_seconds";
  e.family(kName, "histogram", "Seconds from an attack's first packet to its declaration.");
  const std::string bucket = std::string(kName) + "_bucket";
  const std::size_t n = std::min(h.bounds.size(), h.counts.size());
  for (std::size_t i = 0; i < n; ++i) {
    std::string le;
    appendDouble(le, h.bounds[i]);
    e.sample(bucket, {{"le", le}}, h.counts[i]);
  }
  e.sample(bucket, {{"le", "+Inf"}}, h.count);
  e.sample(std::string(kName) + "_sum", {}, finiteOrZero(h.sum));
  e.sample(std::string(kName) + "_count", {}, h.count);
}

void renderActions(Exposition& e, const std::vector<ActionSnapshot>& actions) {
  struct Counter {
    const char* name;
    std::uint64_t ActionSnapshot::*member;
    const char* help;
  };
  static constexpr Counter kCounters[] = {
      {"breakwater_action_ok_total", &ActionSnapshot::ok, "Events an action carried out."},
      {"breakwater_action_failed_total", &ActionSnapshot::failed, "Events an action failed on."},
      {"breakwater_action_dropped_total", &ActionSnapshot::dropped,
       "Events not handed to an action because its queue was full."},
  };
  for (const Counter& c : kCounters) {
    e.family(c.name, "counter", c.help);
    for (const ActionSnapshot& a : actions) e.sample(c.name, {{"action", a.name}}, a.*c.member);
  }
}

json sourceToJson(const SourceSnapshot& s) {
  return json{{"name", toValidUtf8(s.name)},
              {"kind", toValidUtf8(s.kind)},
              {"up", s.fault.empty()},
              {"packets", s.packets},
              {"bytes", s.bytes},
              {"drops", s.drops},
              {"records", s.records},
              {"lost_telemetry", s.lost_telemetry},
              {"rejected", s.rejected},
              {"fault", s.fault.empty() ? json(nullptr) : json(toValidUtf8(s.fault))}};
}

json vectorToJson(const VectorSnapshot& v) {
  return json{{"vector", toValidUtf8(v.vector)},
              {"pps", finiteOrZero(v.pps)},
              {"bps", finiteOrZero(v.bps)},
              {"packets", v.packets},
              {"bytes", v.bytes}};
}

json destinationToJson(const DestinationRate& d) {
  return json{
      {"ip", toValidUtf8(d.ip)}, {"pps", finiteOrZero(d.pps)}, {"bps", finiteOrZero(d.bps)}};
}

}  // namespace

std::string renderMetrics(const SensorSnapshot& s) {
  Exposition e;
  e.family("breakwater_build_info", "gauge", "Always 1; the version is in the label.");
  e.sample("breakwater_build_info", {{"version", s.version}}, 1.0);
  e.gauge("breakwater_start_time_seconds", "When the sensor started, seconds since the epoch.",
          s.started_at);
  e.counter("breakwater_config_reloads_total", "Configuration reloads applied.", s.config_reloads);
  e.gauge("breakwater_config_loaded_time_seconds",
          "When the configuration in use was loaded, seconds since the epoch.", s.config_loaded_at);

  renderSources(e, s.sources);

  e.counter("breakwater_packets_total", "Packets decoded over every source.", s.packets);
  e.counter("breakwater_bytes_total", "IP bytes decoded over every source.", s.bytes);
  e.gauge("breakwater_packets_per_second", "Decoded packet rate over the last second.",
          finiteOrZero(s.pps));
  e.gauge("breakwater_bits_per_second", "Decoded bit rate over the last second.",
          finiteOrZero(s.bps));

  renderVectors(e, s.vectors);

  e.gauge("breakwater_attacks_active", "Attacks in progress.",
          static_cast<double>(s.active_attacks));
  e.counter("breakwater_attacks_started_total", "Attacks declared since the sensor started.",
            s.attacks_started);
  e.counter("breakwater_attacks_ended_total", "Attacks ended since the sensor started.",
            s.attacks_ended);
  renderLatency(e, s.detection_latency);

  for (const EngineStatsField& f : kEngineStatsFields) {
    e.counter(std::string("breakwater_engine_") + f.name + "_total", f.help, s.engine.*f.member);
  }
  e.gauge("breakwater_engine_event_time_seconds",
          "The detection engine's clock (time of the traffic it has processed).",
          report::epochSeconds(s.event_time_ns));

  renderActions(e, s.actions);

  e.gauge("breakwater_store_enabled", "1 when the attack store is in use.",
          s.store_enabled ? 1.0 : 0.0);
  e.gauge("breakwater_store_up", "1 while the attack store is in use and its last write succeeded.",
          s.store_enabled && s.store_fault.empty() ? 1.0 : 0.0);
  e.counter("breakwater_store_errors_total", "Attack store operations that failed.",
            s.store_errors);
  return e.take();
}

json statusToJson(const SensorSnapshot& s) {
  json sources = json::array();
  for (const SourceSnapshot& src : s.sources) sources.push_back(sourceToJson(src));

  json engine = json::object();
  for (const EngineStatsField& f : kEngineStatsFields) engine[f.name] = s.engine.*f.member;
  engine["event_time"] = report::epochSeconds(s.event_time_ns);

  json vectors = json::array();
  for (const VectorSnapshot& v : s.vectors) vectors.push_back(vectorToJson(v));
  json destinations = json::array();
  for (const DestinationRate& d : s.top_destinations) destinations.push_back(destinationToJson(d));

  const LatencyHistogram& h = s.detection_latency;
  json latency{
      {"bounds", h.bounds}, {"counts", h.counts}, {"count", h.count}, {"sum", finiteOrZero(h.sum)}};

  json actions = json::array();
  for (const ActionSnapshot& a : s.actions) {
    actions.push_back(json{
        {"name", toValidUtf8(a.name)},
        {"ok", a.ok},
        {"failed", a.failed},
        {"dropped", a.dropped},
        {"last_error", a.last_error.empty() ? json(nullptr) : json(toValidUtf8(a.last_error))}});
  }

  return json{
      {"version", toValidUtf8(s.version)},
      {"now", s.now},
      {"started_at", s.started_at},
      {"uptime_seconds", std::max(0.0, finiteOrZero(s.now - s.started_at))},
      {"config",
       {{"path", s.config_path.empty() ? json(nullptr) : json(toValidUtf8(s.config_path))},
        {"loaded_at", s.config_loaded_at},
        {"reloads", s.config_reloads}}},
      {"sources", std::move(sources)},
      {"traffic",
       {{"packets", s.packets},
        {"bytes", s.bytes},
        {"pps", finiteOrZero(s.pps)},
        {"bps", finiteOrZero(s.bps)}}},
      {"engine", std::move(engine)},
      {"vectors", std::move(vectors)},
      {"top_destinations", std::move(destinations)},
      {"attacks",
       {{"active", s.active_attacks},
        {"started", s.attacks_started},
        {"ended", s.attacks_ended},
        {"detection_latency", std::move(latency)}}},
      {"actions", std::move(actions)},
      {"store",
       {{"enabled", s.store_enabled},
        {"path", s.store_path.empty() ? json(nullptr) : json(toValidUtf8(s.store_path))},
        {"errors", s.store_errors},
        {"fault", s.store_fault.empty() ? json(nullptr) : json(toValidUtf8(s.store_fault))}}},
  };
}

json topToJson(const SensorSnapshot& s, std::size_t n) {
  // Sorted here as well: the snapshot promises an order, the API promises it regardless.
  std::vector<DestinationRate> dests = s.top_destinations;
  std::stable_sort(dests.begin(), dests.end(),
                   [](const DestinationRate& a, const DestinationRate& b) {
                     return finiteOrZero(a.bps) != finiteOrZero(b.bps)
                                ? finiteOrZero(a.bps) > finiteOrZero(b.bps)
                                : finiteOrZero(a.pps) > finiteOrZero(b.pps);
                   });
  std::vector<VectorSnapshot> vecs = s.vectors;
  std::stable_sort(vecs.begin(), vecs.end(), [](const VectorSnapshot& a, const VectorSnapshot& b) {
    return finiteOrZero(a.bps) != finiteOrZero(b.bps) ? finiteOrZero(a.bps) > finiteOrZero(b.bps)
                                                      : finiteOrZero(a.pps) > finiteOrZero(b.pps);
  });

  json destinations = json::array();
  for (std::size_t i = 0; i < dests.size() && i < n; ++i) {
    destinations.push_back(destinationToJson(dests[i]));
  }
  json vectors = json::array();
  for (std::size_t i = 0; i < vecs.size() && i < n; ++i) vectors.push_back(vectorToJson(vecs[i]));
  return json{
      {"at", s.now}, {"destinations", std::move(destinations)}, {"vectors", std::move(vectors)}};
}

}  // namespace bw
