#include "synth/truth.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace bw::synth {
namespace {

using nlohmann::json;

double epochSeconds(std::int64_t ns) {
  return static_cast<double>(ns / 1'000'000'000) + static_cast<double>(ns % 1'000'000'000) / 1e9;
}

std::string isoTime(std::int64_t ns) {
  std::time_t sec = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&sec, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Adds start/end (epoch seconds with fraction, and exact nanoseconds), packets and bytes.
void putTally(json& j, const Tally& t) {
  if (t.packets == 0) {
    j["start"] = nullptr;
    j["end"] = nullptr;
  } else {
    j["start"] = epochSeconds(t.first_ns);
    j["end"] = epochSeconds(t.last_ns);
    j["start_ns"] = t.first_ns;
    j["end_ns"] = t.last_ns;
  }
  j["packets"] = t.packets;
  j["bytes"] = t.bytes;
}

json addresses(const std::vector<IpAddress>& list) {
  json a = json::array();
  for (const auto& ip : list) a.push_back(ip.toString());
  return a;
}

}  // namespace

json truthToJson(const Scenario& s, const GroundTruth& t, const std::string& capture,
                 const PcapWriterOptions& writer) {
  json root;
  root["format"] = kTruthFormat;
  root["version"] = kTruthVersion;
  root["capture"] = capture;

  json sc;
  sc["preset"] = s.preset.empty() ? json(nullptr) : json(s.preset);
  sc["seed"] = s.seed;
  sc["start"] = epochSeconds(s.start_ns);
  sc["start_iso"] = isoTime(s.start_ns);
  sc["duration"] = s.duration;
  json nets = json::array();
  for (const auto& p : s.networks) nets.push_back(p.toString());
  sc["networks"] = nets;
  sc["linktype"] = writer.linktype == pcaplink::kRaw ? "raw" : "ethernet";
  sc["vlan"] = s.link.vlan;
  sc["snaplen"] = writer.snaplen;
  sc["timestamp_resolution"] = writer.nanosecond ? "ns" : "us";
  root["scenario"] = sc;

  json attacks = json::array();
  for (std::size_t i = 0; i < t.attacks.size(); ++i) {
    const AttackTruth& a = t.attacks[i];
    json j;
    j["id"] = i + 1;
    j["vector"] = a.label;
    j["victim"] = a.spec.victim ? a.spec.victim->toString() : "";
    j["direction"] = directionName(a.spec.direction);
    j["source_port"] = a.source_port;
    putTally(j, a.traffic);
    j["datagrams"] = a.datagrams;
    j["responses"] = a.responses;
    j["reflectors"] = a.reflectors;
    if (a.spec.direction == Direction::Outbound) {
      j["abused_hosts"] = addresses(a.abused_hosts);
      json req;
      putTally(req, a.requests);
      j["requests"] = req;
    }
    json notes = json::array();
    json monero = json::array();
    for (const auto& r : a.ransom) {
      notes.push_back(r.text);
      monero.push_back(r.monero_address);
    }
    j["ransom_notes"] = notes;
    j["monero_addresses"] = monero;
    json p;
    p["pps"] = a.spec.pps;
    p["start_offset"] = a.spec.start;
    p["duration"] = a.spec.duration;
    p["response_size"] = a.spec.size;
    p["mtu"] = a.spec.mtu;
    p["ipv6"] = a.spec.ipv6;
    p["victim_port"] = a.spec.victim_port;
    p["timing"] = timingName(a.spec.timing);
    p["reflector_net"] =
        a.spec.reflector_net ? json(a.spec.reflector_net->toString()) : json(nullptr);
    p["reflectors_requested"] = a.spec.reflectors;
    j["parameters"] = p;
    attacks.push_back(j);
  }
  root["attacks"] = attacks;

  json scanners = json::array();
  for (const auto& sc_truth : t.scanners) {
    json j;
    j["source"] = sc_truth.spec.source ? sc_truth.spec.source->toString() : "";
    j["vector"] = vectorLabel(sc_truth.spec.vector, sc_truth.spec.port);
    j["port"] = sc_truth.port;
    j["target_prefix"] = sc_truth.spec.targets ? sc_truth.spec.targets->toString() : "";
    j["targets"] = sc_truth.targets;
    j["pps"] = sc_truth.spec.pps;
    j["passes"] = sc_truth.spec.passes;
    putTally(j, sc_truth.probes);
    json replies;
    putTally(replies, sc_truth.replies);
    j["replies"] = replies;
    j["responders"] = addresses(sc_truth.responders);
    scanners.push_back(j);
  }
  root["scanners"] = scanners;

  json benign = json::array();
  for (const auto& b : t.benign) {
    json j;
    j["kind"] = benignKindName(b.spec.kind);
    j["hosts"] = addresses(b.hosts);
    j["peers"] = b.spec.peers;
    j["pps"] = b.spec.pps;
    if (b.spec.kind == BenignKind::Misc) j["port"] = b.spec.port;
    putTally(j, b.traffic);
    benign.push_back(j);
  }
  root["benign"] = benign;

  json totals;
  putTally(totals, t.total);
  root["totals"] = totals;
  return root;
}

Status writeTruthFile(const std::string& path, const json& j) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return Error{"cannot create " + path + ": " + std::strerror(errno)};
  const std::string text = j.dump(2) + "\n";
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int saved = errno;
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed) {
    return Error{"cannot write " + path + ": " + std::strerror(wrote ? errno : saved)};
  }
  return {};
}

std::string defaultTruthPath(const std::string& capture) { return capture + ".truth.json"; }

}  // namespace bw::synth
