// SSDP probe (UDP 1900): the unicast M-SEARCH for ssdp:all that UPnP control points send and
// the reflection attacks copy.
//
// A device answers with one "HTTP/1.1 200 OK" datagram per root device, embedded device and
// service, each with ST, USN, LOCATION and usually SERVER headers. A datagram counts when its
// status line is 200 and it has an ST or USN header; an echo of our M-SEARCH, a NOTIFY
// advertisement or other HTTP-over-UDP is not exposure. SSDP has no request id. The number
// of replies is not announced, so `complete` is never set: the scanner's timeout ends it.
#include <string>
#include <string_view>

#include "audit/probe_factories.h"
#include "audit/probe_wire.h"

namespace bw::audit {
namespace {

constexpr std::string_view kRequest =
    "M-SEARCH * HTTP/1.1\r\n"
    "HOST: 239.255.255.250:1900\r\n"
    "MAN: \"ssdp:discover\"\r\n"
    "MX: 1\r\n"
    "ST: ssdp:all\r\n"
    "\r\n";
constexpr std::size_t kMaxHeaderLines = 64;
constexpr std::size_t kMaxSearchTargets = 16;

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits off the next line (LF or CRLF ended) from *text.
std::string_view nextLine(std::string_view* text) noexcept {
  const std::size_t nl = text->find('\n');
  std::string_view line = text->substr(0, nl);
  text->remove_prefix(nl == std::string_view::npos ? text->size() : nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && wire::equalsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

class SsdpProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "ssdp"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return 1900; }

  std::vector<std::uint8_t> request(std::uint16_t /*token: SSDP has no id*/) const override {
    return {kRequest.begin(), kRequest.end()};
  }

  void parse(ByteSpan reply, std::uint16_t /*token*/, ReplyInfo& info) const override {
    std::string_view text = wire::asText(reply);
    const std::string_view status = nextLine(&text);
    if (startsWithIgnoreCase(status, "M-SEARCH")) {
      wire::reject(info, "not_response");
      return;
    }
    if (startsWithIgnoreCase(status, "NOTIFY")) {
      wire::reject(info, "notify");
      return;
    }
    // "HTTP/1.1 200 OK"; some stacks answer HTTP/1.0.
    if (!startsWithIgnoreCase(status, "HTTP/1.") || status.size() < 12 ||
        status.substr(8, 4) != " 200") {
      wire::reject(info, "not_ok");
      return;
    }
    std::string_view st, usn, server, location;
    for (std::size_t n = 0; n < kMaxHeaderLines && !text.empty(); ++n) {
      const std::string_view line = nextLine(&text);
      if (line.empty()) break;
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string_view name = trim(line.substr(0, colon));
      const std::string_view value = trim(line.substr(colon + 1));
      if (wire::equalsIgnoreCase(name, "ST"))
        st = value;
      else if (wire::equalsIgnoreCase(name, "USN"))
        usn = value;
      else if (wire::equalsIgnoreCase(name, "SERVER"))
        server = value;
      else if (wire::equalsIgnoreCase(name, "LOCATION"))
        location = value;
    }
    if (st.empty() && usn.empty()) {
      wire::reject(info, "no_search_headers");
      return;
    }
    wire::addCount(info, "responses", 1);
    if (!st.empty()) wire::appendDistinct(info, "st", wire::printable(st), kMaxSearchTargets);
    if (!server.empty()) {
      wire::setOnce(info, "server", wire::printable(server));
      wire::setVersion(info, server);
    }
    if (!location.empty()) wire::setOnce(info, "location", wire::printable(location));
    info.positive = true;
  }

  std::string advice() const override {
    return "SSDP (UPnP discovery) answers M-SEARCH from outside the LAN: disable UPnP on the "
           "device or restrict it to the LAN interface, update the firmware, and filter UDP 1900 "
           "at the edge; SSDP is never needed across the Internet.";
  }
};

}  // namespace

std::unique_ptr<Probe> makeSsdpProbe() { return std::make_unique<SsdpProbe>(); }

}  // namespace bw::audit
