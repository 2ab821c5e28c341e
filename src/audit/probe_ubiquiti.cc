// Ubiquiti discovery probe (UDP 10001): the four-byte version 1 discovery request
// (01 00 00 00) that UniFi/airOS tools broadcast and `nmap --script ubiquiti-discovery`
// sends.
//
// A reply is a 4-byte header (version, command, payload length) and type-length-value fields
// (1-byte type, 2-byte length). It counts when the version is 1 or 2 (v2 is what newer
// firmware announces), the length covers exactly the TLVs, every TLV fits, and at least one
// identifying field (MAC, address, firmware, hostname, model) is there; our own request, with
// no fields, is not exposure. There is no id to match; one datagram is the whole answer.
#include <string>

#include "audit/probe_factories.h"
#include "audit/probe_wire.h"

namespace bw::audit {
namespace {

using wire::Reader;

constexpr std::uint8_t kTlvMac = 0x01;
constexpr std::uint8_t kTlvMacIp = 0x02;
constexpr std::uint8_t kTlvFirmware = 0x03;
constexpr std::uint8_t kTlvUptime = 0x0A;
constexpr std::uint8_t kTlvHostname = 0x0B;
constexpr std::uint8_t kTlvProduct = 0x0C;
constexpr std::uint8_t kTlvEssid = 0x0D;
constexpr std::uint8_t kTlvModel = 0x14;
constexpr std::uint8_t kTlvModelShort = 0x15;
constexpr std::size_t kMaxAddresses = 8;

class UbiquitiProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "ubiquiti"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return 10001; }

  std::vector<std::uint8_t> request(std::uint16_t /*token: no id in v1*/) const override {
    return {0x01, 0x00, 0x00, 0x00};
  }

  void parse(ByteSpan reply, std::uint16_t /*token*/, ReplyInfo& info) const override {
    Reader r(reply);
    std::uint8_t version = 0, command = 0;
    std::uint16_t length = 0;
    if (!r.u8(version) || !r.u8(command) || !r.be16(length)) {
      wire::reject(info, "short");
      return;
    }
    if (version != 1 && version != 2) {
      wire::reject(info, "wrong_version");
      return;
    }
    if (length == 0) {
      wire::reject(info, "not_response");  // a request carries no fields
      return;
    }
    ByteSpan fields;
    if (!r.take(length, fields)) {
      wire::reject(info, "malformed");
      return;
    }
    // Read everything first so a malformed reply adds nothing to details.
    Reader f(fields);
    std::size_t identifying = 0;
    while (!f.empty()) {
      std::uint8_t type = 0;
      std::uint16_t len = 0;
      ByteSpan value;
      if (!f.u8(type) || !f.be16(len) || !f.take(len, value)) {
        wire::reject(info, "malformed");
        return;
      }
      if ((type == kTlvMac && len == 6) || (type == kTlvMacIp && len == 10) ||
          ((type == kTlvFirmware || type == kTlvHostname || type == kTlvModel ||
            type == kTlvProduct) &&
           len > 0)) {
        ++identifying;
      }
    }
    if (identifying == 0) {
      wire::reject(info, "no_fields");
      return;
    }
    f = Reader(fields);
    while (!f.empty()) {
      std::uint8_t type = 0;
      std::uint16_t len = 0;
      ByteSpan value;
      (void)(f.u8(type) && f.be16(len) && f.take(len, value));
      const std::string text = wire::printable(wire::asText(value));
      switch (type) {
        case kTlvMac:
          if (len == 6) wire::setOnce(info, "mac", wire::macText(value));
          break;
        case kTlvMacIp:
          if (len == 10) {
            wire::setOnce(info, "mac", wire::macText(value.first(6)));
            wire::appendDistinct(info, "addresses", wire::ipv4Text(value.subspan(6, 4)),
                                 kMaxAddresses);
          }
          break;
        case kTlvFirmware:
          wire::setOnce(info, "firmware", text);
          wire::setVersion(info, text);
          break;
        case kTlvUptime:
          if (len == 4) wire::setOnce(info, "uptime_s", loadBe32(value.data()));
          break;
        case kTlvHostname:
          wire::setOnce(info, "hostname", text);
          break;
        case kTlvProduct:
          wire::setOnce(info, "product", text);
          break;
        case kTlvEssid:
          wire::setOnce(info, "essid", text);
          break;
        case kTlvModel:
        case kTlvModelShort:
          wire::setOnce(info, "model", text);
          break;
        default:
          break;
      }
    }
    wire::setOnce(info, "protocol_version", version);
    info.positive = true;
    info.complete = true;
  }

  std::string advice() const override {
    return "Ubiquiti discovery (UDP 10001) answers from outside: disable the discovery service "
           "(airOS: Services > Discovery off; UniFi/EdgeOS: `set service ubnt-discover "
           "disable`), update the firmware, and filter UDP 10001 at the edge.";
  }
};

}  // namespace

std::unique_ptr<Probe> makeUbiquitiProbe() { return std::make_unique<UbiquitiProbe>(); }

}  // namespace bw::audit
