#include "synth/scenario.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <memory>

#include "synth/address_pool.h"
#include "synth/rng.h"
#include "synth/streams.h"

namespace bw::synth {
namespace {

constexpr double kOpenEndedSeconds = 10;
constexpr double kMaxPps = 100e6;
constexpr std::int64_t kMaxStartNs = 4'000'000'000LL * 1'000'000'000;  // pcap's 32-bit seconds

struct BenignDefaults {
  const char* name;
  std::uint64_t host_offset;  // in our first IPv4 network
  std::uint32_t peers;
  double pps;
};
constexpr std::array<BenignDefaults, static_cast<std::size_t>(BenignKind::kCount)> kBenign = {{
    {"web", 20, 200, 2000},
    {"dns", 53, 300, 400},
    {"memcached-tcp", 30, 4, 2000},
    {"ntp", 40, 4, 2},
    {"misc", 50, 3, 40},
    {"quic", 60, 30, 1000},
}};

const Prefix* firstNetwork(const std::vector<Prefix>& networks, bool v6) {
  for (const auto& p : networks) {
    if (p.network().isV4() != v6) return &p;
  }
  return nullptr;
}

bool inside(const std::vector<Prefix>& networks, const IpAddress& a) {
  return std::any_of(networks.begin(), networks.end(),
                     [&](const Prefix& p) { return p.contains(a); });
}

bool coveredBy(const std::vector<Prefix>& networks, const Prefix& q) {
  return std::any_of(networks.begin(), networks.end(), [&](const Prefix& p) {
    return p.contains(q.network()) && p.length128() <= q.length128();
  });
}

std::string networkList(const std::vector<Prefix>& networks) {
  std::string out;
  for (const auto& p : networks) out += (out.empty() ? "" : ",") + p.toString();
  return out;
}

std::string fmt(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

Error specError(const std::string& what, const std::string& problem) {
  return Error{what + ": " + problem};
}

// Checks what every timed spec shares.
std::optional<Error> checkTiming(const std::string& what, double pps, double start,
                                 double duration) {
  if (!(pps > 0) || pps > kMaxPps) {
    return specError(what, "pps=" + fmt(pps) + " must be above 0 and at most 100000000");
  }
  if (!(start >= 0) || !std::isfinite(start)) {
    return specError(what, "start=" + fmt(start) + " must be 0 or more seconds");
  }
  if (!(duration >= 0) || !std::isfinite(duration)) {
    return specError(what,
                     "duration=" + fmt(duration) + " must be 0 (until the end) or more seconds");
  }
  return std::nullopt;
}

}  // namespace

const char* directionName(Direction d) noexcept {
  return d == Direction::Outbound ? "outbound" : "inbound";
}

const char* timingName(Timing t) noexcept { return t == Timing::Poisson ? "poisson" : "even"; }

const char* benignKindName(BenignKind k) noexcept {
  auto i = static_cast<std::size_t>(k);
  return i < kBenign.size() ? kBenign[i].name : "unknown";
}

bool parseBenignKind(std::string_view name, BenignKind* out) noexcept {
  for (std::size_t i = 0; i < kBenign.size(); ++i) {
    if (name == kBenign[i].name) {
      *out = static_cast<BenignKind>(i);
      return true;
    }
  }
  return false;
}

Result<Scenario> resolveScenario(Scenario s) {
  if (s.networks.empty()) {
    auto nets = parsePrefixList(kDefaultNetworks);
    s.networks = std::move(nets.value());
  }
  if (s.start_ns < 0 || s.start_ns >= kMaxStartNs) {
    return Error{"--start must be a Unix time between 0 and 4000000000 seconds"};
  }
  if (!(s.duration >= 0) || !std::isfinite(s.duration)) {
    return Error{"--duration must be 0 (automatic) or more seconds"};
  }
  const AddressPool outside = AddressPool::publicV4(deriveSeed(s.seed, 0xdef0), s.networks);
  const AddressPool outside6 = AddressPool::publicV6(deriveSeed(s.seed, 0xdef6));

  if (s.duration == 0) {
    double end = 0;
    bool any = false;
    for (const auto& a : s.attacks) {
      end = std::max(end, a.start + (a.duration > 0 ? a.duration : kOpenEndedSeconds));
      any = true;
    }
    for (const auto& b : s.benign) {
      end = std::max(end, b.start + (b.duration > 0 ? b.duration : kOpenEndedSeconds));
      any = true;
    }
    for (const auto& sc : s.scanners) {
      double targets = 256;
      if (sc.targets) {
        const int bits = (sc.targets->network().isV4() ? 32 : 128) - sc.targets->familyLength();
        targets = std::ldexp(1.0, std::min(bits, 30));
      }
      if (sc.pps > 0) end = std::max(end, sc.start + targets * sc.passes / sc.pps + 0.1);
      any = true;
    }
    s.duration = any ? end : kOpenEndedSeconds;
  }

  for (std::size_t i = 0; i < s.attacks.size(); ++i) {
    AttackSpec& a = s.attacks[i];
    const std::string what =
        "attack " + std::to_string(i + 1) +
        (a.vector == Vector::None ? "" : " (" + vectorLabel(a.vector, a.port) + ")");
    if (a.vector == Vector::None || a.vector == Vector::kCount) {
      return specError(what, "vector= is required (memcached, dns, ntp, ..., or udp:PORT)");
    }
    if (a.vector == Vector::GenericUdp && a.port == 0) {
      return specError(what, "vector=udp needs a port, as in vector=udp:500");
    }
    if (a.victim) a.ipv6 = !a.victim->isV4();
    const Prefix* home = firstNetwork(s.networks, a.ipv6);
    if (a.direction == Direction::Inbound) {
      if (!a.victim) {
        if (home == nullptr) {
          return specError(what, "ipv6=1 needs an IPv6 prefix in --networks (or victim=ADDRESS)");
        }
        a.victim = addressInPrefix(*home, 10 + i);
      }
      if (!inside(s.networks, *a.victim)) {
        return specError(what, "victim " + a.victim->toString() + " is not inside --networks " +
                                   networkList(s.networks) +
                                   "; use direction=outbound for victims outside");
      }
    } else {
      if (!a.victim) a.victim = a.ipv6 ? outside6.at(i) : outside.at(i);
      if (inside(s.networks, *a.victim)) {
        return specError(what, "victim " + a.victim->toString() +
                                   " is inside --networks; an outbound attack's victim is outside "
                                   "and our hosts are the reflectors");
      }
      if (!a.reflector_net) {
        if (home == nullptr) {
          return specError(what, std::string("an outbound attack needs an ") +
                                     (a.ipv6 ? "IPv6" : "IPv4") + " prefix in --networks");
        }
        a.reflector_net = *home;
      }
      if (!coveredBy(s.networks, *a.reflector_net)) {
        return specError(what, "reflector_net=" + a.reflector_net->toString() +
                                   " must lie inside --networks for an outbound attack");
      }
    }
    if (a.reflector_net && a.reflector_net->network().isV4() == a.ipv6) {
      return specError(what, "reflector_net=" + a.reflector_net->toString() +
                                 " is not the victim's address family");
    }
    const std::uint64_t capacity = a.reflector_net
                                       ? AddressPool::inPrefix(*a.reflector_net, 0).capacity()
                                       : std::uint64_t{1} << 31;
    if (a.reflectors < 1 || a.reflectors > capacity) {
      return specError(what,
                       "reflectors=" + std::to_string(a.reflectors) + " must be 1 to " +
                           std::to_string(capacity) +
                           (a.reflector_net ? " (the size of " + a.reflector_net->toString() + ")"
                                            : std::string()));
    }
    if (auto e = checkTiming(what, a.pps, a.start, a.duration)) return *e;
    if (a.start >= s.duration) {
      return specError(what, "start=" + fmt(a.start) + " is not before the scenario's end (" +
                                 fmt(s.duration) + " s); raise --duration");
    }
    if (a.size > maxResponseSize(a.vector)) {
      return specError(what, "size=" + std::to_string(a.size) +
                                 " is above this vector's maximum of " +
                                 std::to_string(maxResponseSize(a.vector)) + " bytes");
    }
    const std::uint32_t min_mtu = a.ipv6 ? PacketBuilder::kMinMtuV6 : PacketBuilder::kMinMtuV4;
    if (a.mtu != 0 && (a.mtu < min_mtu || a.mtu > 65535)) {
      return specError(what, "mtu=" + std::to_string(a.mtu) + " must be 0 (never fragment) or " +
                                 std::to_string(min_mtu) + " to 65535");
    }
    if (a.ransom && a.vector != Vector::Memcached) {
      return specError(what, "ransom=1 applies to vector=memcached only");
    }
  }

  const Prefix* home4 = firstNetwork(s.networks, false);
  const Prefix* any_home = home4 != nullptr ? home4 : &s.networks.front();
  for (std::size_t i = 0; i < s.benign.size(); ++i) {
    BenignSpec& b = s.benign[i];
    const BenignDefaults& d = kBenign[static_cast<std::size_t>(b.kind)];
    const std::string what = "benign " + std::to_string(i + 1) + " (" + d.name + ")";
    if (!b.host) b.host = addressInPrefix(*any_home, d.host_offset);
    if (!inside(s.networks, *b.host)) {
      return specError(what, "host " + b.host->toString() + " is not inside --networks " +
                                 networkList(s.networks) + "; benign hosts are ours");
    }
    if (b.peers == 0) b.peers = d.peers;
    if (b.pps == 0) b.pps = d.pps;
    if (b.kind == BenignKind::Misc && b.port == 0) b.port = 161;
    if (auto e = checkTiming(what, b.pps, b.start, b.duration)) return *e;
    if (b.peers > 1'000'000)
      return specError(what, "peers=" + std::to_string(b.peers) + " must be 1 to 1000000");
  }

  for (std::size_t i = 0; i < s.scanners.size(); ++i) {
    ScannerSpec& sc = s.scanners[i];
    const std::string what = "scanner " + std::to_string(i + 1);
    if (sc.vector == Vector::None || sc.vector == Vector::kCount) {
      return specError(what, "vector= must name an amplification service");
    }
    if (sc.vector == Vector::GenericUdp && sc.port == 0) {
      return specError(what, "vector=udp needs a port, as in vector=udp:500");
    }
    if (!sc.targets) sc.targets = s.networks.front();
    const bool v6 = !sc.targets->network().isV4();
    if (!sc.source) sc.source = v6 ? outside6.at(1000 + i) : outside.at(1000 + i);
    if (sc.source->isV4() == v6) {
      return specError(what, "source " + sc.source->toString() + " and targets=" +
                                 sc.targets->toString() + " are of different address families");
    }
    const int bits = (v6 ? 128 : 32) - sc.targets->familyLength();
    if (bits > 24) {
      return specError(what, "targets=" + sc.targets->toString() +
                                 " is too large to sweep; use a prefix of at most 2^24 addresses");
    }
    if (auto e = checkTiming(what, sc.pps, sc.start, 0)) return *e;
    if (sc.passes < 1) return specError(what, "passes= must be 1 or more");
    if (sc.responders > (std::uint64_t{1} << bits)) {
      return specError(what, "responders=" + std::to_string(sc.responders) + " is more than the " +
                                 std::to_string(std::uint64_t{1} << bits) + " targets");
    }
  }
  return s;
}

Result<GroundTruth> Generator::run(PcapWriter& writer) {
  const Scenario& s = scenario_;
  if (writer.options().linktype != s.link.linktype) {
    return Error{"cannot write " + writer.path() + ": its link type differs from the scenario's"};
  }
  GroundTruth truth;
  truth.attacks.resize(s.attacks.size());
  truth.benign.resize(s.benign.size());
  truth.scanners.resize(s.scanners.size());
  const std::int64_t end = secondsToNs(s.duration);

  std::vector<std::unique_ptr<Stream>> streams;
  for (std::size_t i = 0; i < s.attacks.size(); ++i) {
    streams.push_back(makeAttackStream(s, i, end, truth.attacks[i]));
  }
  for (std::size_t i = 0; i < s.benign.size(); ++i) {
    streams.push_back(makeBenignStream(s, i, end, truth.benign[i]));
  }
  for (std::size_t i = 0; i < s.scanners.size(); ++i) {
    streams.push_back(makeScannerStream(s, i, end, truth.scanners[i]));
  }

  // Merge by (time, stream index): a min-heap of the streams' next packets.
  Emitter emitter(writer, s.link, s.start_ns);
  using Entry = std::pair<std::int64_t, std::uint32_t>;
  std::vector<Entry> heap;
  heap.reserve(streams.size());
  for (std::uint32_t i = 0; i < streams.size(); ++i) {
    if (streams[i]->next() < end) heap.emplace_back(streams[i]->next(), i);
  }
  const auto later = std::greater<Entry>();
  std::make_heap(heap.begin(), heap.end(), later);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const std::uint32_t i = heap.back().second;
    heap.pop_back();
    Stream& stream = *streams[i];
    stream.emit(emitter);
    if (stream.next() < end) {
      heap.emplace_back(stream.next(), i);
      std::push_heap(heap.begin(), heap.end(), later);
    }
  }
  for (auto& stream : streams) stream->finish();
  truth.total = emitter.total();
  if (emitter.failures() != 0) {
    return Error{"cannot write " + writer.path() + ": " + std::to_string(emitter.failures()) +
                 " datagrams could not be built (a bug: please report the scenario)"};
  }
  return truth;
}

}  // namespace bw::synth
