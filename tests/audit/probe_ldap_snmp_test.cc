// The two BER probes, CLDAP and SNMP: requests as tshark reads them; real replies from the
// shared captures (suricata-verify's CLDAP pings, nDPI/Zeek SNMP walks and the StopDDoS
// SNMP reflection capture) judged against tshark's reading of the same bytes; a root DSE
// reply built here and read back by tshark; hostile BER.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "audit/probe_factories.h"
#include "probe_test_support.h"

namespace bw::audit {
namespace {

using test::Bytes;

// Test-side BER writer (definite lengths, long form past 127 bytes).
Bytes tlv(std::uint8_t tag, const Bytes& content) {
  Bytes out{tag};
  const std::size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(n));
  }
  out.insert(out.end(), content.begin(), content.end());
  return out;
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes str(std::uint8_t tag, std::string_view s) { return tlv(tag, test::bytesOf(s)); }

bool printableAscii(const Bytes& b) {
  if (b.empty() || b.front() == ' ' || b.back() == ' ') return false;
  for (std::uint8_t c : b) {
    if (c < 0x20 || c >= 0x7F) return false;
  }
  return true;
}

// --- CLDAP -------------------------------------------------------------------------------

TEST(CldapProbe, RequestIsARootDseSearch) {
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  test::TempDir dir;
  const std::string pcap = dir.file("q.pcap");
  test::writePcap(pcap, {{40000, 389, makeCldapProbe()->request(0x0102), false}});
  const auto rows = test::tsharkFields(pcap, "cldap",
                                       {"ldap.messageID", "ldap.protocolOp", "ldap.scope",
                                        "ldap.present", "ldap.baseObject", "_ws.expert"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], std::to_string(0x0102 + 1));
  EXPECT_EQ(rows[0][1], "3");  // searchRequest
  EXPECT_EQ(rows[0][2], "0");  // baseObject
  EXPECT_EQ(rows[0][3], "objectClass");
  EXPECT_EQ(rows[0][4], "");  // the root DSE
  EXPECT_EQ(rows[0][5], "");  // no malformed-packet warnings
}

TEST(CldapProbe, CapturedDomainControllerReplies) {
  const std::vector<std::string> files = {"suricata-verify/ldap-udp__cldap.pcap",
                                          "suricata-verify/bug-8619__cldap-leak.pcap"};
  if (!test::haveTool("tshark") || !std::filesystem::exists(test::kCaptures + files[0])) {
    GTEST_SKIP() << "needs tshark and the suricata-verify CLDAP captures";
  }
  const auto probe = makeCldapProbe();
  std::size_t replies = 0, requests = 0;
  for (const std::string& f : files) {
    for (const auto& row : test::tsharkFields(test::kCaptures + f, "cldap",
                                              {"udp.payload", "ldap.messageID", "ldap.protocolOp",
                                               "ldap.type", "ldap.resultCode"})) {
      const Bytes payload = test::fromHex(row[0]);
      const auto id = static_cast<std::uint16_t>(std::stoul(test::firstValue(row[1])));
      if (row[2] == "3") {  // the pings themselves
        ++requests;
        const ReplyInfo info = test::parseOne(*probe, payload, id - 1);
        EXPECT_FALSE(info.positive);
        EXPECT_EQ(info.details["rejected"]["not_response"], 1);
        continue;
      }
      ++replies;
      ASSERT_EQ(row[2], "4,5");  // searchResEntry + searchResDone in one datagram
      const ReplyInfo info = test::parseOne(*probe, payload, id - 1);
      EXPECT_TRUE(info.positive);
      EXPECT_TRUE(info.complete);
      EXPECT_EQ(info.details["attributes"], test::split(row[3], ',').size());
      EXPECT_EQ(info.details["result_code"], std::stoi(row[4]));
      EXPECT_FALSE(test::parseOne(*probe, payload, id).positive);  // another message id
    }
  }
  EXPECT_EQ(replies, 5u);
  EXPECT_EQ(requests, 8u);
}

TEST(CldapProbe, RootDseReplyReadBackByTshark) {
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  const std::uint16_t token = 0x7FFF;
  const Bytes id = tlv(0x02, {0x00, 0x80, 0x00});  // 32768 = token + 1
  auto attribute = [](std::string_view type, std::initializer_list<std::string_view> values) {
    Bytes vals;
    for (std::string_view v : values) vals = cat({vals, str(0x04, v)});
    return tlv(0x30, cat({str(0x04, type), tlv(0x31, vals)}));
  };
  const Bytes attributes = tlv(
      0x30,
      cat({attribute("dnsHostName", {"dc1.example.org"}),
           attribute("supportedLDAPVersion", {"3", "2"}),
           attribute("defaultNamingContext", {"DC=example,DC=org"}),
           attribute("namingContexts", {"DC=example,DC=org", "CN=Configuration,DC=example,DC=org"}),
           attribute("vendorName", {"Samba Team (https://www.samba.org)"}),
           attribute("vendorVersion", {"4.17.12-Debian"}),
           attribute("currentTime", {"20240101000000.0Z"})}));
  const Bytes entry = tlv(0x30, cat({id, tlv(0x64, cat({str(0x04, ""), attributes}))}));
  const Bytes done =
      tlv(0x30, cat({id, tlv(0x65, cat({tlv(0x0A, {0}), str(0x04, ""), str(0x04, "")}))}));
  const Bytes reply = cat({entry, done});

  test::TempDir dir;
  const std::string pcap = dir.file("r.pcap");
  test::writePcap(pcap, {{389, 40000, reply, true}});
  const auto rows = test::tsharkFields(
      pcap, "cldap", {"ldap.messageID", "ldap.protocolOp", "ldap.type", "ldap.AttributeValue"});
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0][0], "32768,32768");
  ASSERT_EQ(rows[0][1], "4,5");
  const auto types = test::split(rows[0][2], ',');
  ASSERT_EQ(types.size(), 7u);
  ASSERT_EQ(types[0], "dnsHostName");

  const auto probe = makeCldapProbe();
  const ReplyInfo info = test::parseOne(*probe, reply, token);
  EXPECT_TRUE(info.positive);
  EXPECT_TRUE(info.complete);
  EXPECT_EQ(info.details["attributes"], types.size());
  EXPECT_EQ(info.details["dns_host_name"], "dc1.example.org");
  EXPECT_EQ(info.details["supported_ldap_versions"], nlohmann::json({"3", "2"}));
  EXPECT_EQ(info.details["naming_contexts"].size(), 2u);
  EXPECT_EQ(info.version, "4.17.12-Debian");
  EXPECT_FALSE(info.details.contains("currentTime"));

  // Every truncation is malformed BER: never positive, never a crash.
  for (std::size_t n = 0; n < entry.size(); ++n) {
    const Bytes cut(reply.begin(), reply.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(test::parseOne(*probe, cut, token).positive) << n;
  }
  // searchResDone alone (e.g. noSuchObject) is no exposure.
  const Bytes refused =
      tlv(0x30, cat({id, tlv(0x65, cat({tlv(0x0A, {32}), str(0x04, ""), str(0x04, "")}))}));
  const ReplyInfo r = test::parseOne(*probe, refused, token);
  EXPECT_FALSE(r.positive);
  EXPECT_EQ(r.details["result_code"], 32);
}

TEST(CldapProbe, HostileBer) {
  const auto probe = makeCldapProbe();
  const std::vector<Bytes> hostile = {
      {},
      {0x30},
      {0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00},              // indefinite length
      {0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x01, 0x01},  // length past the datagram
      {0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9},                 // 9 length octets
      {0x3F, 0x81, 0x01, 0x00},                                // multi-byte tag
      {0x30, 0x05, 0x02, 0x01, 0x01, 0x64, 0x00},              // entry without content
      {0x30, 0x07, 0x02, 0x09, 1, 2, 3, 4, 5, 6, 7},           // integer too long
  };
  for (const Bytes& b : hostile) EXPECT_FALSE(test::parseOne(*probe, b, 0).positive);
}

// --- SNMP --------------------------------------------------------------------------------

TEST(SnmpProbe, RequestIsAV2cGetBulkOfTheSystemGroup) {
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  test::TempDir dir;
  const std::string pcap = dir.file("q.pcap");
  test::writePcap(pcap, {{40000, 161, makeSnmpProbe()->request(0xABCD), false}});
  const auto rows =
      test::tsharkFields(pcap, "snmp",
                         {"snmp.version", "snmp.community", "snmp.data", "snmp.request_id",
                          "snmp.non_repeaters", "snmp.max_repetitions", "snmp.name", "_ws.expert"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "1");  // v2c
  EXPECT_EQ(rows[0][1], "public");
  EXPECT_EQ(rows[0][2], "5");  // getBulkRequest
  EXPECT_EQ(rows[0][3], std::to_string(0xABCD));
  EXPECT_EQ(rows[0][4], "0");
  EXPECT_EQ(rows[0][5], "10");
  EXPECT_EQ(rows[0][6], "1.3.6.1.2.1.1");
  EXPECT_EQ(rows[0][7], "");
}

// Every SNMP datagram in the captures: positive exactly when tshark reads a GetResponse
// without error and with varbinds, and the request id equals the token; sysDescr as tshark
// reads it.
TEST(SnmpProbe, VerdictOnCapturedRepliesMatchesTshark) {
  const std::vector<std::string> files = {"ndpi/snmp.pcap", "zeek/snmp_snmpwalk-short.pcap",
                                          "stopddos/amp.UDP.snmp.src161.pcapng"};
  if (!test::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  const auto probe = makeSnmpProbe();
  std::size_t positives = 0, negatives = 0, descr_checked = 0, files_read = 0;
  std::size_t largest = 0;
  for (const std::string& f : files) {
    if (!std::filesystem::exists(test::kCaptures + f)) continue;
    ++files_read;
    for (const auto& row :
         test::tsharkFields(test::kCaptures + f, "snmp && !icmp",
                            {"udp.payload", "snmp.request_id", "snmp.data", "snmp.error_status",
                             "snmp.name", "snmp.value.octets", "snmp.version"})) {
      const Bytes payload = test::fromHex(row[0]);
      const long long id = std::stoll(row[1].empty() ? "-1" : row[1]);
      const bool fits = id >= 0 && id <= 0xFFFF;
      const auto token = static_cast<std::uint16_t>(id);
      const auto names = row[4].empty() ? std::vector<std::string>{} : test::split(row[4], ',');
      const bool expected = fits && row[2] == "2" && row[3] == "0" && !names.empty() &&
                            (row[6] == "0" || row[6] == "1");
      const ReplyInfo info = test::parseOne(*probe, payload, token);
      SCOPED_TRACE(f + " request id " + row[1]);
      ASSERT_EQ(info.positive, expected);
      EXPECT_FALSE(test::parseOne(*probe, payload, token ^ 0x100).positive);
      if (!expected) {
        ++negatives;
        continue;
      }
      ++positives;
      largest = std::max(largest, payload.size());
      EXPECT_EQ(info.details["varbinds"], names.size());
      if (names[0] == "1.3.6.1.2.1.1.1.0" && !row[5].empty()) {
        const Bytes descr = test::fromHex(test::firstValue(row[5]));
        if (printableAscii(descr)) {
          EXPECT_EQ(info.details["sys_descr"], std::string(descr.begin(), descr.end()));
          EXPECT_EQ(info.version, std::string(descr.begin(), descr.end()).substr(0, 128));
          ++descr_checked;
        }
      }
    }
  }
  if (files_read == 0) GTEST_SKIP() << "no SNMP captures under " << test::kCaptures;
  EXPECT_GT(positives, 1000u);  // StopDDoS: 1059 noError replies to request id 1
  EXPECT_GT(negatives, 2000u);  // tooBig, authorizationError, requests, other ids
  EXPECT_GT(descr_checked, 100u);
  const std::size_t request = makeSnmpProbe()->request(1).size();
  std::printf("snmp: largest captured reply %zu B vs our %zu B request: %.1fx\n", largest, request,
              static_cast<double>(largest) / request);
}

TEST(SnmpProbe, HostileAndErrorReplies) {
  const auto probe = makeSnmpProbe();
  ReplyInfo info = test::parseOne(*probe, probe->request(5), 5);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["rejected"]["not_response"], 1);

  const Bytes varbind =
      tlv(0x30, cat({tlv(0x06, {0x2b, 6, 1, 2, 1, 1, 1, 0}), str(0x04, "Linux router 5.10")}));
  auto response = [&](std::uint8_t status, const Bytes& varbinds) {
    return tlv(0x30, cat({tlv(0x02, {1}), str(0x04, "public"),
                          tlv(0xA2, cat({tlv(0x02, {5}), tlv(0x02, {status}), tlv(0x02, {0}),
                                         tlv(0x30, varbinds)}))}));
  };
  info = test::parseOne(*probe, response(0, varbind), 5);
  EXPECT_TRUE(info.positive);
  EXPECT_EQ(info.details["sys_descr"], "Linux router 5.10");
  info = test::parseOne(*probe, response(1, {}), 5);
  EXPECT_FALSE(info.positive);
  EXPECT_EQ(info.details["error_status"], "tooBig");
  EXPECT_FALSE(test::parseOne(*probe, response(0, {}), 5).positive);  // no varbinds

  const Bytes good = response(0, varbind);
  for (std::size_t n = 0; n < good.size(); ++n) {
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(test::parseOne(*probe, cut, 5).positive) << n;
  }
  // An OID arc over 32 bits and an OID that never ends.
  const Bytes big_arc =
      tlv(0x30, cat({tlv(0x06, {0x2b, 0x9F, 0xFF, 0xFF, 0xFF, 0x7F}), tlv(0x05, {})}));
  EXPECT_FALSE(test::parseOne(*probe, response(0, big_arc), 5).positive);
  const Bytes open_oid = tlv(0x30, cat({tlv(0x06, {0x2b, 0x86}), tlv(0x05, {})}));
  EXPECT_FALSE(test::parseOne(*probe, response(0, open_oid), 5).positive);
}

}  // namespace
}  // namespace bw::audit
