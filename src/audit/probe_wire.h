// Shared by the probe parsers: a bounds-checked reader, ASN.1 BER TLVs (CLDAP, SNMP), text
// clean-up for the details JSON, and the bounded ways a parser adds to ReplyInfo.
//
// Everything here reads untrusted bytes: no read goes past the span it was given, no loop
// runs longer than its input, and nothing added to ReplyInfo grows past a fixed cap however
// many datagrams a target sends. Strings put into details are printable ASCII only, so
// nlohmann::json::dump() can never meet invalid UTF-8. Internal to src/audit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "audit/probe.h"
#include "core/bytes.h"

namespace bw::audit::wire {

inline constexpr std::size_t kMaxText = 256;      // characters kept of any one string
inline constexpr std::size_t kMaxListItems = 32;  // entries kept in any details list
inline constexpr std::size_t kMaxVersionText = 128;

// Sequential reader over one span. Every read checks the remaining length first and leaves
// the position unchanged when it fails.
class Reader {
 public:
  explicit Reader(ByteSpan bytes) noexcept : bytes_(bytes) {}

  std::size_t pos() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
  bool empty() const noexcept { return pos_ == bytes_.size(); }
  ByteSpan rest() const noexcept { return bytes_.subspan(pos_); }

  bool u8(std::uint8_t& v) noexcept {
    if (remaining() < 1) return false;
    v = bytes_[pos_++];
    return true;
  }
  bool be16(std::uint16_t& v) noexcept {
    if (remaining() < 2) return false;
    v = loadBe16(bytes_.data() + pos_);
    pos_ += 2;
    return true;
  }
  bool be32(std::uint32_t& v) noexcept {
    if (remaining() < 4) return false;
    v = loadBe32(bytes_.data() + pos_);
    pos_ += 4;
    return true;
  }
  bool skip(std::size_t n) noexcept {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  bool take(std::size_t n, ByteSpan& out) noexcept {
    if (remaining() < n) return false;
    out = bytes_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

 private:
  ByteSpan bytes_;
  std::size_t pos_ = 0;
};

inline std::string_view asText(ByteSpan b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline ByteSpan asBytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Printable ASCII copy of `text`: control characters and bytes >= 0x7F become '.', leading and
// trailing blanks are dropped, and at most `max` characters are kept.
std::string printable(std::string_view text, std::size_t max = kMaxText);

bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept;
// Position of `needle` in `hay` ignoring ASCII case, or npos.
std::size_t findIgnoreCase(std::string_view hay, std::string_view needle) noexcept;

// "aa:bb:cc:dd:ee:ff". REQUIRES: mac.size() == 6.
std::string macText(ByteSpan mac);
// Dotted quad. REQUIRES: v4.size() == 4.
std::string ipv4Text(ByteSpan v4);

// Skips one DNS-encoded name (DNS, NetBIOS name service). A compression pointer ends the
// name where it stands, so it is never followed and cannot loop; label types 0x40/0x80 are
// obsolete and rejected, and so is a name over 255 bytes.
bool skipDnsName(Reader& r) noexcept;

// The 12-byte header DNS and the NetBIOS name service share (RFC 1035 4.1.1, RFC 1002 4.2.1).
struct DnsHeader {
  std::uint16_t id = 0, flags = 0, qd = 0, an = 0, ns = 0, ar = 0;
};
// Reads the header of a reply to the query with id `token`. A reply too short for it, with
// another id, or without the response bit (our own query reflected back) is rejected in
// `info` ("short", "wrong_id", "not_response") and false returned.
bool readDnsReplyHeader(Reader& r, std::uint16_t token, ReplyInfo& info, DnsHeader& h);

// --- Adding to ReplyInfo ------------------------------------------------------------------

// Counts one reply the parser turned down, by reason, under details["rejected"]: a fixed
// vocabulary per probe, so the map stays small.
void reject(ReplyInfo& info, const char* reason);
// Adds `n` to the counter details[key].
void addCount(ReplyInfo& info, const char* key, std::uint64_t n);
// Sets details[key] to `value`.
void set(ReplyInfo& info, const char* key, nlohmann::json value);
// Sets details[key] to `value` unless it already holds one (first reply wins).
void setOnce(ReplyInfo& info, const char* key, nlohmann::json value);
// Appends `value` to the list details[key] unless it is already there or the list is full.
void appendDistinct(ReplyInfo& info, const char* key, nlohmann::json value,
                    std::size_t max = kMaxListItems);
// Sets info.version from the reply's own text when no earlier reply did.
void setVersion(ReplyInfo& info, std::string_view text);

// --- ASN.1 BER (definite lengths, single-byte tags: all LDAP and SNMP need) --------------

struct Tlv {
  std::uint8_t tag = 0;
  ByteSpan value;
};

// Reads one TLV. Fails (reader unchanged) on a multi-byte tag, an indefinite or over-long
// length, or a value that runs past the reader's end.
bool readTlv(Reader& r, Tlv& out) noexcept;
// Reads one TLV and checks its tag.
bool readTlv(Reader& r, std::uint8_t tag, Tlv& out) noexcept;
// Two's-complement INTEGER/ENUMERATED of 1..8 octets.
bool berInteger(ByteSpan v, std::int64_t& out) noexcept;
// Dotted OBJECT IDENTIFIER ("1.3.6.1.2.1.1.1.0"); fails on a malformed encoding, on an arc
// over 32 bits, or when the text would pass kMaxText.
bool berOid(ByteSpan v, std::string& out);

namespace ber {
inline constexpr std::uint8_t kInteger = 0x02;
inline constexpr std::uint8_t kOctetString = 0x04;
inline constexpr std::uint8_t kNull = 0x05;
inline constexpr std::uint8_t kOid = 0x06;
inline constexpr std::uint8_t kEnumerated = 0x0A;
inline constexpr std::uint8_t kSequence = 0x30;
inline constexpr std::uint8_t kSet = 0x31;
}  // namespace ber

// Appends a TLV with a definite length (short or long form) to `out`.
// REQUIRES: value.size() <= 0xFFFF (requests are a few hundred bytes).
void appendTlv(std::string& out, std::uint8_t tag, std::string_view value);
// Minimal two's-complement encoding of a non-negative INTEGER value.
std::string berIntegerBytes(std::uint32_t v);

}  // namespace bw::audit::wire
