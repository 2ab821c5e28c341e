// SNMP probe (UDP 161): an SNMPv2c GetBulk of the system group with the community "public",
// what `snmpbulkget -v2c -c public HOST system` sends.
//
// GetBulk is the amplifying request (one varbind in, max-repetitions out); 10 repetitions,
// the net-snmp default, cover the system group and keep the probe modest. The request id is
// the token. v1/v2c agents drop requests with a wrong community silently, so any well-formed
// GetResponse with our request id shows the community is accepted; it counts as exposure
// when it says noError and carries varbinds. An error status (tooBig, authorizationError...)
// is recorded, not exposure. sysDescr becomes the version; sysName, sysObjectID, sysLocation
// and sysUpTime go to details.
#include <array>
#include <string>
#include <string_view>

#include "audit/probe_factories.h"
#include "audit/probe_wire.h"

namespace bw::audit {
namespace {

using wire::Reader;
using wire::Tlv;

constexpr std::uint8_t kGetRequest = 0xA0;
constexpr std::uint8_t kGetNextRequest = 0xA1;
constexpr std::uint8_t kGetResponse = 0xA2;
constexpr std::uint8_t kGetBulkRequest = 0xA5;
constexpr std::uint8_t kTimeTicks = 0x43;
constexpr std::int64_t kVersion1 = 0;
constexpr std::int64_t kVersion2c = 1;
constexpr std::uint8_t kMaxRepetitions = 10;
constexpr std::string_view kCommunity = "public";
// 1.3.6.1.2.1.1: mib-2 system.
constexpr std::string_view kSystemOid = "\x2b\x06\x01\x02\x01\x01";

const char* errorStatusName(std::int64_t s) noexcept {
  static constexpr std::array<const char*, 19> kNames = {"noError",
                                                         "tooBig",
                                                         "noSuchName",
                                                         "badValue",
                                                         "readOnly",
                                                         "genErr",
                                                         "noAccess",
                                                         "wrongType",
                                                         "wrongLength",
                                                         "wrongEncoding",
                                                         "wrongValue",
                                                         "noCreation",
                                                         "inconsistentValue",
                                                         "resourceUnavailable",
                                                         "commitFailed",
                                                         "undoFailed",
                                                         "authorizationError",
                                                         "notWritable",
                                                         "inconsistentName"};
  return s >= 0 && s < static_cast<std::int64_t>(kNames.size()) ? kNames[s] : "other";
}

// Reads the value of one system-group varbind into details.
void keepVarbind(std::string_view oid, const Tlv& value, ReplyInfo& info) {
  if (value.tag == wire::ber::kOctetString) {
    const std::string text = wire::printable(wire::asText(value.value));
    if (oid == "1.3.6.1.2.1.1.1.0") {
      wire::setOnce(info, "sys_descr", text);
      wire::setVersion(info, text);
    } else if (oid == "1.3.6.1.2.1.1.5.0") {
      wire::setOnce(info, "sys_name", text);
    } else if (oid == "1.3.6.1.2.1.1.6.0") {
      wire::setOnce(info, "sys_location", text);
    }
  } else if (value.tag == wire::ber::kOid && oid == "1.3.6.1.2.1.1.2.0") {
    std::string id;
    if (wire::berOid(value.value, id)) wire::setOnce(info, "sys_object_id", id);
  } else if (value.tag == kTimeTicks && oid == "1.3.6.1.2.1.1.3.0" && !value.value.empty() &&
             value.value.size() <= 5) {
    std::uint64_t ticks = 0;  // unsigned 32-bit, hundredths of a second
    for (std::uint8_t b : value.value) ticks = ticks << 8 | b;
    wire::setOnce(info, "uptime_s", (ticks & 0xFFFFFFFFu) / 100);
  }
}

class SnmpProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "snmp"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return 161; }

  std::vector<std::uint8_t> request(std::uint16_t token) const override {
    std::string varbind;
    wire::appendTlv(varbind, wire::ber::kOid, kSystemOid);
    wire::appendTlv(varbind, wire::ber::kNull, "");
    std::string varbinds;
    wire::appendTlv(varbinds, wire::ber::kSequence, varbind);
    std::string pdu;
    wire::appendTlv(pdu, wire::ber::kInteger, wire::berIntegerBytes(token));
    wire::appendTlv(pdu, wire::ber::kInteger, wire::berIntegerBytes(0));  // non-repeaters
    wire::appendTlv(pdu, wire::ber::kInteger, wire::berIntegerBytes(kMaxRepetitions));
    wire::appendTlv(pdu, wire::ber::kSequence, varbinds);
    std::string message;
    wire::appendTlv(message, wire::ber::kInteger, wire::berIntegerBytes(kVersion2c));
    wire::appendTlv(message, wire::ber::kOctetString, kCommunity);
    wire::appendTlv(message, kGetBulkRequest, pdu);
    std::string out;
    wire::appendTlv(out, wire::ber::kSequence, message);
    return {out.begin(), out.end()};
  }

  void parse(ByteSpan reply, std::uint16_t token, ReplyInfo& info) const override {
    Reader r(reply);
    Tlv message, version, community, pdu;
    std::int64_t version_value = -1;
    if (!wire::readTlv(r, wire::ber::kSequence, message)) {
      wire::reject(info, "malformed");
      return;
    }
    Reader m(message.value);
    if (!wire::readTlv(m, wire::ber::kInteger, version) ||
        !wire::berInteger(version.value, version_value) ||
        !wire::readTlv(m, wire::ber::kOctetString, community) || !wire::readTlv(m, pdu)) {
      wire::reject(info, "malformed");
      return;
    }
    if (version_value != kVersion1 && version_value != kVersion2c) {
      wire::reject(info, "wrong_version");
      return;
    }
    if (pdu.tag == kGetBulkRequest || pdu.tag == kGetRequest || pdu.tag == kGetNextRequest) {
      wire::reject(info, "not_response");
      return;
    }
    if (pdu.tag != kGetResponse) {
      wire::reject(info, "wrong_pdu");
      return;
    }
    Reader p(pdu.value);
    Tlv id, status, index, list;
    std::int64_t id_value = -1, status_value = -1, index_value = -1;
    if (!wire::readTlv(p, wire::ber::kInteger, id) || !wire::berInteger(id.value, id_value) ||
        !wire::readTlv(p, wire::ber::kInteger, status) ||
        !wire::berInteger(status.value, status_value) ||
        !wire::readTlv(p, wire::ber::kInteger, index) ||
        !wire::berInteger(index.value, index_value) ||
        !wire::readTlv(p, wire::ber::kSequence, list)) {
      wire::reject(info, "malformed");
      return;
    }
    if (id_value != token) {
      wire::reject(info, "wrong_id");
      return;
    }
    wire::setOnce(info, "snmp_version", version_value == kVersion1 ? "v1" : "v2c");
    wire::setOnce(info, "community", wire::printable(wire::asText(community.value)));
    info.complete = true;
    if (status_value != 0) {
      wire::setOnce(info, "error_status", errorStatusName(status_value));
      return;
    }
    Reader l(list.value);
    std::uint64_t count = 0;
    while (!l.empty()) {
      Tlv varbind, name, value;
      if (!wire::readTlv(l, wire::ber::kSequence, varbind)) break;
      Reader v(varbind.value);
      std::string oid;
      if (!wire::readTlv(v, wire::ber::kOid, name) || !wire::readTlv(v, value) ||
          !wire::berOid(name.value, oid)) {
        break;
      }
      keepVarbind(oid, value, info);
      ++count;
    }
    if (count == 0 || !l.empty()) {
      wire::reject(info, "malformed");
      return;
    }
    wire::addCount(info, "varbinds", count);
    info.positive = true;
  }

  std::string advice() const override {
    return "SNMP answers the default community \"public\": disable SNMP if unused, otherwise "
           "change the community, restrict the agent to your management hosts (net-snmp: "
           "`agentaddress` on an internal address and `rocommunity <secret> <mgmt prefix>`) or "
           "move to SNMPv3 with authentication, and filter UDP 161 at the edge.";
  }
};

}  // namespace

std::unique_ptr<Probe> makeSnmpProbe() { return std::make_unique<SnmpProbe>(); }

}  // namespace bw::audit
