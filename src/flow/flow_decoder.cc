// FlowDecoder: recognises each datagram's protocol, hands it to the sFlow or NetFlow/IPFIX
// decoder, and keeps what concerns every protocol alike: the exporter table (datagrams,
// records, sequence gaps, the sampling rate in force) and the latest sFlow interface
// counters. Both tables are bounded; when full, entries idle for an hour are swept (at most
// once a second of received time) and anything still refused counts ExporterLimit.
#include "flow/flow_decoder.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "flow/netflow.h"
#include "flow/sflow.h"

namespace bw {

const char* flowProtocolName(FlowProtocol p) noexcept {
  switch (p) {
    case FlowProtocol::SflowV5:
      return "sflow5";
    case FlowProtocol::NetflowV5:
      return "netflow5";
    case FlowProtocol::NetflowV9:
      return "netflow9";
    case FlowProtocol::Ipfix:
      return "ipfix";
    case FlowProtocol::Unknown:
    case FlowProtocol::kCount:
      break;
  }
  return "unknown";
}

const char* flowIssueName(FlowIssue i) noexcept {
  switch (i) {
    case FlowIssue::TruncatedHeader:
      return "truncated_header";
    case FlowIssue::UnknownVersion:
      return "unknown_version";
    case FlowIssue::BadLength:
      return "bad_length";
    case FlowIssue::BadSetId:
      return "bad_set_id";
    case FlowIssue::BadTemplate:
      return "bad_template";
    case FlowIssue::TemplateLimit:
      return "template_limit";
    case FlowIssue::ExporterLimit:
      return "exporter_limit";
    case FlowIssue::MissingTemplate:
      return "missing_template";
    case FlowIssue::TruncatedRecord:
      return "truncated_record";
    case FlowIssue::BadAddress:
      return "bad_address";
    case FlowIssue::AbsurdSamplingRate:
      return "absurd_sampling_rate";
    case FlowIssue::BadSampledHeader:
      return "bad_sampled_header";
    case FlowIssue::UnknownRecordType:
      return "unknown_record_type";
    case FlowIssue::kCount:
      break;
  }
  return "unknown";
}

namespace {

constexpr std::uint32_t kSflowVersion = 5;  // first 32-bit word of an sFlow v5 datagram
constexpr std::uint16_t kNetflowV5 = 5;
constexpr std::uint16_t kNetflowV9 = 9;
constexpr std::uint16_t kIpfix = 10;

constexpr std::int64_t kIdleNs = 3600'000'000'000;
constexpr std::int64_t kSweepIntervalNs = 1'000'000'000;
// Interface counter entries allowed per tracked exporter (a switch has tens of ports).
constexpr std::size_t kCountersPerExporter = 16;

struct ExporterKey {
  IpAddress address;
  IpAddress agent;
  std::uint32_t domain = 0;
  FlowProtocol protocol = FlowProtocol::Unknown;
  friend bool operator==(const ExporterKey&, const ExporterKey&) = default;
};

struct ExporterKeyHash {
  std::size_t operator()(const ExporterKey& k) const noexcept {
    return k.address.hash() ^ (k.agent.hash() >> 1) ^
           (std::uint64_t{k.domain} * 0x9E3779B97F4A7C15ULL) ^
           static_cast<std::uint64_t>(k.protocol);
  }
};

struct Exporter {
  ExporterInfo info;
  SequenceTracker sequence;
};

struct CounterKey {
  IpAddress agent;
  std::uint32_t if_index = 0;
  friend bool operator==(const CounterKey&, const CounterKey&) = default;
};

struct CounterKeyHash {
  std::size_t operator()(const CounterKey& k) const noexcept {
    return k.agent.hash() ^ (std::uint64_t{k.if_index} * 0x9E3779B97F4A7C15ULL);
  }
};

inline bool idle(std::int64_t then, std::int64_t now) noexcept {
  std::int64_t age;
  if (__builtin_sub_overflow(now, then, &age)) return now > then;
  return age > kIdleNs;
}

}  // namespace

class FlowDecoder::Impl {
 public:
  explicit Impl(const FlowLimits& limits) : limits_(limits), netflow_(limits) {}

  std::size_t decode(const IpAddress& exporter, ByteSpan datagram, std::int64_t received_ns,
                     std::vector<FlowRecord>& out);

  const FlowDecoderStats& stats() const noexcept { return stats_; }
  std::vector<ExporterInfo> exporters() const;
  std::vector<InterfaceCounters> interfaceCounters() const;

 private:
  Exporter* findExporter(const ExporterKey& key, std::int64_t now);
  void account(Exporter& e, std::uint32_t sequence, std::uint32_t advance, bool advance_known,
               std::size_t records, std::uint32_t rate, std::int64_t now);
  void keepCounters();
  bool sweepDue(std::int64_t now);
  void sweep(std::int64_t now);

  FlowLimits limits_;
  FlowDecoderStats stats_;
  NetflowDecoder netflow_;
  std::unordered_map<ExporterKey, Exporter, ExporterKeyHash> exporters_;
  ExporterKey last_key_;
  Exporter* last_ = nullptr;  // datagrams come in runs from one exporter
  std::int64_t last_sweep_ns_ = INT64_MIN;
  std::unordered_map<CounterKey, InterfaceCounters, CounterKeyHash> counters_;
  std::vector<InterfaceCounters> counter_batch_;  // one datagram's counter samples
};

std::size_t FlowDecoder::Impl::decode(const IpAddress& exporter, ByteSpan datagram,
                                      std::int64_t received_ns, std::vector<FlowRecord>& out) {
  const std::size_t before = out.size();
  const std::uint8_t* d = datagram.data();
  auto& datagrams = stats_.datagrams;

  if (datagram.size() >= 4 && loadBe32(d) == kSflowVersion) {
    ++datagrams[static_cast<std::size_t>(FlowProtocol::SflowV5)];
    counter_batch_.clear();
    SflowDatagramInfo info;
    const bool ok =
        decodeSflow(exporter, datagram, received_ns, limits_, info, out, counter_batch_, stats_);
    const std::size_t n = out.size() - before;
    stats_.records += n;
    if (ok) {
      const ExporterKey key{exporter, info.agent, info.sub_agent, FlowProtocol::SflowV5};
      if (Exporter* e = findExporter(key, received_ns)) {
        account(*e, info.sequence, 1, true, n, info.last_sampling_rate, received_ns);
      }
    }
    for (InterfaceCounters& c : counter_batch_) c.seen_ns = received_ns;
    keepCounters();
    return n;
  }

  FlowProtocol protocol = FlowProtocol::Unknown;
  if (datagram.size() >= 2) {
    switch (loadBe16(d)) {
      case kNetflowV5:
        protocol = FlowProtocol::NetflowV5;
        break;
      case kNetflowV9:
        protocol = FlowProtocol::NetflowV9;
        break;
      case kIpfix:
        protocol = FlowProtocol::Ipfix;
        break;
      default:
        break;
    }
  }
  ++datagrams[static_cast<std::size_t>(protocol)];
  if (protocol == FlowProtocol::Unknown) {
    const FlowIssue issue =
        datagram.size() < 2 ? FlowIssue::TruncatedHeader : FlowIssue::UnknownVersion;
    stats_.count(issue);
    return 0;
  }
  NetflowDatagramInfo info;
  const bool ok = netflow_.decode(exporter, datagram, received_ns, out, stats_, info);
  const std::size_t n = out.size() - before;
  stats_.records += n;
  if (ok) {
    const ExporterKey key{exporter, IpAddress(), info.domain, protocol};
    if (Exporter* e = findExporter(key, received_ns)) {
      account(*e, info.sequence, info.sequence_advance, info.advance_known, n, info.sampling_rate,
              received_ns);
    }
  }
  return n;
}

Exporter* FlowDecoder::Impl::findExporter(const ExporterKey& key, std::int64_t now) {
  if (last_ != nullptr && last_key_ == key) return last_;
  auto it = exporters_.find(key);
  if (it == exporters_.end()) {
    if (exporters_.size() >= limits_.max_exporters) {
      if (sweepDue(now)) sweep(now);
      if (exporters_.size() >= limits_.max_exporters) {
        stats_.count(FlowIssue::ExporterLimit);
        return nullptr;
      }
    }
    Exporter e;
    e.info.address = key.address;
    e.info.agent = key.agent;
    e.info.protocol = key.protocol;
    e.info.domain = key.domain;
    it = exporters_.emplace(key, e).first;
  }
  last_key_ = key;
  last_ = &it->second;
  return last_;
}

void FlowDecoder::Impl::account(Exporter& e, std::uint32_t sequence, std::uint32_t advance,
                                bool advance_known, std::size_t records, std::uint32_t rate,
                                std::int64_t now) {
  const std::uint64_t lost = e.sequence.update(sequence, advance, advance_known);
  e.info.lost += lost;
  stats_.lost_telemetry += lost;
  ++e.info.datagrams;
  e.info.records += records;
  if (rate != 0) e.info.sampling_rate = rate;
  e.info.last_seen_ns = now;
}

void FlowDecoder::Impl::keepCounters() {
  const std::size_t cap = std::size_t{limits_.max_exporters} * kCountersPerExporter;
  for (const InterfaceCounters& c : counter_batch_) {
    const CounterKey key{c.agent, c.if_index};
    auto it = counters_.find(key);
    if (it != counters_.end()) {
      it->second = c;
      continue;
    }
    if (counters_.size() >= cap) {
      if (sweepDue(c.seen_ns)) sweep(c.seen_ns);
      if (counters_.size() >= cap) {
        stats_.count(FlowIssue::ExporterLimit);
        continue;
      }
    }
    counters_.emplace(key, c);
  }
}

bool FlowDecoder::Impl::sweepDue(std::int64_t now) {
  if (last_sweep_ns_ == INT64_MIN || now < last_sweep_ns_) return true;
  std::int64_t since;
  if (__builtin_sub_overflow(now, last_sweep_ns_, &since)) return true;
  return since > kSweepIntervalNs;
}

// Forgets exporters and interfaces not heard from for an hour.
void FlowDecoder::Impl::sweep(std::int64_t now) {
  last_sweep_ns_ = now;
  last_ = nullptr;
  std::erase_if(exporters_, [&](const auto& kv) { return idle(kv.second.info.last_seen_ns, now); });
  std::erase_if(counters_, [&](const auto& kv) { return idle(kv.second.seen_ns, now); });
}

std::vector<ExporterInfo> FlowDecoder::Impl::exporters() const {
  std::vector<ExporterInfo> v;
  v.reserve(exporters_.size());
  for (const auto& [key, e] : exporters_) v.push_back(e.info);
  std::sort(v.begin(), v.end(), [](const ExporterInfo& a, const ExporterInfo& b) {
    return std::tie(a.address, a.protocol, a.agent, a.domain) <
           std::tie(b.address, b.protocol, b.agent, b.domain);
  });
  return v;
}

std::vector<InterfaceCounters> FlowDecoder::Impl::interfaceCounters() const {
  std::vector<InterfaceCounters> v;
  v.reserve(counters_.size());
  for (const auto& [key, c] : counters_) v.push_back(c);
  std::sort(v.begin(), v.end(), [](const InterfaceCounters& a, const InterfaceCounters& b) {
    return std::tie(a.agent, a.if_index) < std::tie(b.agent, b.if_index);
  });
  return v;
}

FlowDecoder::FlowDecoder(FlowLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
FlowDecoder::~FlowDecoder() = default;

std::size_t FlowDecoder::decode(const IpAddress& exporter, ByteSpan datagram,
                                std::int64_t received_ns, std::vector<FlowRecord>& out) {
  return impl_->decode(exporter, datagram, received_ns, out);
}

const FlowDecoderStats& FlowDecoder::stats() const noexcept { return impl_->stats(); }
std::vector<ExporterInfo> FlowDecoder::exporters() const { return impl_->exporters(); }
std::vector<InterfaceCounters> FlowDecoder::interfaceCounters() const {
  return impl_->interfaceCounters();
}

}  // namespace bw
