#include "synth/spec.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <vector>

namespace bw::synth {
// Numbers accept a k/M/G suffix (x1e3, x1e6, x1e9): pps=20k, reflectors=5M.
bool parseScaledNumber(std::string_view v, double* out) {
  if (v.empty()) return false;
  double scale = 1;
  switch (v.back()) {
    case 'k':
    case 'K':
      scale = 1e3;
      v.remove_suffix(1);
      break;
    case 'M':
      scale = 1e6;
      v.remove_suffix(1);
      break;
    case 'G':
      scale = 1e9;
      v.remove_suffix(1);
      break;
    default:
      break;
  }
  double d = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc{} || ptr != v.data() + v.size() || !std::isfinite(d)) return false;
  *out = d * scale;
  return true;
}

namespace {

struct KeyValue {
  std::string_view key;
  std::string_view value;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Parses one spec with the callback `apply(key, value)`, which returns an empty string when
// it accepted the pair and otherwise the problem ("must be ...").
class SpecParser {
 public:
  SpecParser(const char* option, std::string_view text, const char* keys)
      : option_(option), text_(text), keys_(keys) {}

  std::optional<Error> run(
      const std::function<std::optional<std::string>(std::string_view, std::string_view)>& apply) {
    if (trim(text_).empty()) return fail("is empty; expected key=value pairs such as " + example());
    std::vector<std::string_view> seen;
    std::string_view rest = text_;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (item.empty()) continue;
      auto eq = item.find('=');
      if (eq == std::string_view::npos) {
        return fail("'" + std::string(item) + "' is not key=value (keys: " + keys_ + ")");
      }
      std::string_view key = trim(item.substr(0, eq));
      std::string_view value = trim(item.substr(eq + 1));
      for (auto k : seen) {
        if (k == key) return fail("key '" + std::string(key) + "' is given twice");
      }
      seen.push_back(key);
      if (auto problem = apply(key, value)) {
        if (problem->empty()) {
          return fail("unknown key '" + std::string(key) + "' (valid keys: " + keys_ + ")");
        }
        return fail(std::string(key) + "=" + std::string(value) + ": " + *problem);
      }
    }
    return std::nullopt;
  }

 private:
  std::string example() const {
    return std::string(option_) == "--attack" ? "vector=memcached,pps=20000" : "pps=100";
  }
  Error fail(const std::string& what) const {
    return Error{std::string(option_) + " '" + std::string(text_) + "': " + what};
  }
  const char* option_;
  std::string_view text_;
  const char* keys_;
};

std::optional<std::string> number(std::string_view v, double* out, double min, double max,
                                  const char* what) {
  double d = 0;
  if (!parseScaledNumber(v, &d) || d < min || d > max) return std::string("must be ") + what;
  *out = d;
  return std::nullopt;
}

template <typename T>
std::optional<std::string> integer(std::string_view v, T* out, double min, double max,
                                   const char* what) {
  double d = 0;
  if (!parseScaledNumber(v, &d) || d < min || d > max || d != std::floor(d)) {
    return std::string("must be ") + what;
  }
  *out = static_cast<T>(d);
  return std::nullopt;
}

std::optional<std::string> flag(std::string_view v, bool* out) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") {
    *out = true;
  } else if (v == "0" || v == "false" || v == "no" || v == "off") {
    *out = false;
  } else {
    return std::string("must be 1 or 0");
  }
  return std::nullopt;
}

std::optional<std::string> address(std::string_view v, std::optional<IpAddress>* out) {
  auto a = IpAddress::parse(v);
  if (!a) return std::string("must be an IPv4 or IPv6 address");
  *out = *a;
  return std::nullopt;
}

std::optional<std::string> prefix(std::string_view v, std::optional<Prefix>* out) {
  auto p = Prefix::parse(v);
  if (!p) return std::string("must be a prefix such as 192.0.2.0/24 or 2001:db8::/64");
  *out = *p;
  return std::nullopt;
}

std::optional<std::string> vector(std::string_view v, Vector* out, std::uint16_t* port) {
  Vector parsed = Vector::None;
  std::uint16_t p = 0;
  if (!parseVectorName(v, &parsed, &p) || parsed == Vector::None || parsed == Vector::kCount ||
      (parsed == Vector::GenericUdp && p == 0)) {
    return "unknown vector (valid: " + vectorNameList() + ")";
  }
  *out = parsed;
  *port = parsed == Vector::GenericUdp ? p : 0;
  return std::nullopt;
}

}  // namespace

std::string vectorNameList() {
  std::string out;
  for (int v = static_cast<int>(Vector::Memcached); v < static_cast<int>(Vector::GenericUdp); ++v) {
    out += vectorName(static_cast<Vector>(v));
    out += ", ";
  }
  return out + "udp:PORT";
}

Result<AttackSpec> parseAttackSpec(std::string_view text) {
  AttackSpec a;
  SpecParser parser("--attack", text, kAttackKeys);
  auto error =
      parser.run([&](std::string_view k, std::string_view v) -> std::optional<std::string> {
        if (k == "vector") return vector(v, &a.vector, &a.port);
        if (k == "victim") return address(v, &a.victim);
        if (k == "direction") {
          if (v == "inbound" || v == "in") {
            a.direction = Direction::Inbound;
          } else if (v == "outbound" || v == "out") {
            a.direction = Direction::Outbound;
          } else {
            return std::string("must be inbound or outbound");
          }
          return std::nullopt;
        }
        if (k == "pps") return number(v, &a.pps, 1e-9, 1e8, "a rate above 0 and at most 100M");
        if (k == "start") return number(v, &a.start, 0, 1e7, "0 or more seconds");
        if (k == "duration")
          return number(v, &a.duration, 0, 1e7, "0 (until the end) or more seconds");
        if (k == "reflectors") return integer(v, &a.reflectors, 1, 1e12, "a count of 1 or more");
        if (k == "reflector_net") return prefix(v, &a.reflector_net);
        if (k == "size") return integer(v, &a.size, 1, 4194304, "a byte count from 1 to 4194304");
        if (k == "mtu") return integer(v, &a.mtu, 0, 65535, "0 (never fragment) or up to 65535");
        if (k == "ransom") return flag(v, &a.ransom);
        if (k == "ipv6") return flag(v, &a.ipv6);
        if (k == "victim_port")
          return integer(v, &a.victim_port, 0, 65535, "a port from 0 (random) to 65535");
        if (k == "timing") {
          if (v == "even") {
            a.timing = Timing::Even;
          } else if (v == "poisson") {
            a.timing = Timing::Poisson;
          } else {
            return std::string("must be even or poisson");
          }
          return std::nullopt;
        }
        return std::string();
      });
  if (error) return *error;
  if (a.vector == Vector::None) {
    return Error{"--attack '" + std::string(text) + "': vector= is required (" + vectorNameList() +
                 ")"};
  }
  if (a.victim && a.ipv6 && a.victim->isV4()) {
    return Error{"--attack '" + std::string(text) + "': ipv6=1 conflicts with the IPv4 victim " +
                 a.victim->toString()};
  }
  return a;
}

Result<BenignSpec> parseBenignSpec(std::string_view text) {
  BenignSpec b;
  bool has_kind = false;
  SpecParser parser("--benign", text, kBenignKeys);
  auto error =
      parser.run([&](std::string_view k, std::string_view v) -> std::optional<std::string> {
        if (k == "kind") {
          if (!parseBenignKind(v, &b.kind)) {
            return std::string("must be web, dns, memcached-tcp, ntp, misc or quic");
          }
          has_kind = true;
          return std::nullopt;
        }
        if (k == "host") return address(v, &b.host);
        if (k == "peers") return integer(v, &b.peers, 1, 1e6, "a count from 1 to 1000000");
        if (k == "pps") return number(v, &b.pps, 1e-9, 1e8, "a rate above 0 and at most 100M");
        if (k == "start") return number(v, &b.start, 0, 1e7, "0 or more seconds");
        if (k == "duration")
          return number(v, &b.duration, 0, 1e7, "0 (until the end) or more seconds");
        if (k == "port") return integer(v, &b.port, 1, 65535, "a port from 1 to 65535");
        return std::string();
      });
  if (error) return *error;
  if (!has_kind) {
    return Error{"--benign '" + std::string(text) +
                 "': kind= is required (web, dns, memcached-tcp, ntp, misc or quic)"};
  }
  if (b.port != 0 && b.kind != BenignKind::Misc) {
    return Error{"--benign '" + std::string(text) + "': port= applies to kind=misc only"};
  }
  return b;
}

Result<ScannerSpec> parseScannerSpec(std::string_view text) {
  ScannerSpec s;
  SpecParser parser("--scanner", text, kScannerKeys);
  auto error =
      parser.run([&](std::string_view k, std::string_view v) -> std::optional<std::string> {
        if (k == "vector") return vector(v, &s.vector, &s.port);
        if (k == "source") return address(v, &s.source);
        if (k == "targets") return prefix(v, &s.targets);
        if (k == "pps") return number(v, &s.pps, 1e-9, 1e8, "a rate above 0 and at most 100M");
        if (k == "start") return number(v, &s.start, 0, 1e7, "0 or more seconds");
        if (k == "passes") return integer(v, &s.passes, 1, 1e6, "a count from 1 to 1000000");
        if (k == "responders")
          return integer(v, &s.responders, 0, 16777216, "a count from 0 to 16777216");
        return std::string();
      });
  if (error) return *error;
  return s;
}

}  // namespace bw::synth
