// The probe registry: every probe Breakwater runs, memcached first (the vector `audit` was
// built for), then the other amplification services in the order the reports list them.
#include <memory>
#include <string>
#include <vector>

#include "audit/memcached_probe.h"
#include "audit/probe.h"
#include "audit/probe_factories.h"

namespace bw::audit {

const char* transportName(Transport t) noexcept {
  switch (t) {
    case Transport::Udp:
      return "udp";
    case Transport::Tcp:
      return "tcp";
  }
  return "unknown";
}

std::vector<std::unique_ptr<Probe>> allProbes() {
  std::vector<std::unique_ptr<Probe>> probes;
  probes.push_back(makeMemcachedUdpProbe());
  probes.push_back(makeMemcachedTcpProbe());
  probes.push_back(makeDnsProbe());
  probes.push_back(makeNtpReadvarProbe());
  probes.push_back(makeNtpMonlistProbe());
  probes.push_back(makeSsdpProbe());
  probes.push_back(makeCldapProbe());
  probes.push_back(makeChargenProbe());
  probes.push_back(makeQotdProbe());
  probes.push_back(makeSnmpProbe());
  probes.push_back(makePortmapProbe());
  probes.push_back(makeNetbiosProbe());
  probes.push_back(makeWsDiscoveryProbe());
  probes.push_back(makeCoapProbe());
  probes.push_back(makeUbiquitiProbe());
  return probes;
}

std::vector<std::string> probeServiceNames() {
  std::vector<std::string> names;
  for (const std::unique_ptr<Probe>& p : allProbes()) {
    const std::string name(p->service());
    bool seen = false;
    for (const std::string& n : names) seen = seen || n == name;
    if (!seen) names.push_back(name);
  }
  return names;
}

}  // namespace bw::audit
