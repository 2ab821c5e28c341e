// Memcached UDP payload evidence and ransom notes.
//
// The memcached UDP frame header is 8 bytes: request id, sequence number, total datagrams,
// reserved (0). In the 2018 floods some attackers stored ransom demands as the reflected
// values ("pay 50 XMR to 4..."): findRansomNote() pulls such text and Monero addresses
// (standard/subaddress: 95 base58 characters starting with 4 or 8; integrated: 106) out of a
// payload without allocating unless it finds one.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace bw {

inline constexpr std::size_t kMemcachedFrameHeader = 8;

struct MemcachedFrameHeader {
  std::uint16_t request_id = 0;
  std::uint16_t sequence = 0;
  std::uint16_t total = 0;
};

// True when `payload` starts with a plausible frame header (reserved == 0, total >= 1,
// sequence < total). Writes the header to *out when non-null. Inline: classifyResponse()
// asks it of every datagram from port 11211.
inline bool parseMemcachedFrame(ByteSpan payload, MemcachedFrameHeader* out) noexcept {
  if (payload.size() < kMemcachedFrameHeader) return false;
  const std::uint8_t* p = payload.data();
  MemcachedFrameHeader h;
  h.request_id = loadBe16(p);
  h.sequence = loadBe16(p + 2);
  h.total = loadBe16(p + 4);
  if (loadBe16(p + 6) != 0 || h.total == 0 || h.sequence >= h.total) return false;
  if (out != nullptr) *out = h;
  return true;
}

namespace memcached_detail {

// A response keyword of at most 8 bytes as a mask and a value over the first 8 bytes of a
// body loaded as one integer (host byte order), so matching it is one AND and one compare.
struct Keyword {
  std::string_view text;
  std::uint64_t mask = 0;
  std::uint64_t bits = 0;
};

constexpr Keyword keyword(std::string_view text) noexcept {
  Keyword k{text};
  for (std::size_t i = 0; i < text.size() && i < 8; ++i) {
    const unsigned shift = std::endian::native == std::endian::little ? 8 * i : 56 - 8 * i;
    k.mask |= std::uint64_t{0xFF} << shift;
    k.bits |= std::uint64_t{static_cast<std::uint8_t>(text[i])} << shift;
  }
  return k;
}

inline constexpr Keyword kResponseKeywords[] = {keyword("STAT "), keyword("VALUE "),
                                                keyword("END\r\n"), keyword("VERSION ")};

}  // namespace memcached_detail

// True when the bytes after the frame header look like a text-protocol response
// ("STAT ", "VALUE ", "END\r\n", "VERSION ").
inline bool looksLikeMemcachedResponse(ByteSpan payload) noexcept {
  using memcached_detail::kResponseKeywords;
  if (payload.size() < kMemcachedFrameHeader) return false;
  const std::uint8_t* body = payload.data() + kMemcachedFrameHeader;
  const std::size_t n = payload.size() - kMemcachedFrameHeader;
  if (n >= 8) {  // nearly always: one load for all four keywords
    std::uint64_t head;
    std::memcpy(&head, body, sizeof head);
    for (const auto& k : kResponseKeywords) {
      if ((head & k.mask) == k.bits) return true;
    }
    return false;
  }
  for (const auto& k : kResponseKeywords) {
    if (n >= k.text.size() && std::memcmp(body, k.text.data(), k.text.size()) == 0) return true;
  }
  return false;
}

struct RansomNote {
  std::string text;                           // printable text around the demand, <= 512 chars
  std::vector<std::string> monero_addresses;  // distinct, in order of appearance
};

// Looks for a ransom demand in a memcached (or any) payload: a Monero address, or words such
// as "XMR"/"Monero"/"ransom" with payment language. Returns nullopt quickly when there is none.
std::optional<RansomNote> findRansomNote(ByteSpan payload);

}  // namespace bw
