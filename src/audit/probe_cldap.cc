// CLDAP probe (UDP 389): an LDAP search for the root DSE over UDP, as Active Directory domain
// controllers answer it for DC location and as the 2016-2017 reflection attacks sent it.
//
// The request is an LDAPv3 searchRequest: base "", scope baseObject, filter
// (objectClass=*), no attribute list (all user attributes), message id = token + 1 (0 is
// reserved for unsolicited notifications). A reply datagram holds one or more LDAPMessages,
// usually a searchResEntry and the searchResDone; each must carry our message id. Positive
// when a searchResEntry arrives: the server handed out its root DSE to an unauthenticated
// UDP client. Some servers put an RFC 1798 user name before the operation; it is skipped.
// Everything is read with definite-length BER TLVs in a fixed shape, so nesting is bounded
// by the code, not by the input.
#include <array>
#include <string>
#include <string_view>

#include "audit/probe_factories.h"
#include "audit/probe_wire.h"

namespace bw::audit {
namespace {

using wire::Reader;
using wire::Tlv;

constexpr std::uint8_t kSearchRequest = 0x63;  // [APPLICATION 3], constructed
constexpr std::uint8_t kSearchResEntry = 0x64;
constexpr std::uint8_t kSearchResDone = 0x65;
constexpr std::uint8_t kBoolean = 0x01;
constexpr std::uint8_t kFilterPresent = 0x87;  // [7] AttributeDescription, primitive
constexpr std::size_t kMaxValuesPerAttribute = 8;

// Root DSE attributes worth reporting, and the details key each goes to.
struct KeptAttribute {
  std::string_view ldap;
  const char* key;
  bool list;
};
constexpr std::array<KeptAttribute, 11> kKept = {{
    {"dnsHostName", "dns_host_name", false},
    {"serverName", "server_name", false},
    {"ldapServiceName", "ldap_service_name", false},
    {"defaultNamingContext", "default_naming_context", false},
    {"domainControllerFunctionality", "domain_controller_functionality", false},
    {"forestFunctionality", "forest_functionality", false},
    {"vendorName", "vendor_name", false},
    {"vendorVersion", "vendor_version", false},
    {"isGlobalCatalogReady", "global_catalog_ready", false},
    {"supportedLDAPVersion", "supported_ldap_versions", true},
    {"namingContexts", "naming_contexts", true},
}};

const KeptAttribute* keptAttribute(std::string_view name) noexcept {
  for (const KeptAttribute& k : kKept) {
    if (wire::equalsIgnoreCase(name, k.ldap)) return &k;
  }
  return nullptr;
}

// PartialAttributeList ::= SEQUENCE OF SEQUENCE { type OCTET STRING, vals SET OF OCTET STRING }
bool readEntry(ByteSpan entry, ReplyInfo& info) {
  Reader r(entry);
  Tlv name, attributes;
  if (!wire::readTlv(r, wire::ber::kOctetString, name) ||
      !wire::readTlv(r, wire::ber::kSequence, attributes)) {
    return false;
  }
  Reader list(attributes.value);
  std::uint64_t count = 0;
  while (!list.empty()) {
    Tlv attribute, type, values;
    if (!wire::readTlv(list, wire::ber::kSequence, attribute)) return false;
    Reader a(attribute.value);
    if (!wire::readTlv(a, wire::ber::kOctetString, type) ||
        !wire::readTlv(a, wire::ber::kSet, values)) {
      return false;
    }
    ++count;
    const KeptAttribute* kept = keptAttribute(wire::asText(type.value));
    Reader v(values.value);
    for (std::size_t i = 0; !v.empty(); ++i) {
      Tlv value;
      if (!wire::readTlv(v, wire::ber::kOctetString, value)) return false;
      if (kept == nullptr || i >= kMaxValuesPerAttribute) continue;
      const std::string text = wire::printable(wire::asText(value.value));
      if (kept->list) {
        wire::appendDistinct(info, kept->key, text);
      } else if (i == 0) {
        wire::setOnce(info, kept->key, text);
        if (std::string_view(kept->key) == "vendor_version") wire::setVersion(info, text);
      }
    }
  }
  wire::addCount(info, "attributes", count);
  return true;
}

class CldapProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "cldap"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return 389; }

  std::vector<std::uint8_t> request(std::uint16_t token) const override {
    std::string search;
    wire::appendTlv(search, wire::ber::kOctetString, "");                        // base: root DSE
    wire::appendTlv(search, wire::ber::kEnumerated, std::string_view("\0", 1));  // baseObject
    wire::appendTlv(search, wire::ber::kEnumerated, std::string_view("\0", 1));  // never deref
    wire::appendTlv(search, wire::ber::kInteger, std::string_view("\0", 1));     // size limit
    wire::appendTlv(search, wire::ber::kInteger, std::string_view("\0", 1));     // time limit
    wire::appendTlv(search, kBoolean, std::string_view("\0", 1));                // typesOnly
    wire::appendTlv(search, kFilterPresent, "objectClass");
    wire::appendTlv(search, wire::ber::kSequence, "");  // no list: all user attributes
    std::string message;
    wire::appendTlv(message, wire::ber::kInteger, wire::berIntegerBytes(messageId(token)));
    wire::appendTlv(message, kSearchRequest, search);
    std::string out;
    wire::appendTlv(out, wire::ber::kSequence, message);
    return {out.begin(), out.end()};
  }

  void parse(ByteSpan reply, std::uint16_t token, ReplyInfo& info) const override {
    if (reply.empty()) {
      wire::reject(info, "short");
      return;
    }
    Reader r(reply);
    while (!r.empty()) {
      Tlv message, id, op;
      std::int64_t id_value = -1;
      if (!wire::readTlv(r, wire::ber::kSequence, message)) {
        wire::reject(info, "malformed");
        return;
      }
      Reader m(message.value);
      if (!wire::readTlv(m, wire::ber::kInteger, id) || !wire::berInteger(id.value, id_value) ||
          !wire::readTlv(m, op)) {
        wire::reject(info, "malformed");
        return;
      }
      if (op.tag == wire::ber::kOctetString && !wire::readTlv(m, op)) {  // RFC 1798 user
        wire::reject(info, "malformed");
        return;
      }
      if (op.tag == kSearchRequest) {
        wire::reject(info, "not_response");
        return;
      }
      if (id_value != static_cast<std::int64_t>(messageId(token))) {
        wire::reject(info, "wrong_id");
        return;
      }
      if (op.tag == kSearchResEntry) {
        if (!readEntry(op.value, info)) {
          wire::reject(info, "malformed");
          return;
        }
        info.positive = true;
      } else if (op.tag == kSearchResDone) {
        Reader d(op.value);
        Tlv code;
        std::int64_t code_value = 0;
        if (!wire::readTlv(d, wire::ber::kEnumerated, code) ||
            !wire::berInteger(code.value, code_value)) {
          wire::reject(info, "malformed");
          return;
        }
        wire::setOnce(info, "result_code", code_value);
        info.complete = true;
      } else {
        wire::reject(info, "wrong_operation");
        return;
      }
    }
  }

  std::string advice() const override {
    return "CLDAP (LDAP over UDP 389) answers root DSE searches from outside: filter UDP 389 "
           "at the edge and on the host firewall so only your own clients and domain "
           "controllers reach it; Active Directory needs CLDAP only inside the network. On "
           "non-AD LDAP servers, disable the UDP listener.";
  }

 private:
  static std::uint32_t messageId(std::uint16_t token) noexcept { return token + 1u; }
};

}  // namespace

std::unique_ptr<Probe> makeCldapProbe() { return std::make_unique<CldapProbe>(); }

}  // namespace bw::audit
