// Memcached UDP payload evidence and ransom notes.
//
// The memcached UDP frame header is 8 bytes: request id, sequence number, total datagrams,
// reserved (0). In the 2018 floods some attackers stored ransom demands as the reflected
// values ("pay 50 XMR to 4..."): findRansomNote() pulls such text and Monero addresses
// (standard/subaddress: 95 base58 characters starting with 4 or 8; integrated: 106) out of a
// payload without allocating unless it finds one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"

namespace bw {

struct MemcachedFrameHeader {
  std::uint16_t request_id = 0;
  std::uint16_t sequence = 0;
  std::uint16_t total = 0;
};

// True when `payload` starts with a plausible frame header (reserved == 0, total >= 1,
// sequence < total). Writes the header to *out when non-null.
bool parseMemcachedFrame(ByteSpan payload, MemcachedFrameHeader* out) noexcept;

// True when the bytes after the frame header look like a text-protocol response
// ("STAT ", "VALUE ", "END\r\n", "VERSION ").
bool looksLikeMemcachedResponse(ByteSpan payload) noexcept;

struct RansomNote {
  std::string text;                           // printable text around the demand, <= 512 chars
  std::vector<std::string> monero_addresses;  // distinct, in order of appearance
};

// Looks for a ransom demand in a memcached (or any) payload: a Monero address, or words such
// as "XMR"/"Monero"/"ransom" with payment language. Returns nullopt quickly when there is none.
std::optional<RansomNote> findRansomNote(ByteSpan payload);

}  // namespace bw
