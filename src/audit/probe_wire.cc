// The bounded reader, BER and the bounded ReplyInfo updates shared by the probe parsers.
#include "audit/probe_wire.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace bw::audit::wire {
namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

nlohmann::json& details(ReplyInfo& info) {
  // Another caller may have left something else there; the contract is an object.
  if (!info.details.is_object()) info.details = nlohmann::json::object();
  return info.details;
}

}  // namespace

std::string printable(std::string_view text, std::size_t max) {
  std::size_t b = 0;
  std::size_t e = text.size();
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0; };
  while (b < e && blank(text[b])) ++b;
  while (e > b && blank(text[e - 1])) --e;
  std::string out;
  out.reserve(std::min(e - b, max));
  for (std::size_t i = b; i < e && out.size() < max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '.');
  }
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::size_t findIgnoreCase(std::string_view hay, std::string_view needle) noexcept {
  if (needle.empty()) return 0;
  if (needle.size() > hay.size()) return std::string_view::npos;
  const char first = lower(needle[0]);
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (lower(hay[i]) != first) continue;
    if (equalsIgnoreCase(hay.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}

std::string macText(ByteSpan mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return buf;
}

std::string ipv4Text(ByteSpan v4) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", v4[0], v4[1], v4[2], v4[3]);
  return buf;
}

bool readDnsReplyHeader(Reader& r, std::uint16_t token, ReplyInfo& info, DnsHeader& h) {
  if (!r.be16(h.id) || !r.be16(h.flags) || !r.be16(h.qd) || !r.be16(h.an) || !r.be16(h.ns) ||
      !r.be16(h.ar)) {
    reject(info, "short");
    return false;
  }
  if (h.id != token) {
    reject(info, "wrong_id");
    return false;
  }
  if ((h.flags & 0x8000) == 0) {  // QR / R: a query, not an answer
    reject(info, "not_response");
    return false;
  }
  return true;
}

bool skipDnsName(Reader& r) noexcept {
  std::size_t total = 0;
  while (true) {
    std::uint8_t len = 0;
    if (!r.u8(len)) return false;
    if (len == 0) return true;
    if ((len & 0xC0) == 0xC0) return r.skip(1);
    if ((len & 0xC0) != 0) return false;
    total += len + 1u;
    if (total > 255 || !r.skip(len)) return false;
  }
}

void reject(ReplyInfo& info, const char* reason) {
  nlohmann::json& d = details(info);
  nlohmann::json& r = d["rejected"];
  if (!r.is_object()) r = nlohmann::json::object();
  nlohmann::json& n = r[reason];
  n = n.is_number_unsigned() ? n.get<std::uint64_t>() + 1 : std::uint64_t{1};
}

void addCount(ReplyInfo& info, const char* key, std::uint64_t n) {
  nlohmann::json& v = details(info)[key];
  v = v.is_number_unsigned() ? v.get<std::uint64_t>() + n : n;
}

void set(ReplyInfo& info, const char* key, nlohmann::json value) {
  details(info)[key] = std::move(value);
}

void setOnce(ReplyInfo& info, const char* key, nlohmann::json value) {
  nlohmann::json& d = details(info);
  if (!d.contains(key)) d[key] = std::move(value);
}

void appendDistinct(ReplyInfo& info, const char* key, nlohmann::json value, std::size_t max) {
  nlohmann::json& list = details(info)[key];
  if (!list.is_array()) list = nlohmann::json::array();
  if (list.size() >= max) return;
  for (const nlohmann::json& v : list) {
    if (v == value) return;
  }
  list.push_back(std::move(value));
}

void setVersion(ReplyInfo& info, std::string_view text) {
  if (!info.version.empty()) return;
  info.version = printable(text, kMaxVersionText);
}

bool readTlv(Reader& r, Tlv& out) noexcept {
  Reader t = r;
  std::uint8_t tag = 0;
  std::uint8_t len0 = 0;
  if (!t.u8(tag) || (tag & 0x1F) == 0x1F || !t.u8(len0)) return false;
  std::size_t len = len0;
  if (len0 & 0x80) {
    // Long form: 1..4 length octets (0x80 alone is the indefinite form, not allowed here).
    const std::size_t n = len0 & 0x7F;
    if (n == 0 || n > 4) return false;
    len = 0;
    for (std::size_t i = 0; i < n; ++i) {
      std::uint8_t b = 0;
      if (!t.u8(b)) return false;
      len = len << 8 | b;
    }
  }
  ByteSpan value;
  if (!t.take(len, value)) return false;
  out.tag = tag;
  out.value = value;
  r = t;
  return true;
}

bool readTlv(Reader& r, std::uint8_t tag, Tlv& out) noexcept {
  Reader t = r;
  Tlv v;
  if (!readTlv(t, v) || v.tag != tag) return false;
  out = v;
  r = t;
  return true;
}

bool berInteger(ByteSpan v, std::int64_t& out) noexcept {
  if (v.empty() || v.size() > 8) return false;
  std::uint64_t u = (v[0] & 0x80) ? ~std::uint64_t{0} : 0;  // sign extension
  for (std::uint8_t b : v) u = u << 8 | b;
  out = static_cast<std::int64_t>(u);
  return true;
}

bool berOid(ByteSpan v, std::string& out) {
  if (v.empty()) return false;
  std::string text;
  std::uint64_t arc = 0;
  bool first = true;
  bool in_arc = false;
  for (std::uint8_t b : v) {
    if (!in_arc && b == 0x80) return false;  // non-minimal arc
    arc = arc << 7 | (b & 0x7F);
    if (arc > 0xFFFFFFFFu) return false;
    in_arc = true;
    if (b & 0x80) continue;
    if (first) {
      // The first arc packs two: 40 * X + Y with X in 0..2.
      const std::uint64_t x = arc < 40 ? 0 : arc < 80 ? 1 : 2;
      text = std::to_string(x) + "." + std::to_string(arc - 40 * x);
      first = false;
    } else {
      text += "." + std::to_string(arc);
    }
    if (text.size() > kMaxText) return false;
    arc = 0;
    in_arc = false;
  }
  if (in_arc) return false;  // the last arc never ended
  out = std::move(text);
  return true;
}

void appendTlv(std::string& out, std::uint8_t tag, std::string_view value) {
  out.push_back(static_cast<char>(tag));
  const std::size_t n = value.size();
  if (n < 0x80) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xFF) {
    out.push_back(static_cast<char>(0x81));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>(0x82));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  }
  out.append(value);
}

std::string berIntegerBytes(std::uint32_t v) {
  std::string b;
  do {
    b.insert(b.begin(), static_cast<char>(v & 0xFF));
    v >>= 8;
  } while (v != 0);
  if (static_cast<unsigned char>(b[0]) & 0x80) b.insert(b.begin(), '\0');  // stay positive
  return b;
}

}  // namespace bw::audit::wire
