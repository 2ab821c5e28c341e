// Internal to src/synth: response and request templates of the amplification vectors other
// than memcached, DNS and NTP (which live in payloads.cc). Each builder returns a template of
// roughly `size` bytes of UDP payload; see payloads.h for the template contract.
#pragma once

#include <cstdint>

#include "synth/payloads.h"

namespace bw::synth {

ResponseTemplate ssdpResponse(std::uint32_t size, Rng& rng);
ResponseTemplate cldapResponse(std::uint32_t size, Rng& rng);
ResponseTemplate chargenResponse(std::uint32_t size, Rng& rng);
ResponseTemplate snmpResponse(std::uint32_t size, Rng& rng);
ResponseTemplate netbiosResponse(std::uint32_t size, Rng& rng);
ResponseTemplate portmapResponse(std::uint32_t size, Rng& rng);
ResponseTemplate ripResponse(std::uint32_t size, Rng& rng);
ResponseTemplate mssqlResponse(std::uint32_t size, Rng& rng);
ResponseTemplate wsDiscoveryResponse(std::uint32_t size, Rng& rng);
ResponseTemplate armsResponse(std::uint32_t size, Rng& rng);
ResponseTemplate coapResponse(std::uint32_t size, Rng& rng);
ResponseTemplate ubiquitiResponse(std::uint32_t size, Rng& rng);
ResponseTemplate qotdResponse(std::uint32_t size, Rng& rng);
ResponseTemplate tftpResponse(std::uint32_t size, Rng& rng);
ResponseTemplate genericResponse(std::uint32_t size, std::uint16_t port, Rng& rng);

// Requests for every vector but memcached, DNS and NTP.
RequestTemplate serviceRequest(Vector v, std::uint16_t port, Rng& rng);

}  // namespace bw::synth
