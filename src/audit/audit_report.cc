#include "audit/audit_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace bw::audit {
namespace {

double round2(double x) { return std::round(x * 100.0) / 100.0; }

std::string fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

std::string count(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string bytes(std::uint64_t n) {
  if (n < 1024) return std::to_string(n) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return fixed(v, v < 10 ? 1 : 0) + " " + units[u];
}

// Replies are untrusted: nothing but printable ASCII reaches the terminal, and not much of it.
std::string clean(std::string_view s, std::size_t max = 60) {
  std::string out;
  for (char c : s.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string amplificationText(double x) {
  if (x >= 100) return count(static_cast<std::uint64_t>(std::llround(x))) + "x";
  return fixed(x, 1) + "x";
}

nlohmann::json publicDetails(const nlohmann::json& d) {
  nlohmann::json out = nlohmann::json::object();
  if (!d.is_object()) return out;
  for (const auto& [k, v] : d.items()) {
    if (!k.empty() && k.front() == '_') continue;
    out[k] = v;
  }
  return out;
}

std::string valueText(const nlohmann::json& v) {
  if (v.is_string()) return clean(v.get<std::string>(), 40);
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_unsigned()) return count(v.get<std::uint64_t>());
  if (v.is_number()) return fixed(v.get<double>(), 2);
  return clean(v.dump(), 40);
}

// One line of the most telling details: known memcached facts in a fixed order, then the
// rest as key=value.
std::string detailsLine(const Finding& f) {
  const nlohmann::json d = publicDetails(f.info.details);
  std::vector<std::string> parts;
  std::set<std::string> used = {"amplification_ip", "deep", "error"};
  auto num = [&](const char* k) -> std::optional<std::uint64_t> {
    used.insert(k);
    if (d.contains(k) && d[k].is_number_unsigned()) return d[k].get<std::uint64_t>();
    return std::nullopt;
  };
  if (auto v = num("pid")) parts.push_back("pid " + std::to_string(*v));
  if (auto v = num("uptime")) parts.push_back("up " + count(*v) + " s");
  if (auto v = num("curr_connections")) parts.push_back(count(*v) + " conns");
  auto items = num("curr_items");
  auto used_bytes = num("bytes");
  if (items)
    parts.push_back(count(*items) + " items" + (used_bytes ? " / " + bytes(*used_bytes) : ""));
  if (auto v = num("limit_maxbytes")) parts.push_back("cache " + bytes(*v));
  if (auto v = num("item_size_max")) parts.push_back("items up to " + bytes(*v));
  if (auto v = num("threads")) parts.push_back(std::to_string(*v) + " threads");
  for (const char* k :
       {"total_connections", "max_connections", "total_items", "tcpport", "udpport"}) {
    used.insert(k);
  }
  for (const auto& [k, v] : d.items()) {
    if (used.count(k) || v.is_object() || v.is_array()) continue;
    parts.push_back(clean(k, 24) + "=" + valueText(v));
  }
  if (d.contains("error") && d["error"].is_string())
    parts.push_back(clean(d["error"].get<std::string>()));
  if (d.contains("deep") && d["deep"].is_object()) {
    const auto& deep = d["deep"];
    if (deep.contains("amplification") && deep["amplification"].is_number()) {
      parts.push_back("worst case get: " + amplificationText(deep["amplification"].get<double>()) +
                      " (" + count(deep.value("response_datagrams", std::uint64_t{0})) +
                      " datagrams)");
    } else if (deep.contains("skipped")) {
      parts.push_back("deep probe skipped: " + clean(deep["skipped"].get<std::string>()));
    }
  }
  std::string line;
  for (const auto& p : parts) line += (line.empty() ? "" : ", ") + p;
  return line;
}

std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

// "1.4.25" < "1.5.6"; false when the text is not a dotted version.
bool versionBefore(const std::string& v, int major, int minor, int patch) {
  int a = 0, b = 0, c = 0;
  if (std::sscanf(v.c_str(), "%d.%d.%d", &a, &b, &c) < 2) return false;
  return std::tie(a, b, c) < std::tie(major, minor, patch);
}

std::string wrap(const std::string& text, std::size_t width, const std::string& indent) {
  std::istringstream words(text);
  std::string word, line, out;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += indent + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += indent + line + "\n";
  return out;
}

bool findingLess(const Finding& a, const Finding& b) {
  auto key = [](const Finding& f) {
    return std::make_tuple(f.ip, f.probe ? f.probe->service() : std::string_view{},
                           f.probe ? static_cast<int>(f.probe->transport()) : 0,
                           f.probe ? f.probe->port() : 0);
  };
  return key(a) < key(b);
}

std::vector<const Finding*> sortedView(const std::vector<Finding>& findings) {
  std::vector<const Finding*> order;
  for (const auto& f : findings) order.push_back(&f);
  std::sort(order.begin(), order.end(),
            [](const Finding* a, const Finding* b) { return findingLess(*a, *b); });
  return order;
}

}  // namespace

double payloadAmplification(const Finding& f) {
  if (f.request_bytes == 0) return 0;
  return static_cast<double>(f.response_bytes) / static_cast<double>(f.request_bytes);
}

double ipAmplification(const Finding& f) {
  if (f.request_bytes == 0) return 0;
  const double h = f.ip.isV4() ? 28.0 : 48.0;
  const double requests = std::max<std::uint32_t>(1, f.requests_answered);
  return (static_cast<double>(f.response_bytes) + h * static_cast<double>(f.response_datagrams)) /
         (static_cast<double>(f.request_bytes) + h * requests);
}

std::string adviceFor(const Finding& f) {
  std::string advice = f.probe != nullptr ? f.probe->advice() : std::string{};
  if (f.probe != nullptr && f.probe->service() == "memcached" &&
      versionBefore(f.info.version, 1, 5, 6)) {
    advice += " Version " + clean(f.info.version, 20) +
              " predates 1.5.6, which turned UDP off by default: upgrade.";
  }
  return advice;
}

void sortFindings(std::vector<Finding>& findings) {
  std::sort(findings.begin(), findings.end(), findingLess);
}

nlohmann::ordered_json findingToJson(const Finding& f) {
  nlohmann::json details = publicDetails(f.info.details);
  details["amplification_ip"] = round2(ipAmplification(f));
  details["requests_answered"] = f.requests_answered;
  details["attempts"] = f.attempts;
  details["rtt_ms"] = round2(f.rtt_ms);
  if (f.capped) details["capped"] = true;  // figures are a floor: the reply went past a cap
  nlohmann::ordered_json j;
  j["ip"] = f.ip.toString();
  j["service"] = f.probe ? std::string(f.probe->service()) : std::string{};
  j["transport"] = f.probe ? transportName(f.probe->transport()) : "";
  j["port"] = f.probe ? f.probe->port() : 0;
  j["version"] = f.info.version.empty() ? nlohmann::ordered_json(nullptr)
                                        : nlohmann::ordered_json(f.info.version);
  j["auth_required"] = f.info.auth_required ? nlohmann::ordered_json(*f.info.auth_required)
                                            : nlohmann::ordered_json(nullptr);
  j["request_bytes"] = f.request_bytes;
  j["response_bytes"] = f.response_bytes;
  j["response_datagrams"] = f.response_datagrams;
  j["amplification"] = round2(payloadAmplification(f));
  // Through text, which also replaces any byte sequence a probe kept that is not UTF-8.
  j["details"] = nlohmann::ordered_json::parse(
      details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  j["advice"] = adviceFor(f);
  return j;
}

nlohmann::ordered_json reportToJson(const AuditReport& r) {
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  const std::vector<const Finding*> order = sortedView(r.findings);
  for (const Finding* f : order) findings.push_back(findingToJson(*f));
  const ScanStats& s = r.stats;
  nlohmann::ordered_json j;
  j["targets"] = r.targets;
  j["probed"] = s.probed;
  j["duration_s"] = std::round(s.duration_s * 1000.0) / 1000.0;
  j["findings"] = std::move(findings);
  j["excluded"] = r.excluded;
  j["services"] = r.services;
  j["scan"] = {
      {"pairs", s.pairs},
      {"udp_sent", s.udp_sent},
      {"udp_retries", s.udp_retries},
      {"tcp_connects", s.tcp_connects},
      {"tcp_retries", s.tcp_retries},
      {"datagrams_received", s.datagrams_received},
      {"replies", s.replies},
      {"unsolicited", s.unsolicited},
      {"rejected", s.rejected},
      {"over_cap", s.over_cap},
      {"truncated", s.truncated},
      {"icmp_unreachable", s.icmp_unreachable},
      {"udp_timeouts", s.udp_timeouts},
      {"tcp_refused", s.tcp_refused},
      {"tcp_timeouts", s.tcp_timeouts},
      {"tcp_errors", s.tcp_errors},
      {"send_errors", s.send_errors},
      {"peak_in_flight", s.peak_in_flight},
      {"srtt_ms", round2(s.srtt_ms)},
      {"final_timeout_ms", round2(s.final_timeout_ms)},
  };
  return j;
}

std::string renderJson(const AuditReport& r) {
  // Replies can carry any bytes: replace what is not UTF-8 rather than fail.
  return reportToJson(r).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
         "\n";
}

std::string renderCsv(const AuditReport& r) {
  std::string out =
      "ip,service,transport,port,version,auth_required,request_bytes,response_bytes,"
      "response_datagrams,amplification,amplification_ip,details,advice\n";
  nlohmann::ordered_json all = reportToJson(r);
  for (const auto& j : all["findings"]) {
    auto str = [](const nlohmann::ordered_json& v) -> std::string {
      if (v.is_null()) return "";
      if (v.is_string()) return v.get<std::string>();
      if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
      return v.dump();
    };
    const nlohmann::ordered_json& details = j["details"];
    std::string amp_ip = details["amplification_ip"].dump();
    out += csvField(str(j["ip"])) + "," + csvField(str(j["service"])) + "," +
           csvField(str(j["transport"])) + "," + str(j["port"]) + "," +
           csvField(str(j["version"])) + "," + str(j["auth_required"]) + "," +
           str(j["request_bytes"]) + "," + str(j["response_bytes"]) + "," +
           str(j["response_datagrams"]) + "," + str(j["amplification"]) + "," + amp_ip + "," +
           csvField(details.dump()) + "," + csvField(str(j["advice"])) + "\n";
  }
  return out;
}

std::string renderText(const AuditReport& r) {
  const std::vector<const Finding*> order = sortedView(r.findings);
  const ScanStats& s = r.stats;
  std::set<IpAddress> hosts;
  for (const Finding* f : order) hosts.insert(f->ip);

  std::string out =
      "breakwater audit: " + count(r.targets) + " target" + (r.targets == 1 ? "" : "s");
  if (r.excluded > 0) out += " (" + count(r.excluded) + " excluded)";
  out += ", " + count(s.probed) + " probed in " + fixed(s.duration_s, 2) + " s: ";
  if (order.empty()) {
    out += "nothing exposed.\n";
  } else {
    out += count(order.size()) + " exposed service" + (order.size() == 1 ? "" : "s") + " on " +
           count(hosts.size()) + " host" + (hosts.size() == 1 ? "" : "s") + ".\n";
  }
  std::string svc;
  for (const auto& name : r.services) svc += (svc.empty() ? "" : ",") + name;
  out += "Services probed: " + svc + ".\n";

  if (!order.empty()) {
    struct Row {
      std::string host, service, port, version, auth, amp, details;
    };
    std::vector<Row> rows;
    rows.push_back({"HOST", "SERVICE", "PORT", "VERSION", "AUTH", "AMPLIFICATION", "DETAILS"});
    for (const Finding* f : order) {
      Row row;
      row.host = f->ip.toString();
      row.service = clean(f->probe->service(), 16);
      row.port = std::to_string(f->probe->port()) + "/" + transportName(f->probe->transport());
      row.version = f->info.version.empty() ? "-" : clean(f->info.version, 20);
      row.auth = !f->info.auth_required ? "-" : (*f->info.auth_required ? "yes" : "no");
      if (f->probe->transport() == Transport::Udp) {
        row.amp = amplificationText(payloadAmplification(*f)) + " (" +
                  count(f->response_datagrams) + " dgram" +
                  (f->response_datagrams == 1 ? "" : "s") + (f->capped ? ", capped" : "") + ")";
      } else {
        row.amp = "- (tcp)";
      }
      row.details = detailsLine(*f);
      rows.push_back(std::move(row));
    }
    std::size_t w[6] = {};
    for (const auto& row : rows) {
      const std::string* cols[6] = {&row.host,    &row.service, &row.port,
                                    &row.version, &row.auth,    &row.amp};
      for (int c = 0; c < 6; ++c) w[c] = std::max(w[c], cols[c]->size());
    }
    out += "\n";
    for (const auto& row : rows) {
      const std::string* cols[6] = {&row.host,    &row.service, &row.port,
                                    &row.version, &row.auth,    &row.amp};
      std::string line;
      for (int c = 0; c < 6; ++c) {
        line += *cols[c];
        line.append(w[c] - cols[c]->size() + 2, ' ');
      }
      line += row.details;
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }

    // Advice once per (service, transport, advice text), with the hosts it applies to.
    out += "\nWhat to do:\n";
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> groups;
    for (const Finding* f : order) {
      std::string label = clean(f->probe->service(), 16) + " " + std::to_string(f->probe->port()) +
                          "/" + transportName(f->probe->transport());
      groups[{label, adviceFor(*f)}].push_back(f->ip.toString());
    }
    for (const auto& [key, ips] : groups) {
      std::string list;
      for (std::size_t i = 0; i < ips.size() && i < 8; ++i) list += (i ? ", " : "") + ips[i];
      if (ips.size() > 8) list += ", ... (" + count(ips.size() - 8) + " more)";
      out += "  " + key.first + " on " + list + "\n";
      out += wrap(clean(key.second, 2000), 92, "    ");
    }
  }

  std::string notes;
  if (s.unsolicited)
    notes += "  " + count(s.unsolicited) +
             " datagrams from addresses or ports not probed were ignored\n";
  if (s.rejected)
    notes +=
        "  " + count(s.rejected) + " replies from probed hosts were not answers to our requests\n";
  if (s.over_cap)
    notes +=
        "  " + count(s.over_cap) + " datagrams past the per-host cap were counted but not read\n";
  if (s.send_errors)
    notes += "  " + count(s.send_errors) + " probes could not be sent (last: " + s.last_send_error +
             ")\n";
  if (!notes.empty()) out += "\nNotes:\n" + notes;
  return out;
}

}  // namespace bw::audit
