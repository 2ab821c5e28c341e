#include "report/asn_tsv.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace bw {

namespace {

using U128 = TsvAsnDatabase::U128;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// One end of a range: IPv6 when the text has a colon, otherwise IPv4 (dotted or u32).
struct Endpoint {
  bool v6 = false;
  std::uint32_t v4 = 0;
  U128 v6value = 0;
};

bool parseEndpoint(std::string_view s, Endpoint* out) {
  if (s.empty() || s.find('\0') != std::string_view::npos) return false;
  if (s.find(':') != std::string_view::npos) {
    auto ip = IpAddress::parse(s);
    if (!ip) return false;
    out->v6 = true;
    out->v6value = 0;
    for (std::uint8_t b : ip->bytes()) out->v6value = (out->v6value << 8) | b;
    return true;
  }
  out->v6 = false;
  if (allDigits(s)) {
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || ptr != s.data() + s.size() || v > 0xffffffffULL) return false;
    out->v4 = static_cast<std::uint32_t>(v);
    return true;
  }
  auto ip = IpAddress::parse(s);
  if (!ip || !ip->isV4()) return false;
  out->v4 = ip->v4();
  return true;
}

bool parseAsn(std::string_view s, std::uint32_t* out) {
  if (s.size() > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) {
    s.remove_prefix(2);
  }
  if (!allDigits(s)) return false;
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || v > 0xffffffffULL) return false;
  *out = static_cast<std::uint32_t>(v);
  return true;
}

}  // namespace

TsvAsnDatabase::Builder::Builder(std::string name)
    : name_(std::move(name)), db_(new TsvAsnDatabase()) {
  db_->stats_.format = "ip2asn-tsv";
}

void TsvAsnDatabase::Builder::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    const auto nl = chunk.find('\n');
    const std::string_view piece = chunk.substr(0, nl);
    const bool complete = nl != std::string_view::npos;
    chunk = complete ? chunk.substr(nl + 1) : std::string_view{};

    if (skipping_long_) {
      if (complete) skipping_long_ = false;
      continue;
    }
    if (partial_.size() + piece.size() > kMaxLineBytes) {
      ++line_no_;
      ++db_->stats_.lines;
      bad("line longer than 64 KiB");
      partial_.clear();
      skipping_long_ = !complete;
      continue;
    }
    if (!complete) {
      partial_.append(piece);
      continue;
    }
    if (partial_.empty()) {
      addLine(piece);
    } else {
      partial_.append(piece);
      addLine(partial_);
      partial_.clear();
    }
  }
}

void TsvAsnDatabase::Builder::bad(const char* reason, std::string_view field) {
  AsnLoadStats& s = db_->stats_;
  if (s.bad_lines++ == 0) {
    s.first_bad_line = line_no_;
    s.first_bad_reason = reason;
    if (!field.empty()) {
      // Quote a bounded, printable excerpt of the offending field.
      std::string shown;
      for (char c : field.substr(0, 40)) shown.push_back(c >= 0x20 && c < 0x7f ? c : '?');
      s.first_bad_reason += " '" + shown + (field.size() > 40 ? "...'" : "'");
    }
  }
}

std::uint32_t TsvAsnDatabase::Builder::intern(std::uint32_t asn, std::string_view name) {
  std::string key(reinterpret_cast<const char*>(&asn), sizeof asn);
  key.append(name);
  auto [it, inserted] = interned_.try_emplace(std::move(key), 0);
  if (inserted) {
    it->second = static_cast<std::uint32_t>(db_->entries_.size());
    db_->entries_.push_back(Entry{asn, static_cast<std::uint32_t>(db_->names_.size()),
                                  static_cast<std::uint32_t>(name.size())});
    db_->names_.append(name);
  }
  return it->second;
}

void TsvAsnDatabase::Builder::addLine(std::string_view line) {
  ++line_no_;
  line = trim(line);
  if (line.empty() || line.front() == '#') return;
  ++db_->stats_.lines;

  // start, end, AS, [country, [description (the rest of the line)]]
  std::string_view fields[5];
  int n = 0;
  std::string_view rest = line;
  while (n < 4) {
    const auto tab = rest.find('\t');
    fields[n++] = trim(rest.substr(0, tab));
    if (tab == std::string_view::npos) {
      rest = {};
      break;
    }
    rest = rest.substr(tab + 1);
    if (n == 4) fields[n++] = trim(rest);
  }
  if (n < 3) return bad("expected range_start, range_end and AS number separated by tabs");

  Endpoint start, end;
  if (!parseEndpoint(fields[0], &start)) return bad("bad range start", fields[0]);
  if (!parseEndpoint(fields[1], &end)) return bad("bad range end", fields[1]);
  if (start.v6 != end.v6) return bad("range start and end are different address families");
  if (start.v6 ? start.v6value > end.v6value : start.v4 > end.v4) {
    return bad("range start is after range end");
  }
  std::uint32_t asn = 0;
  if (!parseAsn(fields[2], &asn)) return bad("bad AS number", fields[2]);
  if (db_->entries_.size() >= std::numeric_limits<std::uint32_t>::max() ||
      db_->names_.size() + fields[4].size() >= std::numeric_limits<std::uint32_t>::max()) {
    return bad("too many distinct AS names");
  }

  ++good_rows_;
  if (asn == 0) {  // "Not routed": a miss, so it need not be stored
    ++db_->stats_.unrouted;
    return;
  }
  const std::uint32_t entry = intern(asn, n >= 5 ? fields[4] : std::string_view{});
  if (start.v6) {
    db_->v6_.push_back(Range<U128>{start.v6value, end.v6value, entry});
  } else {
    db_->v4_.push_back(Range<std::uint32_t>{start.v4, end.v4, entry});
  }
}

template <typename K>
std::uint64_t TsvAsnDatabase::normalise(std::vector<Range<K>>& ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const Range<K>& a, const Range<K>& b) {
    return a.start != b.start ? a.start < b.start : a.end < b.end;
  });
  std::uint64_t overlaps = 0;
  std::size_t out = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    Range<K> r = ranges[i];
    if (out > 0) {
      Range<K>& last = ranges[out - 1];
      if (r.start <= last.end) {
        ++overlaps;
        if (r.end <= last.end) continue;
        r.start = last.end + 1;  // last.end < r.end, so no wrap-around
      }
      if (r.entry == last.entry && r.start == last.end + 1) {
        last.end = r.end;
        continue;
      }
    }
    ranges[out++] = r;
  }
  ranges.resize(out);
  ranges.shrink_to_fit();
  return overlaps;
}

Result<std::unique_ptr<TsvAsnDatabase>> TsvAsnDatabase::Builder::finish() {
  if (!partial_.empty() && !skipping_long_) {
    std::string last = std::move(partial_);
    partial_.clear();
    addLine(last);
  }
  AsnLoadStats& s = db_->stats_;
  if (good_rows_ == 0) {
    std::string msg = name_ + " is neither an MMDB nor an ip2asn TSV file";
    if (s.bad_lines > 0) {
      msg += " (line " + std::to_string(s.first_bad_line) + ": " + s.first_bad_reason + ")";
    } else {
      msg += " (it has no data lines)";
    }
    return Error{std::move(msg)};
  }
  s.overlaps = normalise(db_->v4_) + normalise(db_->v6_);
  s.ranges_v4 = db_->v4_.size();
  s.ranges_v6 = db_->v6_.size();
  s.distinct_names = static_cast<std::uint32_t>(db_->entries_.size());
  db_->entries_.shrink_to_fit();
  db_->names_.shrink_to_fit();
  interned_.clear();
  return std::move(db_);
}

Result<std::unique_ptr<TsvAsnDatabase>> TsvAsnDatabase::parse(std::string_view text,
                                                              std::string_view name) {
  Builder b{std::string(name)};
  b.feed(text);
  return b.finish();
}

template <typename K>
const TsvAsnDatabase::Range<K>* TsvAsnDatabase::find(const std::vector<Range<K>>& ranges,
                                                     K key) const noexcept {
  // The last range starting at or before `key`; ranges are disjoint after normalise().
  auto it = std::upper_bound(ranges.begin(), ranges.end(), key,
                             [](K k, const Range<K>& r) { return k < r.start; });
  if (it == ranges.begin()) return nullptr;
  --it;
  return key <= it->end ? &*it : nullptr;
}

std::optional<AsnInfo> TsvAsnDatabase::lookup(const IpAddress& ip) const {
  const Range<std::uint32_t>* r4 = nullptr;
  const Range<U128>* r6 = nullptr;
  std::uint32_t entry = 0;
  if (ip.isV4()) {
    r4 = find(v4_, ip.v4());
    if (r4 == nullptr) return std::nullopt;
    entry = r4->entry;
  } else {
    U128 key = 0;
    for (std::uint8_t b : ip.bytes()) key = (key << 8) | b;
    r6 = find(v6_, key);
    if (r6 == nullptr) return std::nullopt;
    entry = r6->entry;
  }
  const Entry& e = entries_[entry];
  return AsnInfo{e.asn, names_.substr(e.name_offset, e.name_length)};
}

}  // namespace bw
