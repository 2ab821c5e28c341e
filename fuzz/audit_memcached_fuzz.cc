// libFuzzer target for the memcached probes' reassembly: many datagrams into one reply.
//
// Input: a sequence of records, each a 2-byte big-endian length and that many bytes (a
// truncated last record is used as it is). Every record goes to the UDP probe as one more
// datagram of the same reply, under the request id the first record's frame header carries,
// so the inputs get past the id check and exercise out-of-order, duplicate, missing,
// inconsistent and oversized frames. The concatenation of all records is then given to the
// TCP probe as growing prefixes (as a connection delivers it). Checks: details stays a small
// JSON object that serialises, versions stay short, "complete" never turns back to false.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "audit/memcached_probe.h"

namespace {

void check(const bw::audit::ReplyInfo& info) {
  if (!info.details.is_object()) __builtin_trap();
  std::string dumped;
  try {
    dumped = info.details.dump();
  } catch (...) {
    __builtin_trap();
  }
  // 64 stored parts of at most 1,500 bytes, plus the kept statistics.
  if (dumped.size() > 64 * 1500 * 2 + 4096) __builtin_trap();
  if (info.version.size() > 64) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto udp = bw::audit::makeMemcachedUdpProbe();
  static const auto tcp = bw::audit::makeMemcachedTcpProbe();

  std::vector<bw::ByteSpan> records;
  std::size_t pos = 0;
  while (pos + 2 <= size && records.size() < 512) {
    std::size_t len = bw::loadBe16(data + pos);
    pos += 2;
    len = std::min(len, size - pos);
    records.emplace_back(data + pos, len);
    pos += len;
  }
  if (records.empty()) return 0;
  const std::uint16_t token = records[0].size() >= 2 ? bw::loadBe16(records[0].data()) : 0;

  bw::audit::ReplyInfo info;
  bool was_complete = false;
  for (const auto& r : records) {
    udp->parse(r, token, info);
    if (was_complete && !info.complete) __builtin_trap();
    was_complete = info.complete;
    if (info.complete && info.details.contains("_udp")) __builtin_trap();
  }
  check(info);

  std::vector<std::uint8_t> stream;
  for (const auto& r : records) {
    stream.insert(stream.end(), r.begin(), r.end());
    bw::audit::ReplyInfo t;
    tcp->parse(bw::ByteSpan(stream.data(), stream.size()), token, t);
    check(t);
  }
  return 0;
}
