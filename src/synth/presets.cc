#include "synth/presets.h"

#include <algorithm>
#include <array>
#include <string>

#include "synth/address_pool.h"

namespace bw::synth {
namespace {

constexpr std::array<PresetInfo, 5> kPresets = {{
    {"memcached",
     "one memcached reflection flood with a ransom note (200 reflectors, 20 kpps for 5 s) "
     "on light benign traffic, after a scanner sweep",
     0},
    {"mixed",
     "eight inbound vectors (IPv4 and IPv6, fragmented DNS and CLDAP), an outbound NTP "
     "reflection through our hosts, every benign kind and an SSDP scanner",
     0},
    {"benign", "benign traffic only, including busy hosts at high rates (about 40 kpps)", 200'000},
    {"small-packets", "about 2 Mpps of short datagrams for throughput benchmarks (snaplen 96)",
     20'000'000},
    {"spoofed", "one flood from packets/2 distinct sources for memory benchmarks (snaplen 96)",
     10'000'000},
}};

AttackSpec attack(Vector v, const IpAddress& victim, std::uint64_t reflectors, double pps,
                  double start, double duration) {
  AttackSpec a;
  a.vector = v;
  a.victim = victim;
  a.reflectors = reflectors;
  a.pps = pps;
  a.start = start;
  a.duration = duration;
  return a;
}

BenignSpec benign(BenignKind kind, double pps, std::uint32_t peers = 0) {
  BenignSpec b;
  b.kind = kind;
  b.pps = pps;
  b.peers = peers;
  return b;
}

ScannerSpec scanner(Vector v, const Prefix& targets, double pps, double start,
                    std::uint32_t responders) {
  ScannerSpec s;
  s.vector = v;
  s.targets = targets;
  s.pps = pps;
  s.start = start;
  s.responders = responders;
  return s;
}

void memcachedPreset(Scenario& s, const Prefix& net) {
  s.duration = 12;
  s.benign.push_back(benign(BenignKind::Web, 300, 50));
  s.benign.push_back(benign(BenignKind::Dns, 100));
  s.benign.push_back(benign(BenignKind::Ntp, 2));
  s.benign.push_back(benign(BenignKind::Quic, 200, 10));
  s.scanners.push_back(scanner(Vector::Memcached, net, 200, 0.5, 2));
  AttackSpec a = attack(Vector::Memcached, addressInPrefix(net, 10), 200, 20000, 4, 5);
  a.ransom = true;
  s.attacks.push_back(a);
}

void mixedPreset(Scenario& s, const Prefix& net, const Prefix& net6) {
  s.duration = 24;
  auto victim = [&](int k) { return addressInPrefix(net, 10 + k); };
  s.attacks.push_back(attack(Vector::Memcached, victim(0), 150, 2000, 2, 8));
  AttackSpec dns = attack(Vector::Dns, victim(1), 400, 1000, 4, 8);
  dns.size = 3000;  // three fragments at MTU 1500
  s.attacks.push_back(dns);
  s.attacks.push_back(attack(Vector::Ntp, victim(2), 300, 1500, 6, 6));
  s.attacks.push_back(attack(Vector::Ssdp, victim(3), 800, 1500, 8, 5));
  AttackSpec cldap = attack(Vector::Cldap, addressInPrefix(net6, 0x10), 120, 500, 10, 6);
  cldap.ipv6 = true;
  cldap.mtu = 1280;  // IPv6 fragments
  s.attacks.push_back(cldap);
  s.attacks.push_back(attack(Vector::Chargen, victim(4), 100, 1000, 12, 5));
  AttackSpec generic = attack(Vector::GenericUdp, victim(5), 60, 1000, 14, 5);
  generic.port = 27015;
  s.attacks.push_back(generic);
  s.attacks.push_back(attack(Vector::Tftp, victim(6), 40, 500, 16, 5));
  AttackSpec out = attack(Vector::Ntp, IpAddress(), 6, 800, 3, 10);
  out.victim.reset();  // resolveScenario picks an outside address
  out.direction = Direction::Outbound;
  // Abused hosts from the upper half of the network, apart from the benign hosts (.20-.60).
  out.reflector_net = Prefix::make(addressInPrefix(net, 128), net.familyLength() + 1);
  s.attacks.push_back(out);

  s.benign.push_back(benign(BenignKind::Web, 800));
  s.benign.push_back(benign(BenignKind::Dns, 400));
  s.benign.push_back(benign(BenignKind::MemcachedTcp, 1000));
  s.benign.push_back(benign(BenignKind::Ntp, 2));
  s.benign.push_back(benign(BenignKind::Misc, 40));
  s.benign.push_back(benign(BenignKind::Quic, 500));
  s.scanners.push_back(scanner(Vector::Ssdp, net, 100, 1, 3));
}

void benignPreset(Scenario& s, const Prefix& net, std::uint64_t packets) {
  s.benign.push_back(benign(BenignKind::Web, 15000, 400));
  BenignSpec second = benign(BenignKind::Web, 8000, 200);
  second.host = addressInPrefix(net, 21);
  s.benign.push_back(second);
  s.benign.push_back(benign(BenignKind::MemcachedTcp, 8000, 6));
  s.benign.push_back(benign(BenignKind::Dns, 3000, 1000));
  s.benign.push_back(benign(BenignKind::Quic, 6000, 60));
  s.benign.push_back(benign(BenignKind::Ntp, 4));
  s.benign.push_back(benign(BenignKind::Misc, 60));
  double pps = 0;
  for (const auto& b : s.benign) pps += b.pps;
  s.duration = static_cast<double>(packets) / pps;
}

void smallPacketsPreset(Scenario& s, const Prefix& net, std::uint64_t packets) {
  AttackSpec mc = attack(Vector::Memcached, addressInPrefix(net, 10), 2000, 500000, 0, 0);
  mc.size = 40;
  AttackSpec dns = attack(Vector::Dns, addressInPrefix(net, 11), 5000, 500000, 0, 0);
  dns.size = 64;
  AttackSpec generic = attack(Vector::GenericUdp, addressInPrefix(net, 12), 1000, 300000, 0, 0);
  generic.port = 3074;
  generic.size = 32;
  AttackSpec chargen = attack(Vector::Chargen, addressInPrefix(net, 13), 800, 200000, 0, 0);
  chargen.size = 74;
  for (AttackSpec* a : {&mc, &dns, &generic, &chargen}) {
    a->timing = Timing::Poisson;
    s.attacks.push_back(*a);
  }
  s.benign.push_back(benign(BenignKind::Dns, 500000, 5000));
  s.duration = static_cast<double>(packets) / 2e6;
}

void spoofedPreset(Scenario& s, const Prefix& net, std::uint64_t packets) {
  AttackSpec a = attack(Vector::Dns, addressInPrefix(net, 10),
                        std::max<std::uint64_t>(1, packets / 2), 1e6, 0, 0);
  a.size = 64;
  s.attacks.push_back(a);
  s.duration = static_cast<double>(packets) / 1e6;
}

}  // namespace

std::span<const PresetInfo> presetList() noexcept { return kPresets; }

void ensureNetworks(Scenario& s) {
  if (s.networks.empty()) s.networks = parsePrefixList(kDefaultNetworks).value();
}

Result<PresetDefaults> applyPreset(std::string_view name, std::uint64_t packets, Scenario& s) {
  const PresetInfo* info = nullptr;
  std::string names;
  for (const auto& p : kPresets) {
    if (p.name == name) info = &p;
    names += (names.empty() ? "" : ", ") + std::string(p.name);
  }
  if (info == nullptr) {
    return Error{"--preset '" + std::string(name) + "' does not exist (valid: " + names + ")"};
  }
  if (packets != 0 && info->default_packets == 0) {
    return Error{"--packets does not apply to --preset " + std::string(name) +
                 " (it scales benign, small-packets and spoofed)"};
  }
  if (packets == 0) packets = info->default_packets;
  auto v4 = std::find_if(s.networks.begin(), s.networks.end(),
                         [](const Prefix& p) { return p.network().isV4(); });
  if (v4 == s.networks.end()) {
    return Error{"--preset " + std::string(name) + " needs an IPv4 prefix in --networks"};
  }
  const Prefix net = *v4;
  if (net.familyLength() > 25) {
    return Error{"--preset " + std::string(name) + " needs an IPv4 network of /25 or larger, not " +
                 net.toString()};
  }
  s.preset = std::string(name);
  PresetDefaults d;
  if (name == "memcached") {
    memcachedPreset(s, net);
  } else if (name == "mixed") {
    auto v6 = std::find_if(s.networks.begin(), s.networks.end(),
                           [](const Prefix& p) { return !p.network().isV4(); });
    if (v6 == s.networks.end()) {  // the IPv6 CLDAP flood needs a home
      s.networks.push_back(parsePrefixList("2001:db8:18::/64").value().front());
      v6 = s.networks.end() - 1;
    }
    const Prefix net6 = *v6;
    mixedPreset(s, net, net6);
  } else if (name == "benign") {
    benignPreset(s, net, packets);
  } else if (name == "small-packets") {
    smallPacketsPreset(s, net, packets);
    d.snaplen = 96;
  } else {
    spoofedPreset(s, net, packets);
    d.snaplen = 96;
  }
  return d;
}

}  // namespace bw::synth
