// libFuzzer target for memcached payload evidence and ransom-note extraction.
//
// Input: a UDP payload as a memcached reflector would send it. Checks the documented limits
// of a note (text length, address lengths and alphabet, no duplicates).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "decode/memcached.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bw::ByteSpan payload(data, size);
  bw::MemcachedFrameHeader h;
  if (bw::parseMemcachedFrame(payload, &h)) {
    if (h.total == 0 || h.sequence >= h.total) __builtin_trap();
  }
  (void)bw::looksLikeMemcachedResponse(payload);

  const auto note = bw::findRansomNote(payload);
  if (!note) return 0;
  if (note->text.size() > 512) __builtin_trap();
  constexpr std::string_view kBase58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  for (std::size_t i = 0; i < note->monero_addresses.size(); ++i) {
    const std::string& a = note->monero_addresses[i];
    if (a.size() != 95 && a.size() != 106) __builtin_trap();
    if (a[0] != '4' && a[0] != '8') __builtin_trap();
    if (a.find_first_not_of(kBase58) != std::string::npos) __builtin_trap();
    for (std::size_t j = 0; j < i; ++j) {
      if (note->monero_addresses[j] == a) __builtin_trap();
    }
  }
  for (char c : note->text) {
    if (c == '\r' || c == '\n' || static_cast<unsigned char>(c) < 0x20) __builtin_trap();
  }
  return 0;
}
