// DNS probe: the request as tshark reads it, the verdict on every DNS response in the shared
// captures against tshark's own reading of the same bytes (open = RA, NOERROR, answers),
// hostile variants of real replies, and real Unbound resolvers in a network namespace: one
// that recurses for everyone and one that refuses.
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

bool tsharkTrue(const std::string& v) { return v == "1" || v == "True" || v == "true"; }

TEST(DnsProbe, RequestIsARecursiveRootNsQueryWithEdns) {
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  const auto probe = makeDnsProbe();
  test::TempDir dir;
  const std::string pcap = dir.file("q.pcap");
  test::writePcap(pcap, {{40000, 53, probe->request(0xBEEF), false}});
  const auto rows = test::tsharkFields(
      pcap, "dns",
      {"dns.id", "dns.flags.response", "dns.flags.recdesired", "dns.qry.name", "dns.qry.type",
       "dns.qry.class", "dns.rr.udp_payload_size", "dns.count.queries"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(std::stoul(rows[0][0], nullptr, 16), 0xBEEFu);
  EXPECT_FALSE(tsharkTrue(rows[0][1]));
  EXPECT_TRUE(tsharkTrue(rows[0][2]));
  EXPECT_EQ(rows[0][3], "<Root>");
  EXPECT_EQ(rows[0][4], "2");  // NS
  EXPECT_EQ(rows[0][5], "0x0001");
  EXPECT_EQ(rows[0][6], "4096");
  EXPECT_EQ(rows[0][7], "1");
}

// Every DNS response in the captures: the probe calls it open recursion exactly when tshark
// reads RA=1, RCODE 0 and at least one answer, and never under another id.
TEST(DnsProbe, VerdictOnCapturedResponsesMatchesTshark) {
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  const std::vector<std::string> files = {"ndpi/dns.pcap", "ndpi/dns_fragmented.pcap",
                                          "ndpi/1kxun.pcap", "zeek/wikipedia.pcap",
                                          "stopddos/amp.dns.RRSIG.fragmented.pcap"};
  const auto probe = makeDnsProbe();
  std::size_t positives = 0, negatives = 0, files_read = 0;
  for (const std::string& f : files) {
    const std::string path = test::kCaptures + f;
    if (!std::filesystem::exists(path)) continue;
    ++files_read;
    const auto rows = test::tsharkFields(
        path, "dns.flags.response == 1 && udp.port == 53 && !mdns && !llmnr",
        {"udp.payload", "dns.id", "dns.flags.recavail", "dns.flags.rcode", "dns.count.answers"});
    for (const auto& row : rows) {
      const Bytes payload = test::fromHex(test::firstValue(row[0]));
      const auto id = static_cast<std::uint16_t>(std::stoul(test::firstValue(row[1]), nullptr, 16));
      const bool ra = tsharkTrue(test::firstValue(row[2]));
      const unsigned rcode = std::stoul(test::firstValue(row[3]));
      const unsigned answers = std::stoul(test::firstValue(row[4]));
      const bool expected = ra && rcode == 0 && answers > 0;
      const ReplyInfo info = test::parseOne(*probe, payload, id);
      SCOPED_TRACE(f + " id " + row[1]);
      EXPECT_EQ(info.positive, expected);
      ASSERT_TRUE(info.details.contains("answers"));
      EXPECT_EQ(info.details["answers"], answers);
      EXPECT_EQ(info.details["recursion_available"], ra);
      EXPECT_EQ(info.details["response_bytes"], payload.size());
      EXPECT_FALSE(test::parseOne(*probe, payload, id ^ 0x5A5A).positive);
      (expected ? positives : negatives) += 1;
    }
  }
  if (files_read == 0) GTEST_SKIP() << "no DNS captures under " << test::kCaptures;
  EXPECT_GT(positives, 300u);  // the RRSIG reflection capture alone has 362
  EXPECT_GT(negatives, 30u);   // SERVFAIL and RA=0 replies in the same captures
}

// A real open-resolver answer from the captures, for the hostile variants below.
Bytes capturedOpenAnswer(std::uint16_t* id) {
  const std::string path = test::kCaptures + "ndpi/dns.pcap";
  if (!test::haveTool("tshark") || !std::filesystem::exists(path)) return {};
  const auto rows = test::tsharkFields(path, "dns.flags.response == 1 && dns.count.answers > 1",
                                       {"udp.payload", "dns.id"});
  if (rows.empty()) return {};
  *id = static_cast<std::uint16_t>(std::stoul(rows[0][1], nullptr, 16));
  return test::fromHex(rows[0][0]);
}

TEST(DnsProbe, HostileVariantsOfARealAnswer) {
  std::uint16_t id = 0;
  const Bytes real = capturedOpenAnswer(&id);
  if (real.empty()) GTEST_SKIP() << "needs tshark and ndpi/dns.pcap";
  const auto probe = makeDnsProbe();
  ASSERT_TRUE(test::parseOne(*probe, real, id).positive);

  Bytes refused = real;
  refused[3] = static_cast<std::uint8_t>((refused[3] & 0xF0) | 5);
  ReplyInfo info = test::parseOne(*probe, refused, id);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["rcode"], "REFUSED");
  EXPECT_EQ(info.details["open_recursion"], false);

  Bytes no_ra = real;
  no_ra[3] &= 0x7F;
  EXPECT_FALSE(test::parseOne(*probe, no_ra, id).positive);

  Bytes query = real;  // QR cleared: a query, not an answer
  query[2] &= 0x7F;
  info = test::parseOne(*probe, query, id);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["rejected"]["not_response"], 1);

  // Cut anywhere: never a crash, and once the answers are cut the verdict is negative.
  std::size_t first_positive_cut = real.size() + 1;
  bool was_positive = false;
  for (std::size_t n = 0; n <= real.size(); ++n) {
    const Bytes cut(real.begin(), real.begin() + static_cast<std::ptrdiff_t>(n));
    const bool pos = test::parseOne(*probe, cut, id).positive;
    EXPECT_TRUE(!was_positive || pos) << "positive at a shorter cut but not at " << n;
    if (pos && !was_positive) first_positive_cut = n;
    was_positive = was_positive || pos;
  }
  EXPECT_GT(first_positive_cut, 12u + 17u);  // header, question and one record at least

  // An answer count far beyond the records present, and a record length past the end.
  Bytes many = real;
  many[6] = 0xFF;
  many[7] = 0xFF;
  EXPECT_FALSE(test::parseOne(*probe, many, id).positive);
  // The capture's answer ends with an A record (tshark: 8 answers of type A, no authority or
  // additional records), so its RDLENGTH sits 6 bytes from the end.
  Bytes huge = real;
  ASSERT_EQ(huge[huge.size() - 5], 4);
  huge[huge.size() - 6] = 0xFF;
  huge[huge.size() - 5] = 0xFF;
  info = test::parseOne(*probe, huge, id);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["rejected"]["malformed"], 1);
}

TEST(DnsProbe, ItsOwnRequestAndGarbageAreNotOpenRecursion) {
  const auto probe = makeDnsProbe();
  ReplyInfo info = test::parseOne(*probe, probe->request(7), 7);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["rejected"]["not_response"], 1);
  EXPECT_FALSE(test::parseOne(*probe, {}, 7).positive);
  // An ICMP port-unreachable (type 3 code 3) with the quoted headers, as raw bytes.
  const Bytes icmp = test::fromHex("0303fc1b000000004500001c000140004011000a7f0000017f000001");
  EXPECT_FALSE(test::parseOne(*probe, icmp, 0x0303).positive);
  // A header claiming an answer, QR/RA set, NOERROR, and nothing after it.
  EXPECT_FALSE(test::parseOne(*probe, test::fromHex("00078180000100010000000000"), 7).positive);
}

// --- Real resolvers --------------------------------------------------------------------

std::string unboundConfig(const std::string& dir, const char* access) {
  std::string c =
      "server:\n"
      "  interface: 127.0.0.1\n  port: 53\n  do-ip6: no\n"
      "  do-daemonize: no\n  use-syslog: no\n  logfile: \"\"\n"
      "  chroot: \"\"\n  username: \"\"\n  pidfile: \"\"\n"
      "  directory: \"" +
      dir +
      "\"\n"
      "  module-config: \"iterator\"\n"
      // Unbound allows 127.0.0.0/8 by default; the more specific entry decides.
      "  access-control: 0.0.0.0/0 " +
      access +
      "\n"
      "  access-control: 127.0.0.0/8 " +
      access +
      "\n"
      // No upstream exists in the namespace: the root zone is served from local data, so
      // the answer to ". NS" is the priming answer a resolver would give.
      "  local-zone: \".\" static\n";
  for (char s = 'a'; s <= 'm'; ++s) {
    c += std::string("  local-data: \". 518400 IN NS ") + s + ".root-servers.net.\"\n";
  }
  c += "remote-control:\n  control-enable: no\n";
  return c;
}

struct ResolverRun {
  ReplyInfo info;
  std::size_t request_bytes = 0;
  std::size_t response_bytes = 0;
};

ResolverRun queryUnbound(const char* access) {
  ResolverRun out;
  test::TempDir dir;
  std::ofstream(dir.file("unbound.conf")) << unboundConfig(dir.path(), access);
  test::Netns ns;
  if (!ns.ok()) return out;
  if (!ns.spawn({"unbound", "-d", "-c", dir.file("unbound.conf")}, dir.file("unbound.log"))) {
    return out;
  }
  const auto probe = makeDnsProbe();
  const std::uint16_t token = 0x4242;
  const Bytes request = probe->request(token);
  const auto replies = test::exchangeWhenUp(53, request);
  out.info = test::parseAll(*probe, replies, token);
  out.request_bytes = request.size();
  out.response_bytes = test::totalBytes(replies);
  return out;
}

TEST(DnsProbe, RealUnboundOpenVersusRefusing) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  if (!test::haveTool("unbound") || !test::haveTool("ip")) GTEST_SKIP() << "needs unbound and ip";

  const ResolverRun open = queryUnbound("allow");
  ASSERT_GT(open.response_bytes, 0u) << "unbound did not answer in the namespace";
  EXPECT_TRUE(open.info.positive);
  EXPECT_TRUE(open.info.complete);
  EXPECT_EQ(open.info.details["rcode"], "NOERROR");
  EXPECT_EQ(open.info.details["recursion_available"], true);
  EXPECT_EQ(open.info.details["answers"], 13);
  std::printf("dns: unbound allow: request %zu B, response %zu B, amplification %.1fx\n",
              open.request_bytes, open.response_bytes,
              static_cast<double>(open.response_bytes) / open.request_bytes);

  const ResolverRun refused = queryUnbound("refuse");
  ASSERT_GT(refused.response_bytes, 0u) << "unbound did not answer in the namespace";
  EXPECT_FALSE(refused.info.positive);
  EXPECT_EQ(refused.info.details["rcode"], "REFUSED");
  EXPECT_EQ(refused.info.details["open_recursion"], false);
  std::printf("dns: unbound refuse: response %zu B (not exposure)\n", refused.response_bytes);
}

}  // namespace
}  // namespace bw::audit
