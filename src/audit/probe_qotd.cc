// Quote of the Day probe (UDP 17): RFC 865 answers any datagram with a short text, at most
// 512 characters.
//
// The request is one newline byte. A reply counts when it is text: printable ASCII,
// whitespace and bytes >= 0x80 (quotes are often UTF-8), with no other control bytes, and is
// not an echo of our own byte. There is no id to match; one datagram is the whole answer.
#include <string>

#include "audit/probe_factories.h"
#include "audit/probe_wire.h"

namespace bw::audit {
namespace {

constexpr std::uint8_t kRequestByte = '\n';
constexpr std::size_t kMinQuote = 2;
constexpr std::size_t kMaxQuoteShown = 128;

bool isTextByte(std::uint8_t c) noexcept {
  return (c >= 0x20 && c != 0x7F) || c == '\r' || c == '\n' || c == '\t';
}

class QotdProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "qotd"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return 17; }

  std::vector<std::uint8_t> request(std::uint16_t /*token: QOTD has no id*/) const override {
    return {kRequestByte};
  }

  void parse(ByteSpan reply, std::uint16_t /*token*/, ReplyInfo& info) const override {
    if (reply.empty()) {
      wire::reject(info, "empty");
      return;
    }
    if (reply.size() == 1 && reply[0] == kRequestByte) {
      wire::reject(info, "echo");
      return;
    }
    std::size_t visible = 0;
    for (std::uint8_t c : reply) {
      if (!isTextByte(c)) {
        wire::reject(info, "not_text");
        return;
      }
      if (c > 0x20) ++visible;
    }
    if (visible < kMinQuote) {
      wire::reject(info, "no_text");
      return;
    }
    wire::setOnce(info, "quote", wire::printable(wire::asText(reply), kMaxQuoteShown));
    info.positive = true;
    info.complete = true;
  }

  std::string advice() const override {
    return "Quote of the Day (UDP 17) answers anyone: disable the service (inetd/xinetd "
           "qotd-dgram, Windows \"Simple TCP/IP Services\"); nothing needs it today. Filter "
           "UDP 17 at the edge.";
  }
};

}  // namespace

std::unique_ptr<Probe> makeQotdProbe() { return std::make_unique<QotdProbe>(); }

}  // namespace bw::audit
