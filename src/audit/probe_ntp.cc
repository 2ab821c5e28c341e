// NTP probes (UDP 123): two services, because they expose different things.
//
// "ntp": a mode 6 (control) READVAR for the system variables, what `ntpq -c rv HOST` sends.
//   The sequence number carries the token and is echoed. A reply with the response bit, the
//   READVAR opcode, our sequence and no error bit is positive; its variables (version,
//   system, processor, stratum, refid, leap) go to details. Long replies come in fragments
//   (the "more" bit); each fragment's complete variables are read on their own.
// "ntp-monlist": a mode 7 (private) MON_GETLIST_1 request for implementation 3 (XNTPD), the
//   48 bytes `ntpdc -n -c monlist HOST` sends and the 2014 floods reflected. Mode 7 has no
//   field that is echoed, so a reply matches by mode, response bit, implementation and
//   request code. Positive only when it carries monitor entries; an error reply (ntpd >=
//   4.2.7p26 answers "no data", others refuse the request) is recorded, not exposure.
#include <array>
#include <string>
#include <string_view>

#include "audit/probe_factories.h"
#include "audit/probe_wire.h"

namespace bw::audit {
namespace {

using wire::Reader;

constexpr std::uint16_t kNtpPort = 123;
constexpr std::uint8_t kModeControl = 6;
constexpr std::uint8_t kModePrivate = 7;
constexpr std::uint8_t kVersion = 2;  // what ntpq and ntpdc put in their requests
constexpr std::uint8_t kOpReadvar = 2;
constexpr std::uint8_t kImplXntpd = 3;
constexpr std::uint8_t kImplXntpdOld = 2;
constexpr std::uint8_t kReqMonGetlist1 = 42;
constexpr std::size_t kControlHeader = 12;
constexpr std::size_t kPrivateRequest = 48;  // header + the 40-byte data area, no MAC

// System variables worth reporting; the rest are clock state of no use to the operator.
constexpr std::array<std::string_view, 6> kKeptVariables = {"version", "system", "processor",
                                                            "stratum", "refid",  "leap"};

std::string_view trim(std::string_view s) noexcept {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// Variable names are identifiers; anything else is the tail of a value that began in the
// previous fragment.
bool isVariableName(std::string_view key) noexcept {
  if (key.empty()) return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Reads the "name=value, name="quoted, value", ..." list of one fragment. Returns how many
// variables it saw. A quoted value that runs past the fragment is not kept: the rest of it is
// in the next fragment.
std::size_t readVariables(std::string_view text, ReplyInfo& info) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t key_end = i;
    while (key_end < text.size() && text[key_end] != '=' && text[key_end] != ',') ++key_end;
    const std::string_view key = trim(text.substr(i, key_end - i));
    std::string_view value;
    bool whole = true;
    std::size_t next = key_end;
    if (key_end < text.size() && text[key_end] == '=') {
      std::size_t v = key_end + 1;
      while (v < text.size() && (text[v] == ' ' || text[v] == '\t')) ++v;
      if (v < text.size() && text[v] == '"') {
        const std::size_t close = text.find('"', v + 1);
        whole = close != std::string_view::npos;
        const std::size_t end = whole ? close : text.size();
        value = text.substr(v + 1, end - v - 1);
        next = text.find(',', end);
        if (next == std::string_view::npos) next = text.size();
      } else {
        next = text.find(',', v);
        if (next == std::string_view::npos) next = text.size();
        value = trim(text.substr(v, next - v));
      }
    }
    if (isVariableName(key)) {
      ++count;
      for (std::string_view kept : kKeptVariables) {
        if (whole && key == kept) {
          wire::setOnce(info, std::string(kept).c_str(), wire::printable(value));
          if (kept == "version") wire::setVersion(info, value);
        }
      }
    }
    i = next + 1;
  }
  return count;
}

class NtpReadvarProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "ntp"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return kNtpPort; }

  std::vector<std::uint8_t> request(std::uint16_t token) const override {
    std::vector<std::uint8_t> q(kControlHeader, 0);
    q[0] = kVersion << 3 | kModeControl;
    q[1] = kOpReadvar;
    storeBe16(q.data() + 2, token);  // sequence; association 0 = the system variables
    return q;
  }

  void parse(ByteSpan reply, std::uint16_t token, ReplyInfo& info) const override {
    Reader r(reply);
    std::uint8_t vn_mode = 0, op = 0;
    std::uint16_t seq = 0, status = 0, assoc = 0, offset = 0, count = 0;
    if (!r.u8(vn_mode) || !r.u8(op) || !r.be16(seq) || !r.be16(status) || !r.be16(assoc) ||
        !r.be16(offset) || !r.be16(count)) {
      wire::reject(info, "short");
      return;
    }
    const unsigned version = vn_mode >> 3 & 7;
    if ((vn_mode & 7) != kModeControl || version < 1 || version > 4) {
      wire::reject(info, "wrong_mode");
      return;
    }
    if ((op & 0x80) == 0) {
      wire::reject(info, "not_response");
      return;
    }
    if ((op & 0x1F) != kOpReadvar) {
      wire::reject(info, "wrong_opcode");
      return;
    }
    if (seq != token) {
      wire::reject(info, "wrong_id");
      return;
    }
    if (op & 0x40) {
      // Error bit: the server speaks mode 6 but will not answer this (the status word's high
      // byte is the error code: 1 unauthorized, 2 bad format, 3 unknown opcode...).
      wire::setOnce(info, "mode6_error", status >> 8);
      info.complete = true;
      return;
    }
    ByteSpan data;
    if (!r.take(count, data)) {
      wire::reject(info, "malformed");
      return;
    }
    wire::addCount(info, "variables", readVariables(wire::asText(data), info));
    wire::addCount(info, "data_bytes", count);
    info.positive = true;
    if ((op & 0x20) == 0) info.complete = true;  // the last fragment
  }

  std::string advice() const override {
    return "NTP answers mode 6 control queries from anywhere: add `restrict default kod "
           "nomodify noquery nopeer limited` (ntpsec and ntpd >= 4.2.7p26 accept it; keep "
           "`restrict 127.0.0.1` and `restrict ::1` for local ntpq), upgrade to a current ntpd "
           "or ntpsec, and filter UDP 123 at the edge on hosts that are not public time "
           "servers.";
  }
};

const char* mode7ErrorName(unsigned err) noexcept {
  switch (err) {
    case 1:
      return "implementation";
    case 2:
      return "request";
    case 3:
      return "format";
    case 4:
      return "no_data";
    case 7:
      return "authentication";
    default:
      return "other";
  }
}

class NtpMonlistProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "ntp-monlist"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return kNtpPort; }

  std::vector<std::uint8_t> request(std::uint16_t /*token: mode 7 echoes nothing*/) const override {
    std::vector<std::uint8_t> q(kPrivateRequest, 0);
    q[0] = kVersion << 3 | kModePrivate;
    q[2] = kImplXntpd;
    q[3] = kReqMonGetlist1;
    return q;
  }

  void parse(ByteSpan reply, std::uint16_t /*token*/, ReplyInfo& info) const override {
    Reader r(reply);
    std::uint8_t rm_vn_mode = 0, auth_seq = 0, impl = 0, req = 0;
    std::uint16_t err_nitems = 0, mbz_itemsize = 0;
    if (!r.u8(rm_vn_mode) || !r.u8(auth_seq) || !r.u8(impl) || !r.u8(req) || !r.be16(err_nitems) ||
        !r.be16(mbz_itemsize)) {
      wire::reject(info, "short");
      return;
    }
    const unsigned version = rm_vn_mode >> 3 & 7;
    if ((rm_vn_mode & 7) != kModePrivate || version < 1 || version > 4) {
      wire::reject(info, "wrong_mode");
      return;
    }
    if ((rm_vn_mode & 0x80) == 0) {
      wire::reject(info, "not_response");  // our own request, reflected back
      return;
    }
    if ((impl != kImplXntpd && impl != kImplXntpdOld) || req != kReqMonGetlist1) {
      wire::reject(info, "wrong_request");
      return;
    }
    const unsigned err = err_nitems >> 12;
    const std::size_t nitems = err_nitems & 0x0FFF;
    const std::size_t itemsize = mbz_itemsize & 0x0FFF;
    if (err != 0) {
      wire::setOnce(info, "mode7_error", mode7ErrorName(err));
      info.complete = true;
      return;
    }
    if (nitems == 0 || itemsize == 0 || !r.skip(nitems * itemsize)) {
      wire::reject(info, "malformed");
      return;
    }
    wire::set(info, "monlist", true);
    wire::addCount(info, "monlist_entries", nitems);
    wire::setOnce(info, "item_size", itemsize);
    info.positive = true;
    if ((rm_vn_mode & 0x40) == 0) info.complete = true;  // no "more" bit: the last datagram
  }

  std::string advice() const override {
    return "NTP monlist (mode 7 MON_GETLIST) is answered, a 200-fold amplifier: upgrade to ntpd "
           ">= 4.2.7p26 or ntpsec (monlist removed), or add `disable monitor` and `restrict "
           "default kod nomodify noquery nopeer limited` to ntp.conf; filter UDP 123 at the edge "
           "on hosts that are not public time servers.";
  }
};

}  // namespace

std::unique_ptr<Probe> makeNtpReadvarProbe() { return std::make_unique<NtpReadvarProbe>(); }
std::unique_ptr<Probe> makeNtpMonlistProbe() { return std::make_unique<NtpMonlistProbe>(); }

}  // namespace bw::audit
