// The terminal report carries the key facts of each attack and scanner in human units, stays
// plain without colour, and never passes packet bytes through to the terminal.
#include "report/text_report.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include "report/asn_tsv.h"
#include "sample_analysis.h"

namespace bw {
namespace {

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(TextReport, CaptureOverview) {
  const std::string t = renderText(testing::sampleAnalysis(), nullptr);
  EXPECT_TRUE(has(t, "breakwater analyze: capture.pcap\n")) << t;
  EXPECT_TRUE(has(t, "2,345,678 packets, 1.94 GB IP bytes")) << t;
  EXPECT_TRUE(has(t, "2018-02-28 17:20:58.000 \u2013 17:21:09.870 UTC (11.87 s)")) << t;
  EXPECT_TRUE(has(t, "malformed: 3 truncated_ip_header")) << t;
  EXPECT_FALSE(has(t, "\033[")) << "no colour unless asked";
  EXPECT_FALSE(has(t, "No attacks found."));
}

TEST(TextReport, InboundAttackBlock) {
  const std::string t = renderText(testing::sampleAnalysis(), nullptr);
  EXPECT_TRUE(has(t, "ATTACK 1  memcached reflection \u2192 198.18.0.10 (inbound)")) << t;
  EXPECT_TRUE(has(t, "when      2018-02-28 17:21:02.013 \u2013 17:21:07.002 UTC (4.99 s)")) << t;
  EXPECT_TRUE(has(t, "1.21 Gbit/s, 0.10 Mpps")) << t;
  EXPECT_TRUE(has(t, "total 498,331 packets (1,234 fragments), 702.3 MB")) << t;
  EXPECT_TRUE(has(t, "300 reflectors; top 3 by bytes:")) << t;
  EXPECT_TRUE(has(t, "203.0.113.7")) << t;
  EXPECT_TRUE(has(t, "9,812 pkts")) << t;
  EXPECT_TRUE(has(t, "13.8 MB")) << t;
  EXPECT_TRUE(has(t, "evidence  memcached UDP frame header, STAT/VALUE payloads")) << t;
  EXPECT_TRUE(has(t, "ransom    \"Pay 50 XMR to 4AdU")) << t;
  EXPECT_TRUE(has(t,
                  "Monero: "
                  "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45D"
                  "J852K5Jv2684Rge"))
      << t;
}

TEST(TextReport, OutboundAndGenericBlocks) {
  const std::string t = renderText(testing::sampleAnalysis(), nullptr);
  EXPECT_TRUE(has(t, "ATTACK 2  ntp reflection from our hosts \u2192 203.0.113.99 (outbound)"))
      << t;
  EXPECT_TRUE(has(t, "abused    198.18.0.77, 198.18.0.78")) << t;
  EXPECT_TRUE(has(t, "NTP monlist")) << t;
  EXPECT_TRUE(has(t, "ATTACK 3  udp:500 reflection \u2192 2001:db8:feed::1 (inbound)")) << t;
  EXPECT_TRUE(has(t, "~70,000 reflectors (estimated)")) << t;
  EXPECT_TRUE(has(t, "still active")) << t;
  EXPECT_TRUE(has(t, "source port only")) << t;
}

TEST(TextReport, Scanners) {
  const std::string t = renderText(testing::sampleAnalysis(), nullptr);
  EXPECT_TRUE(has(t, "\nSCANNERS\n")) << t;
  EXPECT_TRUE(has(t, "192.0.2.66 probed udp/11211 on 256 targets, 17:20:58.1 \u2013 17:20:59.9"))
      << t;
  EXPECT_TRUE(has(t, "(3 answered)")) << t;
}

TEST(TextReport, AsnColumn) {
  auto db = TsvAsnDatabase::parse(testing::sampleAsnTsv(), "asn.tsv");
  ASSERT_TRUE(db.ok());
  const std::string t = renderText(testing::sampleAnalysis(), db->get());
  EXPECT_TRUE(has(t, "AS64500 EXAMPLE-NET")) << t;
  EXPECT_TRUE(has(t, "AS64510 V6-NET")) << t;
  EXPECT_TRUE(has(t, "top 3 by bytes (2 ASNs):")) << t;
  EXPECT_TRUE(has(t, "ASN data: ip2asn TSV")) << t;
}

TEST(TextReport, NoAttacks) {
  Analysis an;
  an.capture.source = "quiet.pcap";
  an.capture.packets = 10;
  an.capture.bytes = 1000;
  an.capture.first_ns = testing::kCaptureStart;
  an.capture.last_ns = testing::kCaptureStart + 500'000'000;
  const std::string t = renderText(an, nullptr);
  EXPECT_TRUE(has(t, "10 packets, 1.00 kB IP bytes")) << t;
  EXPECT_TRUE(has(t, "No attacks found.")) << t;
  EXPECT_FALSE(has(t, "ATTACK")) << t;
  EXPECT_FALSE(has(t, "SCANNERS")) << t;
  EXPECT_FALSE(has(t, "malformed")) << t;
}

TEST(TextReport, UntrustedTextCannotReachTheTerminal) {
  Analysis an = testing::sampleAnalysis();
  an.attacks[0].ransom_notes = {{"pay \x1b]0;owned\x07 now\x1b[2J", {"4\x1b[31m"}}};
  const std::string t = renderText(an, nullptr);
  EXPECT_FALSE(has(t, "\x1b")) << t;
  EXPECT_FALSE(has(t, "\x07")) << t;
  EXPECT_TRUE(has(t, "\"pay ?]0;owned? now?[2J\"")) << t;
}

TEST(TextReport, ColourWhenAsked) {
  TextReportOptions opts;
  opts.color = true;
  const std::string t = renderText(testing::sampleAnalysis(), nullptr, opts);
  EXPECT_TRUE(has(t, "\033[1;31mATTACK 1")) << t;
  EXPECT_TRUE(has(t, "\033[0m")) << t;
}

TEST(TextReport, WantColorHonoursNoColor) {
  ::setenv("NO_COLOR", "1", 1);
  EXPECT_FALSE(wantColor(1));
  ::unsetenv("NO_COLOR");
  // A pipe or file is never a terminal.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_FALSE(wantColor(fds[1]));
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace bw
