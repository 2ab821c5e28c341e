// The tables that configure `breakwater run`: [sensor], [api], [store], [events] and
// [mitigation]. Syntax only, plus the checks that need nothing but the file (endpoints bound
// twice, a non-loopback API without a token); what depends on the host (interfaces, users,
// directories) is host_checks.cc's.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "config/schema.h"
#include "core/ip_address.h"

namespace bw::config_internal {

namespace {

using Items = std::vector<TomlReader::Item>;

constexpr std::size_t kMaxBpfFilter = 4096;
constexpr std::size_t kMinToken = 16;
constexpr std::size_t kMaxToken = 256;
constexpr char kSeconds[] = "a number of seconds from 0.1 to 3600";

bool hasSpaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

std::string oneOf(Keys valid) { return "one of " + joined(valid); }

// Linux limits names to IFNAMSIZ - 1 bytes; '/' and whitespace cannot appear in them.
bool validInterfaceName(std::string_view s) {
  return !s.empty() && s.size() <= 15 && s.find('/') == std::string_view::npos &&
         !hasSpaceOrControl(s);
}

bool validUserName(std::string_view s) {
  return !s.empty() && s.size() <= 32 && s.find(':') == std::string_view::npos &&
         s.find('/') == std::string_view::npos && !hasSpaceOrControl(s);
}

struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;
};

// "ADDR:PORT" or "[IPV6]:PORT" with a port from 1 to 65535; host names are not resolved. The
// collector's own parser (flow/udp_collector.h) also takes ":PORT" and "PORT", which a
// configuration file should spell out.
std::optional<Endpoint> parseHostPort(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    if (host.find(':') == std::string_view::npos) return std::nullopt;  // [v4] is not allowed
    port_text = text.substr(close + 2);
  } else {
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos) {
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  unsigned port = 0;
  std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port < 1 || port > 65535) return std::nullopt;
  const auto address = IpAddress::parse(host);
  if (!address) return std::nullopt;
  return Endpoint{*address, static_cast<std::uint16_t>(port)};
}

std::string formatEndpoint(const Endpoint& e) {
  const std::string a = e.address.toString();
  return (e.address.isV4() ? a : "[" + a + "]") + ":" + std::to_string(e.port);
}

bool isWildcard(const IpAddress& a) { return a.isV4() ? a.v4() == 0 : a == IpAddress(); }

bool isLoopback(const IpAddress& a) {
  if (a.isV4()) return (a.v4() >> 24) == 127;
  return a == *IpAddress::parse("::1");
}

std::string endpointRule(std::string_view example_v4, std::string_view example_v6) {
  return "an endpoint such as \"" + std::string(example_v4) + "\" or \"" + std::string(example_v6) +
         "\" (an IP address and a port from 1 to 65535)";
}

bool validToken(std::string_view s) {
  return s.size() >= kMinToken && s.size() <= kMaxToken &&
         std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// A token is never shown in a message, only what is wrong with it.
std::string describeToken(std::string_view s) {
  const bool bad_chars =
      !std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  return std::to_string(s.size()) + " characters" +
         (bad_chars ? " including spaces or non-printable ones" : "");
}

std::string trimmed(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// RFC 9110 token characters for a header name.
bool headerNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool validHeader(std::string_view h) {
  const std::size_t colon = h.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  if (!std::all_of(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(colon), headerNameChar)) {
    return false;
  }
  const std::string_view value = h.substr(colon + 1);
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

bool validUrl(std::string_view url) {
  std::string lower(url.substr(0, 8));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::size_t rest = 0;
  if (lower.rfind("http://", 0) == 0) {
    rest = 7;
  } else if (lower.rfind("https://", 0) == 0) {
    rest = 8;
  } else {
    return false;
  }
  return url.size() > rest && url[rest] != '/' && !hasSpaceOrControl(url);
}

// "ASN:VALUE", both 0..65535 (a standard RFC 1997 community).
bool validCommunity(std::string_view s) {
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  for (std::string_view part : {s.substr(0, colon), s.substr(colon + 1)}) {
    if (part.empty() || part.size() > 5 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    unsigned v = 0;
    std::from_chars(part.data(), part.data() + part.size(), v);
    if (v > 65535) return false;
  }
  return true;
}

// Reads [sensor] sflow or netflow; `bound` holds the endpoints of the lists read before, so
// an endpoint both collectors (or one twice) would bind is reported where it is repeated.
class EndpointSet {
 public:
  // Empty when `e` can be bound next to the others; otherwise the sentence after `path`.
  std::string add(const Endpoint& e, const std::string& path) {
    const Key exact{e.port, e.address};
    const WildKey wild{e.port, e.address.isV4()};
    if (auto it = exact_.find(exact); it != exact_.end()) {
      return " repeats the endpoint " + formatEndpoint(e) + " of " + it->second +
             "; a UDP endpoint can be bound once";
    }
    const std::string family = e.address.isV4() ? "IPv4" : "IPv6";
    if (auto it = wildcard_.find(wild); it != wildcard_.end()) {
      return " " + formatEndpoint(e) + " overlaps " + it->second.second + " " +
             formatEndpoint(it->second.first) + ", which binds UDP port " + std::to_string(e.port) +
             " on every " + family + " address";
    }
    if (isWildcard(e.address)) {
      if (auto it = specific_.find(wild); it != specific_.end()) {
        return " " + formatEndpoint(e) + " binds UDP port " + std::to_string(e.port) +
               " on every " + family + " address, which overlaps " + it->second.second + " " +
               formatEndpoint(it->second.first);
      }
      wildcard_.emplace(wild, std::pair(e, path));
    } else {
      specific_.emplace(wild, std::pair(e, path));
    }
    exact_.emplace(exact, path);
    return {};
  }

 private:
  using Key = std::pair<std::uint16_t, IpAddress>;
  using WildKey = std::pair<std::uint16_t, bool>;
  std::map<Key, std::string> exact_;
  std::map<WildKey, std::pair<Endpoint, std::string>> wildcard_;
  std::map<WildKey, std::pair<Endpoint, std::string>> specific_;
};

void endpointList(TomlReader& r, const toml::table& t, std::string_view key,
                  std::string_view example, EndpointSet* bound, std::vector<std::string>* out) {
  const std::size_t errors = r.errorCount();
  Items items;
  const std::string example_array = "[\"" + std::string(example) + "\"]";
  const std::string example_item = "\"" + std::string(example) + "\"";
  const bool ok = r.stringArray(t, "sensor", key, example_array, example_item, &items);
  const std::string port(example.substr(example.find(':') + 1));
  std::vector<std::string> values;
  for (const auto& item : items) {
    const auto e = parseHostPort(item.value);
    if (!e) {
      r.fail(item.node->source(), item.path + " must be " +
                                      endpointRule("0.0.0.0:" + port, "[::]:" + port) + ", got " +
                                      quotedText(item.value));
      continue;
    }
    if (std::string clash = bound->add(*e, item.path); !clash.empty()) {
      r.fail(item.node->source(), item.path + clash);
      continue;
    }
    values.push_back(item.value);
  }
  if (ok && r.errorCount() == errors) *out = std::move(values);
}

// notify_on / webhook_on: a subset of the event names, each at most once.
void eventList(TomlReader& r, const toml::table& t, std::string_view key,
               std::vector<std::string>* out) {
  const std::size_t errors = r.errorCount();
  Items items;
  const bool ok = r.stringArray(t, "events", key, "[\"attack_started\", \"attack_ended\"]",
                                "\"attack_started\"", &items);
  std::vector<std::string> values;
  for (const auto& item : items) {
    if (!contains(kEventNames, item.value)) {
      r.fail(item.node->source(),
             item.path + " must be " + oneOf(kEventNames) + ", got " + quotedText(item.value));
    } else if (std::find(values.begin(), values.end(), item.value) != values.end()) {
      r.fail(item.node->source(),
             item.path + " repeats " + quotedText(item.value) + "; each event may be listed once");
    } else {
      values.push_back(item.value);
    }
  }
  if (ok && r.errorCount() == errors) *out = std::move(values);
}

// Reads the token out of api.token_file (resolved against the configuration's directory).
void readTokenFile(TomlReader& r, const toml::node& n, const std::string& written,
                   std::string* token) {
  const std::string path = r.resolvePath(written);
  std::error_code ec;
  std::string reason;
  std::string text;
  if (std::filesystem::is_directory(path, ec)) {
    reason = "it is a directory";
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      reason = std::strerror(errno);
    } else {
      // Anything longer than a token and some whitespace is not a token file.
      text.resize(kMaxToken + 64);
      in.read(text.data(), static_cast<std::streamsize>(text.size()));
      if (in.bad()) reason = "read error";
      text.resize(static_cast<std::size_t>(in.gcount()));
    }
  }
  if (!reason.empty()) {
    r.fail(n.source(), "api.token_file must name a readable file, got " + quotedText(written) +
                           " (" + path + ": " + reason + ")");
    return;
  }
  const std::string value = trimmed(text);
  if (!validToken(value)) {
    const std::string got = text.size() >= kMaxToken + 64
                                ? "more than " + std::to_string(kMaxToken) + " characters"
                                : describeToken(value);
    r.fail(n.source(), "api.token_file must hold one token of " + std::to_string(kMinToken) +
                           " to " + std::to_string(kMaxToken) +
                           " printable characters without spaces, got " + got + " in " + path);
    return;
  }
  *token = value;
}

}  // namespace

void loadSensor(TomlReader& r, const toml::table& t, SensorSettings* out) {
  const std::string path = "sensor";
  r.checkKeys(t, path, kSensorKeys, kTables);

  const std::size_t errors = r.errorCount();
  Items items;
  const bool ok = r.stringArray(t, path, "interfaces", "[\"eth1\"]", "\"eth1\"", &items);
  std::vector<std::string> names;
  std::set<std::string, std::less<>> seen;
  for (const auto& item : items) {
    if (!validInterfaceName(item.value)) {
      r.fail(item.node->source(), item.path +
                                      " must be an interface name of 1 to 15 characters without "
                                      "'/' or whitespace, got " +
                                      quotedText(item.value));
    } else if (!seen.insert(item.value).second) {
      r.fail(item.node->source(), item.path + " repeats " + quotedText(item.value) +
                                      "; each interface may be listed once");
    } else {
      names.push_back(item.value);
    }
  }
  if (ok && r.errorCount() == errors) out->interfaces = std::move(names);

  r.integer(t, path, "workers_per_interface", 1, 64, &out->workers_per_interface);
  r.string(
      t, path, "bpf_filter",
      [](std::string_view s) {
        return s.size() <= kMaxBpfFilter && s.find('\0') == std::string_view::npos;
      },
      "a tcpdump filter expression of at most " + std::to_string(kMaxBpfFilter) + " characters",
      &out->bpf_filter);
  r.boolean(t, path, "promiscuous", &out->promiscuous);

  EndpointSet bound;
  endpointList(r, t, "sflow", "0.0.0.0:6343", &bound, &out->sflow);
  endpointList(r, t, "netflow", "0.0.0.0:2055", &bound, &out->netflow);

  r.numberIn(t, path, "update_interval_s", 0.1, 3600, kSeconds, &out->update_interval_s);
  r.string(t, path, "user", validUserName,
           "a user name of 1 to 32 characters without whitespace, ':' or '/'", &out->user);
  r.string(
      t, path, "log_level", [](std::string_view s) { return contains(kLogLevels, s); },
      oneOf(kLogLevels), &out->log_level);
}

void loadApi(TomlReader& r, const toml::table& t, ApiSettings* out) {
  const std::string path = "api";
  r.checkKeys(t, path, kApiKeys, kTables);
  r.boolean(t, path, "enabled", &out->enabled);
  const bool listen_ok = r.string(
      t, path, "listen", [](std::string_view s) { return parseHostPort(s).has_value(); },
      endpointRule("127.0.0.1:9473", "[::1]:9473"), &out->listen);

  const toml::node* token = t.get("token");
  const toml::node* token_file = t.get("token_file");
  if (token != nullptr) {
    const auto* s = token->as_string();
    if (s == nullptr || !validToken(s->get())) {
      r.fail(token->source(), "api.token must be " + std::to_string(kMinToken) + " to " +
                                  std::to_string(kMaxToken) +
                                  " printable characters without spaces, got " +
                                  (s == nullptr ? show(*token) : describeToken(s->get())));
    } else {
      r.note("api.token", *token);
      out->token = s->get();
    }
  }
  if (token_file != nullptr) {
    const auto* s = token_file->as_string();
    if (s == nullptr || s->get().empty() || s->get().find('\0') != std::string::npos) {
      r.fail(
          token_file->source(),
          "api.token_file must be the path of a file holding the token, got " + show(*token_file));
    } else if (token != nullptr) {
      r.fail(token_file->source(),
             "api.token_file cannot be used together with api.token; keep one of them");
    } else {
      r.note("api.token_file", *token_file);
      readTokenFile(r, *token_file, s->get(), &out->token);
    }
  }

  // Anyone who can reach a non-loopback listener could read the attacks and the metrics.
  if (out->enabled && listen_ok && token == nullptr && token_file == nullptr) {
    const auto e = parseHostPort(out->listen);
    if (e && !isLoopback(e->address)) {
      r.fail(t.get("listen")->source(), "api.listen " + out->listen +
                                            " is not a loopback address: set api.token or "
                                            "api.token_file");
    }
  }
}

void loadStore(TomlReader& r, const toml::table& t, StoreSettings* out) {
  const std::string path = "store";
  r.checkKeys(t, path, kStoreKeys, kTables);
  r.boolean(t, path, "enabled", &out->enabled);
  std::string file;
  if (r.string(
          t, path, "path",
          [](std::string_view s) { return !s.empty() && s.find('\0') == std::string_view::npos; },
          "the path of the attack store file", &file)) {
    out->path = r.resolvePath(file);
  }
  r.integer(t, path, "max_size_mb", 0, 1'000'000, &out->max_size_mb);
}

void loadEvents(TomlReader& r, const toml::table& t, EventSettings* out) {
  const std::string path = "events";
  r.checkKeys(t, path, kEventKeys, kTables);
  std::string file;
  if (r.string(
          t, path, "file",
          [](std::string_view s) { return !s.empty() && s.find('\0') == std::string_view::npos; },
          "the path of the event log (leave it out for none)", &file)) {
    out->file = r.resolvePath(file);
  }

  std::size_t errors = r.errorCount();
  Items items;
  const bool ok = r.stringArray(t, path, "notify", "[\"/usr/local/bin/bw-notify\", \"--page\"]",
                                "\"--page\"", &items);
  if (const toml::node* n = t.get("notify"); n != nullptr && ok && items.empty()) {
    r.fail(n->source(),
           "events.notify must name a command and its arguments, such as "
           "[\"/usr/local/bin/bw-notify\"], got an empty array");
  }
  std::vector<std::string> argv;
  for (const auto& item : items) {
    if (item.value.find('\0') != std::string::npos || (argv.empty() && item.value.empty())) {
      r.fail(item.node->source(), item.path +
                                      (argv.empty() ? " must be the command to run"
                                                    : " must be an argument without NUL bytes") +
                                      ", got " + quotedText(item.value));
    }
    argv.push_back(item.value);
  }
  if (ok && r.errorCount() == errors) out->notify = std::move(argv);
  r.numberIn(t, path, "notify_timeout_s", 0.1, 3600, kSeconds, &out->notify_timeout_s);
  eventList(r, t, "notify_on", &out->notify_on);

  r.string(t, path, "webhook_url", validUrl,
           "an http:// or https:// URL (leave it out for no webhook)", &out->webhook_url);
  r.numberIn(t, path, "webhook_timeout_s", 0.1, 3600, kSeconds, &out->webhook_timeout_s);
  errors = r.errorCount();
  const bool headers_ok =
      r.stringArray(t, path, "webhook_headers", "[\"Authorization: Bearer TOKEN\"]",
                    "\"Authorization: Bearer TOKEN\"", &items);
  std::vector<std::string> headers;
  for (const auto& item : items) {
    if (!validHeader(item.value)) {
      // The value may be a secret: show the name only.
      const std::size_t colon = item.value.find(':');
      const std::string shown = colon == std::string::npos
                                    ? quotedText(item.value)
                                    : quotedText(item.value.substr(0, colon) + ": ...");
      r.fail(item.node->source(), item.path +
                                      " must be a header \"Name: value\" without line breaks, "
                                      "such as \"Authorization: Bearer TOKEN\", got " +
                                      shown);
    }
    headers.push_back(item.value);
  }
  if (headers_ok && r.errorCount() == errors) out->webhook_headers = std::move(headers);
  eventList(r, t, "webhook_on", &out->webhook_on);
}

void loadMitigation(TomlReader& r, const toml::table& t, MitigationSettings* out) {
  const std::string path = "mitigation";
  r.checkKeys(t, path, kMitigationKeys, kTables);
  r.string(
      t, path, "backend", [](std::string_view s) { return contains(kMitigationBackends, s); },
      oneOf(kMitigationBackends), &out->backend);
  r.boolean(t, path, "flowspec", &out->flowspec);
  r.boolean(t, path, "rtbh", &out->rtbh);
  r.string(t, path, "rtbh_community", validCommunity,
           "a BGP community \"ASN:VALUE\" with both numbers from 0 to 65535, such as "
           "\"65535:666\"",
           &out->rtbh_community);
  r.string(
      t, path, "rtbh_next_hop",
      [](std::string_view s) {
        return s.find('\0') == std::string_view::npos && IpAddress::parse(s).has_value();
      },
      "an IPv4 or IPv6 address such as \"192.0.2.1\"", &out->rtbh_next_hop);
  r.prefixList(t, path, "never", &out->never);
  constexpr double kHuge = 1e15;
  r.number(t, path, "min_pps", kHuge, "a number of at least 0", &out->min_pps,
           /*allow_zero=*/true);
  r.number(t, path, "min_mbps", kHuge, "a number of at least 0", &out->min_mbps,
           /*allow_zero=*/true);
}

}  // namespace bw::config_internal
