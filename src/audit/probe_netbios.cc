// NetBIOS name service probe (UDP 137): an NBSTAT (node status) query for the wildcard name
// "*", what `nmblookup -A HOST` and `nbtstat -A HOST` send.
//
// The transaction id is the token. A reply counts when it matches the id, is a response with
// RCODE 0, and its NBSTAT answer record lists at least one name; the names (with their
// suffix byte and group flag), the host and workgroup names and the unit id (MAC address)
// that follows the name table go to details. The answer owner name is DNS-encoded and is
// skipped like a DNS name, pointers included.
#include <cstdio>
#include <string>
#include <string_view>

#include "audit/probe_factories.h"
#include "audit/probe_wire.h"

namespace bw::audit {
namespace {

using wire::Reader;

constexpr std::uint16_t kTypeNbstat = 0x0021;
constexpr std::uint16_t kClassIn = 0x0001;
constexpr std::size_t kNameEntry = 18;  // 15 name bytes, suffix, 2 flag bytes
constexpr std::uint16_t kGroupFlag = 0x8000;
constexpr std::uint16_t kMaxQuestions = 4;

// "*" padded with NULs to 16 bytes, first-level encoded: each nibble + 'A'.
std::string wildcardName() {
  std::string name(1, '\x20');
  const std::string raw = std::string("*") + std::string(15, '\0');
  for (char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    name.push_back(static_cast<char>('A' + (b >> 4)));
    name.push_back(static_cast<char>('A' + (b & 15)));
  }
  name.push_back('\0');
  return name;
}

class NetbiosProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "netbios"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return 137; }

  std::vector<std::uint8_t> request(std::uint16_t token) const override {
    std::vector<std::uint8_t> q(12, 0);
    storeBe16(q.data(), token);
    storeBe16(q.data() + 4, 1);  // one question, no flags: a unicast node status query
    const std::string name = wildcardName();
    q.insert(q.end(), name.begin(), name.end());
    const std::uint8_t tail[4] = {0, kTypeNbstat, 0, kClassIn};
    q.insert(q.end(), tail, tail + 4);
    return q;
  }

  void parse(ByteSpan reply, std::uint16_t token, ReplyInfo& info) const override {
    Reader r(reply);
    wire::DnsHeader h;
    if (!wire::readDnsReplyHeader(r, token, info, h)) return;
    const std::uint16_t flags = h.flags, qd = h.qd, an = h.an;
    if (((flags >> 11) & 0xF) != 0) {
      wire::reject(info, "wrong_opcode");
      return;
    }
    if ((flags & 0xF) != 0) {
      wire::setOnce(info, "rcode", flags & 0xF);
      info.complete = true;
      return;
    }
    if (qd > kMaxQuestions || an == 0) {
      wire::reject(info, "malformed");
      return;
    }
    for (std::uint16_t i = 0; i < qd; ++i) {
      if (!wire::skipDnsName(r) || !r.skip(4)) {
        wire::reject(info, "malformed");
        return;
      }
    }
    std::uint16_t type = 0, klass = 0, rdlength = 0;
    std::uint8_t count = 0;
    ByteSpan rdata;
    if (!wire::skipDnsName(r) || !r.be16(type) || !r.be16(klass) || !r.skip(4) ||
        !r.be16(rdlength) || !r.take(rdlength, rdata)) {
      wire::reject(info, "malformed");
      return;
    }
    if (type != kTypeNbstat || klass != kClassIn) {
      wire::reject(info, "wrong_type");
      return;
    }
    Reader d(rdata);
    ByteSpan table;
    if (!d.u8(count) || count == 0 || !d.take(count * kNameEntry, table)) {
      wire::reject(info, "malformed");
      return;
    }
    for (std::size_t i = 0; i < count; ++i) {
      const ByteSpan e = table.subspan(i * kNameEntry, kNameEntry);
      const std::string name = wire::printable(wire::asText(e.first(15)));
      const std::uint8_t suffix = e[15];
      const bool group = (loadBe16(e.data() + 16) & kGroupFlag) != 0;
      char label[32];
      std::snprintf(label, sizeof label, "<%02x>%s", suffix, group ? " group" : "");
      wire::appendDistinct(info, "names", name + label);
      if (suffix == 0x00 && !group) wire::setOnce(info, "hostname", name);
      if (suffix == 0x00 && group) wire::setOnce(info, "workgroup", name);
    }
    ByteSpan mac;
    if (d.take(6, mac)) wire::setOnce(info, "mac", wire::macText(mac));
    info.positive = true;
    info.complete = true;
  }

  std::string advice() const override {
    return "NetBIOS name service (UDP 137) answers node status queries from outside: disable "
           "NetBIOS over TCP/IP on Internet-facing interfaces (Windows adapter settings; Samba: "
           "`disable netbios = yes` or `interfaces` + `bind interfaces only`), and filter UDP "
           "137-139 at the edge.";
  }
};

}  // namespace

std::unique_ptr<Probe> makeNetbiosProbe() { return std::make_unique<NetbiosProbe>(); }

}  // namespace bw::audit
