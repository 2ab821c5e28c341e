// The JSON contract (docs/json-schema.md): field names and types for inbound, outbound,
// generic and ransom cases; EPOCH precision; asn null without a database; safe strings.
#include "report/json_report.h"

#include <gtest/gtest.h>

#include <cmath>

#include "report/asn_tsv.h"
#include "sample_analysis.h"

namespace bw {
namespace {

using nlohmann::json;
using testing::kCaptureStart;
using testing::sampleAnalysis;

// Every contract field of an attack, with its JSON type.
void expectAttackContract(const json& a) {
  ASSERT_TRUE(a.is_object());
  EXPECT_TRUE(a.at("victim").is_string());
  EXPECT_TRUE(a.at("direction").is_string());
  EXPECT_TRUE(a.at("vector").is_string());
  EXPECT_TRUE(a.at("protocol").is_string());
  EXPECT_TRUE(a.at("source_port").is_number_unsigned());
  EXPECT_TRUE(a.at("start").is_number_float());
  EXPECT_TRUE(a.at("end").is_number_float());
  EXPECT_TRUE(a.at("packets").is_number_unsigned());
  EXPECT_TRUE(a.at("bytes").is_number_unsigned());
  EXPECT_TRUE(a.at("peak_pps").is_number());
  EXPECT_TRUE(a.at("peak_bps").is_number());
  EXPECT_TRUE(a.at("reflectors").is_number_unsigned());
  ASSERT_TRUE(a.at("top_reflectors").is_array());
  for (const json& r : a.at("top_reflectors")) {
    EXPECT_TRUE(r.at("ip").is_string());
    EXPECT_TRUE(r.at("packets").is_number_unsigned());
    EXPECT_TRUE(r.at("bytes").is_number_unsigned());
    EXPECT_TRUE(r.at("asn").is_null() || r.at("asn").is_number_unsigned());
  }
  ASSERT_TRUE(a.at("abused_hosts").is_array());
  for (const json& h : a.at("abused_hosts")) EXPECT_TRUE(h.is_string());
  ASSERT_TRUE(a.at("ransom_notes").is_array());
  for (const json& n : a.at("ransom_notes")) {
    EXPECT_TRUE(n.at("text").is_string());
    ASSERT_TRUE(n.at("monero_addresses").is_array());
    for (const json& m : n.at("monero_addresses")) EXPECT_TRUE(m.is_string());
  }
}

TEST(JsonReport, TopLevelAndCaptureContract) {
  const json j = toJson(sampleAnalysis(), nullptr);
  ASSERT_TRUE(j.is_object());
  ASSERT_TRUE(j.at("capture").is_object());
  ASSERT_TRUE(j.at("attacks").is_array());
  ASSERT_TRUE(j.at("scanners").is_array());
  const json& c = j.at("capture");
  EXPECT_EQ(c.at("packets"), 2'345'678u);
  EXPECT_EQ(c.at("bytes"), 1'940'000'000u);
  EXPECT_TRUE(c.at("first").is_number_float());
  EXPECT_TRUE(c.at("last").is_number_float());
  EXPECT_NEAR(c.at("first").get<double>(), 1519838458.0, 1e-6);
  EXPECT_NEAR(c.at("last").get<double>(), 1519838469.87, 1e-6);
  ASSERT_TRUE(c.at("malformed").is_object());
  EXPECT_EQ(c.at("malformed").at("truncated_ip_header"), 3u);
  EXPECT_EQ(c.at("source"), "capture.pcap");
  EXPECT_EQ(c.at("sampled"), false);
  EXPECT_EQ(j.at("schema_version"), kJsonSchemaVersion);
  EXPECT_TRUE(j.at("asn_database").is_null());
  EXPECT_EQ(j.at("engine").at("late_packets"), 5u);
}

TEST(JsonReport, InboundMemcachedWithRansom) {
  const json a = attackToJson(testing::memcachedInbound(), nullptr);
  expectAttackContract(a);
  EXPECT_EQ(a.at("victim"), "198.18.0.10");
  EXPECT_EQ(a.at("direction"), "inbound");
  EXPECT_EQ(a.at("vector"), "memcached");
  EXPECT_EQ(a.at("protocol"), "udp");
  EXPECT_EQ(a.at("source_port"), 11211);
  EXPECT_EQ(a.at("packets"), 498'331u);
  EXPECT_EQ(a.at("bytes"), 702'300'000u);
  EXPECT_DOUBLE_EQ(a.at("peak_pps").get<double>(), 100'000);
  EXPECT_DOUBLE_EQ(a.at("peak_bps").get<double>(), 1.21e9);
  EXPECT_EQ(a.at("reflectors"), 300u);
  ASSERT_EQ(a.at("top_reflectors").size(), 3u);
  EXPECT_EQ(a.at("top_reflectors")[0].at("ip"), "203.0.113.7");
  EXPECT_EQ(a.at("top_reflectors")[0].at("packets"), 9'812u);
  EXPECT_EQ(a.at("top_reflectors")[1].at("ip"), "2001:db8::77");
  for (const json& r : a.at("top_reflectors")) EXPECT_TRUE(r.at("asn").is_null());
  EXPECT_TRUE(a.at("abused_hosts").empty());  // present and empty for inbound
  ASSERT_EQ(a.at("ransom_notes").size(), 1u);
  EXPECT_NE(a.at("ransom_notes")[0].at("text").get<std::string>().find("Pay 50 XMR"),
            std::string::npos);
  ASSERT_EQ(a.at("ransom_notes")[0].at("monero_addresses").size(), 1u);
  EXPECT_EQ(a.at("ransom_notes")[0].at("monero_addresses")[0].get<std::string>().substr(0, 4),
            "4AdU");
  // Extras.
  EXPECT_EQ(a.at("evidence"), json({"payload_match", "memcached_frame", "memcached_text"}));
  EXPECT_EQ(a.at("fragments"), 1'234u);
  EXPECT_EQ(a.at("id"), 1u);
  EXPECT_EQ(a.at("active"), false);
  EXPECT_NEAR(a.at("duration").get<double>(), 4.988543211, 1e-9);
}

TEST(JsonReport, EpochKeepsMicroseconds) {
  const json a = attackToJson(testing::memcachedInbound(), nullptr);
  // start = 1519838462.013456789: the text form must survive a round trip to the microsecond.
  const double start = json::parse(a.dump()).at("start").get<double>();
  EXPECT_EQ(std::llround(start * 1e6), 1519838462013457LL);
  EXPECT_NEAR(start, 1519838462.013456789, 5e-7);
  const double end = a.at("end").get<double>();
  EXPECT_EQ(std::llround(end * 1e6), 1519838467002000LL);
  EXPECT_NEAR(a.at("detected_at").get<double>(), 1519838462.3, 1e-6);
}

TEST(JsonReport, OutboundListsAbusedHosts) {
  const json a = attackToJson(testing::ntpOutbound(), nullptr);
  expectAttackContract(a);
  EXPECT_EQ(a.at("direction"), "outbound");
  EXPECT_EQ(a.at("vector"), "ntp");
  EXPECT_EQ(a.at("source_port"), 123);
  EXPECT_EQ(a.at("abused_hosts"), json({"198.18.0.77", "198.18.0.78"}));
  EXPECT_TRUE(a.at("ransom_notes").is_array());
  EXPECT_TRUE(a.at("ransom_notes").empty());
  EXPECT_EQ(a.at("evidence"), json({"ntp_monlist"}));
}

TEST(JsonReport, GenericVectorLabelAndEstimate) {
  const json a = attackToJson(testing::genericUdp500(), nullptr);
  expectAttackContract(a);
  EXPECT_EQ(a.at("vector"), "udp:500");
  EXPECT_EQ(a.at("source_port"), 500);
  EXPECT_EQ(a.at("victim"), "2001:db8:feed::1");
  EXPECT_EQ(a.at("reflectors_estimated"), true);
  EXPECT_EQ(a.at("active"), true);
  EXPECT_TRUE(a.at("top_reflectors").empty());
  EXPECT_TRUE(a.at("evidence").empty());
}

TEST(JsonReport, ScannerContract) {
  const json s = scannerToJson(testing::memcachedScanner());
  EXPECT_EQ(s.at("source"), "192.0.2.66");
  EXPECT_EQ(s.at("protocol"), "udp");
  EXPECT_EQ(s.at("port"), 11211);
  EXPECT_EQ(s.at("targets"), 256u);
  EXPECT_TRUE(s.at("start").is_number_float());
  EXPECT_TRUE(s.at("end").is_number_float());
  EXPECT_NEAR(s.at("start").get<double>(), 1519838458.1, 1e-6);
  EXPECT_EQ(s.at("vector"), "memcached");
  EXPECT_EQ(s.at("responders"), 3u);
}

TEST(JsonReport, AsnFromDatabase) {
  auto db = TsvAsnDatabase::parse(testing::sampleAsnTsv(), "asn.tsv");
  ASSERT_TRUE(db.ok());
  const json j = toJson(sampleAnalysis(), db->get());
  const json& top = j.at("attacks")[0].at("top_reflectors");
  EXPECT_EQ(top[0].at("asn"), 64500u);
  EXPECT_EQ(top[0].at("as_name"), "EXAMPLE-NET");
  EXPECT_EQ(top[1].at("asn"), 64510u);
  EXPECT_TRUE(top[2].at("asn").is_null());  // 192.0.2.200: no match
  EXPECT_TRUE(top[2].at("as_name").is_null());
  EXPECT_EQ(j.at("attacks")[1].at("top_reflectors")[0].at("asn"), 64496u);
  EXPECT_TRUE(j.at("asn_database").is_string());
}

TEST(JsonReport, EmptyAnalysis) {
  Analysis an;
  an.capture.source = "empty.pcap";
  const json j = toJson(an, nullptr);
  EXPECT_TRUE(j.at("attacks").empty());
  EXPECT_TRUE(j.at("scanners").empty());
  EXPECT_EQ(j.at("capture").at("packets"), 0u);
  EXPECT_TRUE(j.at("capture").at("first").is_null());
  EXPECT_TRUE(j.at("capture").at("malformed").is_object());
  EXPECT_FALSE(j.contains("engine"));
}

TEST(JsonReport, ArbitraryBytesInStringsStillSerialise) {
  Analysis an;
  an.capture.source =
      "bad\xff"
      "name.pcap";
  AttackRecord a = testing::memcachedInbound();
  a.ransom_notes = {{std::string("pay\x00\xc3(\x1b[2J", 9), {"4\xfe"}}};
  an.attacks = {a};
  const std::string text = toJsonText(an, nullptr);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const json back = json::parse(text);  // valid UTF-8 JSON
  EXPECT_EQ(back.at("capture").at("source"), "bad\xef\xbf\xbdname.pcap");
  const std::string note = back.at("attacks")[0].at("ransom_notes")[0].at("text");
  EXPECT_EQ(note.substr(0, 4), std::string("pay\0", 4));
  // dump() on the json value itself must not throw either.
  EXPECT_NO_THROW(toJson(an, nullptr).dump());
}

TEST(JsonReport, TextIsTwoSpaceIndented) {
  const std::string text = toJsonText(sampleAnalysis(), nullptr);
  EXPECT_EQ(text.substr(0, 4), "{\n  ");
  EXPECT_NE(text.find("\n  \"attacks\": ["), std::string::npos);
}

}  // namespace
}  // namespace bw
