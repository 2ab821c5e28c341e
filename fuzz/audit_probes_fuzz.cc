// libFuzzer target for the reply parsers of every audit probe (allProbes(): memcached over
// UDP and TCP, DNS, NTP, SSDP, CLDAP, CharGen, QOTD, SNMP, Portmap, NetBIOS, WS-Discovery,
// CoAP, Ubiquiti).
//
// Input: one reply as a probe would receive it. Each probe parses it under a few tokens: 0
// and 1 (the ids CLDAP, SNMP and Portmap derive from them are easy to spell), and the
// big-endian 16-bit values at offsets 0 and 2, where DNS and NetBIOS (0), and NTP and CoAP
// (2) keep theirs, so inputs get past the id checks. The input is also fed three times into
// one ReplyInfo, as a target repeating itself would. Checks: details stays a JSON object
// that serialises (no invalid UTF-8 from the wire) and small, and the version stays short.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "audit/probe.h"

namespace {

constexpr std::size_t kMaxDetails = 64 * 1024;
constexpr std::size_t kMaxVersion = 4096;

void check(const bw::audit::ReplyInfo& info) {
  if (!info.details.is_object()) __builtin_trap();
  std::string dumped;
  try {
    dumped = info.details.dump();
  } catch (...) {
    __builtin_trap();
  }
  if (dumped.size() > kMaxDetails) __builtin_trap();
  if (info.version.size() > kMaxVersion) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::unique_ptr<bw::audit::Probe>> probes = bw::audit::allProbes();
  const bw::ByteSpan reply(data, size);
  std::vector<std::uint16_t> tokens = {0, 1};
  if (size >= 2) tokens.push_back(bw::loadBe16(data));
  if (size >= 4) tokens.push_back(bw::loadBe16(data + 2));

  for (const auto& probe : probes) {
    for (std::uint16_t token : tokens) {
      bw::audit::ReplyInfo info;
      probe->parse(reply, token, info);
      check(info);
    }
    bw::audit::ReplyInfo repeated;
    for (int i = 0; i < 3; ++i) probe->parse(reply, tokens.back(), repeated);
    check(repeated);
  }
  return 0;
}
