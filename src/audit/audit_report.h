// What an audit found, as a table with advice for people, JSON for tools, CSV for sheets.
//
// The JSON follows the contract in docs/audit.md, which other tools read:
//   { "targets": N, "probed": N, "duration_s": F,
//     "findings": [ { "ip", "service", "transport", "port", "version", "auth_required",
//                     "request_bytes", "response_bytes", "response_datagrams",
//                     "amplification", "details": {...}, "advice" } ], ... }
// "amplification" is response bytes over request bytes at the UDP payload level (for TCP
// findings the same ratio over the stream, informational: TCP cannot be reflected);
// details.amplification_ip adds the IP and UDP headers (28 bytes per IPv4 datagram, 48 per
// IPv6). "version" and "auth_required" are null when the reply does not say. Keys a probe
// keeps for itself (starting with '_') never appear. Extra top-level keys ("excluded",
// "services", "scan") may be added; existing ones keep their meaning.
//
// Pure functions of their input; thread-compatible.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/scanner.h"

namespace bw::audit {

struct AuditReport {
  std::uint64_t targets = 0;
  std::uint64_t excluded = 0;  // addresses the exclude list (and the always-removed) took out
  std::vector<std::string> services;
  std::vector<Finding> findings;  // any order; the renderers sort them
  ScanStats stats;
};

// Response over request bytes at the UDP payload level (0 when nothing was sent).
double payloadAmplification(const Finding& f);
// The same with 28 (IPv4) or 48 (IPv6) header bytes per datagram on both sides.
double ipAmplification(const Finding& f);
// The probe's advice, plus a word on old memcached versions that have UDP on by default.
std::string adviceFor(const Finding& f);

// Sorts findings by address, then service, then transport (UDP first).
void sortFindings(std::vector<Finding>& findings);

// Keys in the order of the contract.
nlohmann::ordered_json findingToJson(const Finding& f);
nlohmann::ordered_json reportToJson(const AuditReport& r);
std::string renderJson(const AuditReport& r);
std::string renderCsv(const AuditReport& r);
std::string renderText(const AuditReport& r);

}  // namespace bw::audit
