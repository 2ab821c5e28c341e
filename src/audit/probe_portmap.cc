// Portmap probe (UDP 111): an ONC RPC call to the port mapper (program 100000, version 2)
// for PMAPPROC_DUMP, what `rpcinfo -p HOST` asks (over UDP here, as the attacks do).
//
// The transaction id (xid) is the token. A reply counts when it matches the xid, is a REPLY,
// MSG_ACCEPTED with SUCCESS, and carries a mapping list that parses; the list is
// "value follows" (1) + {program, version, protocol, port} entries ended by a 0. A list cut
// short by the server's buffer still counts when at least one entry parsed. Denied or
// unsuccessful replies are recorded, not exposure.
#include <array>
#include <string>

#include "audit/probe_factories.h"
#include "audit/probe_wire.h"

namespace bw::audit {
namespace {

using wire::Reader;

constexpr std::uint32_t kCall = 0;
constexpr std::uint32_t kReply = 1;
constexpr std::uint32_t kRpcVersion = 2;
constexpr std::uint32_t kPmapProgram = 100000;
constexpr std::uint32_t kPmapVersion = 2;
constexpr std::uint32_t kPmapProcDump = 4;
constexpr std::uint32_t kMaxAuthBytes = 400;  // RFC 5531: opaque_auth body <= 400 bytes

struct KnownProgram {
  std::uint32_t number;
  const char* name;
};
constexpr std::array<KnownProgram, 12> kPrograms = {{
    {100000, "portmapper"},
    {100001, "rstatd"},
    {100002, "rusersd"},
    {100003, "nfs"},
    {100004, "ypserv"},
    {100005, "mountd"},
    {100007, "ypbind"},
    {100011, "rquotad"},
    {100021, "nlockmgr"},
    {100024, "status"},
    {100227, "nfs_acl"},
    {150001, "pcnfsd"},
}};

std::string programName(std::uint32_t number) {
  for (const KnownProgram& p : kPrograms) {
    if (p.number == number) return p.name;
  }
  return std::to_string(number);
}

const char* acceptStatName(std::uint32_t s) noexcept {
  switch (s) {
    case 1:
      return "program_unavailable";
    case 2:
      return "program_mismatch";
    case 3:
      return "procedure_unavailable";
    case 4:
      return "garbage_arguments";
    case 5:
      return "system_error";
    default:
      return "other";
  }
}

class PortmapProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "portmap"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return 111; }

  std::vector<std::uint8_t> request(std::uint16_t token) const override {
    // xid, CALL, RPC version, program, version, procedure, AUTH_NONE credential and verifier.
    const std::uint32_t words[10] = {
        token, kCall, kRpcVersion, kPmapProgram, kPmapVersion, kPmapProcDump, 0, 0, 0, 0};
    std::vector<std::uint8_t> q(sizeof words);
    for (std::size_t i = 0; i < 10; ++i) storeBe32(q.data() + 4 * i, words[i]);
    return q;
  }

  void parse(ByteSpan reply, std::uint16_t token, ReplyInfo& info) const override {
    Reader r(reply);
    std::uint32_t xid = 0, type = 0;
    if (!r.be32(xid) || !r.be32(type)) {
      wire::reject(info, "short");
      return;
    }
    if (xid != token) {
      wire::reject(info, "wrong_id");
      return;
    }
    if (type == kCall) {
      wire::reject(info, "not_response");
      return;
    }
    std::uint32_t reply_stat = 0, verf_flavor = 0, verf_len = 0, accept_stat = 0;
    if (type != kReply || !r.be32(reply_stat)) {
      wire::reject(info, "malformed");
      return;
    }
    if (reply_stat != 0) {
      wire::setOnce(info, "rpc_error", "denied");
      info.complete = true;
      return;
    }
    if (!r.be32(verf_flavor) || !r.be32(verf_len) || verf_len > kMaxAuthBytes ||
        !r.skip((verf_len + 3) & ~3u) || !r.be32(accept_stat)) {
      wire::reject(info, "malformed");
      return;
    }
    info.complete = true;
    if (accept_stat != 0) {
      wire::setOnce(info, "rpc_error", acceptStatName(accept_stat));
      return;
    }
    // Each entry takes 20 bytes, so the loop ends with the datagram.
    std::uint64_t entries = 0;
    bool ended = false;
    std::uint32_t follows = 0;
    while (r.be32(follows)) {
      if (follows == 0) {
        ended = true;
        break;
      }
      std::uint32_t program = 0, version = 0, protocol = 0, port = 0;
      if (follows != 1 || !r.be32(program) || !r.be32(version) || !r.be32(protocol) ||
          !r.be32(port)) {
        break;
      }
      ++entries;
      wire::appendDistinct(info, "programs", programName(program));
    }
    if (!ended && entries == 0) {
      wire::reject(info, "malformed");
      return;
    }
    if (!ended) wire::set(info, "list_truncated", true);
    wire::addCount(info, "mappings", entries);
    info.positive = true;
  }

  std::string advice() const override {
    return "The RPC port mapper (rpcbind/portmap) answers from outside: stop rpcbind where no "
           "NFS/NIS service needs it, otherwise bind it to internal interfaces (rpcbind -h) or "
           "restrict it with host firewall rules, and filter UDP/TCP 111 at the edge.";
  }
};

}  // namespace

std::unique_ptr<Probe> makePortmapProbe() { return std::make_unique<PortmapProbe>(); }

}  // namespace bw::audit
