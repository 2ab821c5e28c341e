// The audit report: the JSON contract other tools read (keys, types, null for unknown,
// amplification at payload and IP level), CSV quoting, and the text table's advice, with
// hostile strings from replies kept off the terminal.
#include "audit/audit_report.h"

#include <gtest/gtest.h>

#include <sstream>

#include "audit/memcached_probe.h"

namespace bw::audit {
namespace {

class FakeProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "fake"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return 9999; }
  std::vector<std::uint8_t> request(std::uint16_t) const override { return {1, 2, 3}; }
  void parse(ByteSpan, std::uint16_t, ReplyInfo&) const override {}
  std::string advice() const override { return "Turn it off, \"really\", now."; }
};

Finding memcachedUdp(const Probe& p, const std::string& ip) {
  Finding f;
  f.ip = *IpAddress::parse(ip);
  f.probe = &p;
  f.info.positive = true;
  f.info.complete = true;
  f.info.version = "1.6.18";
  f.info.auth_required = false;
  f.info.details = {{"pid", 4242}, {"uptime", 60}, {"curr_connections", 2}, {"_udp", {{"x", 1}}}};
  f.request_bytes = 15;
  f.response_bytes = 2235;
  f.response_datagrams = 2;
  f.requests_answered = 1;
  f.attempts = 1;
  return f;
}

AuditReport sample(const Probe& udp, const Probe& fake) {
  AuditReport r;
  r.targets = 256;
  r.services = {"memcached", "fake"};
  r.stats.probed = 256;
  r.stats.duration_s = 0.4567;
  r.findings.push_back(memcachedUdp(udp, "198.18.1.40"));
  r.findings.push_back(memcachedUdp(udp, "198.18.1.10"));
  Finding odd;
  odd.ip = *IpAddress::parse("2001:db8::5");
  odd.probe = &fake;
  odd.info.positive = true;
  odd.info.version = "evil\x1b[31m,\"x\"";
  odd.request_bytes = 3;
  odd.response_bytes = 30;
  odd.response_datagrams = 1;
  odd.requests_answered = 1;
  r.findings.push_back(odd);
  return r;
}

TEST(AuditReport, JsonFollowsTheContract) {
  auto udp = makeMemcachedUdpProbe();
  FakeProbe fake;
  AuditReport r = sample(*udp, fake);
  nlohmann::json j = nlohmann::json::parse(renderJson(r));
  EXPECT_EQ(j["targets"], 256);
  EXPECT_EQ(j["probed"], 256);
  EXPECT_DOUBLE_EQ(j["duration_s"].get<double>(), 0.457);
  ASSERT_EQ(j["findings"].size(), 3u);
  const auto& f = j["findings"][0];  // sorted by address: IPv4 before IPv6
  EXPECT_EQ(f["ip"], "198.18.1.10");
  EXPECT_EQ(j["findings"][1]["ip"], "198.18.1.40");
  EXPECT_EQ(f["service"], "memcached");
  EXPECT_EQ(f["transport"], "udp");
  EXPECT_EQ(f["port"], 11211);
  EXPECT_EQ(f["version"], "1.6.18");
  EXPECT_EQ(f["auth_required"], false);
  EXPECT_EQ(f["request_bytes"], 15);
  EXPECT_EQ(f["response_bytes"], 2235);
  EXPECT_EQ(f["response_datagrams"], 2);
  EXPECT_DOUBLE_EQ(f["amplification"].get<double>(), 149.0);  // 2235 / 15
  // IP level: 28 header bytes per IPv4 datagram on both sides: (2235 + 56) / (15 + 28).
  EXPECT_DOUBLE_EQ(f["details"]["amplification_ip"].get<double>(), 53.28);
  EXPECT_EQ(f["details"]["pid"], 4242);
  EXPECT_FALSE(f["details"].contains("_udp"));
  EXPECT_NE(f["advice"].get<std::string>().find("-U 0"), std::string::npos);
  // Keys in the contract's order.
  std::vector<std::string> keys;
  const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(renderJson(r));
  for (const auto& [k, v] : ordered["findings"][0].items()) keys.push_back(k);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"ip", "service", "transport", "port", "version",
                                      "auth_required", "request_bytes", "response_bytes",
                                      "response_datagrams", "amplification", "details", "advice"}));
  const auto& v6 = j["findings"][2];
  EXPECT_TRUE(v6["auth_required"].is_null());  // the reply did not say
  // IPv6: 48 header bytes per datagram: (30 + 48) / (3 + 48).
  EXPECT_DOUBLE_EQ(v6["details"]["amplification_ip"].get<double>(), 1.53);
}

TEST(AuditReport, UnknownVersionIsNullAndOldMemcachedIsToldToUpgrade) {
  auto udp = makeMemcachedUdpProbe();
  Finding f = memcachedUdp(*udp, "198.18.1.1");
  f.info.version.clear();
  EXPECT_TRUE(findingToJson(f)["version"].is_null());
  f.info.version = "1.4.25";
  EXPECT_NE(adviceFor(f).find("predates 1.5.6"), std::string::npos);
  f.info.version = "1.5.6";
  EXPECT_EQ(adviceFor(f).find("predates"), std::string::npos);
}

TEST(AuditReport, CsvQuotesWhatNeedsQuoting) {
  auto udp = makeMemcachedUdpProbe();
  FakeProbe fake;
  std::string csv = renderCsv(sample(*udp, fake));
  std::istringstream in(csv);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header,
            "ip,service,transport,port,version,auth_required,request_bytes,response_bytes,"
            "response_datagrams,amplification,amplification_ip,details,advice");
  EXPECT_NE(csv.find("198.18.1.10,memcached,udp,11211,1.6.18,false,15,2235,2,149.0,53.28,"),
            std::string::npos)
      << csv;
  // The fake's version and advice carry commas and quotes: quoted, quotes doubled.
  EXPECT_NE(csv.find("\"Turn it off, \"\"really\"\", now.\""), std::string::npos) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
}

TEST(AuditReport, TextTableGroupsAdviceAndKeepsRepliesOffTheTerminal) {
  auto udp = makeMemcachedUdpProbe();
  FakeProbe fake;
  std::string text = renderText(sample(*udp, fake));
  EXPECT_NE(text.find("3 exposed services on 3 hosts"), std::string::npos) << text;
  EXPECT_NE(text.find("149x (2 dgrams)"), std::string::npos) << text;
  EXPECT_NE(text.find("memcached 11211/udp on 198.18.1.10, 198.18.1.40"), std::string::npos)
      << text;
  EXPECT_NE(text.find("-U 0"), std::string::npos);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << "terminal escape from a reply";

  AuditReport empty;
  empty.targets = 16;
  empty.stats.probed = 16;
  empty.services = {"memcached"};
  std::string quiet = renderText(empty);
  EXPECT_NE(quiet.find("nothing exposed"), std::string::npos) << quiet;
  EXPECT_EQ(quiet.find("What to do"), std::string::npos);
  nlohmann::json j = nlohmann::json::parse(renderJson(empty));
  EXPECT_TRUE(j["findings"].is_array());
  EXPECT_TRUE(j["findings"].empty());
}

}  // namespace
}  // namespace bw::audit
