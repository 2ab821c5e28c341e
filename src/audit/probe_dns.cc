// DNS open-recursion probe (UDP 53).
//
// The request asks, with RD=1 and an EDNS0 OPT record offering 4096-byte replies (as the
// reflection attacks do), for ". IN NS": every resolver can answer it, it is not ANY, and the
// answer is the same everywhere. Exposure is open recursion, not a DNS server as such: a reply
// counts only when it matches the transaction id, is a response (QR=1, so an echo of the query
// is not), offers recursion (RA=1), says NOERROR and carries at least one answer record that
// parses. A REFUSED reply, or an authoritative-only server answering with RA=0, is recorded in
// details (rcode, RA) but is not exposure.
#include <array>
#include <string>

#include "audit/probe_factories.h"
#include "audit/probe_wire.h"

namespace bw::audit {
namespace {

using wire::Reader;

constexpr std::uint16_t kFlagAa = 0x0400;
constexpr std::uint16_t kFlagTc = 0x0200;
constexpr std::uint16_t kFlagRd = 0x0100;
constexpr std::uint16_t kFlagRa = 0x0080;
constexpr std::uint16_t kTypeNs = 2;
constexpr std::uint16_t kTypeOpt = 41;
constexpr std::uint16_t kClassIn = 1;
constexpr std::uint16_t kEdnsPayload = 4096;
// A reply may claim up to 65535 questions; real ones carry one. More than this is not a
// reply to our query.
constexpr std::uint16_t kMaxQuestions = 4;

const char* rcodeName(unsigned rcode) noexcept {
  static constexpr std::array<const char*, 11> kNames = {
      "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
  return rcode < kNames.size() ? kNames[rcode] : "OTHER";
}

bool skipQuestion(Reader& r) noexcept { return wire::skipDnsName(r) && r.skip(4); }

bool skipRecord(Reader& r) noexcept {
  std::uint16_t rdlength = 0;
  return wire::skipDnsName(r) && r.skip(8) && r.be16(rdlength) && r.skip(rdlength);
}

class DnsProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "dns"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return 53; }

  std::vector<std::uint8_t> request(std::uint16_t token) const override {
    std::vector<std::uint8_t> q(12 + 5 + 11, 0);
    storeBe16(q.data(), token);
    storeBe16(q.data() + 2, kFlagRd);
    storeBe16(q.data() + 4, 1);   // one question
    storeBe16(q.data() + 10, 1);  // one additional: the OPT record
    std::uint8_t* p = q.data() + 12;
    *p++ = 0;  // the root name
    storeBe16(p, kTypeNs);
    storeBe16(p + 2, kClassIn);
    p += 4;
    *p++ = 0;  // OPT owner: root
    storeBe16(p, kTypeOpt);
    storeBe16(p + 2, kEdnsPayload);  // OPT "class" is the UDP payload size; TTL and RDLEN 0
    return q;
  }

  void parse(ByteSpan reply, std::uint16_t token, ReplyInfo& info) const override {
    Reader r(reply);
    wire::DnsHeader h;
    if (!wire::readDnsReplyHeader(r, token, info, h)) return;
    const std::uint16_t flags = h.flags, qd = h.qd, an = h.an, ns = h.ns, ar = h.ar;
    if (((flags >> 11) & 0xF) != 0) {
      wire::reject(info, "wrong_opcode");
      return;
    }
    if (qd > kMaxQuestions) {
      wire::reject(info, "malformed");
      return;
    }
    for (std::uint16_t i = 0; i < qd; ++i) {
      if (!skipQuestion(r)) {
        wire::reject(info, "malformed");
        return;
      }
    }
    // Each record takes at least 11 bytes, so the loop ends with the datagram.
    std::uint32_t parsed = 0;
    while (parsed < an && skipRecord(r)) ++parsed;
    const bool truncated = (flags & kFlagTc) != 0;
    if (parsed < an && !truncated) {
      wire::reject(info, "malformed");
      return;
    }

    const unsigned rcode = flags & 0xF;
    const bool ra = (flags & kFlagRa) != 0;
    const bool open = ra && rcode == 0 && parsed > 0;
    wire::setOnce(info, "rcode", rcodeName(rcode));
    wire::setOnce(info, "recursion_available", ra);
    wire::setOnce(info, "authoritative", (flags & kFlagAa) != 0);
    wire::setOnce(info, "truncated", truncated);
    wire::setOnce(info, "answers", an);
    wire::setOnce(info, "authority", ns);
    wire::setOnce(info, "additional", ar);
    wire::setOnce(info, "response_bytes", reply.size());
    wire::set(info, "open_recursion", open || info.positive);
    info.positive = info.positive || open;
    info.complete = true;
  }

  std::string advice() const override {
    return "Open DNS resolver: answer recursive queries only for your own networks (BIND: "
           "allow-recursion { <your prefixes>; }; and `recursion no;` on authoritative-only "
           "servers; Unbound: access-control for your prefixes only, the default refuses the "
           "rest), enable response rate limiting (RRL), and filter UDP/TCP 53 at the edge for "
           "resolvers that serve only internal clients.";
  }
};

}  // namespace

std::unique_ptr<Probe> makeDnsProbe() { return std::make_unique<DnsProbe>(); }

}  // namespace bw::audit
