// Memcached frame header, response shape, and ransom-note extraction: real-looking Monero
// addresses of each length, keyword-only demands, and no false positives on benign, random
// or binary payloads.
#include "decode/memcached.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

namespace bw {
namespace {

constexpr std::string_view kBase58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

// The address quoted in the 2018 memcached ransom demands.
constexpr std::string_view kKnownAddress =
    "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45DJ852K5Jv2684Rg"
    "e";

std::string randomBase58(std::mt19937& rng, char first, std::size_t len) {
  std::string s(1, first);
  while (s.size() < len) s.push_back(kBase58[rng() % kBase58.size()]);
  return s;
}

ByteSpan bytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

std::string memcachedValue(std::string_view value) {
  std::string p("\x00\x01\x00\x00\x00\x01\x00\x00", 8);
  p += "VALUE a 0 " + std::to_string(value.size()) + "\r\n";
  p += value;
  p += "\r\nEND\r\n";
  return p;
}

TEST(MemcachedFrame, Parse) {
  const std::string ok("\x12\x34\x00\x02\x00\x05\x00\x00STAT pid 1\r\n", 20);
  MemcachedFrameHeader h;
  ASSERT_TRUE(parseMemcachedFrame(bytes(ok), &h));
  EXPECT_EQ(h.request_id, 0x1234);
  EXPECT_EQ(h.sequence, 2);
  EXPECT_EQ(h.total, 5);
  EXPECT_TRUE(parseMemcachedFrame(bytes(ok), nullptr));
  EXPECT_FALSE(parseMemcachedFrame(bytes(ok.substr(0, 7)), &h));
  EXPECT_FALSE(parseMemcachedFrame(bytes(std::string("\x12\x34\x00\x05\x00\x05\x00\x00", 8)),
                                   &h));  // sequence == total
  EXPECT_FALSE(parseMemcachedFrame(bytes(std::string("\x12\x34\x00\x00\x00\x00\x00\x00", 8)),
                                   &h));  // total 0
  EXPECT_FALSE(parseMemcachedFrame(bytes(std::string("\x12\x34\x00\x00\x00\x01\x00\x01", 8)),
                                   &h));  // reserved
  EXPECT_TRUE(parseMemcachedFrame(bytes(std::string("\x12\x34\x00\x00\x00\x01\x00\x00", 8)), &h));
}

TEST(MemcachedFrame, ResponseShape) {
  const std::string hdr("\x00\x01\x00\x00\x00\x01\x00\x00", 8);
  for (const char* body :
       {"STAT pid 1\r\n", "VALUE k 0 3\r\nabc\r\nEND\r\n", "END\r\n", "VERSION 1.6.21\r\n"}) {
    EXPECT_TRUE(looksLikeMemcachedResponse(bytes(hdr + body))) << body;
  }
  for (const char* body : {"stats\r\n", "get k\r\n", "ERROR\r\n", "END", "STAT", "", "VALUES"}) {
    EXPECT_FALSE(looksLikeMemcachedResponse(bytes(hdr + body))) << body;
  }
  EXPECT_FALSE(looksLikeMemcachedResponse(bytes("STAT pid")));  // no frame header room
}

TEST(MemcachedFrame, ResponseKeywordsAtEveryBodyLength) {
  // Bodies shorter than 8 bytes and from 8 bytes on take different compares: each keyword,
  // cut and extended, on both sides.
  const std::string hdr("\x00\x01\x00\x00\x00\x01\x00\x00", 8);
  for (const std::string keyword : {"STAT ", "VALUE ", "END\r\n", "VERSION "}) {
    for (std::size_t extra = 0; extra <= 10; ++extra) {
      const std::string whole = keyword + std::string(extra, 'x');
      EXPECT_TRUE(looksLikeMemcachedResponse(bytes(hdr + whole))) << whole;
      // The keyword cut short, or with its last character changed, is no response.
      EXPECT_FALSE(looksLikeMemcachedResponse(bytes(hdr + keyword.substr(0, keyword.size() - 1))))
          << keyword;
      std::string changed = whole;
      changed[keyword.size() - 1] ^= 0x01;
      EXPECT_FALSE(looksLikeMemcachedResponse(bytes(hdr + changed))) << changed;
      changed = whole;
      changed[0] = static_cast<char>(changed[0] | 0x20);  // lower case
      EXPECT_FALSE(looksLikeMemcachedResponse(bytes(hdr + changed))) << changed;
    }
  }
}

TEST(RansomNote, The2018Demand) {
  const std::string demand = "Pay 50 XMR to " + std::string(kKnownAddress) + " or we will DDoS you";
  const std::string payload = memcachedValue(demand);
  const auto note = findRansomNote(bytes(payload));
  ASSERT_TRUE(note.has_value());
  ASSERT_EQ(note->monero_addresses.size(), 1u);
  EXPECT_EQ(note->monero_addresses[0], kKnownAddress);
  EXPECT_NE(note->text.find(demand), std::string::npos) << note->text;
  EXPECT_EQ(note->text.find('\r'), std::string::npos);
  EXPECT_EQ(note->text.find('\n'), std::string::npos);
  EXPECT_EQ(note->text.find("  "), std::string::npos);
  EXPECT_LE(note->text.size(), 512u);
}

TEST(RansomNote, EachAddressKind) {
  std::mt19937 rng(2018);
  struct Kind {
    char first;
    std::size_t len;
  };
  for (Kind k : {Kind{'4', 95}, Kind{'8', 95}, Kind{'4', 106}}) {
    for (int i = 0; i < 20; ++i) {
      const std::string addr = randomBase58(rng, k.first, k.len);
      // No payment language at all: the address alone is enough.
      const std::string payload = memcachedValue("wallet:" + addr + "\r\nthanks");
      const auto note = findRansomNote(bytes(payload));
      ASSERT_TRUE(note.has_value()) << addr;
      ASSERT_EQ(note->monero_addresses.size(), 1u);
      EXPECT_EQ(note->monero_addresses[0], addr);
      EXPECT_NE(note->text.find(addr + " thanks"), std::string::npos) << note->text;
    }
  }
}

TEST(RansomNote, AddressesDeduplicatedInOrder) {
  std::mt19937 rng(1);
  const std::string a = randomBase58(rng, '8', 95);
  const std::string b = randomBase58(rng, '4', 106);
  const std::string payload = "send to " + b + " or " + a + ", again " + b + "\n" + a;
  const auto note = findRansomNote(bytes(payload));
  ASSERT_TRUE(note.has_value());
  ASSERT_EQ(note->monero_addresses.size(), 2u);
  EXPECT_EQ(note->monero_addresses[0], b);
  EXPECT_EQ(note->monero_addresses[1], a);
}

TEST(RansomNote, AddressAtPayloadEdgesAndBetweenNonBase58) {
  std::mt19937 rng(3);
  const std::string addr = randomBase58(rng, '4', 95);
  EXPECT_TRUE(findRansomNote(bytes(addr)).has_value());  // exactly the payload
  // '0', 'O', 'I' and 'l' are outside the alphabet: they delimit.
  for (const char* sep : {"0", "O", "I", "l", "+", "\x01"}) {
    const std::string p = std::string("xx") + sep + addr + sep + "yy";
    const auto note = findRansomNote(bytes(p));
    ASSERT_TRUE(note.has_value()) << sep;
    EXPECT_EQ(note->monero_addresses[0], addr);
  }
  // Binary before and after (the text is the printable run only).
  std::string bin(40, '\x00');
  const std::string p = bin + addr + bin;
  const auto note = findRansomNote(bytes(p));
  ASSERT_TRUE(note.has_value());
  EXPECT_EQ(note->text, addr);
}

TEST(RansomNote, KeywordDemandWithoutAddress) {
  const std::string payload = memcachedValue(
      "Your server is used in DDoS attacks. Pay 0.5 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjh"
      "x0wlh or we keep going.");
  const auto note = findRansomNote(bytes(payload));
  ASSERT_TRUE(note.has_value());
  EXPECT_TRUE(note->monero_addresses.empty());
  EXPECT_NE(note->text.find("Pay 0.5 BTC"), std::string::npos);
  // Demand word in one run, payment word in another: both runs appear.
  const std::string split = std::string("ransom note") + '\x00' + '\x01' + "please send it";
  const auto n2 = findRansomNote(bytes(split));
  ASSERT_TRUE(n2.has_value());
  EXPECT_NE(n2->text.find("ransom note"), std::string::npos);
  EXPECT_NE(n2->text.find("please send it"), std::string::npos);
  // One without the other is not a note.
  EXPECT_FALSE(findRansomNote(bytes(memcachedValue("XMR price cache 160.12"))).has_value());
  EXPECT_FALSE(findRansomNote(bytes(memcachedValue("pay-per-view session 77"))).has_value());
}

TEST(RansomNote, TextIsTrimmedAroundTheAddress) {
  std::mt19937 rng(9);
  const std::string addr = randomBase58(rng, '4', 106);
  std::string filler;
  while (filler.size() < 2000) filler += "lorem ipsum dolor sit amet\r\n";
  const std::string payload = filler + "Pay to " + addr + " now. " + filler;
  const auto note = findRansomNote(bytes(payload));
  ASSERT_TRUE(note.has_value());
  EXPECT_LE(note->text.size(), 512u);
  EXPECT_GE(note->text.size(), 400u);
  EXPECT_NE(note->text.find("Pay to " + addr + " now."), std::string::npos);
  EXPECT_EQ(note->text.find('\n'), std::string::npos);
}

TEST(RansomNote, NoFalsePositives) {
  std::mt19937 rng(42);
  // Base58 runs that are not addresses: too short, too long, wrong first character.
  for (std::size_t len : {20u, 60u, 94u, 96u, 105u, 107u, 200u}) {
    const std::string run = randomBase58(rng, '4', len);
    EXPECT_FALSE(findRansomNote(bytes("key " + run + " end")).has_value()) << len;
  }
  EXPECT_FALSE(findRansomNote(bytes(randomBase58(rng, '5', 95))).has_value());
  EXPECT_FALSE(findRansomNote(bytes(randomBase58(rng, '8', 106))).has_value());
  // Many short base58-ish tokens separated by spaces (session ids, hashes).
  std::string tokens;
  for (int i = 0; i < 200; ++i) tokens += randomBase58(rng, 'A', 1 + rng() % 94) + " ";
  EXPECT_FALSE(findRansomNote(bytes(tokens)).has_value());
  // Random binary payloads.
  for (int i = 0; i < 200; ++i) {
    std::string bin(1 + rng() % 1500, '\0');
    for (char& c : bin) c = static_cast<char>(rng());
    EXPECT_FALSE(findRansomNote(bytes(bin)).has_value());
  }
  // A benign stats reply.
  const std::string stats = std::string("\x00\x01\x00\x00\x00\x01\x00\x00", 8) +
                            "STAT pid 2154\r\nSTAT uptime 86400\r\nSTAT time 1519862400\r\n"
                            "STAT version 1.4.25\r\nSTAT libevent 2.0.21-stable\r\n"
                            "STAT pointer_size 64\r\nSTAT rusage_user 12.345678\r\n"
                            "STAT curr_connections 10\r\nSTAT total_items 123456\r\n"
                            "STAT bytes 4287654\r\nSTAT evictions 0\r\nSTAT threads 4\r\nEND\r\n";
  EXPECT_FALSE(findRansomNote(bytes(stats)).has_value());
  EXPECT_FALSE(findRansomNote(ByteSpan{}).has_value());
}

}  // namespace
}  // namespace bw
