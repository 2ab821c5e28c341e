// Memcached UDP frame parsing, response shape and ransom-note extraction.
//
// Stateless, safe from any thread. parseMemcachedFrame() and looksLikeMemcachedResponse() never
// allocate. findRansomNote() allocates only for the note it returns; on a payload without one
// it costs one strided probe for base58 runs (a 95-character run must cover every 95th byte)
// plus a memchr-driven search per demand word; the payment words are searched only once a
// demand word was seen.
#include "decode/memcached.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <utility>

namespace bw {
namespace {

constexpr std::size_t kAddressLength = 95;             // standard address and subaddress
constexpr std::size_t kIntegratedAddressLength = 106;  // address + payment id
constexpr std::size_t kMaxNoteText = 512;
constexpr std::size_t kMaxRunScan = 512;  // how far text runs are followed from an anchor

constexpr std::string_view kBase58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

constexpr std::array<bool, 256> makeBase58Table() {
  std::array<bool, 256> t{};
  for (char c : kBase58) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kIsBase58 = makeBase58Table();

// Words that name the currency or the demand, and words that ask for payment. A note without
// an address needs one of each.
constexpr std::string_view kDemandWords[] = {"XMR",    "Monero", "monero",  "MONERO",  "ransom",
                                             "Ransom", "RANSOM", "bitcoin", "Bitcoin", "BTC"};
constexpr std::string_view kPaymentWords[] = {"pay",  "Pay",  "PAY",    "send",
                                              "Send", "SEND", "wallet", "Wallet"};

bool isTextByte(std::uint8_t c) noexcept {
  return (c >= 0x20 && c < 0x7F) || c == '\r' || c == '\n' || c == '\t';
}

std::string_view asText(ByteSpan s) noexcept {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

// Earliest occurrence of any of `words`, or npos.
template <std::size_t N>
std::size_t findFirst(std::string_view text, const std::string_view (&words)[N]) noexcept {
  std::size_t best = std::string_view::npos;
  for (std::string_view w : words) {
    const std::size_t at = text.find(w);
    if (at < best) best = at;
  }
  return best;
}

struct Span {
  std::size_t begin;
  std::size_t end;
};

// The printable run around [at, at_end), followed at most kMaxRunScan bytes each way.
Span textRun(ByteSpan p, std::size_t at, std::size_t at_end) noexcept {
  std::size_t b = at;
  const std::size_t b_min = at > kMaxRunScan ? at - kMaxRunScan : 0;
  while (b > b_min && isTextByte(p[b - 1])) --b;
  std::size_t e = at_end;
  const std::size_t e_max = std::min(p.size(), at_end + kMaxRunScan);
  while (e < e_max && isTextByte(p[e])) ++e;
  return {b, e};
}

// Appends p[run] to *out with CR/LF/TAB and repeated blanks collapsed to one space. Returns
// the position in *out where byte `mark` (inside the run) landed.
std::size_t appendCollapsed(ByteSpan p, Span run, std::size_t mark, std::string* out) {
  std::size_t mark_pos = out->size();
  for (std::size_t i = run.begin; i < run.end; ++i) {
    if (i == mark) mark_pos = out->size();
    char c = static_cast<char>(p[i]);
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
    if (c == ' ' && (out->empty() || out->back() == ' ')) continue;
    out->push_back(c);
  }
  return mark_pos;
}

void trimSpaces(std::string* s) {
  while (!s->empty() && s->back() == ' ') s->pop_back();
  std::size_t lead = 0;
  while (lead < s->size() && (*s)[lead] == ' ') ++lead;
  s->erase(0, lead);
}

}  // namespace

std::optional<RansomNote> findRansomNote(ByteSpan payload) {
  const std::uint8_t* p = payload.data();
  const std::size_t n = payload.size();
  RansomNote note;
  std::size_t first_addr = std::string_view::npos;
  std::size_t first_addr_end = 0;

  // Any base58 run of >= 95 characters covers one of the probed positions 94, 189, ...; after
  // a run ends at e (p[e] is not base58) the next can start at e + 1 at the earliest.
  std::size_t i = kAddressLength - 1;
  while (i < n) {
    if (!kIsBase58[p[i]]) {
      i += kAddressLength;
      continue;
    }
    std::size_t s = i;
    while (s > 0 && kIsBase58[p[s - 1]]) --s;
    std::size_t e = i + 1;
    while (e < n && kIsBase58[p[e]]) ++e;
    const std::size_t len = e - s;
    if ((len == kAddressLength && (p[s] == '4' || p[s] == '8')) ||
        (len == kIntegratedAddressLength && p[s] == '4')) {
      std::string addr(reinterpret_cast<const char*>(p + s), len);
      bool seen = false;
      for (const std::string& a : note.monero_addresses) seen = seen || a == addr;
      if (!seen) note.monero_addresses.push_back(std::move(addr));
      if (first_addr == std::string_view::npos) {
        first_addr = s;
        first_addr_end = e;
      }
    }
    i = e + kAddressLength;
  }

  const std::string_view text = asText(payload);
  std::size_t anchor = first_addr;
  std::size_t anchor_end = first_addr_end;
  std::size_t second = std::string_view::npos;  // the payment word, for keyword-only notes
  if (anchor == std::string_view::npos) {
    anchor = findFirst(text, kDemandWords);
    if (anchor == std::string_view::npos) return std::nullopt;
    second = findFirst(text, kPaymentWords);
    if (second == std::string_view::npos) return std::nullopt;
    anchor_end = anchor + 1;
  }

  const Span run = textRun(payload, anchor, anchor_end);
  std::size_t mark = appendCollapsed(payload, run, anchor, &note.text);
  if (second != std::string_view::npos && (second < run.begin || second >= run.end)) {
    // The payment word sits in another printable run: show both, demand first.
    note.text.push_back(' ');
    appendCollapsed(payload, textRun(payload, second, second + 1), second, &note.text);
  }
  if (note.text.size() > kMaxNoteText) {
    // Keep a window that starts a little before the demand so the address stays whole.
    std::size_t start = mark > 128 ? mark - 128 : 0;
    start = std::min(start, note.text.size() - kMaxNoteText);
    note.text = note.text.substr(start, kMaxNoteText);
  }
  trimSpaces(&note.text);
  return note;
}

}  // namespace bw
