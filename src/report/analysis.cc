#include "report/analysis.h"

namespace bw {

namespace {

struct EvidenceName {
  std::uint8_t bit;
  const char* id;
  const char* human;
};

constexpr EvidenceName kEvidence[] = {
    {evidence::kPayloadMatch, "payload_match", "payloads shaped like the service's responses"},
    {evidence::kMemcachedFrame, "memcached_frame", "memcached UDP frame header"},
    {evidence::kMemcachedText, "memcached_text", "STAT/VALUE payloads"},
    {evidence::kNtpMonlist, "ntp_monlist", "NTP monlist (MON_GETLIST) responses"},
};

}  // namespace

std::string protocolName(std::uint8_t protocol) {
  switch (protocol) {
    case 17:
      return "udp";
    case 6:
      return "tcp";
    case 1:
      return "icmp";
    case 58:
      return "icmpv6";
    default:
      return std::to_string(protocol);
  }
}

std::vector<std::string> evidenceNames(std::uint8_t bits) {
  std::vector<std::string> out;
  for (const auto& e : kEvidence) {
    if (bits & e.bit) out.emplace_back(e.id);
  }
  return out;
}

std::string evidenceDescription(std::uint8_t bits) {
  // The specific signatures already say the payload matched; don't repeat it.
  constexpr std::uint8_t kSpecific =
      evidence::kMemcachedFrame | evidence::kMemcachedText | evidence::kNtpMonlist;
  if (bits & kSpecific) bits &= static_cast<std::uint8_t>(~evidence::kPayloadMatch);
  std::string out;
  for (const auto& e : kEvidence) {
    if (!(bits & e.bit)) continue;
    if (!out.empty()) out += ", ";
    out += e.human;
  }
  return out.empty() ? "source port only" : out;
}

}  // namespace bw
