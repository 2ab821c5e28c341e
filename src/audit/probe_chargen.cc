// CharGen probe (UDP 19): RFC 864 answers any datagram with 0..512 characters, usually lines
// of 72 printable characters taken from a rotating ring of the 95 printable ASCII characters.
//
// The request is one newline byte, as the reflection attacks send it. A reply counts when it
// is printable ASCII and CR/LF only and contains a run of consecutive ring characters (16, or
// the whole reply when it is shorter, at least 4): binary noise, ICMP-like bytes or an echo
// of our own byte are not CharGen. There is no id to match; one datagram is the whole answer.
#include <algorithm>
#include <string>

#include "audit/probe_factories.h"
#include "audit/probe_wire.h"

namespace bw::audit {
namespace {

constexpr std::uint8_t kRequestByte = '\n';
constexpr std::size_t kPatternRun = 16;
constexpr std::size_t kMinPatternRun = 4;
constexpr std::size_t kMaxLineShown = 80;

bool isRingChar(std::uint8_t c) noexcept { return c >= 0x20 && c < 0x7F; }

// True when `next` follows `prev` on the ring. Implementations differ in whether the ring
// holds the space, so '~' may be followed by ' ' or '!'.
bool follows(std::uint8_t prev, std::uint8_t next) noexcept {
  if (prev == '~') return next == ' ' || next == '!';
  return next == prev + 1;
}

class ChargenProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "chargen"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return 19; }

  std::vector<std::uint8_t> request(std::uint16_t /*token: CharGen has no id*/) const override {
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
    std::size_t chars = 0;
    std::size_t run = 0;
    std::size_t best = 0;
    std::uint8_t prev = 0;
    for (std::uint8_t c : reply) {
      if (c == '\r' || c == '\n') {
        run = 0;
        continue;
      }
      if (!isRingChar(c)) {
        wire::reject(info, "not_text");
        return;
      }
      ++chars;
      run = run > 0 && follows(prev, c) ? run + 1 : 1;
      best = std::max(best, run);
      prev = c;
    }
    const std::size_t needed = std::clamp(chars, kMinPatternRun, kPatternRun);
    if (best < needed) {
      wire::reject(info, "no_pattern");
      return;
    }
    std::string_view text = wire::asText(reply);
    text = text.substr(0, text.find_first_of("\r\n"));
    wire::setOnce(info, "line", wire::printable(text, kMaxLineShown));
    info.positive = true;
    info.complete = true;
  }

  std::string advice() const override {
    return "CharGen (UDP 19) answers anyone: disable the service (inetd/xinetd chargen-dgram, "
           "Windows \"Simple TCP/IP Services\", printer and switch firmware settings); nothing "
           "needs it today. Filter UDP 19 at the edge.";
  }
};

}  // namespace

std::unique_ptr<Probe> makeChargenProbe() { return std::make_unique<ChargenProbe>(); }

}  // namespace bw::audit
