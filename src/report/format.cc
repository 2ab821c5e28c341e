#include "report/format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace bw::report {

namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;

// Floor division, so times before 1970 land in the right second and day.
std::int64_t floorDiv(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Days since 1970-01-01 -> civil date (H. Hinnant's civil_from_days).
void civilFromDays(std::int64_t z, int* y, int* m, int* d) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t dd = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t mm = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yoe + era * 400 + (mm <= 2 ? 1 : 0));
  *m = static_cast<int>(mm);
  *d = static_cast<int>(dd);
}

std::string scaled(double value, const char* unit) {
  return value < 10 ? fmt::format("{:.2f} {}", value, unit) : fmt::format("{:.1f} {}", value, unit);
}

}  // namespace

std::string formatCount(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string formatBytes(std::uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  // Switch units where the rounded value would otherwise print as "1000.0".
  if (b < 1e3) return fmt::format("{} B", bytes);
  if (b < 999.95e3) return scaled(b / 1e3, "kB");
  if (b < 999.95e6) return scaled(b / 1e6, "MB");
  if (b < 999.95e9) return scaled(b / 1e9, "GB");
  return scaled(b / 1e12, "TB");
}

std::string formatBitRate(double bps) {
  if (!std::isfinite(bps) || bps < 0) bps = 0;
  if (bps >= 999.995e6) return fmt::format("{:.2f} Gbit/s", bps / 1e9);
  if (bps >= 999.995e3) return fmt::format("{:.2f} Mbit/s", bps / 1e6);
  if (bps >= 1e3) return fmt::format("{:.2f} kbit/s", bps / 1e3);
  return fmt::format("{:.0f} bit/s", bps);
}

std::string formatPacketRate(double pps) {
  if (!std::isfinite(pps) || pps < 0) pps = 0;
  if (pps >= 1e5) return fmt::format("{:.2f} Mpps", pps / 1e6);
  if (pps >= 1e3) return fmt::format("{:.1f} kpps", pps / 1e3);
  return fmt::format("{:.0f} pps", pps);
}

std::string formatDuration(std::int64_t ns) {
  if (ns < 0) ns = 0;
  if (ns < 999'500'000) return fmt::format("{} ms", (ns + 500'000) / 1'000'000);
  // Rounded to hundredths; what rounds to 60.00 s is shown in minutes.
  const std::int64_t centis = (ns + 5'000'000) / 10'000'000;
  if (centis < 6000) return fmt::format("{}.{:02} s", centis / 100, centis % 100);
  const std::int64_t s = (ns + kNsPerSecond / 2) / kNsPerSecond;
  if (s < 3600) return fmt::format("{} min {:02} s", s / 60, s % 60);
  return fmt::format("{} h {:02} min", s / 3600, (s % 3600) / 60);
}

double epochSeconds(std::int64_t ns) noexcept {
  // Converting ns to double first would lose ~0.25 us at today's epoch; split instead.
  return static_cast<double>(ns / kNsPerSecond) + static_cast<double>(ns % kNsPerSecond) / 1e9;
}

CivilTime civilTime(std::int64_t ns) noexcept {
  CivilTime t;
  const std::int64_t secs = floorDiv(ns, kNsPerSecond);
  t.nanos = ns - secs * kNsPerSecond;
  const std::int64_t days = floorDiv(secs, 86400);
  const std::int64_t sod = secs - days * 86400;
  civilFromDays(days, &t.year, &t.month, &t.day);
  t.hour = static_cast<int>(sod / 3600);
  t.minute = static_cast<int>((sod % 3600) / 60);
  t.second = static_cast<int>(sod % 60);
  return t;
}

std::string formatDate(std::int64_t ns) {
  CivilTime t = civilTime(ns);
  return fmt::format("{:04}-{:02}-{:02}", t.year, t.month, t.day);
}

std::string formatTimeOfDay(std::int64_t ns, int decimals) {
  CivilTime t = civilTime(ns);
  std::string out = fmt::format("{:02}:{:02}:{:02}", t.hour, t.minute, t.second);
  if (decimals > 0) {
    if (decimals > 9) decimals = 9;
    std::string frac = fmt::format("{:09}", t.nanos);
    out += '.';
    out.append(frac, 0, static_cast<std::size_t>(decimals));
  }
  return out;
}

std::string formatTimestamp(std::int64_t ns, int decimals) {
  return formatDate(ns) + " " + formatTimeOfDay(ns, decimals);
}

std::string formatTimeRange(std::int64_t start_ns, std::int64_t end_ns, int decimals) {
  std::string out = formatTimestamp(start_ns, decimals);
  out += " \u2013 ";
  out += formatDate(start_ns) == formatDate(end_ns) ? formatTimeOfDay(end_ns, decimals)
                                                    : formatTimestamp(end_ns, decimals);
  out += " UTC";
  return out;
}

std::string sanitizeForTerminal(std::string_view text, std::size_t max_chars) {
  std::string out;
  out.reserve(std::min(text.size(), max_chars + 3));
  bool last_space = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (!last_space && !out.empty() && out.size() < max_chars) out.push_back(' ');
      last_space = true;
      continue;
    }
    if (out.size() >= max_chars) {
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out += "...";
      return out;
    }
    last_space = false;
    out.push_back(c >= 0x21 && c <= 0x7e ? static_cast<char>(c) : '?');
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string toValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 < 0x80) {
      len = 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
      if (b0 == 0xED) hi = 0x9F;  // no surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;  // <= U+10FFFF
    }
    bool ok = len > 0 && i + len <= text.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    }
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace bw::report
