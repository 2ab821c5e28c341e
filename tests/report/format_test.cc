// Human units, UTC timestamps and text sanitising for the terminal report.
#include "report/format.h"

#include <gtest/gtest.h>

#include <cmath>

namespace bw::report {
namespace {

// 2018-02-28 17:21:02.013456789 UTC
constexpr std::int64_t kT = 1519838462'013456789LL;

TEST(FormatCount, ThousandsSeparators) {
  EXPECT_EQ(formatCount(0), "0");
  EXPECT_EQ(formatCount(999), "999");
  EXPECT_EQ(formatCount(1000), "1,000");
  EXPECT_EQ(formatCount(2345678), "2,345,678");
  EXPECT_EQ(formatCount(18446744073709551615ULL), "18,446,744,073,709,551,615");
}

TEST(FormatBytes, DecimalUnits) {
  EXPECT_EQ(formatBytes(0), "0 B");
  EXPECT_EQ(formatBytes(999), "999 B");
  EXPECT_EQ(formatBytes(1500), "1.50 kB");
  EXPECT_EQ(formatBytes(13'800'000), "13.8 MB");
  EXPECT_EQ(formatBytes(702'300'000), "702.3 MB");
  EXPECT_EQ(formatBytes(1'940'000'000), "1.94 GB");
  EXPECT_EQ(formatBytes(2'100'000'000'000), "2.10 TB");
  // Just under a unit boundary rounds up into the next unit, never "1000.0 MB".
  EXPECT_EQ(formatBytes(999'999'999), "1.00 GB");
}

TEST(FormatRates, BitsAndPackets) {
  EXPECT_EQ(formatBitRate(1.21e9), "1.21 Gbit/s");
  EXPECT_EQ(formatBitRate(512e6), "512.00 Mbit/s");
  EXPECT_EQ(formatBitRate(64e3), "64.00 kbit/s");
  EXPECT_EQ(formatBitRate(800), "800 bit/s");
  EXPECT_EQ(formatBitRate(std::nan("")), "0 bit/s");
  EXPECT_EQ(formatPacketRate(100'000), "0.10 Mpps");
  EXPECT_EQ(formatPacketRate(2'500'000), "2.50 Mpps");
  EXPECT_EQ(formatPacketRate(12'345), "12.3 kpps");
  EXPECT_EQ(formatPacketRate(250), "250 pps");
}

TEST(FormatDuration, Scales) {
  EXPECT_EQ(formatDuration(0), "0 ms");
  EXPECT_EQ(formatDuration(120'000'000), "120 ms");
  EXPECT_EQ(formatDuration(9'870'000'000), "9.87 s");
  EXPECT_EQ(formatDuration(4'988'543'211), "4.99 s");
  EXPECT_EQ(formatDuration(999'400'000), "999 ms");
  EXPECT_EQ(formatDuration(999'600'000), "1.00 s");
  EXPECT_EQ(formatDuration(59'994'000'000), "59.99 s");
  EXPECT_EQ(formatDuration(59'996'000'000), "1 min 00 s");
  EXPECT_EQ(formatDuration(125'000'000'000), "2 min 05 s");
  EXPECT_EQ(formatDuration(3'720'000'000'000), "1 h 02 min");
  EXPECT_EQ(formatDuration(-5), "0 ms");
}

TEST(FormatTime, UtcCalendar) {
  EXPECT_EQ(formatTimestamp(0), "1970-01-01 00:00:00.000");
  EXPECT_EQ(formatTimestamp(kT), "2018-02-28 17:21:02.013");
  EXPECT_EQ(formatTimeOfDay(kT, 1), "17:21:02.0");
  EXPECT_EQ(formatTimeOfDay(kT, 9), "17:21:02.013456789");
  EXPECT_EQ(formatTimeOfDay(kT, 0), "17:21:02");
  // Leap day and a date far from the epoch.
  EXPECT_EQ(formatDate(951782400LL * 1'000'000'000), "2000-02-29");
  EXPECT_EQ(formatDate(4102444800LL * 1'000'000'000), "2100-01-01");
  // Before 1970: floor, not truncation.
  EXPECT_EQ(formatTimestamp(-1), "1969-12-31 23:59:59.999");
  // Truncation: 23:59:59.9999 never prints as the next day.
  EXPECT_EQ(formatTimestamp(86'399'999'900'000), "1970-01-01 23:59:59.999");
}

TEST(FormatTime, Ranges) {
  EXPECT_EQ(formatTimeRange(kT, kT + 4'989'000'000),
            "2018-02-28 17:21:02.013 \u2013 17:21:07.002 UTC");
  // Across midnight the end repeats its date.
  EXPECT_EQ(formatTimeRange(kT, kT + 86'400'000'000'000),
            "2018-02-28 17:21:02.013 \u2013 2018-03-01 17:21:02.013 UTC");
}

TEST(EpochSeconds, KeepsMicroseconds) {
  const double s = epochSeconds(kT);
  EXPECT_EQ(std::llround(s * 1e6), 1519838462013457LL);
  EXPECT_NEAR(s, 1519838462.013456789, 1e-6);
  EXPECT_EQ(epochSeconds(0), 0.0);
  EXPECT_NEAR(epochSeconds(-1'500'000'000), -1.5, 1e-12);
}

TEST(Sanitize, TerminalSafe) {
  EXPECT_EQ(sanitizeForTerminal("Pay 50 XMR"), "Pay 50 XMR");
  EXPECT_EQ(sanitizeForTerminal("a\x1b[31mred"), "a?[31mred");
  EXPECT_EQ(sanitizeForTerminal("line1\r\n\tline2  "), "line1 line2");
  EXPECT_EQ(sanitizeForTerminal("caf\xc3\xa9"), "caf??");
  EXPECT_EQ(sanitizeForTerminal("abcdefghij", 4), "abcd...");
  EXPECT_EQ(sanitizeForTerminal("abcd    ", 4), "abcd");
}

TEST(Utf8, InvalidSequencesReplaced) {
  EXPECT_EQ(toValidUtf8("plain"), "plain");
  EXPECT_EQ(toValidUtf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(toValidUtf8("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(toValidUtf8("a\xff"
                        "b"),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(toValidUtf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong
  EXPECT_EQ(toValidUtf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  EXPECT_EQ(toValidUtf8("\xe2\x82"), "\xef\xbf\xbd\xef\xbf\xbd");                  // truncated
}

}  // namespace
}  // namespace bw::report
