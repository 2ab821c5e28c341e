// CharGen, QOTD and Portmap: the CharGen request against the one in the StopDDoS capture;
// CharGen lines generated here as RFC 864 describes them (not as the probe checks them);
// quotes; a port mapper DUMP call and reply read by tshark (which matches the reply to the
// call and decodes the mapping list); hostile variants of each.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "audit/probe_factories.h"
#include "probe_test_support.h"

namespace bw::audit {
namespace {

using test::Bytes;

// RFC 864: 72-character lines, each starting one character further along the 95 printable
// ASCII characters, each ended by CR LF.
std::string rfc864(std::size_t lines, std::size_t first_line = 0) {
  std::string out;
  for (std::size_t l = first_line; l < first_line + lines; ++l) {
    for (std::size_t i = 0; i < 72; ++i) out.push_back(static_cast<char>(' ' + (l + i) % 95));
    out += "\r\n";
  }
  return out;
}

TEST(ChargenProbe, RequestIsTheOneAttackersSend) {
  const std::string path = test::kCaptures + "stopddos/amp.dns.RRSIG.fragmented.pcap";
  if (!test::haveTool("tshark") || !std::filesystem::exists(path)) {
    GTEST_SKIP() << "needs tshark and " << path;
  }
  const auto rows = test::tsharkFields(path, "chargen", {"udp.payload", "udp.dstport"});
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0][1], "19");
  EXPECT_EQ(test::fromHex(rows[0][0]), makeChargenProbe()->request(0));
  // ... and that request is not a reply.
  EXPECT_FALSE(test::parseOne(*makeChargenProbe(), test::fromHex(rows[0][0]), 0).positive);
}

TEST(ChargenProbe, Rfc864LinesAreChargen) {
  const auto probe = makeChargenProbe();
  for (std::size_t start : {0u, 20u, 90u, 94u}) {  // 90 and 94 wrap from '~' to ' '
    const std::string reply = rfc864(7, start);
    const ReplyInfo info = test::parseOne(*probe, test::bytesOf(reply), 0);
    EXPECT_TRUE(info.positive) << start;
    EXPECT_TRUE(info.complete);
    std::string line = reply.substr(0, 72);  // details trim the blanks at either end
    line.erase(0, line.find_first_not_of(' '));
    line.erase(line.find_last_not_of(' ') + 1);
    EXPECT_EQ(info.details["line"], line);
  }
  if (test::haveTool("tshark")) {
    test::TempDir dir;
    const std::string pcap = dir.file("c.pcap");
    test::writePcap(pcap, {{19, 40000, test::bytesOf(rfc864(7)), true}});
    const auto rows = test::tsharkFields(pcap, "chargen", {"chargen.data"});
    ASSERT_EQ(rows.size(), 1u);
  }
  // A line pattern without the CR LF, as some stacks send a random-length chunk.
  EXPECT_TRUE(test::parseOne(*probe, test::bytesOf(rfc864(1).substr(30, 20)), 0).positive);
  EXPECT_TRUE(test::parseOne(*probe, test::bytesOf("!\"#$%"), 0).positive);
}

TEST(ChargenProbe, NotChargen) {
  const auto probe = makeChargenProbe();
  std::string stepped;  // the ring's characters, but three apart: printable, no pattern
  for (int i = 0; i < 200; ++i) stepped.push_back(static_cast<char>(' ' + (3 * i) % 95));
  for (const std::string& s :
       {std::string(), std::string("\n"), std::string("hello, this is a plain sentence\r\n"),
        std::string("ab"), std::string("abc\0defghijklmnopqrstuvwxyz", 27), stepped,
        std::string("\x03\x03\x00\x00\x45\x00", 6)}) {
    EXPECT_FALSE(test::parseOne(*probe, test::bytesOf(s), 0).positive) << s;
  }
}

TEST(QotdProbe, QuotesAndNonQuotes) {
  const auto probe = makeQotdProbe();
  const std::string quote =
      "\"The best way to predict the future is to invent it.\"\r\n Alan Kay\r\n";
  ReplyInfo info = test::parseOne(*probe, test::bytesOf(quote), 0);
  EXPECT_TRUE(info.positive);
  EXPECT_TRUE(info.complete);
  EXPECT_EQ(info.details["quote"],
            "\"The best way to predict the future is to invent it.\".. Alan Kay");
  EXPECT_TRUE(test::parseOne(*probe, test::bytesOf("Ne\xc3\xafve \xe2\x80\x94 quote\n"), 0)
                  .positive);  // UTF-8
  for (const std::string& s :
       {std::string(), std::string("\n"), std::string("\r\n \t"),
        std::string("quote\0with nul", 14), std::string("\x03\x03\xfc\x1b\x00\x00\x00\x00", 8)}) {
    EXPECT_FALSE(test::parseOne(*probe, test::bytesOf(s), 0).positive);
  }
  std::string long_quote(4000, 'q');
  info = test::parseOne(*probe, test::bytesOf(long_quote), 0);
  EXPECT_TRUE(info.positive);
  EXPECT_EQ(info.details["quote"].get<std::string>().size(), 128u);
}

// --- Portmap -----------------------------------------------------------------------------

void put32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

struct Mapping {
  std::uint32_t program, version, protocol, port;
};

const std::vector<Mapping> kMappings = {
    {100000, 4, 6, 111},    {100000, 3, 6, 111},  {100000, 2, 6, 111},    {100000, 4, 17, 111},
    {100000, 3, 17, 111},   {100000, 2, 17, 111}, {100005, 3, 17, 20048}, {100005, 3, 6, 20048},
    {100024, 1, 17, 36441}, {100003, 3, 6, 2049}, {100003, 4, 6, 2049},   {100021, 4, 17, 43091},
};

Bytes dumpReply(std::uint32_t xid, const std::vector<Mapping>& mappings) {
  Bytes r;
  for (std::uint32_t w : {xid, 1u, 0u, 0u, 0u, 0u})
    put32(r, w);  // REPLY, accepted, AUTH_NONE, SUCCESS
  for (const Mapping& m : mappings) {
    for (std::uint32_t w : {1u, m.program, m.version, m.protocol, m.port}) put32(r, w);
  }
  put32(r, 0);
  return r;
}

TEST(PortmapProbe, DumpCallAndReplyReadByTshark) {
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  const std::uint16_t token = 0x0111;
  const auto probe = makePortmapProbe();
  const Bytes reply = dumpReply(token, kMappings);
  test::TempDir dir;
  const std::string pcap = dir.file("p.pcap");
  test::writePcap(pcap, {{40000, 111, probe->request(token), false}, {111, 40000, reply, true}});
  const auto rows = test::tsharkFields(
      pcap, "rpc",
      {"rpc.xid", "rpc.msgtyp", "rpc.program", "rpc.programversion", "rpc.procedure",
       "rpc.replystat", "rpc.state_accept", "portmap.prog", "_ws.expert"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "0x00000111");
  EXPECT_EQ(rows[0][1], "0");
  EXPECT_EQ(rows[0][2], "100000");
  EXPECT_EQ(test::firstValue(rows[0][3]), "2");
  EXPECT_EQ(rows[0][4], "4");  // DUMP
  EXPECT_EQ(rows[0][8], "");
  EXPECT_EQ(rows[1][1], "1");
  EXPECT_EQ(rows[1][5], "0");
  EXPECT_EQ(rows[1][6], "0");
  const auto programs = test::split(rows[1][7], ',');
  ASSERT_EQ(programs.size(), kMappings.size());

  const ReplyInfo info = test::parseOne(*probe, reply, token);
  EXPECT_TRUE(info.positive);
  EXPECT_TRUE(info.complete);
  EXPECT_EQ(info.details["mappings"], programs.size());
  EXPECT_EQ(info.details["programs"],
            nlohmann::json({"portmapper", "mountd", "status", "nfs", "nlockmgr"}));
  EXPECT_FALSE(info.details.contains("list_truncated"));
  std::printf("portmap: %zu B request, %zu B reply for %zu mappings: %.1fx\n",
              probe->request(token).size(), reply.size(), kMappings.size(),
              static_cast<double>(reply.size()) / probe->request(token).size());
}

TEST(PortmapProbe, RefusalsAndHostileReplies) {
  const std::uint16_t token = 7;
  const auto probe = makePortmapProbe();
  ReplyInfo info = test::parseOne(*probe, probe->request(token), token);
  EXPECT_EQ(info.details["rejected"]["not_response"], 1);
  EXPECT_FALSE(test::parseOne(*probe, dumpReply(token + 1, kMappings), token).positive);

  Bytes denied;
  for (std::uint32_t w : {7u, 1u, 1u, 1u, 2u, 2u}) put32(denied, w);  // MSG_DENIED, AUTH_ERROR
  info = test::parseOne(*probe, denied, token);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["rpc_error"], "denied");
  Bytes unavailable;
  for (std::uint32_t w : {7u, 1u, 0u, 0u, 0u, 1u}) put32(unavailable, w);  // PROG_UNAVAIL
  info = test::parseOne(*probe, unavailable, token);
  EXPECT_EQ(info.details["rpc_error"], "program_unavailable");

  Bytes verifier;
  for (std::uint32_t w : {7u, 1u, 0u, 0u, 0xFFFFFFFFu, 0u}) put32(verifier, w);
  EXPECT_FALSE(test::parseOne(*probe, verifier, token).positive);
  Bytes follows = dumpReply(token, kMappings);
  follows[27] = 2;  // "value follows" must be 0 or 1
  EXPECT_FALSE(test::parseOne(*probe, follows, token).positive);

  // A list cut by the server's buffer still shows the port mapper answering, from the first
  // whole entry on.
  const Bytes whole = dumpReply(token, kMappings);
  for (std::size_t n = 0; n < whole.size(); ++n) {
    const Bytes cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
    info = test::parseOne(*probe, cut, token);
    EXPECT_EQ(info.positive, n >= 24 + 20) << n;
    if (info.positive) {
      EXPECT_EQ(info.details["mappings"], (n - 24) / 20);
      EXPECT_EQ(info.details["list_truncated"], true);
    }
  }
}

}  // namespace
}  // namespace bw::audit
