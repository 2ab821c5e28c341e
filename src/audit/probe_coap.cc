// CoAP probe (UDP 5683): a confirmable GET of /.well-known/core (RFC 6690 resource
// discovery), what `coap-client -m get coap://HOST/.well-known/core` sends.
//
// Both the message id and the 2-byte CoAP token carry the probe token. A reply counts when
// it is CoAP version 1, carries our token (and, when it is a piggybacked ACK, our message
// id), and its code is 2.05 Content with a payload; the link-format payload's resources go to
// details. A reset, an error code (4.04...) or an echo of our GET is not exposure; an empty ACK
// only announces a separate response and is passed over. Later blocks of a block-wise payload
// (Block2 with the "more" flag) are not fetched: the flag is reported instead.
#include <cstdio>
#include <string>
#include <string_view>

#include "audit/probe_factories.h"
#include "audit/probe_wire.h"

namespace bw::audit {
namespace {

using wire::Reader;

constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kTypeCon = 0;
constexpr std::uint8_t kTypeAck = 2;
constexpr std::uint8_t kTypeRst = 3;
constexpr std::uint8_t kCodeEmpty = 0x00;
constexpr std::uint8_t kCodeGet = 0x01;
constexpr std::uint8_t kCodeContent = 0x45;  // 2.05
constexpr std::uint8_t kTokenLength = 2;
constexpr std::uint16_t kOptionUriPath = 11;
constexpr std::uint16_t kOptionContentFormat = 12;
constexpr std::uint16_t kOptionBlock2 = 23;
constexpr std::uint8_t kPayloadMarker = 0xFF;
constexpr std::size_t kMaxResourceText = 128;

// Reads an option's extended delta or length nibble (13: one more byte, 14: two more).
bool extended(Reader& r, std::uint8_t nibble, std::uint32_t& out) noexcept {
  if (nibble < 13) {
    out = nibble;
    return true;
  }
  if (nibble == 13) {
    std::uint8_t b = 0;
    if (!r.u8(b)) return false;
    out = b + 13u;
    return true;
  }
  if (nibble == 14) {
    std::uint16_t b = 0;
    if (!r.be16(b)) return false;
    out = b + 269u;
    return true;
  }
  return false;  // 15 is reserved outside the payload marker
}

std::uint32_t optionUint(ByteSpan v) noexcept {
  std::uint32_t u = 0;
  for (std::size_t i = 0; i < v.size() && i < 4; ++i) u = u << 8 | v[i];
  return u;
}

// RFC 6690 link format: "</sensors/temp>;rt=\"t\";if=\"s\",</light>;...". Counts the links
// and keeps the targets.
void keepLinks(std::string_view payload, ReplyInfo& info) {
  std::uint64_t links = 0;
  std::size_t at = 0;
  while ((at = payload.find('<', at)) != std::string_view::npos) {
    const std::size_t close = payload.find('>', at + 1);
    if (close == std::string_view::npos) break;
    ++links;
    wire::appendDistinct(info, "resources",
                         wire::printable(payload.substr(at + 1, close - at - 1), kMaxResourceText));
    at = close + 1;
  }
  wire::addCount(info, "resource_count", links);
}

class CoapProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "coap"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return 5683; }

  std::vector<std::uint8_t> request(std::uint16_t token) const override {
    std::vector<std::uint8_t> q = {
        static_cast<std::uint8_t>(kVersion << 6 | kTypeCon << 4 | kTokenLength),
        kCodeGet,
        0,
        0,
        0,
        0};
    storeBe16(q.data() + 2, token);  // message id
    storeBe16(q.data() + 4, token);  // token
    constexpr std::string_view kSegments[] = {".well-known", "core"};
    std::uint16_t last = 0;
    for (std::string_view s : kSegments) {
      // Both segments are shorter than 13 bytes and the delta is 11 or 0: one header byte.
      q.push_back(static_cast<std::uint8_t>((kOptionUriPath - last) << 4 | s.size()));
      q.insert(q.end(), s.begin(), s.end());
      last = kOptionUriPath;
    }
    return q;
  }

  void parse(ByteSpan reply, std::uint16_t token, ReplyInfo& info) const override {
    Reader r(reply);
    std::uint8_t first = 0, code = 0;
    std::uint16_t message_id = 0;
    if (!r.u8(first) || !r.u8(code) || !r.be16(message_id)) {
      wire::reject(info, "short");
      return;
    }
    const std::uint8_t type = first >> 4 & 3;
    const std::uint8_t tkl = first & 0xF;
    if (first >> 6 != kVersion || tkl > 8) {
      wire::reject(info, "malformed");
      return;
    }
    if (type == kTypeRst) {
      wire::reject(info, "reset");
      return;
    }
    if (code == kCodeEmpty) return;  // an empty ACK: the response follows separately
    if (code < 0x20) {
      wire::reject(info, "not_response");  // a request, e.g. our own GET reflected
      return;
    }
    ByteSpan reply_token;
    if (!r.take(tkl, reply_token)) {
      wire::reject(info, "malformed");
      return;
    }
    if (tkl != kTokenLength || loadBe16(reply_token.data()) != token ||
        (type == kTypeAck && message_id != token)) {
      wire::reject(info, "wrong_id");
      return;
    }
    std::uint32_t number = 0;
    std::uint32_t content_format = 0;
    bool has_format = false;
    bool more_blocks = false;
    ByteSpan payload;
    while (!r.empty()) {
      std::uint8_t b = 0;
      (void)r.u8(b);
      if (b == kPayloadMarker) {
        payload = r.rest();
        if (payload.empty()) {
          wire::reject(info, "malformed");  // a marker must be followed by a payload
          return;
        }
        break;
      }
      std::uint32_t delta = 0, length = 0;
      ByteSpan value;
      if (!extended(r, b >> 4, delta) || !extended(r, b & 0xF, length) || !r.take(length, value)) {
        wire::reject(info, "malformed");
        return;
      }
      number += delta;  // at most 65804 per option of >= 3 bytes: no overflow in 64 KiB
      if (number == kOptionContentFormat) {
        content_format = optionUint(value);
        has_format = true;
      } else if (number == kOptionBlock2 && !value.empty()) {
        more_blocks = (value.back() & 0x08) != 0;
      }
    }
    char code_text[8];
    std::snprintf(code_text, sizeof code_text, "%u.%02u", code >> 5, code & 0x1Fu);
    wire::setOnce(info, "code", code_text);
    info.complete = true;
    if (code != kCodeContent) return;
    if (payload.empty()) {
      wire::reject(info, "no_content");  // discovery always lists at least itself
      return;
    }
    if (has_format) wire::setOnce(info, "content_format", content_format);
    if (more_blocks) wire::set(info, "more_blocks", true);
    keepLinks(wire::asText(payload), info);
    info.positive = true;
  }

  std::string advice() const override {
    return "CoAP (UDP 5683) answers resource discovery from outside: restrict the CoAP server "
           "to the local network or a VPN, require DTLS (coaps, UDP 5684) where it must be "
           "reachable, update the device firmware, and filter UDP 5683 at the edge.";
  }
};

}  // namespace

std::unique_ptr<Probe> makeCoapProbe() { return std::make_unique<CoapProbe>(); }

}  // namespace bw::audit
