// Factories for the amplification probes other than memcached, one per service, used by
// allProbes() (probe_registry.cc) and by the probe tests. Internal to src/audit: callers
// outside the module go through allProbes().
//
// Service names (Probe::service()), in registry order:
//   dns           UDP 53     recursive ". IN NS" query: open recursion
//   ntp           UDP 123    mode 6 READVAR: system variables
//   ntp-monlist   UDP 123    mode 7 MON_GETLIST_1: the monlist amplifier
//   ssdp          UDP 1900   M-SEARCH ssdp:all
//   cldap         UDP 389    LDAP rootDSE search over UDP
//   chargen       UDP 19     any datagram
//   qotd          UDP 17     any datagram
//   snmp          UDP 161    SNMPv2c GetBulk of the system group, community "public"
//   portmap       UDP 111    RPC PMAPPROC_DUMP
//   netbios       UDP 137    NBSTAT node status for "*"
//   ws-discovery  UDP 3702   SOAP Probe
//   coap          UDP 5683   CON GET /.well-known/core
//   ubiquiti      UDP 10001  discovery v1
#pragma once

#include <memory>

#include "audit/probe.h"

namespace bw::audit {

std::unique_ptr<Probe> makeDnsProbe();
std::unique_ptr<Probe> makeNtpReadvarProbe();
std::unique_ptr<Probe> makeNtpMonlistProbe();
std::unique_ptr<Probe> makeSsdpProbe();
std::unique_ptr<Probe> makeCldapProbe();
std::unique_ptr<Probe> makeChargenProbe();
std::unique_ptr<Probe> makeQotdProbe();
std::unique_ptr<Probe> makeSnmpProbe();
std::unique_ptr<Probe> makePortmapProbe();
std::unique_ptr<Probe> makeNetbiosProbe();
std::unique_ptr<Probe> makeWsDiscoveryProbe();
std::unique_ptr<Probe> makeCoapProbe();
std::unique_ptr<Probe> makeUbiquitiProbe();

}  // namespace bw::audit
