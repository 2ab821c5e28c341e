// NetFlow v5 / v9 / IPFIX decoding: headers, sets, template and options handling, the record
// loop, and data held for templates still to come.
//
// Every length read from the wire is checked against the bytes that enclose it before use
// (datagram, then set, then record), with sizes compared as differences so nothing points
// past the end. A set whose length lies ends the datagram (BadLength); a template that lies
// ends its set (BadTemplate); a record that lies ends its set (TruncatedRecord).
#include "flow/netflow.h"

#include <algorithm>
#include <array>
#include <deque>
#include <unordered_map>

#include "core/saturate.h"
#include "flow/netflow_template.h"

namespace bw {
namespace {

constexpr std::uint16_t kVersion5 = 5;
constexpr std::uint16_t kVersion9 = 9;
constexpr std::uint16_t kVersionIpfix = 10;

constexpr std::size_t kV9Header = 20;
constexpr std::size_t kIpfixHeader = 16;
constexpr std::size_t kSetHeader = 4;

constexpr std::uint16_t kV9TemplateSet = 0;
constexpr std::uint16_t kV9OptionsSet = 1;
constexpr std::uint16_t kIpfixTemplateSet = 2;
constexpr std::uint16_t kIpfixOptionsSet = 3;
constexpr std::uint16_t kFirstDataSet = 256;

constexpr std::uint32_t kIpfixEnterpriseBit = 0x8000;
constexpr std::uint8_t kMoreFragments = 0x20;  // fragmentFlags bit 2 (MSB first): MF
constexpr std::uint16_t kFragmentOffsetMask = 0x1FFF;

// A session not heard from for this long may be evicted when the table is full.
constexpr std::int64_t kSessionIdleNs = 3600 * kNsPerSecond;
// Full-table sweeps run at most this often (of received time), so a flood of new exporters
// costs one scan per interval, not one per datagram.
constexpr std::int64_t kSweepIntervalNs = kNsPerSecond;
// Bytes charged per held set on top of its data: the bookkeeping it costs.
constexpr std::size_t kPendingOverhead = 96;
constexpr std::size_t kMaxSamplers = 32;

// True when `now` is more than `span` after `then` (no overflow whatever the values).
inline bool olderThan(std::int64_t then, std::int64_t now, std::int64_t span) noexcept {
  std::int64_t age;
  if (__builtin_sub_overflow(now, then, &age)) return now > then;
  return age > span;
}

bool allZero(const std::uint8_t* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

struct SessionKey {
  IpAddress exporter;
  std::uint32_t domain = 0;
  FlowProtocol protocol = FlowProtocol::Unknown;
  friend bool operator==(const SessionKey&, const SessionKey&) = default;
};

struct SessionKeyHash {
  std::size_t operator()(const SessionKey& k) const noexcept {
    return k.exporter.hash() ^ (std::uint64_t{k.domain} * 0x9E3779B97F4A7C15ULL) ^
           static_cast<std::uint64_t>(k.protocol);
  }
};

// What a datagram's record times are relative to.
struct ExportClock {
  FlowProtocol protocol = FlowProtocol::Unknown;
  std::int64_t export_ns = 0;       // header export time
  std::uint32_t sys_uptime_ms = 0;  // v9 header
};

struct Template {
  CompiledTemplate compiled;
  // What it was compiled from: exporters resend their templates every few datagrams, nearly
  // always unchanged, and an unchanged one is only refreshed.
  std::vector<FieldSpec> specs;
  TemplateKind kind = TemplateKind::V9;
  std::int64_t refreshed_ns = 0;
};

struct SamplerRate {
  std::uint64_t id = 0;  // sampler/selector id, or interface index
  std::uint32_t rate = 0;
  bool interface = false;
};

struct Session {
  std::unordered_map<std::uint16_t, Template> templates;
  std::array<SamplerRate, kMaxSamplers> samplers{};
  std::size_t sampler_count = 0;
  std::size_t sampler_next = 0;  // replaced next when the array is full
  bool interface_rates = false;
  std::uint32_t default_rate = 0;  // latest rate from options data; 0: none
  bool have_init = false;
  std::int64_t init_ns = 0;  // IE 160
  std::int64_t last_seen_ns = 0;

  std::uint32_t samplerRate(std::uint64_t id, bool interface) const noexcept {
    for (std::size_t i = 0; i < sampler_count; ++i) {
      if (samplers[i].id == id && samplers[i].interface == interface) return samplers[i].rate;
    }
    return 0;
  }
  void setSampler(std::uint64_t id, bool interface, std::uint32_t rate) noexcept {
    for (std::size_t i = 0; i < sampler_count; ++i) {
      if (samplers[i].id == id && samplers[i].interface == interface) {
        samplers[i].rate = rate;
        return;
      }
    }
    std::size_t slot = sampler_count;
    if (sampler_count < kMaxSamplers) {
      ++sampler_count;
    } else {
      slot = sampler_next;
      sampler_next = (sampler_next + 1) % kMaxSamplers;
    }
    samplers[slot] = {id, rate, interface};
    if (interface) interface_rates = true;
  }
};

struct PendingSet {
  SessionKey key;
  std::uint16_t set_id = 0;
  ExportClock clock;
  std::int64_t received_ns = 0;
  std::vector<std::uint8_t> bytes;
};

}  // namespace

class NetflowDecoder::Impl {
 public:
  explicit Impl(const FlowLimits& limits) : limits_(limits) {}

  bool decode(const IpAddress& exporter, ByteSpan d, std::int64_t now, std::vector<FlowRecord>& out,
              FlowDecoderStats& stats, NetflowDatagramInfo& info);

  std::size_t sessionCount() const noexcept { return sessions_.size(); }
  std::size_t templateCount() const noexcept { return template_total_; }
  std::size_t pendingBytes() const noexcept { return pending_bytes_; }

 private:
  // Per data set: what the record loop needs besides the template.
  struct SetContext {
    const CompiledTemplate* t = nullptr;
    Session* session = nullptr;
    const ExportClock* clock = nullptr;
    std::vector<FlowRecord>* out = nullptr;
    FlowDecoderStats* stats = nullptr;
    std::uint32_t set_rate = 0;  // rate for every record of the set; 0: decided per record
    std::uint32_t last_rate = 0;
    // What every record of the set shares. Copying it is cheaper than zeroing a new record.
    FlowRecord prototype;
  };

  bool decodeTemplated(const IpAddress& exporter, ByteSpan d, std::int64_t now,
                       std::vector<FlowRecord>& out, FlowDecoderStats& stats,
                       NetflowDatagramInfo& info);

  Session* findSession(const SessionKey& key, std::int64_t now, FlowDecoderStats& stats);
  void sweepSessions(std::int64_t now);
  const Template* findTemplate(Session& s, std::uint16_t id, FlowProtocol protocol,
                               std::int64_t now);
  void storeTemplate(Session& s, std::uint16_t id, TemplateKind kind, std::int64_t now,
                     FlowDecoderStats& stats);
  void eraseTemplate(Session& s, std::unordered_map<std::uint16_t, Template>::iterator it);
  void withdraw(Session& s, std::uint16_t id, bool options_set, FlowDecoderStats& stats);
  void sweepTemplates(std::int64_t now);
  bool templateSet(Session& s, FlowProtocol protocol, bool options, const std::uint8_t* p,
                   const std::uint8_t* end, std::int64_t now, FlowDecoderStats& stats);

  std::uint32_t dataSet(const Template& tmpl, Session& s, const ExportClock& clock,
                        const IpAddress& exporter, const std::uint8_t* p, const std::uint8_t* end,
                        std::vector<FlowRecord>& out, FlowDecoderStats& stats,
                        std::uint32_t& last_rate);
  template <typename Sink>
  std::uint32_t walkRecords(const CompiledTemplate& t, const std::uint8_t* p,
                            const std::uint8_t* end, FlowDecoderStats& stats, Sink&& sink);
  void emitRecord(SetContext& c, const RecordFields& f);
  void applyOptions(Session& s, const CompiledTemplate& t, const RecordFields& f,
                    FlowDecoderStats& stats);

  void hold(const SessionKey& key, std::uint16_t set_id, const ExportClock& clock,
            const std::uint8_t* p, const std::uint8_t* end, std::int64_t now,
            FlowDecoderStats& stats);
  void expirePending(std::int64_t now, FlowDecoderStats& stats);
  void resolvePending(const SessionKey& key, Session& s, const IpAddress& exporter,
                      std::int64_t now, std::vector<FlowRecord>& out, FlowDecoderStats& stats,
                      std::uint32_t& last_rate);
  void forgetCaches() noexcept {
    last_session_ = nullptr;
    cached_session_ = nullptr;
    cached_template_ = nullptr;
  }

  FlowLimits limits_;
  std::unordered_map<SessionKey, Session, SessionKeyHash> sessions_;
  std::size_t template_total_ = 0;
  std::int64_t last_session_sweep_ns_ = INT64_MIN;
  std::int64_t last_template_sweep_ns_ = INT64_MIN;

  // Datagrams come in runs from one exporter, data sets in runs of one template.
  SessionKey last_key_;
  Session* last_session_ = nullptr;
  Session* cached_session_ = nullptr;
  std::uint16_t cached_id_ = 0;
  Template* cached_template_ = nullptr;

  std::deque<PendingSet> pending_;
  std::size_t pending_bytes_ = 0;

  std::vector<FieldSpec> specs_;  // template being parsed
  CompiledTemplate compiled_;     // template being compiled
};

bool NetflowDecoder::Impl::decode(const IpAddress& exporter, ByteSpan d, std::int64_t now,
                                  std::vector<FlowRecord>& out, FlowDecoderStats& stats,
                                  NetflowDatagramInfo& info) {
  info = NetflowDatagramInfo{};
  if (d.size() < 2) {
    stats.count(FlowIssue::TruncatedHeader);
    return false;
  }
  const std::uint16_t version = loadBe16(d.data());
  if (version == kVersion5) return decodeNetflowV5(exporter, d, limits_, out, stats, info);
  if (version == kVersion9 || version == kVersionIpfix) {
    return decodeTemplated(exporter, d, now, out, stats, info);
  }
  stats.count(FlowIssue::UnknownVersion);
  return false;
}

// ---------------------------------------------------------------------------------------
// NetFlow v9 / IPFIX: header, then a walk over sets.

bool NetflowDecoder::Impl::decodeTemplated(const IpAddress& exporter, ByteSpan d, std::int64_t now,
                                           std::vector<FlowRecord>& out, FlowDecoderStats& stats,
                                           NetflowDatagramInfo& info) {
  const std::uint8_t* h = d.data();
  const bool ipfix = loadBe16(h) == kVersionIpfix;
  ExportClock clock;
  std::size_t length = d.size();
  SessionKey key;
  key.exporter = exporter;
  if (ipfix) {
    if (d.size() < kIpfixHeader) {
      stats.count(FlowIssue::TruncatedHeader);
      return false;
    }
    const std::size_t declared = loadBe16(h + 2);
    if (declared < kIpfixHeader || declared > d.size()) {
      stats.count(FlowIssue::BadLength);
      return false;
    }
    length = declared;  // one message per datagram; anything after it is not ours
    clock.protocol = FlowProtocol::Ipfix;
    clock.export_ns = secondsToNs(loadBe32(h + 4));
    info.sequence = loadBe32(h + 8);
    key.domain = loadBe32(h + 12);
  } else {
    if (d.size() < kV9Header) {
      stats.count(FlowIssue::TruncatedHeader);
      return false;
    }
    clock.protocol = FlowProtocol::NetflowV9;
    clock.sys_uptime_ms = loadBe32(h + 4);
    clock.export_ns = secondsToNs(loadBe32(h + 8));
    info.sequence = loadBe32(h + 12);
    key.domain = loadBe32(h + 16);
    info.sequence_advance = 1;  // v9 counts export packets
  }
  key.protocol = clock.protocol;
  info.protocol = clock.protocol;
  info.domain = key.domain;

  expirePending(now, stats);
  Session* s = findSession(key, now, stats);
  if (s == nullptr) return false;
  s->last_seen_ns = now;

  const std::uint8_t* p = h + (ipfix ? kIpfixHeader : kV9Header);
  const std::uint8_t* end = h + length;
  bool defined = false;
  std::uint32_t records = 0;
  while (static_cast<std::size_t>(end - p) >= kSetHeader) {
    const std::uint16_t id = loadBe16(p);
    const std::size_t set_len = loadBe16(p + 2);
    if (set_len < kSetHeader || set_len > static_cast<std::size_t>(end - p)) {
      stats.count(FlowIssue::BadLength);
      break;
    }
    const std::uint8_t* body = p + kSetHeader;
    const std::uint8_t* body_end = p + set_len;
    p = body_end;
    if (id >= kFirstDataSet) {
      const Template* t = findTemplate(*s, id, clock.protocol, now);
      if (t == nullptr) {
        hold(key, id, clock, body, body_end, now, stats);
        info.advance_known = false;
        continue;
      }
      records += dataSet(*t, *s, clock, exporter, body, body_end, out, stats, info.sampling_rate);
    } else if (ipfix ? id == kIpfixTemplateSet : id == kV9TemplateSet) {
      defined |= templateSet(*s, clock.protocol, false, body, body_end, now, stats);
    } else if (ipfix ? id == kIpfixOptionsSet : id == kV9OptionsSet) {
      defined |= templateSet(*s, clock.protocol, true, body, body_end, now, stats);
    } else {
      stats.count(FlowIssue::BadSetId);
    }
  }
  if (ipfix) info.sequence_advance = records;
  if (defined && !pending_.empty()) {
    resolvePending(key, *s, exporter, now, out, stats, info.sampling_rate);
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Sessions and templates.

Session* NetflowDecoder::Impl::findSession(const SessionKey& key, std::int64_t now,
                                           FlowDecoderStats& stats) {
  if (last_session_ != nullptr && last_key_ == key) return last_session_;
  auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    if (sessions_.size() >= limits_.max_exporters) {
      sweepSessions(now);
      if (sessions_.size() >= limits_.max_exporters) {
        stats.count(FlowIssue::ExporterLimit);
        return nullptr;
      }
    }
    it = sessions_.emplace(key, Session{}).first;
  }
  last_key_ = key;
  last_session_ = &it->second;
  return last_session_;
}

void NetflowDecoder::Impl::sweepSessions(std::int64_t now) {
  if (last_session_sweep_ns_ != INT64_MIN && now >= last_session_sweep_ns_ &&
      !olderThan(last_session_sweep_ns_, now, kSweepIntervalNs)) {
    return;
  }
  last_session_sweep_ns_ = now;
  forgetCaches();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (olderThan(it->second.last_seen_ns, now, kSessionIdleNs)) {
      template_total_ -= it->second.templates.size();
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

const Template* NetflowDecoder::Impl::findTemplate(Session& s, std::uint16_t id,
                                                   FlowProtocol protocol, std::int64_t now) {
  Template* t = nullptr;
  if (cached_session_ == &s && cached_id_ == id && cached_template_ != nullptr) {
    t = cached_template_;
  } else {
    const auto it = s.templates.find(id);
    if (it == s.templates.end()) return nullptr;
    t = &it->second;
    // RFC 7011 8.4: over UDP an IPFIX template lives until its lifetime passes unrefreshed.
    if (protocol == FlowProtocol::Ipfix &&
        olderThan(t->refreshed_ns, now, limits_.template_lifetime_ns)) {
      eraseTemplate(s, it);
      return nullptr;
    }
    cached_session_ = &s;
    cached_id_ = id;
    cached_template_ = t;
    return t;
  }
  if (protocol == FlowProtocol::Ipfix &&
      olderThan(t->refreshed_ns, now, limits_.template_lifetime_ns)) {
    eraseTemplate(s, s.templates.find(id));
    return nullptr;
  }
  return t;
}

void NetflowDecoder::Impl::eraseTemplate(Session& s,
                                         std::unordered_map<std::uint16_t, Template>::iterator it) {
  if (&it->second == cached_template_) cached_template_ = nullptr;
  s.templates.erase(it);
  --template_total_;
}

// Stores compiled_, compiled from specs_, as template `id`: a redefinition replaces the old
// one in place.
void NetflowDecoder::Impl::storeTemplate(Session& s, std::uint16_t id, TemplateKind kind,
                                         std::int64_t now, FlowDecoderStats& stats) {
  const auto it = s.templates.find(id);
  if (it != s.templates.end()) {
    std::swap(it->second.compiled, compiled_);  // compiled_ keeps the old one's memory
    it->second.specs = specs_;
    it->second.kind = kind;
    it->second.refreshed_ns = now;
    return;
  }
  if (s.templates.size() >= kMaxTemplatesPerSession || template_total_ >= limits_.max_templates) {
    sweepTemplates(now);
    if (s.templates.size() >= kMaxTemplatesPerSession || template_total_ >= limits_.max_templates) {
      stats.count(FlowIssue::TemplateLimit);
      return;
    }
  }
  s.templates.emplace(id, Template{std::move(compiled_), specs_, kind, now});
  ++template_total_;
}

// Frees expired IPFIX templates (only they expire) when a limit is reached.
void NetflowDecoder::Impl::sweepTemplates(std::int64_t now) {
  if (last_template_sweep_ns_ != INT64_MIN && now >= last_template_sweep_ns_ &&
      !olderThan(last_template_sweep_ns_, now, kSweepIntervalNs)) {
    return;
  }
  last_template_sweep_ns_ = now;
  cached_template_ = nullptr;
  for (auto& [key, session] : sessions_) {
    if (key.protocol != FlowProtocol::Ipfix) continue;
    for (auto it = session.templates.begin(); it != session.templates.end();) {
      if (olderThan(it->second.refreshed_ns, now, limits_.template_lifetime_ns)) {
        it = session.templates.erase(it);
        --template_total_;
      } else {
        ++it;
      }
    }
  }
}

// IPFIX template withdrawal (field count 0): one template, or all of a kind when the id is
// the set id itself (RFC 7011 8.1).
void NetflowDecoder::Impl::withdraw(Session& s, std::uint16_t id, bool options_set,
                                    FlowDecoderStats& stats) {
  const std::uint16_t all = options_set ? kIpfixOptionsSet : kIpfixTemplateSet;
  if (id == all) {
    cached_template_ = nullptr;
    for (auto it = s.templates.begin(); it != s.templates.end();) {
      if (it->second.compiled.options == options_set) {
        it = s.templates.erase(it);
        --template_total_;
      } else {
        ++it;
      }
    }
    return;
  }
  if (id < kFirstDataSet) {
    stats.count(FlowIssue::BadTemplate);
    return;
  }
  const auto it = s.templates.find(id);
  if (it != s.templates.end()) eraseTemplate(s, it);
}

// Parses a template or options template set. Returns true when it stored a template.
bool NetflowDecoder::Impl::templateSet(Session& s, FlowProtocol protocol, bool options,
                                       const std::uint8_t* p, const std::uint8_t* end,
                                       std::int64_t now, FlowDecoderStats& stats) {
  const bool ipfix = protocol == FlowProtocol::Ipfix;
  const TemplateKind kind = ipfix ? (options ? TemplateKind::IpfixOptions : TemplateKind::Ipfix)
                                  : (options ? TemplateKind::V9Options : TemplateKind::V9);
  bool stored = false;
  // Each record starts with at least 4 bytes; fewer left over is padding.
  while (static_cast<std::size_t>(end - p) >= 4) {
    const std::uint16_t id = loadBe16(p);
    const std::uint16_t second = loadBe16(p + 2);
    std::size_t fields = 0;
    std::size_t scope_fields = 0;
    std::size_t scope_bytes = 0;  // v9 options: scope fields are given in bytes
    if (id == 0 && allZero(p, static_cast<std::size_t>(end - p))) break;  // padding
    if (ipfix && second == 0) {                                           // withdrawal: 4 bytes
      withdraw(s, id, options, stats);
      p += 4;
      continue;
    }
    if (!ipfix && options) {
      if (end - p < 6) break;  // padding
      scope_bytes = second;
      const std::size_t option_bytes = loadBe16(p + 4);
      p += 6;
      if (scope_bytes % 4 != 0 || option_bytes % 4 != 0) {
        stats.count(FlowIssue::BadTemplate);
        break;
      }
      scope_fields = scope_bytes / 4;
      fields = scope_fields + option_bytes / 4;
    } else if (ipfix && options) {
      if (end - p < 6) {
        stats.count(FlowIssue::BadTemplate);
        break;
      }
      fields = second;
      scope_fields = loadBe16(p + 4);
      p += 6;
      if (scope_fields == 0 || scope_fields > fields) {
        stats.count(FlowIssue::BadTemplate);
        break;
      }
    } else {
      fields = second;
      p += 4;
    }
    if (id < kFirstDataSet || fields == 0 || fields > limits_.max_template_fields) {
      stats.count(FlowIssue::BadTemplate);
      break;  // cannot tell where the next record starts without reading this one
    }
    specs_.clear();
    bool truncated = false;
    for (std::size_t i = 0; i < fields; ++i) {
      if (end - p < 4) {
        truncated = true;
        break;
      }
      FieldSpec f;
      f.id = loadBe16(p);
      f.length = loadBe16(p + 2);
      f.scope = i < scope_fields;
      p += 4;
      if (ipfix && (f.id & kIpfixEnterpriseBit)) {
        if (end - p < 4) {
          truncated = true;
          break;
        }
        f.id &= ~kIpfixEnterpriseBit;
        f.enterprise = loadBe32(p);
        p += 4;
      }
      specs_.push_back(f);
    }
    if (truncated) {
      stats.count(FlowIssue::BadTemplate);
      break;
    }
    const auto known = s.templates.find(id);
    if (known != s.templates.end() && known->second.kind == kind && known->second.specs == specs_) {
      ++stats.templates;  // sent again unchanged: what it describes stays as compiled
      known->second.refreshed_ns = now;
      stored = true;
      continue;
    }
    if (compileTemplate(specs_, kind, compiled_) != CompileResult::Ok) {
      stats.count(FlowIssue::BadTemplate);
      continue;  // the record was well-formed: the next one can still be read
    }
    ++stats.templates;
    const std::size_t before = template_total_;
    const bool existed = known != s.templates.end();
    storeTemplate(s, id, kind, now, stats);
    stored |= existed || template_total_ != before;
  }
  return stored;
}

// ---------------------------------------------------------------------------------------
// Records.

// Calls sink(fields) for each record of [p, end); returns how many. Trailing bytes shorter
// than a record are padding; a record cut short by the set end is counted and ends the set.
template <typename Sink>
std::uint32_t NetflowDecoder::Impl::walkRecords(const CompiledTemplate& t, const std::uint8_t* p,
                                                const std::uint8_t* end, FlowDecoderStats& stats,
                                                Sink&& sink) {
  RecordFields f{};
  std::uint32_t n = 0;
  const FieldStep* steps = t.steps.data();
  const FieldStep* steps_end = steps + t.steps.size();
  if (!t.variable) {
    const std::size_t len = t.min_length;
    while (static_cast<std::size_t>(end - p) >= len) {
      applyFixed(t.fixed, p, f);
      sink(f);
      p += len;
      ++n;
    }
  } else {
    while (static_cast<std::size_t>(end - p) >= t.min_length) {
      // The fixed bytes of the segment before each VarLen field were checked (min_length for
      // the first, the VarLen step's `length` for the following ones).
      const std::uint8_t* base = p;
      bool ok = true;
      for (const FieldStep* s = steps; s != steps_end; ++s) {
        if (s->op != FieldOp::VarLen) {
          applyStep(*s, base, f);
          continue;
        }
        const std::uint8_t* q = base + s->offset;
        const std::size_t avail = static_cast<std::size_t>(end - q);
        std::size_t hdr = 1;
        std::size_t len = avail >= 1 ? q[0] : 0;
        if (avail >= 1 && len == 255) {  // RFC 7011 7: 3-byte length form
          hdr = 3;
          len = avail >= 3 ? loadBe16(q + 1) : 0;
        }
        if (avail < hdr || avail - hdr < len || avail - hdr - len < s->length) {
          ok = false;
          break;
        }
        base = q + hdr + len;
      }
      if (!ok) {
        stats.count(FlowIssue::TruncatedRecord);
        return n;
      }
      sink(f);
      p = base + t.tail_length;
      ++n;
    }
  }
  const std::size_t left = static_cast<std::size_t>(end - p);
  if (left >= 4 && !allZero(p, left)) stats.count(FlowIssue::TruncatedRecord);
  return n;
}

std::uint32_t NetflowDecoder::Impl::dataSet(const Template& tmpl, Session& s,
                                            const ExportClock& clock, const IpAddress& exporter,
                                            const std::uint8_t* p, const std::uint8_t* end,
                                            std::vector<FlowRecord>& out, FlowDecoderStats& stats,
                                            std::uint32_t& last_rate) {
  const CompiledTemplate& t = tmpl.compiled;
  if (t.options) {
    return walkRecords(t, p, end, stats,
                       [&](const RecordFields& f) { applyOptions(s, t, f, stats); });
  }
  SetContext c;
  c.t = &t;
  c.session = &s;
  c.clock = &clock;
  c.out = &out;
  c.stats = &stats;
  // Without per-record sampling information the whole set shares the session's rate.
  if (!carriesSamplingRate(t) && !t.has(FieldOp::SamplerId) && !s.interface_rates) {
    c.set_rate = s.default_rate != 0 ? s.default_rate : 1;
  }
  c.prototype.exporter = exporter;
  c.prototype.protocol = clock.protocol;
  const std::uint32_t n =
      walkRecords(t, p, end, stats, [&](const RecordFields& f) { emitRecord(c, f); });
  if (c.last_rate != 0) last_rate = c.last_rate;
  return n;
}

void NetflowDecoder::Impl::emitRecord(SetContext& c, const RecordFields& f) {
  const CompiledTemplate& t = *c.t;
  constexpr std::uint64_t kV4 = haveBit(FieldOp::SrcV4) | haveBit(FieldOp::DstV4);
  constexpr std::uint64_t kV6 = haveBit(FieldOp::SrcV6) | haveBit(FieldOp::DstV6);
  // Some templates carry both families (Cisco MPLS templates): the unused one is zero.
  const IpAddress zero;
  bool v6;
  if ((t.have & kV6) && (!(t.have & kV4) || !(f.src6 == zero) || !(f.dst6 == zero))) {
    v6 = true;
  } else if (t.have & kV4) {
    v6 = false;
  } else {
    c.stats->count(FlowIssue::BadAddress);
    return;
  }

  std::uint64_t rate = c.set_rate;
  if (rate == 0) {
    const Session& s = *c.session;
    if (carriesSamplingRate(t)) rate = samplingRateOf(t, f);
    if (rate == 0 && t.has(FieldOp::SamplerId)) rate = s.samplerRate(f.sampler_id, false);
    if (rate == 0 && s.interface_rates && t.has(FieldOp::InIf)) rate = s.samplerRate(f.in_if, true);
    if (rate == 0) rate = s.default_rate;
    if (rate == 0) rate = 1;
    if (rate > limits_.max_sampling_rate) {
      c.stats->count(FlowIssue::AbsurdSamplingRate);
      rate = 1;
    }
  }

  // Times: absolute fields first, then uptime-relative, then deltas from the export time.
  const ExportClock& clock = *c.clock;
  const auto fromUptime = [&](std::uint32_t up) -> std::int64_t {
    if (clock.protocol == FlowProtocol::NetflowV9) {
      return clock.export_ns -
             std::int64_t{static_cast<std::int32_t>(clock.sys_uptime_ms - up)} * kNsPerMs;
    }
    const std::int64_t up_ns = std::int64_t{up} * kNsPerMs;
    if (t.has(FieldOp::SystemInitMillis)) return satAdd(millisToNs(f.system_init_ms), up_ns);
    if (c.session->have_init) return satAdd(c.session->init_ns, up_ns);
    // No anchor: take the flow's end as the export time.
    const std::uint32_t anchor = t.has(FieldOp::EndUptime) ? f.end_uptime_ms : f.start_uptime_ms;
    return clock.export_ns - std::int64_t{static_cast<std::int32_t>(anchor - up)} * kNsPerMs;
  };
  constexpr std::uint64_t kStartAbs =
      haveBit(FieldOp::StartSeconds) | haveBit(FieldOp::StartMillis) | haveBit(FieldOp::StartNtp);
  constexpr std::uint64_t kEndAbs =
      haveBit(FieldOp::EndSeconds) | haveBit(FieldOp::EndMillis) | haveBit(FieldOp::EndNtp);
  bool have_first = true, have_last = true;
  std::int64_t first = 0, last = 0;
  if (t.have & kStartAbs) {
    first = f.start_abs_ns;
  } else if (t.has(FieldOp::StartUptime)) {
    first = fromUptime(f.start_uptime_ms);
  } else if (t.has(FieldOp::StartDeltaUs)) {
    first = clock.export_ns - std::int64_t{f.start_delta_us} * 1000;
  } else {
    have_first = false;
  }
  if (t.have & kEndAbs) {
    last = f.end_abs_ns;
  } else if (t.has(FieldOp::EndUptime)) {
    last = fromUptime(f.end_uptime_ms);
  } else if (t.has(FieldOp::EndDeltaUs)) {
    last = clock.export_ns - std::int64_t{f.end_delta_us} * 1000;
  } else {
    have_last = false;
  }
  if (!have_first) first = have_last ? last : clock.export_ns;
  if (!have_last) last = first;

  FlowRecord& r = c.out->emplace_back(c.prototype);
  PacketSummary& s = r.summary;
  if (v6) {
    s.src = f.src6;
    s.dst = f.dst6;
    s.flags = pktflag::kIpv6;
  } else {
    s.src = t.has(FieldOp::SrcV4) ? f.src4 : IpAddress::fromV4(0);
    s.dst = t.has(FieldOp::DstV4) ? f.dst4 : IpAddress::fromV4(0);
  }
  s.ts_ns = first;
  r.last_ns = last;
  s.ip_proto = t.has(FieldOp::Proto) ? f.proto : 0;
  s.tcp_flags = t.has(FieldOp::TcpFlags) ? f.tcp_flags : 0;
  if (t.have & (haveBit(FieldOp::SrcPort) | haveBit(FieldOp::DstPort))) {
    setTransportPorts(s, f.src_port, f.dst_port);
  }
  if (t.has(FieldOp::FragmentOffset) && (f.frag_offset & kFragmentOffsetMask) != 0) {
    s.flags = static_cast<std::uint8_t>((s.flags | pktflag::kFragment) & ~pktflag::kHasPorts);
    s.src_port = s.dst_port = 0;
  } else if (t.has(FieldOp::FragmentFlags) && (f.frag_flags & kMoreFragments)) {
    s.flags |= pktflag::kFragment | pktflag::kFirstFragment;
  }
  r.exported_packets = t.has(FieldOp::Packets) ? f.packets : 0;
  r.exported_bytes = t.has(FieldOp::Bytes) ? f.bytes : 0;
  r.packets = satMul(r.exported_packets, rate);
  r.bytes = satMul(r.exported_bytes, rate);
  r.sampling_rate = static_cast<std::uint32_t>(rate);
  if (rate > 1) r.flags = flowflag::kSampled;
  r.input_if = t.has(FieldOp::InIf) ? f.in_if : 0;
  r.output_if = t.has(FieldOp::OutIf) ? f.out_if : 0;
  c.last_rate = static_cast<std::uint32_t>(rate);

  // RFC 5103 biflow: the reverse counters are the opposite direction's traffic.
  if ((t.have & (haveBit(FieldOp::RevBytes) | haveBit(FieldOp::RevPackets))) &&
      ((t.has(FieldOp::RevPackets) && f.rev_packets != 0) ||
       (t.has(FieldOp::RevBytes) && f.rev_bytes != 0))) {
    FlowRecord rev = r;
    std::swap(rev.summary.src, rev.summary.dst);
    std::swap(rev.summary.src_port, rev.summary.dst_port);
    std::swap(rev.input_if, rev.output_if);
    if (t.has(FieldOp::RevTcpFlags)) rev.summary.tcp_flags = f.rev_tcp_flags;
    rev.exported_packets = t.has(FieldOp::RevPackets) ? f.rev_packets : 0;
    rev.exported_bytes = t.has(FieldOp::RevBytes) ? f.rev_bytes : 0;
    rev.packets = satMul(rev.exported_packets, rate);
    rev.bytes = satMul(rev.exported_bytes, rate);
    rev.flags |= flowflag::kReverse;
    c.out->push_back(rev);
  }
}

// Options data: sampling rates (per sampler/selector id, per interface, or for the whole
// session) and the system init time.
void NetflowDecoder::Impl::applyOptions(Session& s, const CompiledTemplate& t,
                                        const RecordFields& f, FlowDecoderStats& stats) {
  if (t.has(FieldOp::SystemInitMillis)) {
    s.have_init = true;
    s.init_ns = millisToNs(f.system_init_ms);
  }
  if (!carriesSamplingRate(t)) return;
  const std::uint64_t rate = samplingRateOf(t, f);
  if (rate == 0) return;
  if (rate > limits_.max_sampling_rate) {
    stats.count(FlowIssue::AbsurdSamplingRate);
    return;
  }
  const auto r32 = static_cast<std::uint32_t>(rate);
  if (t.has(FieldOp::SamplerId)) {
    s.setSampler(f.sampler_id, false, r32);
  } else if (t.has(FieldOp::ScopeInterface)) {
    s.setSampler(f.scope_if, true, r32);
  }
  s.default_rate = r32;
}

// ---------------------------------------------------------------------------------------
// Data waiting for its template.

void NetflowDecoder::Impl::hold(const SessionKey& key, std::uint16_t set_id,
                                const ExportClock& clock, const std::uint8_t* p,
                                const std::uint8_t* end, std::int64_t now,
                                FlowDecoderStats& stats) {
  const std::size_t size = static_cast<std::size_t>(end - p);
  const std::size_t charge = size + kPendingOverhead;
  if (charge > limits_.max_pending_bytes) {
    stats.count(FlowIssue::MissingTemplate);
    return;
  }
  while (!pending_.empty() && (pending_bytes_ + charge > limits_.max_pending_bytes ||
                               pending_.size() >= kMaxPendingSets)) {
    pending_bytes_ -= pending_.front().bytes.size() + kPendingOverhead;
    pending_.pop_front();
    stats.count(FlowIssue::MissingTemplate);
  }
  pending_.push_back(PendingSet{key, set_id, clock, now, std::vector<std::uint8_t>(p, end)});
  pending_bytes_ += charge;
}

void NetflowDecoder::Impl::expirePending(std::int64_t now, FlowDecoderStats& stats) {
  while (!pending_.empty() &&
         olderThan(pending_.front().received_ns, now, limits_.max_pending_ns)) {
    pending_bytes_ -= pending_.front().bytes.size() + kPendingOverhead;
    pending_.pop_front();
    stats.count(FlowIssue::MissingTemplate);
  }
}

void NetflowDecoder::Impl::resolvePending(const SessionKey& key, Session& s,
                                          const IpAddress& exporter, std::int64_t now,
                                          std::vector<FlowRecord>& out, FlowDecoderStats& stats,
                                          std::uint32_t& last_rate) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (!(it->key == key)) {
      ++it;
      continue;
    }
    const Template* t = findTemplate(s, it->set_id, key.protocol, now);
    if (t == nullptr) {
      ++it;
      continue;
    }
    const std::uint8_t* p = it->bytes.data();
    dataSet(*t, s, it->clock, exporter, p, p + it->bytes.size(), out, stats, last_rate);
    pending_bytes_ -= it->bytes.size() + kPendingOverhead;
    it = pending_.erase(it);
  }
}

// ---------------------------------------------------------------------------------------

NetflowDecoder::NetflowDecoder(const FlowLimits& limits) : impl_(std::make_unique<Impl>(limits)) {}
NetflowDecoder::~NetflowDecoder() = default;

bool NetflowDecoder::decode(const IpAddress& exporter, ByteSpan datagram, std::int64_t received_ns,
                            std::vector<FlowRecord>& out, FlowDecoderStats& stats,
                            NetflowDatagramInfo& info) {
  return impl_->decode(exporter, datagram, received_ns, out, stats, info);
}

std::size_t NetflowDecoder::sessionCount() const noexcept { return impl_->sessionCount(); }
std::size_t NetflowDecoder::templateCount() const noexcept { return impl_->templateCount(); }
std::size_t NetflowDecoder::pendingBytes() const noexcept { return impl_->pendingBytes(); }

}  // namespace bw
