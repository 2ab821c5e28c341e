// `breakwater attacks list|show|export`: read the live sensor's attack store (docs/store.md).
//
// The store is opened read-only, so these commands never block or disturb a running sensor:
// SQLite's write-ahead log gives each command a consistent snapshot while the sensor keeps
// committing.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/command.h"
#include "core/prefix.h"
#include "decode/vector.h"
#include "report/format.h"
#include "report/json_report.h"
#include "store/attack_store.h"

namespace bw::cli {
namespace {

using nlohmann::json;
using report::formatBitRate;
using report::formatBytes;
using report::formatCount;
using report::formatDuration;
using report::formatPacketRate;
using report::formatTimestamp;
using report::sanitizeForTerminal;

struct AttacksOptions {
  std::string store = kDefaultStorePath;
  std::string format;  // per subcommand default
  bool active = false;
  std::string since, until, victim, vector;
  std::int64_t limit = 0;  // checked >= 0 by the parser
  std::uint64_t id = 0;
  std::size_t rows = 60;
  bool no_series = false;
  std::string output;
};

void fail(const std::string& message) {
  std::fprintf(stderr, "breakwater attacks: %s\n", message.c_str());
}

double nowEpoch() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

// A time given on the command line: EPOCH seconds ("1714564800.5"), an ISO 8601 date or date
// and time in UTC unless an offset is given ("2024-05-01", "2024-05-01T12:00:00Z",
// "2024-05-01 14:00+02:00"), or an age before now ("90s", "30m", "12h", "7d", "2w").
std::optional<double> parseWhen(std::string_view text, double now) {
  auto number = [](std::string_view s, double* out) {
    if (s.empty() || s.front() == '-' || s.front() == '+') return false;
    const char* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, *out);
    return ec == std::errc() && p == end && std::isfinite(*out);
  };
  double v = 0;
  if (number(text, &v)) return v;
  if (text.size() >= 2) {
    static constexpr std::pair<char, double> kUnits[] = {
        {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
    double unit = 0;
    for (const auto& [suffix, seconds] : kUnits) {
      if (text.back() == suffix) unit = seconds;
    }
    if (unit > 0 && number(text.substr(0, text.size() - 1), &v)) return now - v * unit;
  }
  // ISO 8601: fixed positions, so read digit fields by offset.
  auto digits = [&](std::size_t at, std::size_t n, int* out) {
    if (at + n > text.size()) return false;
    int value = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      value = value * 10 + (text[i] - '0');
    }
    *out = value;
    return true;
  };
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(0, 4, &year) || text.size() < 10 || text[4] != '-' || !digits(5, 2, &month) ||
      text[7] != '-' || !digits(8, 2, &day) || month < 1 || month > 12 || day < 1 || day > 31) {
    return std::nullopt;
  }
  std::size_t at = 10;
  double fraction = 0;
  if (at < text.size() && (text[at] == 'T' || text[at] == ' ')) {
    if (!digits(at + 1, 2, &hour) || at + 3 >= text.size() || text[at + 3] != ':' ||
        !digits(at + 4, 2, &minute) || hour > 23 || minute > 59) {
      return std::nullopt;
    }
    at += 6;
    if (at < text.size() && text[at] == ':') {
      if (!digits(at + 1, 2, &second) || second > 60) return std::nullopt;
      at += 3;
      if (at < text.size() && text[at] == '.') {
        std::size_t end = at + 1;
        while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
        if (end == at + 1) return std::nullopt;
        if (!number("0" + std::string(text.substr(at, end - at)), &fraction)) return std::nullopt;
        at = end;
      }
    }
  }
  int offset_s = 0;
  if (at < text.size()) {
    if (text[at] == 'Z' && at + 1 == text.size()) {
      at += 1;
    } else if ((text[at] == '+' || text[at] == '-') && text.size() == at + 6 &&
               text[at + 3] == ':') {
      int oh = 0, om = 0;
      if (!digits(at + 1, 2, &oh) || !digits(at + 4, 2, &om) || oh > 23 || om > 59) {
        return std::nullopt;
      }
      offset_s = (oh * 3600 + om * 60) * (text[at] == '-' ? -1 : 1);
      at += 6;
    } else {
      return std::nullopt;
    }
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t t = timegm(&tm);
  if (tm.tm_mday != day) return std::nullopt;  // normalised: 2024-02-31 is no date
  return static_cast<double>(t) - offset_s + fraction;
}

// EPOCH seconds as the integer nanoseconds report::format expects.
std::int64_t nanosOf(double seconds) {
  if (!std::isfinite(seconds)) return 0;
  seconds = std::clamp(seconds, -9.0e9, 9.0e9);
  // Microseconds are all a double carries at today's EPOCH; rounding to them keeps a stored
  // 17:21:02.3 from printing as 17:21:02.299.
  double whole = std::floor(seconds);
  return static_cast<std::int64_t>(whole) * 1'000'000'000 +
         std::llround((seconds - whole) * 1e6) * 1000;
}

// Readers for stored records, tolerant of fields a future or past version lacks.
double num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}
std::uint64_t count(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  double v = it->get<double>();
  return v > 0 ? static_cast<std::uint64_t>(v) : 0;
}
std::string str(const json& j, const char* key, std::size_t max_chars = 60) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? sanitizeForTerminal(it->get<std::string>(), max_chars)
                                          : std::string();
}
bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// A plain-text table: columns padded to their widest cell, numbers right-aligned.
class Table {
 public:
  Table(std::vector<std::string> headers, std::vector<bool> right)
      : headers_(std::move(headers)), right_(std::move(right)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render(const char* indent = "") const {
    std::vector<std::size_t> width(headers_.size());
    for (std::size_t c = 0; c < headers_.size(); ++c) width[c] = headers_[c].size();
    for (const auto& row : rows_) {
      for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    }
    std::string out;
    auto line = [&](const std::vector<std::string>& cells) {
      std::string l = indent;
      for (std::size_t c = 0; c < cells.size(); ++c) {
        if (c > 0) l += "  ";
        std::string pad(width[c] - cells[c].size(), ' ');
        l += right_[c] ? pad + cells[c] : cells[c] + pad;
      }
      l.erase(l.find_last_not_of(' ') + 1);
      out += l + "\n";
    };
    line(headers_);
    for (const auto& row : rows_) line(row);
    return out;
  }

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// Peak rates in fixed units so a column compares at a glance.
std::string fixedUnits(double v, double unit) {
  double x = std::isfinite(v) ? v / unit : 0.0;
  if (x > 0 && x < 0.0005) return "<0.001";
  return fmt::format("{:.3f}", x);
}

std::string durationOf(const json& r) {
  return formatDuration(nanosOf(num(r, "end")) - nanosOf(num(r, "start")));
}

std::string renderList(const std::vector<StoredAttack>& attacks, bool more,
                       const std::string& store) {
  if (attacks.empty()) return "no attacks match in " + store + "\n";
  Table t({"ID", "STATE", "VICTIM", "DIR", "VECTOR", "START (UTC)", "DURATION", "PEAK Gbit/s",
           "PEAK Mpps", "REFLECTORS"},
          {true, false, false, false, false, false, true, true, true, true});
  std::size_t active = 0;
  bool estimated = false;
  for (const StoredAttack& a : attacks) {
    const json& r = a.record;
    if (a.state == "active") ++active;
    estimated |= flag(r, "reflectors_estimated");
    std::string dir = str(r, "direction", 10);
    t.add({std::to_string(a.id), sanitizeForTerminal(a.state, 10), str(r, "victim", 40),
           dir == "outbound"  ? "out"
           : dir == "inbound" ? "in"
                              : dir,
           str(r, "vector", 16), formatTimestamp(nanosOf(num(r, "start")), 0), durationOf(r),
           fixedUnits(num(r, "peak_bps"), 1e9), fixedUnits(num(r, "peak_pps"), 1e6),
           formatCount(count(r, "reflectors")) + (flag(r, "reflectors_estimated") ? "~" : "")});
  }
  std::string out = t.render();
  out += fmt::format("{} {}, {} active ({})\n", attacks.size(),
                     attacks.size() == 1 ? "attack" : "attacks", active, store);
  if (estimated) out += "~ reflectors estimated (beyond the exact tracking bound)\n";
  if (more) out += "more attacks match: raise --limit (0 shows all)\n";
  return out;
}

// The per-second series, `rows` rows at most: seconds are grouped into equal spans and each
// row shows the mean rates over its span (seconds with no point count as silent), the sums
// of packets and bytes, and the most reflectors seen in one second.
std::string renderSeries(const std::vector<SeriesPoint>& series, std::size_t rows) {
  if (series.empty()) return "Per-second series: none recorded\n";
  const std::int64_t first = series.front().t, last = series.back().t;
  const std::int64_t span = last - first + 1;
  std::int64_t width = 1;
  if (rows > 0 && span > static_cast<std::int64_t>(rows)) {
    width = (span + static_cast<std::int64_t>(rows) - 1) / static_cast<std::int64_t>(rows);
  }
  bool one_day =
      report::formatDate(first * 1'000'000'000) == report::formatDate(last * 1'000'000'000);
  std::string out = fmt::format("Per-second series: {} s, {} points", span, series.size());
  out += width > 1 ? fmt::format(" ({} s per row, mean rates; --rows 0 for every second)\n", width)
                   : "\n";
  Table t({"TIME (UTC)", "PPS", "BIT/S", "PACKETS", "BYTES", "REFLECTORS"},
          {false, true, true, true, true, true});
  std::size_t i = 0;
  while (i < series.size()) {
    const std::int64_t start = first + ((series[i].t - first) / width) * width;
    const std::int64_t cover = std::min(width, last - start + 1);
    double pps = 0, bps = 0;
    std::uint64_t packets = 0, bytes = 0, reflectors = 0;
    for (; i < series.size() && series[i].t < start + width; ++i) {
      pps += series[i].pps;
      bps += series[i].bps;
      packets += series[i].packets;
      bytes += series[i].bytes;
      reflectors = std::max(reflectors, series[i].reflectors);
    }
    std::int64_t ns = start * 1'000'000'000;
    t.add({one_day ? report::formatTimeOfDay(ns, 0) : formatTimestamp(ns, 0),
           formatPacketRate(pps / static_cast<double>(cover)),
           formatBitRate(bps / static_cast<double>(cover)), formatCount(packets),
           formatBytes(bytes), formatCount(reflectors)});
  }
  return out + t.render("  ");
}

std::string renderShow(const StoredAttack& a, std::size_t rows) {
  const json& r = a.record;
  std::string out;
  auto field = [&](const char* label, const std::string& value) {
    out += fmt::format("  {:<12} {}\n", label, value);
  };
  std::string state = a.state == "active" ? "ACTIVE" : "ended";
  if (flag(r, "interrupted")) state += " (the sensor stopped during it)";
  out += fmt::format("Attack {}: {} on {}, {}, {}\n", a.id, str(r, "vector", 16),
                     str(r, "victim", 40), str(r, "direction", 10), state);
  const std::int64_t start = nanosOf(num(r, "start")), end = nanosOf(num(r, "end"));
  field("Start", formatTimestamp(start) + " UTC");
  field(a.state == "active" ? "Last packet" : "End", formatTimestamp(end) + " UTC");
  field("Duration", formatDuration(end - start) + (a.state == "active" ? " so far" : ""));
  std::string detected = formatTimestamp(nanosOf(a.detected_at)) + " UTC";
  double lag = a.detected_at - num(r, "start");
  if (lag >= 0 && lag < 3600) detected += fmt::format(" ({:.3f} s after the first packet)", lag);
  field("Detected", detected);
  std::string traffic =
      formatCount(count(r, "packets")) + " packets, " + formatBytes(count(r, "bytes"));
  if (count(r, "fragments") > 0)
    traffic += ", " + formatCount(count(r, "fragments")) + " fragments";
  field("Traffic", traffic);
  field("Peak", formatBitRate(num(r, "peak_bps")) + ", " + formatPacketRate(num(r, "peak_pps")));
  field("Reflectors", formatCount(count(r, "reflectors")) +
                          (flag(r, "reflectors_estimated") ? " (estimated)" : ""));
  if (num(r, "threshold_pps") > 0 || num(r, "threshold_bps") > 0) {
    field("Thresholds", formatPacketRate(num(r, "threshold_pps")) + ", " +
                            formatBitRate(num(r, "threshold_bps")));
  }
  if (auto ev = r.find("evidence"); ev != r.end() && ev->is_array() && !ev->empty()) {
    std::string names;
    for (const json& e : *ev) {
      if (e.is_string())
        names += (names.empty() ? "" : ", ") + sanitizeForTerminal(e.get<std::string>(), 30);
    }
    field("Evidence", names);
  }

  if (auto tr = r.find("top_reflectors"); tr != r.end() && tr->is_array() && !tr->empty()) {
    Table t({"IP", "PACKETS", "BYTES", "ASN", "AS NAME"}, {false, true, true, true, false});
    for (const json& x : *tr) {
      if (!x.is_object()) continue;
      auto asn = x.find("asn");
      t.add({str(x, "ip", 40), formatCount(count(x, "packets")), formatBytes(count(x, "bytes")),
             asn != x.end() && asn->is_number() ? std::to_string(count(x, "asn")) : "-",
             str(x, "as_name", 24)});
    }
    out += "\nTop reflectors\n" + t.render("  ");
  }
  if (auto ah = r.find("abused_hosts"); ah != r.end() && ah->is_array() && !ah->empty()) {
    std::string hosts;
    for (const json& h : *ah) {
      if (h.is_string())
        hosts += (hosts.empty() ? "" : ", ") + sanitizeForTerminal(h.get<std::string>(), 40);
    }
    out += "\nOur hosts abused as reflectors: " + hosts + "\n";
  }
  if (auto rn = r.find("ransom_notes"); rn != r.end() && rn->is_array() && !rn->empty()) {
    out += "\nRansom notes\n";
    for (const json& n : *rn) {
      if (!n.is_object()) continue;
      out += "  \"" + str(n, "text", 160) + "\"\n";
      if (auto m = n.find("monero_addresses"); m != n.end() && m->is_array()) {
        for (const json& addr : *m) {
          if (addr.is_string())
            out += "    Monero " + sanitizeForTerminal(addr.get<std::string>(), 120) + "\n";
        }
      }
    }
  }
  out += "\n" + renderSeries(a.series, rows);
  return out;
}

json withSeries(const StoredAttack& a) {
  json r = a.record;
  r["series"] = seriesToJson(a.series);
  return r;
}

std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string csvRow(const StoredAttack& a) {
  const json& r = a.record;
  auto raw = [&](const char* key) {
    auto it = r.find(key);
    return it != r.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string top;
  if (auto tr = r.find("top_reflectors"); tr != r.end() && tr->is_array()) {
    for (const json& x : *tr) {
      if (x.is_object() && x.contains("ip") && x["ip"].is_string()) {
        top += (top.empty() ? "" : " ") + x["ip"].get<std::string>();
      }
    }
  }
  std::size_t notes =
      r.contains("ransom_notes") && r["ransom_notes"].is_array() ? r["ransom_notes"].size() : 0;
  std::vector<std::string> cells = {
      std::to_string(a.id),
      a.state,
      raw("victim"),
      raw("direction"),
      raw("vector"),
      std::to_string(count(r, "source_port")),
      fmt::format("{}", num(r, "start")),
      report::formatDate(nanosOf(num(r, "start"))) + "T" +
          report::formatTimeOfDay(nanosOf(num(r, "start")), 3) + "Z",
      fmt::format("{}", num(r, "end")),
      fmt::format("{}",
                  r.contains("duration") ? num(r, "duration") : num(r, "end") - num(r, "start")),
      fmt::format("{}", a.detected_at),
      std::to_string(count(r, "packets")),
      std::to_string(count(r, "bytes")),
      fmt::format("{}", num(r, "peak_pps")),
      fmt::format("{}", num(r, "peak_bps")),
      std::to_string(count(r, "reflectors")),
      flag(r, "reflectors_estimated") ? "true" : "false",
      top,
      std::to_string(notes),
  };
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + csvField(cells[i]);
  return line + "\n";
}

constexpr const char* kCsvHeader =
    "id,state,victim,direction,vector,source_port,start,start_utc,end,duration,detected_at,"
    "packets,bytes,peak_pps,peak_bps,reflectors,reflectors_estimated,top_reflectors,"
    "ransom_notes\n";

// Options shared by list and export, turned into a store filter; false after saying why.
bool buildFilter(const AttacksOptions& o, ListFilter* f) {
  f->active_only = o.active;
  f->limit = static_cast<std::size_t>(o.limit);
  const double now = nowEpoch();
  const char* kTimes =
      "give EPOCH seconds, a UTC date or time (2024-05-01, 2024-05-01T12:00:00Z, with an "
      "optional +HH:MM offset) or an age (90s, 30m, 12h, 7d, 2w)";
  if (!o.since.empty()) {
    f->since = parseWhen(o.since, now);
    if (!f->since) {
      fail("--since: '" + o.since + "' is not a time: " + kTimes);
      return false;
    }
  }
  if (!o.until.empty()) {
    f->until = parseWhen(o.until, now);
    if (!f->until) {
      fail("--until: '" + o.until + "' is not a time: " + kTimes);
      return false;
    }
  }
  if (!o.victim.empty()) {
    auto p = Prefix::parse(o.victim);
    if (!p) {
      fail("--victim: " + p.error().message);
      return false;
    }
    f->victim = *p;
  }
  if (!o.vector.empty()) {
    Vector v = Vector::None;
    std::uint16_t port = 0;
    if (!parseVectorName(o.vector, &v, &port)) {
      fail("--vector: '" + o.vector +
           "' is not a vector name (memcached, dns, ntp, ssdp, cldap, ... or udp:PORT)");
      return false;
    }
    f->vector = vectorLabel(v, port);
  }
  return true;
}

Result<std::unique_ptr<AttackStore>> openStore(const AttacksOptions& o) {
  return AttackStore::open(o.store, /*read_only=*/true);
}

int runList(const AttacksOptions& o) {
  ListFilter filter;
  if (!buildFilter(o, &filter)) return kExitUsage;
  auto store = openStore(o);
  if (!store) {
    fail(store.error().message);
    return kExitInput;
  }
  if (filter.limit > 0) ++filter.limit;  // one more than shown tells whether more match
  auto attacks = (*store)->list(filter);
  if (!attacks) {
    fail(attacks.error().message);
    return kExitInput;
  }
  bool more = o.limit > 0 && attacks->size() > static_cast<std::size_t>(o.limit);
  if (more) attacks->pop_back();
  std::string out;
  if (o.format == "json") {
    json list = json::array();
    for (const StoredAttack& a : *attacks) list.push_back(a.record);
    out = dumpJson(json{{"store", o.store}, {"attacks", std::move(list)}, {"more", more}});
  } else {
    out = renderList(*attacks, more, sanitizeForTerminal(o.store, 200));
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

int runShow(const AttacksOptions& o) {
  auto store = openStore(o);
  if (!store) {
    fail(store.error().message);
    return kExitInput;
  }
  auto found = (*store)->get(o.id, /*with_series=*/true);
  if (!found) {
    fail(found.error().message);
    return kExitInput;
  }
  if (!found->has_value()) {
    fail("there is no attack " + std::to_string(o.id) + " in " + o.store);
    return kExitInput;
  }
  std::string out =
      o.format == "json" ? dumpJson(withSeries(**found)) : renderShow(**found, o.rows);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

int runExport(const AttacksOptions& o) {
  ListFilter filter;
  if (!buildFilter(o, &filter)) return kExitUsage;
  auto store = openStore(o);
  if (!store) {
    fail(store.error().message);
    return kExitInput;
  }
  const bool to_stdout = o.output.empty() || o.output == "-";
  std::FILE* out = to_stdout ? stdout : std::fopen(o.output.c_str(), "wb");
  if (out == nullptr) {
    fail("cannot write " + o.output + ": " + std::strerror(errno));
    return kExitInput;
  }
  auto put = [&](const std::string& s) { std::fwrite(s.data(), 1, s.size(), out); };
  const bool series = !o.no_series && o.format != "csv";
  std::size_t n = 0;
  if (o.format == "csv") {
    put(kCsvHeader);
  } else if (o.format == "json") {
    put("{\"schema_version\":" + std::to_string(kJsonSchemaVersion) +
        ",\"store\":" + json(o.store).dump(-1, ' ', false, json::error_handler_t::replace) +
        ",\"exported_at\":" + fmt::format("{}", nowEpoch()) + ",\"attacks\":[\n");
  }
  // Streamed: one snapshot of the store, one attack in memory at a time.
  Status st = (*store)->forEach(filter, series, [&](const StoredAttack& a) {
    if (o.format == "csv") {
      put(csvRow(a));
    } else {
      std::string line =
          (series ? withSeries(a) : a.record).dump(-1, ' ', false, json::error_handler_t::replace);
      if (o.format == "json" && n > 0) put(",\n");
      put(line);
      if (o.format == "jsonl") put("\n");
    }
    ++n;
    return true;
  });
  if (o.format == "json") put(n > 0 ? "\n]}\n" : "]}\n");
  bool write_failed = std::ferror(out) != 0;
  if (!to_stdout) write_failed = std::fclose(out) != 0 || write_failed;
  if (!st) {
    fail(st.message());
    return kExitInput;
  }
  if (write_failed) {
    fail("cannot write " + (to_stdout ? std::string("to standard output") : o.output));
    return kExitInput;
  }
  if (!to_stdout) {
    std::fprintf(stderr, "breakwater attacks: exported %zu %s to %s\n", n,
                 n == 1 ? "attack" : "attacks", o.output.c_str());
  }
  return kExitOk;
}

void addStoreOption(CLI::App* sub, AttacksOptions& o) {
  sub->add_option("--store", o.store,
                  "The sensor's attack store (SQLite); default /var/lib/breakwater/attacks.db");
}

void addFilterOptions(CLI::App* sub, AttacksOptions& o) {
  sub->add_flag("--active", o.active, "Only attacks still in progress");
  sub->add_option("--since", o.since,
                  "Attacks still going at or after TIME: EPOCH seconds, 2024-05-01[T12:00:00Z]\n"
                  "(UTC unless an offset is given) or an age such as 30m, 12h, 7d");
  sub->add_option("--until", o.until, "Attacks that started at or before TIME");
  sub->add_option("--victim", o.victim, "Victim address, or a prefix (198.18.0.0/24)");
  sub->add_option("--vector", o.vector, "Vector name: memcached, dns, ntp, ... or udp:PORT");
}

}  // namespace

void registerAttacksCommand(CLI::App& app, CommandRun& run) {
  // One option set per subcommand: CLI11 writes defaults into the bound variables when the
  // options are declared, so shared variables would take the last subcommand's defaults.
  auto lo = std::make_shared<AttacksOptions>();
  auto so = std::make_shared<AttacksOptions>();
  auto eo = std::make_shared<AttacksOptions>();
  CLI::App* attacks = app.add_subcommand(
      "attacks",
      "Read the attack store of 'breakwater run': list attacks, show one with its per-second\n"
      "series, export them. Safe while the sensor runs (the store is opened read-only).");
  attacks->require_subcommand(1);

  CLI::App* list = attacks->add_subcommand(
      "list", "Active attacks first, then the most recent ones (newest first)");
  addStoreOption(list, *lo);
  addFilterOptions(list, *lo);
  list->add_option("--limit", lo->limit, "At most N attacks; 0 for all")
      ->default_val(50)
      ->type_name("N")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1000000000}));
  list->add_option("-f,--format", lo->format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_val("text");
  list->callback([lo, &run] { run = [lo] { return runList(*lo); }; });

  CLI::App* show = attacks->add_subcommand("show", "One attack with its per-second series");
  show->add_option("id", so->id, "Attack id (from 'attacks list')")->required();
  addStoreOption(show, *so);
  show->add_option("-f,--format", so->format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_val("text");
  show->add_option("--rows", so->rows,
                   "Text: group the series into at most N rows; 0 shows every second")
      ->default_val(60);
  show->callback([so, &run] { run = [so] { return runShow(*so); }; });

  CLI::App* exp = attacks->add_subcommand(
      "export", "Every attack (or those the filters select), for archives and other tools");
  addStoreOption(exp, *eo);
  addFilterOptions(exp, *eo);
  exp->add_option("--limit", eo->limit, "At most N attacks; 0 for all")
      ->default_val(0)
      ->type_name("N")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1000000000}));
  exp->add_option("-f,--format", eo->format,
                  "json: one document; jsonl: one attack per line; csv: one row per attack\n"
                  "(json and jsonl include each attack's per-second series)")
      ->check(CLI::IsMember({"json", "jsonl", "csv"}))
      ->default_val("json");
  exp->add_flag("--no-series", eo->no_series, "json/jsonl: leave out the per-second series");
  exp->add_option("-o,--output", eo->output, "Write to FILE instead of stdout");
  exp->callback([eo, &run] { run = [eo] { return runExport(*eo); }; });

  attacks->footer(
      "Examples:\n"
      "  breakwater attacks list\n"
      "  breakwater attacks list --active --store ./attacks.db\n"
      "  breakwater attacks list --since 24h --vector memcached --victim 198.18.0.0/24\n"
      "  breakwater attacks show 42\n"
      "  breakwater attacks show 42 --format json\n"
      "  breakwater attacks export --format csv -o attacks.csv --since 2024-05-01\n"
      "Exit status: 0 done, 2 bad usage, 3 store missing or unreadable, no such attack, or\n"
      "output not writable.");
}

}  // namespace bw::cli
