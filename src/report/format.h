// Human units and UTC timestamps for the terminal report: counts with thousands separators,
// decimal byte sizes, bit and packet rates, durations, and event times (int64 nanoseconds
// since 1970) rendered in UTC without touching the process's locale or time zone.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bw::report {

// 2345678 -> "2,345,678".
std::string formatCount(std::uint64_t n);

// Decimal units: "512 B", "1.50 kB", "13.8 MB", "702.3 MB", "1.94 GB", "2.10 TB".
// Two decimals below 10 of a unit, one above.
std::string formatBytes(std::uint64_t bytes);

// "1.21 Gbit/s", "512.00 Mbit/s", "64.00 kbit/s", "800 bit/s" (two decimals from kbit/s up).
std::string formatBitRate(double bits_per_second);

// "0.10 Mpps" from 100 kpps up, "12.3 kpps" from 1 kpps, else "250 pps".
std::string formatPacketRate(double packets_per_second);

// "9.87 s", "120 ms", "0 ms", "2 min 05 s", "1 h 02 min" (rounded to the unit shown).
std::string formatDuration(std::int64_t ns);

// Seconds since 1970 as a double, keeping sub-microsecond precision for current dates:
// whole seconds and the fraction are converted separately.
double epochSeconds(std::int64_t ns) noexcept;

struct CivilTime {
  int year = 1970, month = 1, day = 1;
  int hour = 0, minute = 0, second = 0;
  std::int64_t nanos = 0;  // 0 .. 999'999'999
};
// UTC calendar fields of an event time (proleptic Gregorian, negative times allowed).
CivilTime civilTime(std::int64_t ns) noexcept;

// "2018-02-28".
std::string formatDate(std::int64_t ns);
// "17:21:07.002" with `decimals` fractional digits (0-9; truncated, not rounded, so a time
// never prints as the next second).
std::string formatTimeOfDay(std::int64_t ns, int decimals = 3);
// "2018-02-28 17:21:07.002".
std::string formatTimestamp(std::int64_t ns, int decimals = 3);
// "2018-02-28 17:21:02.013 – 17:21:07.002 UTC"; the end repeats the date when it differs.
std::string formatTimeRange(std::int64_t start_ns, std::int64_t end_ns, int decimals = 3);

// Makes untrusted text (ransom notes from packets, names from databases) safe for a terminal:
// printable ASCII is kept, whitespace becomes one space, everything else (control bytes,
// escape sequences, non-ASCII) becomes '?'. At most `max_chars` characters are kept; a
// longer text ends in "...".
std::string sanitizeForTerminal(std::string_view text, std::size_t max_chars = 200);

// Valid UTF-8 with every invalid byte sequence replaced by U+FFFD, so text from packets and
// files can go into JSON.
std::string toValidUtf8(std::string_view text);

}  // namespace bw::report
