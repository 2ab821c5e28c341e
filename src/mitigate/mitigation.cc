// planMitigation() and the text/JSON renderings of rules, routes and plans.
//
// The planner is deliberately narrow: it only ever matches the reflected traffic (UDP from the
// vector's service port) and, for inbound attacks, the UDP fragments that follow it. RTBH is
// an opt-in last resort for inbound victims and never used outbound, where the victim is
// somebody else's address.
#include "mitigate/mitigation.h"

#include <cstdio>
#include <set>

namespace bw {

namespace {

using nlohmann::json;

// Outbound attacks get one rule per abused host (two with fragments); past this many rules the
// plan keeps the heaviest hosts so one attack cannot fill a
// router's FlowSpec table.
constexpr std::size_t kMaxOutboundRules = 64;

// RFC 6666 discard-only prefix: the next hop of an IPv6 RTBH route when the configured next
// hop is IPv4 (a router cannot resolve an IPv4 next hop for an IPv6 route).
constexpr const char* kIpv6DiscardNextHop = "100::1";

std::string formatNumber(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string protocolText(std::uint8_t protocol) {
  switch (protocol) {
    case 17:
      return "udp";
    case 6:
      return "tcp";
    case 1:
      return "icmp";
    default:
      return "==" + std::to_string(protocol);
  }
}

Prefix hostPrefix(const IpAddress& a) {
  return *Prefix::make(a, a.isV4() ? 32 : 128);  // a host length is always valid
}

const Prefix* neverPrefixFor(const IpAddress& a, const MitigationSettings& settings) {
  for (const Prefix& p : settings.never) {
    if (p.contains(a)) return &p;
  }
  return nullptr;
}

// Empty when the attack is big enough; otherwise why not. Reaching either configured
// threshold is enough, as for detection (a threshold of 0 is not a criterion).
std::string belowThresholds(const AttackRecord& attack, const MitigationSettings& settings) {
  const bool by_pps = settings.min_pps > 0;
  const bool by_mbps = settings.min_mbps > 0;
  if (!by_pps && !by_mbps) return {};
  if (by_pps && attack.peak_pps >= settings.min_pps) return {};
  if (by_mbps && attack.peak_bps >= settings.min_mbps * 1e6) return {};
  std::string why = "peak " + formatNumber(attack.peak_pps, 0) + " pps / " +
                    formatNumber(attack.peak_bps / 1e6, 1) + " Mbit/s is below ";
  if (by_pps) why += "min_pps " + formatNumber(settings.min_pps, 0);
  if (by_pps && by_mbps) why += " and ";
  if (by_mbps) why += "min_mbps " + formatNumber(settings.min_mbps, 1);
  return why;
}

// The UDP source port that identifies the reflected traffic, or 0 when there is none.
std::uint16_t matchPort(const AttackRecord& attack) {
  switch (attack.vector) {
    case Vector::None:
    case Vector::kCount:
      return 0;
    case Vector::Tftp:  // servers answer from a fresh ephemeral port: nothing stable to match
      return 0;
    case Vector::GenericUdp:  // the flood's shared source port
      return attack.source_port;
    default:
      return attack.source_port != 0 ? attack.source_port : vectorServicePort(attack.vector);
  }
}

}  // namespace

std::string FlowSpecRule::text() const {
  std::string t = "match";
  if (destination) t += " destination " + destination->toString();
  if (source) t += " source " + source->toString();
  t += " protocol " + protocolText(protocol);
  if (source_port) t += " source-port ==" + std::to_string(*source_port);
  if (non_first_fragments) t += " fragment is-fragment";
  if (rate_bps > 0) {
    // GoBGP's rate-limit (the traffic-rate community) is in bytes per second.
    t += " then rate-limit " + formatNumber(rate_bps / 8, 0);
  } else {
    t += " then discard";
  }
  return t;
}

json FlowSpecRule::toJson() const {
  json j;
  j["destination"] = destination ? json(destination->toString()) : json(nullptr);
  j["source"] = source ? json(source->toString()) : json(nullptr);
  j["protocol"] = protocol;
  j["source_port"] = source_port ? json(*source_port) : json(nullptr);
  j["non_first_fragments"] = non_first_fragments;
  j["action"] = rate_bps > 0 ? "rate-limit" : "discard";
  j["rate_bps"] = rate_bps;
  j["text"] = text();
  return j;
}

std::string RtbhRoute::text() const {
  std::string t = prefix.toString();
  if (!next_hop.empty()) t += " next-hop " + next_hop;
  t += " community " + community;
  return t;
}

json RtbhRoute::toJson() const {
  return json{{"prefix", prefix.toString()},
              {"community", community},
              {"next_hop", next_hop},
              {"text", text()}};
}

json MitigationPlan::toJson() const {
  json rules = json::array();
  for (const FlowSpecRule& r : flowspec) rules.push_back(r.toJson());
  return json{{"attack_id", attack_id},
              {"flowspec", std::move(rules)},
              {"rtbh", rtbh ? rtbh->toJson() : json(nullptr)},
              {"skipped", skipped.empty() ? json(nullptr) : json(skipped)}};
}

MitigationPlan planMitigation(std::uint64_t attack_id, const AttackRecord& attack,
                              const MitigationSettings& settings) {
  MitigationPlan plan;
  plan.attack_id = attack_id;
  const std::string victim = attack.victim.toString();

  if (const Prefix* p = neverPrefixFor(attack.victim, settings)) {
    plan.skipped = "victim " + victim + " is inside never-mitigate prefix " + p->toString();
    return plan;
  }
  if (std::string why = belowThresholds(attack, settings); !why.empty()) {
    plan.skipped = std::move(why);
    return plan;
  }
  const std::uint16_t port = matchPort(attack);
  const bool inbound = attack.direction == Direction::Inbound;

  if (inbound) {
    if (!settings.flowspec && !settings.rtbh) {
      plan.skipped = "flowspec and rtbh are both disabled";
      return plan;
    }
    if (settings.flowspec && port != 0) {
      FlowSpecRule r;
      r.destination = hostPrefix(attack.victim);
      r.source_port = port;
      plan.flowspec.push_back(r);
      if (attack.fragments > 0) {
        FlowSpecRule f;
        f.destination = r.destination;
        f.non_first_fragments = true;
        plan.flowspec.push_back(f);
      }
    }
    if (settings.rtbh) {
      RtbhRoute route;
      route.prefix = hostPrefix(attack.victim);
      route.community = settings.rtbh_community;
      route.next_hop = settings.rtbh_next_hop;
      auto hop = IpAddress::parse(route.next_hop);
      if (!attack.victim.isV4() && hop && hop->isV4()) route.next_hop = kIpv6DiscardNextHop;
      plan.rtbh = std::move(route);
    }
    if (plan.empty()) {  // flowspec only, and nothing to match
      plan.skipped = "vector " + attack.vectorLabel() + " has no source port to match";
    }
    return plan;
  }

  // Outbound: our hosts are the reflectors. Only their reflected traffic to this victim is
  // dropped; blackholing the victim would cut a third party off the network.
  if (!settings.flowspec) {
    plan.skipped = "outbound attacks are mitigated with FlowSpec only, and flowspec is disabled";
    return plan;
  }
  if (port == 0) {
    plan.skipped = "vector " + attack.vectorLabel() + " has no source port to match";
    return plan;
  }
  const std::size_t rules_per_host = attack.fragments > 0 ? 2 : 1;
  // Heaviest first: abused_hosts is in address order, top_reflectors in traffic order.
  std::set<IpAddress> abused(attack.abused_hosts.begin(), attack.abused_hosts.end());
  std::vector<IpAddress> order;
  order.reserve(abused.size());
  for (const ReflectorStat& r : attack.top_reflectors) {
    if (abused.count(r.ip) != 0) order.push_back(r.ip);
  }
  order.insert(order.end(), attack.abused_hosts.begin(), attack.abused_hosts.end());
  std::set<IpAddress> seen;
  std::size_t protected_hosts = 0;
  for (const IpAddress& host : order) {
    if (!seen.insert(host).second) continue;
    if (neverPrefixFor(host, settings) != nullptr) {
      ++protected_hosts;
      continue;
    }
    if (plan.flowspec.size() + rules_per_host > kMaxOutboundRules) break;
    FlowSpecRule r;
    r.destination = hostPrefix(attack.victim);
    r.source = hostPrefix(host);
    r.source_port = port;
    plan.flowspec.push_back(r);
    if (attack.fragments > 0) {  // the rest of each reflected datagram, as inbound
      FlowSpecRule f;
      f.destination = r.destination;
      f.source = r.source;
      f.non_first_fragments = true;
      plan.flowspec.push_back(f);
    }
  }
  if (plan.flowspec.empty()) {
    plan.skipped = attack.abused_hosts.empty()
                       ? "outbound attack on " + victim + " names no abused host of ours"
                       : "every abused host (" + std::to_string(protected_hosts) +
                             ") is inside a never-mitigate prefix";
  }
  return plan;
}

}  // namespace bw
