#include "core/prefix.h"

#include <charconv>

namespace bw {

IpAddress maskAddress(const IpAddress& a, int length128) noexcept {
  auto bytes = a.bytes();
  for (int i = 0; i < 16; ++i) {
    int keep = length128 - i * 8;
    if (keep >= 8) continue;
    bytes[i] = keep <= 0 ? 0 : static_cast<std::uint8_t>(bytes[i] & (0xff << (8 - keep)));
  }
  return IpAddress::fromV6Bytes(bytes.data());
}

std::optional<Prefix> Prefix::make(const IpAddress& addr, int length) {
  int max = addr.isV4() ? 32 : 128;
  if (length < 0 || length > max) return std::nullopt;
  Prefix p;
  p.length128_ = addr.isV4() ? length + 96 : length;
  p.network_ = maskAddress(addr, p.length128_);
  return p;
}

Result<Prefix> Prefix::parse(std::string_view text) {
  auto slash = text.find('/');
  std::string_view addr_text = text.substr(0, slash);
  auto addr = IpAddress::parse(addr_text);
  if (!addr) {
    return Error{"'" + std::string(text) +
                 "' is not an IPv4 or IPv6 prefix (expected e.g. 198.18.0.0/15)"};
  }
  int max = addr->isV4() ? 32 : 128;
  int length = max;
  if (slash != std::string_view::npos) {
    std::string_view len_text = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), length);
    if (ec != std::errc{} || ptr != len_text.data() + len_text.size() || length < 0 ||
        length > max) {
      return Error{"'" + std::string(text) + "' has a bad prefix length (0-" + std::to_string(max) +
                   ")"};
    }
  }
  return *make(*addr, length);
}

bool Prefix::contains(const IpAddress& a) const noexcept {
  return maskAddress(a, length128_) == network_;
}

std::string Prefix::toString() const {
  return network_.toString() + "/" + std::to_string(familyLength());
}

Result<std::vector<Prefix>> parsePrefixList(std::string_view text) {
  std::vector<Prefix> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      auto p = Prefix::parse(item);
      if (!p) return p.error();
      out.push_back(*p);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace bw
