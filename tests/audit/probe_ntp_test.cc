// NTP probes: both requests as tshark reads them; mode 6 READVAR replies from the shared
// captures (tcpdump's ntp-control.pcap) with the version the reply itself spells; mode 7
// replies of other request codes (real) and the same bytes relabelled MON_GETLIST_1, judged
// by tshark; hostile bytes; and a real ntpsec ntpd in a network namespace, which answers
// READVAR and, having no monlist, must not be reported for it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "audit/probe_factories.h"
#include "probe_test_support.h"

namespace bw::audit {
namespace {

using test::Bytes;

TEST(NtpProbe, RequestsAsTsharkReadsThem) {
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  test::TempDir dir;
  const std::string pcap = dir.file("q.pcap");
  test::writePcap(pcap, {{40000, 123, makeNtpReadvarProbe()->request(0x1234), false},
                         {40001, 123, makeNtpMonlistProbe()->request(0x1234), false}});
  const auto ctl = test::tsharkFields(
      pcap, "ntp.flags.mode == 6",
      {"ntp.ctrl.flags2.r", "ntp.ctrl.flags2.opcode", "ntp.ctrl.sequence", "ntp.ctrl.associd"});
  ASSERT_EQ(ctl.size(), 1u);
  EXPECT_EQ(ctl[0][0], "0");
  EXPECT_EQ(ctl[0][1], "2");  // READVAR
  EXPECT_EQ(ctl[0][2], std::to_string(0x1234));
  EXPECT_EQ(ctl[0][3], "0");
  const auto priv = test::tsharkFields(pcap, "ntp.flags.mode == 7",
                                       {"ntp.priv.flags.r", "ntp.priv.impl", "ntp.priv.reqcode"});
  ASSERT_EQ(priv.size(), 1u);
  EXPECT_EQ(priv[0][0], "0");
  EXPECT_EQ(priv[0][1], "3");
  EXPECT_EQ(priv[0][2], "42");  // MON_GETLIST_1
  // And the monlist request is byte for byte the one in esnet's capture of the attack.
  const std::string esnet = test::kCaptures + "esnet/ntp-monlist.pcap";
  if (std::filesystem::exists(esnet)) {
    const auto rows = test::tsharkFields(esnet, "ntp", {"udp.payload"});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(test::fromHex(rows[0][0]), makeNtpMonlistProbe()->request(0));
  }
}

TEST(NtpProbe, ReadvarRepliesFromCapture) {
  const std::string path = test::kCaptures + "tcpdump/ntp-control.pcap";
  if (!test::haveTool("tshark") || !std::filesystem::exists(path)) {
    GTEST_SKIP() << "needs tshark and " << path;
  }
  const auto probe = makeNtpReadvarProbe();
  const auto rows =
      test::tsharkFields(path, "ntp.flags.mode == 6",
                         {"udp.payload", "ntp.ctrl.flags2.r", "ntp.ctrl.flags2.opcode",
                          "ntp.ctrl.flags2.error", "ntp.ctrl.sequence", "ntp.ctrl.flags2.more"});
  ASSERT_EQ(rows.size(), 21u);
  std::size_t positives = 0;
  for (const auto& row : rows) {
    const Bytes payload = test::fromHex(row[0]);
    const auto seq = static_cast<std::uint16_t>(std::stoul(row[4]));
    const bool expected = row[1] == "1" && row[2] == "2" && row[3] == "0";
    const ReplyInfo info = test::parseOne(*probe, payload, seq);
    EXPECT_EQ(info.positive, expected) << row[0];
    EXPECT_FALSE(test::parseOne(*probe, payload, seq + 1).positive);
    if (expected) {
      EXPECT_EQ(info.complete, row[5] == "0");
    }
    positives += expected;
  }
  // Frame 2 (system variables) and five peer READVARs of two fragments each.
  EXPECT_EQ(positives, 11u);

  // Frame 2 is the system variables: the version is the quoted text after `version="`.
  const Bytes sys = test::fromHex(rows[1][0]);
  const std::string text(sys.begin(), sys.end());
  const std::size_t at = text.find("version=\"") + 9;
  const std::string version = text.substr(at, text.find('"', at) - at);
  ASSERT_FALSE(version.empty());
  const ReplyInfo info = test::parseOne(*probe, sys, 68);
  EXPECT_EQ(info.version, version);
  EXPECT_EQ(info.details["version"], version);
  EXPECT_EQ(info.details["system"], "Linux/4.4.79-18.26-default");
  EXPECT_EQ(info.details["stratum"], "3");
  EXPECT_EQ(info.details["refid"], "132.199.4.1");
}

// A mode 7 PEER_LIST_SUM reply from the captures (six 72-byte items) for the monlist tests.
Bytes capturedMode7Reply() {
  const std::string path = test::kCaptures + "tcpdump/ntp-mode7.pcap";
  if (!test::haveTool("tshark") || !std::filesystem::exists(path)) return {};
  const auto rows =
      test::tsharkFields(path, "ntp.priv.flags.r == 1 && ntp.priv.reqcode == 1", {"udp.payload"});
  return rows.empty() ? Bytes{} : test::fromHex(rows[0][0]);
}

TEST(NtpMonlistProbe, OtherMode7RepliesAndRequestsAreNotMonlist) {
  const std::string path = test::kCaptures + "tcpdump/ntp-mode7.pcap";
  const std::string zeek = test::kCaptures + "zeek/ntp_ntpmode67.pcap";
  if (!test::haveTool("tshark") || !std::filesystem::exists(path)) {
    GTEST_SKIP() << "needs tshark and " << path;
  }
  const auto probe = makeNtpMonlistProbe();
  ReplyInfo info;
  for (const std::string& f : {path, zeek}) {
    for (const auto& row : test::tsharkFields(f, "ntp", {"udp.payload"})) {
      probe->parse(test::span(test::fromHex(row[0])), 0, info);
    }
  }
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["rejected"]["wrong_request"], 4);  // four replies, other requests
  EXPECT_GE(info.details["rejected"]["not_response"], 4);   // requests, MON_GETLIST_1 included
}

TEST(NtpMonlistProbe, MonlistReplyJudgedByTshark) {
  Bytes reply = capturedMode7Reply();
  if (reply.empty()) GTEST_SKIP() << "needs tshark and tcpdump/ntp-mode7.pcap";
  reply[3] = 42;  // the same six 72-byte entries, as a MON_GETLIST_1 reply
  Bytes first = reply;
  first[0] |= 0x40;  // "more": a second datagram follows

  test::TempDir dir;
  const std::string pcap = dir.file("m.pcap");
  test::writePcap(pcap, {{123, 40000, first, true}, {123, 40000, reply, true}});
  const auto rows = test::tsharkFields(
      pcap, "ntp.flags.mode == 7",
      {"ntp.priv.flags.r", "ntp.priv.flags.more", "ntp.priv.reqcode", "ntp.priv.numitems"});
  ASSERT_EQ(rows.size(), 2u);
  std::size_t items = 0;
  for (const auto& row : rows) {
    ASSERT_EQ(row[0], "1");
    ASSERT_EQ(row[2], "42");
    items += std::stoul(row[3]);
  }
  ASSERT_EQ(rows[0][1], "1");
  ASSERT_EQ(rows[1][1], "0");

  const auto probe = makeNtpMonlistProbe();
  ReplyInfo info;
  probe->parse(test::span(first), 0, info);
  EXPECT_TRUE(info.positive);
  EXPECT_FALSE(info.complete);
  probe->parse(test::span(reply), 0, info);
  EXPECT_TRUE(info.complete);
  EXPECT_EQ(info.details["monlist_entries"], items);
  EXPECT_EQ(info.details["item_size"], 72);

  // An error reply (ntpd >= 4.2.7p26 answers "no data") is not monlist exposure.
  Bytes nodata(reply.begin(), reply.begin() + 8);
  nodata[4] = 0x40;  // err 4, 0 items
  nodata[5] = 0;
  info = test::parseOne(*probe, nodata, 0);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["mode7_error"], "no_data");

  // Items claimed beyond the datagram, and every truncation of the real reply.
  Bytes lying = reply;
  lying[5] = 7;
  EXPECT_FALSE(test::parseOne(*probe, lying, 0).positive);
  for (std::size_t n = 0; n < reply.size(); ++n) {
    const Bytes cut(reply.begin(), reply.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(test::parseOne(*probe, cut, 0).positive) << n;
  }
}

TEST(NtpProbe, HostileBytes) {
  const auto readvar = makeNtpReadvarProbe();
  ReplyInfo info = test::parseOne(*readvar, readvar->request(9), 9);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["rejected"]["not_response"], 1);
  // A response whose count runs past the datagram.
  EXPECT_FALSE(
      test::parseOne(*readvar, test::fromHex("168200090000000000000100414243"), 9).positive);
  // An error response (E bit, status "unauthorized").
  info = test::parseOne(*readvar, test::fromHex("16c200090100000000000000"), 9);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["mode6_error"], 1);
  // A valid response with an unterminated quoted version.
  const std::string text = "version=\"ntpd 4";
  Bytes open_quote = test::fromHex("168200090000000000000000");
  open_quote[11] = static_cast<std::uint8_t>(text.size());
  open_quote.insert(open_quote.end(), text.begin(), text.end());
  info = test::parseOne(*readvar, open_quote, 9);
  EXPECT_TRUE(info.positive);
  EXPECT_TRUE(info.version.empty());  // cut short: left for the next fragment

  const auto monlist = makeNtpMonlistProbe();
  info = test::parseOne(*monlist, monlist->request(0), 0);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["rejected"]["not_response"], 1);
  EXPECT_FALSE(test::parseOne(*monlist, {}, 0).positive);
  EXPECT_FALSE(test::parseOne(*monlist, test::fromHex("9700032a0fff0fff"), 0).positive);
}

TEST(NtpProbe, RealNtpsecAnswersReadvarButNotMonlist) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  if (!test::haveTool("ntpd") || !test::haveTool("ip")) GTEST_SKIP() << "needs ntpd and ip";
  test::TempDir dir;
  // No servers, and the clock discipline off: this ntpd only answers queries. ntpsec drops
  // mode 6 queries unless a restrict line allows them.
  std::ofstream(dir.file("ntp.conf")) << "restrict default\nrestrict 127.0.0.1\n"
                                         "disable kernel\ndisable ntp\n";
  test::Netns ns;
  ASSERT_TRUE(ns.ok()) << "could not enter a new network namespace";
  ASSERT_TRUE(ns.spawn({"ntpd", "-n", "-c", dir.file("ntp.conf"), "-l", dir.file("ntpd.log")},
                       dir.file("ntpd.out")));

  const auto readvar = makeNtpReadvarProbe();
  const std::uint16_t token = 0x0D06;
  const Bytes request = readvar->request(token);
  const auto replies = test::exchangeWhenUp(123, request);
  ASSERT_FALSE(replies.empty()) << "ntpd did not answer READVAR";
  const ReplyInfo info = test::parseAll(*readvar, replies, token);
  EXPECT_TRUE(info.positive);
  EXPECT_TRUE(info.complete);
  EXPECT_NE(info.version.find("ntpsec"), std::string::npos) << info.version;
  EXPECT_TRUE(info.details.contains("system"));
  EXPECT_EQ(info.details["stratum"], "16");  // unsynchronised
  std::printf("ntp: ntpsec READVAR: request %zu B, response %zu B in %zu datagrams, %.1fx\n",
              request.size(), test::totalBytes(replies), replies.size(),
              static_cast<double>(test::totalBytes(replies)) / request.size());

  const auto monlist = makeNtpMonlistProbe();
  const auto mreplies = test::exchange(123, monlist->request(0), std::chrono::milliseconds(1500));
  const ReplyInfo minfo = test::parseAll(*monlist, mreplies, 0);
  EXPECT_FALSE(minfo.positive);
  std::printf("ntp-monlist: ntpsec: %zu reply datagrams (monlist not supported)\n",
              mreplies.size());
}

}  // namespace
}  // namespace bw::audit
