// WS-Discovery probe (UDP 3702): the SOAP-over-UDP Probe that Windows (WSD) and ONVIF clients
// multicast to find devices, sent unicast.
//
// The request is a standard WS-Discovery (2005/04) Probe without types or scopes, whose
// wsa:MessageID is a fixed UUID ending in the token; a conforming ProbeMatches echoes it in
// wsa:RelatesTo. A reply counts when it is a SOAP envelope with a ProbeMatches element, no
// Fault, and a RelatesTo that is either absent (some cameras omit it) or ours; an echo of
// our Probe is not exposure. The XML is not parsed as a tree: one linear scan over the tags
// finds the first element of each interesting local name (prefixes vary between stacks),
// and each element's text is then found by its closing tag, so the cost stays linear in the
// datagram.
#include <array>
#include <cstdio>
#include <string>
#include <string_view>

#include "audit/probe_factories.h"
#include "audit/probe_wire.h"

namespace bw::audit {
namespace {

constexpr std::string_view kUuidPrefix = "b7ea4e10-5f2a-4d2c-9c1a-00000000";

std::string uuid(std::uint16_t token) {
  char hex[5];
  std::snprintf(hex, sizeof hex, "%04x", token);
  return std::string(kUuidPrefix) + hex;
}
std::string messageId(std::uint16_t token) { return "urn:uuid:" + uuid(token); }

struct Tag {
  std::string_view qname;  // with prefix
  std::string_view local;
  std::size_t content = 0;  // first byte after the tag
  bool closing = false;
  bool self_closing = false;
};

// The next start or end tag at or after `pos`; skips <?...?>, <!...> and comments' openers.
bool nextTag(std::string_view text, std::size_t& pos, Tag& tag) noexcept {
  while (true) {
    const std::size_t lt = text.find('<', pos);
    if (lt == std::string_view::npos) return false;
    const std::size_t gt = text.find('>', lt + 1);
    if (gt == std::string_view::npos) return false;
    pos = gt + 1;
    std::string_view inner = text.substr(lt + 1, gt - lt - 1);
    if (inner.empty() || inner[0] == '?' || inner[0] == '!') continue;
    tag = Tag{};
    tag.closing = inner[0] == '/';
    if (tag.closing) inner.remove_prefix(1);
    tag.self_closing = !inner.empty() && inner.back() == '/';
    const std::size_t end = inner.find_first_of(" \t\r\n/");
    tag.qname = inner.substr(0, end);
    const std::size_t colon = tag.qname.find(':');
    tag.local = colon == std::string_view::npos ? tag.qname : tag.qname.substr(colon + 1);
    tag.content = pos;
    return true;
  }
}

// The text of the element whose start tag is `tag`, up to its closing tag.
std::string_view elementText(std::string_view text, const Tag& tag) {
  if (tag.self_closing) return {};
  const std::string closing = "</" + std::string(tag.qname) + ">";
  const std::size_t end = text.find(closing, tag.content);
  if (end == std::string_view::npos) return {};
  return text.substr(tag.content, end - tag.content);
}

enum Element : std::size_t {
  kEnvelope,
  kProbe,
  kProbeMatches,
  kProbeMatch,
  kFault,
  kRelatesTo,
  kTypes,
  kXAddrs,
  kScopes,
  kElementCount
};
constexpr std::array<std::string_view, kElementCount> kLocalNames = {
    "Envelope",  "Probe", "ProbeMatches", "ProbeMatch", "Fault",
    "RelatesTo", "Types", "XAddrs",       "Scopes"};

// ONVIF devices describe themselves in scopes such as onvif://www.onvif.org/hardware/X.
void keepOnvifScopes(std::string_view scopes, ReplyInfo& info) {
  constexpr std::string_view kHardware = "onvif://www.onvif.org/hardware/";
  constexpr std::string_view kName = "onvif://www.onvif.org/name/";
  std::size_t at = 0;
  while (at < scopes.size()) {
    std::size_t end = scopes.find_first_of(" \t\r\n", at);
    if (end == std::string_view::npos) end = scopes.size();
    const std::string_view scope = scopes.substr(at, end - at);
    if (scope.starts_with(kHardware)) {
      wire::setOnce(info, "hardware", wire::printable(scope.substr(kHardware.size())));
    } else if (scope.starts_with(kName)) {
      wire::setOnce(info, "name", wire::printable(scope.substr(kName.size())));
    }
    at = end + 1;
  }
}

class WsDiscoveryProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "ws-discovery"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return 3702; }

  std::vector<std::uint8_t> request(std::uint16_t token) const override {
    const std::string q =
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
        "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\" "
        "xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" "
        "xmlns:wsd=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\">"
        "<soap:Header>"
        "<wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>"
        "<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>"
        "<wsa:MessageID>" +
        messageId(token) +
        "</wsa:MessageID>"
        "</soap:Header>"
        "<soap:Body><wsd:Probe/></soap:Body>"
        "</soap:Envelope>";
    return {q.begin(), q.end()};
  }

  void parse(ByteSpan reply, std::uint16_t token, ReplyInfo& info) const override {
    const std::string_view text = wire::asText(reply);
    std::array<Tag, kElementCount> first{};
    std::array<bool, kElementCount> seen{};
    std::uint64_t matches = 0;
    std::size_t pos = 0;
    Tag tag;
    while (nextTag(text, pos, tag)) {
      if (tag.closing) continue;
      for (std::size_t e = 0; e < kElementCount; ++e) {
        if (tag.local != kLocalNames[e]) continue;
        if (!seen[e]) first[e] = tag;
        seen[e] = true;
        if (e == kProbeMatch) ++matches;
      }
    }
    if (!seen[kEnvelope]) {
      wire::reject(info, "not_soap");
      return;
    }
    if (seen[kFault]) {
      wire::reject(info, "fault");
      return;
    }
    if (!seen[kProbeMatches]) {
      wire::reject(info, seen[kProbe] ? "not_response" : "wrong_message");
      return;
    }
    if (seen[kRelatesTo]) {
      const std::string_view relates = elementText(text, first[kRelatesTo]);
      // Compared without the scheme: some stacks echo "uuid:..." for "urn:uuid:...".
      if (wire::findIgnoreCase(relates, uuid(token)) == std::string_view::npos) {
        wire::reject(info, "wrong_id");
        return;
      }
    }
    wire::addCount(info, "matches", matches);
    if (seen[kTypes])
      wire::setOnce(info, "types", wire::printable(elementText(text, first[kTypes])));
    if (seen[kXAddrs]) {
      wire::setOnce(info, "xaddrs", wire::printable(elementText(text, first[kXAddrs])));
    }
    if (seen[kScopes]) {
      const std::string_view scopes = elementText(text, first[kScopes]);
      wire::setOnce(info, "scopes", wire::printable(scopes));
      keepOnvifScopes(scopes, info);
    }
    info.positive = true;
    info.complete = true;
  }

  std::string advice() const override {
    return "WS-Discovery (UDP 3702) answers probes from outside the LAN: it is meant for "
           "link-local multicast only; disable it on the device (cameras, printers, NVRs: "
           "ONVIF discovery mode \"non-discoverable\"), update the firmware, and filter UDP 3702 "
           "at the edge.";
  }
};

}  // namespace

std::unique_ptr<Probe> makeWsDiscoveryProbe() { return std::make_unique<WsDiscoveryProbe>(); }

}  // namespace bw::audit
