// Probe: one safe, standard request to one amplification service, and the parser that tells
// a positive application reply from anything else.
//
// The scanner (scanner.h) owns sockets, pacing, retries and timeouts; a Probe only knows its
// service's bytes. Replies are untrusted: parse() must bounds-check everything, never throw,
// and only report `positive` for a reply that is really the service answering (an ICMP error,
// a TCP RST, a reply of the wrong shape or an echo of our own request are not exposure).
// Probes are stateless and shared by every target.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace bw::audit {

enum class Transport : std::uint8_t { Udp, Tcp };
const char* transportName(Transport t) noexcept;  // "udp", "tcp"

// What the replies to one probe said. parse() is called once per reply datagram (UDP) or
// with all bytes received so far on the connection (TCP), and accumulates into this.
struct ReplyInfo {
  bool positive = false;  // a real application reply from the service
  bool complete = false;  // nothing more is expected (TCP: close the connection)
  std::string version;    // software version when the reply tells it
  std::optional<bool> auth_required;
  nlohmann::json details = nlohmann::json::object();  // service-specific facts
};

class Probe {
 public:
  virtual ~Probe() = default;
  virtual std::string_view service() const noexcept = 0;  // "memcached", "dns", "ntp", ...
  virtual Transport transport() const noexcept = 0;
  virtual std::uint16_t port() const noexcept = 0;
  // The request for one attempt. `token` differs per (target, attempt); protocols that echo
  // an id (DNS transaction id, memcached request id, SNMP request id) carry it so replies can
  // be matched to requests.
  virtual std::vector<std::uint8_t> request(std::uint16_t token) const = 0;
  // Folds one reply (see ReplyInfo) into `info`. Must accept any bytes.
  virtual void parse(ByteSpan reply, std::uint16_t token, ReplyInfo& info) const = 0;
  // What the operator should do about an exposed instance.
  virtual std::string advice() const = 0;
};

// Every probe Breakwater knows, memcached first. Names are service() values; a probe with a
// TCP and a UDP variant appears twice.
std::vector<std::unique_ptr<Probe>> allProbes();
// The services `allProbes()` offers, for --help and validation ("memcached", "dns", ...).
std::vector<std::string> probeServiceNames();

}  // namespace bw::audit
