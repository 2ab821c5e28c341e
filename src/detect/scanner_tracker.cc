#include "detect/scanner_tracker.h"

#include <algorithm>
#include <bit>

#include "core/hyperloglog.h"

namespace bw {
namespace {
constexpr std::size_t kTripleSlots = 1u << 18;  // per generation: 2 MiB, 128 Ki triples
constexpr std::size_t kFilterBits = 1u << 20;
constexpr std::size_t kMaxFinished = 10000;

std::uint64_t sourceKey(const IpAddress& src, std::uint16_t port) noexcept {
  return mix64(src.hash() ^ (std::uint64_t{port} << 48));
}
std::uint64_t tripleKey(const IpAddress& src, std::uint16_t port, const IpAddress& dst) noexcept {
  std::uint64_t k = mix64(sourceKey(src, port) ^ dst.hash());
  return (k & ~(1ULL << 63)) | 1;
}
}  // namespace

ScannerTracker::ScannerTracker(const DetectionConfig& config)
    : config_(config),
      entries_(std::bit_ceil(std::max<std::uint32_t>(config.max_scanner_sources, kProbeLimit))),
      mask_(static_cast<std::uint32_t>(entries_.size() - 1)),
      young_(kTripleSlots, 0),
      old_(kTripleSlots, 0),
      filter_(kFilterBits / 64, 0) {}

std::uint64_t* ScannerTracker::tripleFind(std::uint64_t fp, bool insert, bool* inserted) noexcept {
  *inserted = false;
  const std::size_t mask = kTripleSlots - 1;
  auto probe = [&](std::vector<std::uint64_t>& gen, bool claim) -> std::uint64_t* {
    for (std::size_t i = fp & mask;; i = (i + 1) & mask) {
      std::uint64_t& w = gen[i];
      if (w == 0) return claim ? &w : nullptr;
      if ((w & ~kAnswered) == fp) return &w;
    }
  };
  if (std::uint64_t* w = probe(young_, false)) return w;
  std::uint64_t* in_old = probe(old_, false);
  if (!insert) return in_old;
  if (young_count_ * 2 >= kTripleSlots) {  // young generation half full: age it
    young_.swap(old_);
    std::fill(young_.begin(), young_.end(), 0);
    young_count_ = 0;
    in_old = probe(old_, false);
  }
  std::uint64_t* w = probe(young_, true);
  *w = in_old ? *in_old : fp;
  ++young_count_;
  *inserted = in_old == nullptr;
  return w;
}

ScannerTracker::Entry* ScannerTracker::find(const IpAddress& src, std::uint16_t port) noexcept {
  std::uint64_t h = sourceKey(src, port);
  if (!(filter_[(h >> 6) & (filter_.size() - 1)] & (1ULL << (h & 63)))) return nullptr;
  std::uint32_t i = static_cast<std::uint32_t>(h >> 20) & mask_;
  for (std::uint32_t n = 0; n < kProbeLimit; ++n, i = (i + 1) & mask_) {
    Entry& e = entries_[i];
    if (e.used && e.port == port && e.src == src) return &e;
  }
  return nullptr;
}

ScannerTracker::Entry* ScannerTracker::findOrCreate(const IpAddress& src, std::uint16_t port,
                                                    std::int64_t ts_ns) noexcept {
  std::uint64_t h = sourceKey(src, port);
  std::uint32_t i = static_cast<std::uint32_t>(h >> 20) & mask_;
  Entry* victim = nullptr;
  for (std::uint32_t n = 0; n < kProbeLimit; ++n, i = (i + 1) & mask_) {
    Entry& e = entries_[i];
    if (e.used && e.port == port && e.src == src) return &e;
    if (!e.used) {
      if (!victim || victim->used) victim = &e;
    } else if (!victim || (victim->used && e.end_ns < victim->end_ns)) {
      victim = &e;
    }
  }
  if (victim->used) {
    if (ts_ns - victim->end_ns < config_.scanner_window_ns) ++evictions_;
    retire(*victim);
  }
  *victim = Entry{};
  victim->used = true;
  victim->src = src;
  victim->port = port;
  victim->start_ns = ts_ns;
  filter_[(h >> 6) & (filter_.size() - 1)] |= 1ULL << (h & 63);
  return victim;
}

bool ScannerTracker::qualifies(const Entry& e) const noexcept {
  return e.targets >= config_.scanner_min_targets &&
         static_cast<double>(e.responders) <=
             config_.scanner_max_answered * static_cast<double>(e.targets);
}

void ScannerTracker::retire(const Entry& e) {
  if (!qualifies(e) || finished_.size() >= kMaxFinished) return;
  finished_.push_back(ScannerRecord{e.src, 17, e.port, e.vector, e.targets, e.packets, e.responders,
                                    e.start_ns, e.end_ns});
}

void ScannerTracker::onRequest(const IpAddress& src, const IpAddress& dst, std::uint16_t port,
                               Vector v, std::int64_t ts_ns) noexcept {
  Entry* e = findOrCreate(src, port, ts_ns);
  if (e->packets != 0 && ts_ns - e->end_ns > config_.scanner_window_ns) {
    retire(*e);  // a new episode for this source
    Entry fresh;
    fresh.used = true;
    fresh.src = src;
    fresh.port = port;
    fresh.start_ns = ts_ns;
    *e = fresh;
  }
  e->vector = v;
  ++e->packets;
  e->end_ns = std::max(e->end_ns, ts_ns);
  bool inserted = false;
  tripleFind(tripleKey(src, port, dst), true, &inserted);
  if (inserted) ++e->targets;
}

void ScannerTracker::onResponse(const IpAddress& responder, const IpAddress& dst,
                                std::uint16_t port, std::int64_t ts_ns) noexcept {
  Entry* e = find(dst, port);
  if (!e) return;
  bool inserted = false;
  std::uint64_t* w = tripleFind(tripleKey(dst, port, responder), false, &inserted);
  if (w && !(*w & kAnswered)) {
    *w |= kAnswered;
    ++e->responders;
  }
}

bool ScannerTracker::asked(const IpAddress& requester, std::uint16_t port,
                           const IpAddress& server) noexcept {
  bool inserted = false;
  return tripleFind(tripleKey(requester, port, server), false, &inserted) != nullptr;
}

std::vector<ScannerRecord> ScannerTracker::scanners() const {
  std::vector<ScannerRecord> out = finished_;
  for (const Entry& e : entries_) {
    if (e.used && qualifies(e)) {
      out.push_back(ScannerRecord{e.src, 17, e.port, e.vector, e.targets, e.packets, e.responders,
                                  e.start_ns, e.end_ns});
    }
  }
  std::sort(out.begin(), out.end(), [](const ScannerRecord& a, const ScannerRecord& b) {
    if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
    return a.source < b.source;
  });
  return out;
}

}  // namespace bw
