#include "detect/scanner_tracker.h"

#include <algorithm>
#include <bit>

namespace bw {
namespace {
constexpr std::size_t kMaxFinished = 10000;
}  // namespace

ScannerTracker::ScannerTracker(const DetectionConfig& config)
    : config_(config),
      entries_(std::bit_ceil(std::max<std::uint32_t>(config.max_scanner_sources, kProbeLimit))),
      mask_(static_cast<std::uint32_t>(entries_.size() - 1)),
      young_(kTripleSlots),
      old_(kTripleSlots),
      filter_(2 * kFilterWords),
      source_filter_(kSourceFilterBits / 64) {
  used_slots_.reserve(entries_.size());  // fixed memory: a slot is listed once at most
}

// Linear probing from the home slot; a generation is at most half full, so an empty slot ends
// every probe.
const std::uint64_t* ScannerTracker::probe(const ZeroedArray<std::uint64_t>& gen,
                                           std::uint64_t fp) noexcept {
  for (std::size_t i = home(fp);; i = (i + 1) & (kTripleSlots - 1)) {
    const std::uint64_t& w = gen[i];
    if (w == 0) return nullptr;
    if ((w & ~kAnswered) == fp) return &w;
  }
}

const std::uint64_t* ScannerTracker::findTriple(std::uint64_t fp) const noexcept {
  const std::uint64_t* pair = &filter_[filterPair(fp)];
  const std::uint64_t bits = filterBits(fp);
  if ((pair[young_word_] & bits) == bits) {
    if (const std::uint64_t* w = probe(young_, fp)) return w;
  }
  if ((pair[young_word_ ^ 1] & bits) == bits) return probe(old_, fp);
  return nullptr;
}

// The young generation is half full: it becomes the old one, and the old one is forgotten.
void ScannerTracker::age() noexcept {
  young_.swap(old_);
  std::fill(young_.begin(), young_.end(), 0);
  young_count_ = 0;
  young_word_ ^= 1;
  for (std::size_t i = young_word_; i < filter_.size(); i += 2) filter_[i] = 0;
}

bool ScannerTracker::insertTriple(std::uint64_t fp) noexcept {
  std::uint64_t* pair = &filter_[filterPair(fp)];
  const std::uint64_t bits = filterBits(fp);
  if ((pair[young_word_] & bits) == bits && probe(young_, fp)) return false;
  const std::uint64_t* in_old = nullptr;
  if ((pair[young_word_ ^ 1] & bits) == bits) in_old = probe(old_, fp);
  if (young_count_ >= kTriplesPerGeneration) {
    age();
    in_old = nullptr;  // the old generation is now the former young one, which lacks `fp`
  }
  std::size_t i = home(fp);
  while (young_[i] != 0) i = (i + 1) & (kTripleSlots - 1);
  young_[i] = in_old ? *in_old : fp;  // keeps kAnswered across generations
  ++young_count_;
  pair[young_word_] |= bits;
  return in_old == nullptr;
}

ScannerTracker::Entry* ScannerTracker::find(const IpAddress& src, std::uint16_t port,
                                            std::uint64_t source_key) noexcept {
  if (!sourceMaybe(source_key)) return nullptr;
  std::uint32_t i = static_cast<std::uint32_t>(source_key >> 20) & mask_;
  for (std::uint32_t n = 0; n < kProbeLimit; ++n, i = (i + 1) & mask_) {
    Entry& e = entries_[i];
    if (e.used && e.port == port && e.src == src) return &e;
  }
  return nullptr;
}

ScannerTracker::Entry* ScannerTracker::findOrCreate(const IpAddress& src, std::uint16_t port,
                                                    std::uint64_t source_key,
                                                    std::int64_t ts_ns) noexcept {
  std::uint32_t i = static_cast<std::uint32_t>(source_key >> 20) & mask_;
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
  } else {
    used_slots_.push_back(static_cast<std::uint32_t>(victim - entries_.data()));
  }
  *victim = Entry{};
  victim->used = true;
  victim->src = src;
  victim->port = port;
  victim->start_ns = ts_ns;
  source_filter_[sourceWord(source_key)] |= 1ULL << (source_key & 63);
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

void ScannerTracker::onRequest(const IpAddress& src, std::uint64_t src_hash, const IpAddress& dst,
                               std::uint64_t dst_hash, std::uint16_t port, Vector v,
                               std::int64_t ts_ns) noexcept {
  assert(src_hash == src.hash() && dst_hash == dst.hash());
  const std::uint64_t sk = sourceKey(src_hash, port);
  Entry* e = findOrCreate(src, port, sk, ts_ns);
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
  if (insertTriple(fingerprint(sk, dst_hash))) ++e->targets;
}

// The triple decides before the entry: most responses were not asked for (the filters say so
// from L1/L2), and an asked one is credited once, so the entry table is read only for a first
// answer.
bool ScannerTracker::onAskingResponse(const IpAddress& dst, const ResponseKey& key,
                                      std::int64_t ts_ns) noexcept {
  auto* w = const_cast<std::uint64_t*>(findTriple(key.fp_));
  if (!w) return false;
  if (*w & kAnswered) return true;
  if (Entry* e = find(dst, key.port_, key.source_key_)) {
    *w |= kAnswered;
    ++e->responders;
  }
  return true;
}

bool ScannerTracker::asked(const ResponseKey& key) const noexcept {
  return findTriple(key.fp_) != nullptr;
}

std::vector<ScannerRecord> ScannerTracker::scanners() const {
  std::vector<ScannerRecord> out = finished_;
  // Only the slots ever used, in table order as before: reading the whole table would fault
  // in megabytes that a capture with a few requests never wrote.
  std::vector<std::uint32_t> slots = used_slots_;
  std::sort(slots.begin(), slots.end());
  for (const std::uint32_t i : slots) {
    const Entry& e = entries_[i];
    if (qualifies(e)) {
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

std::size_t ScannerTracker::memoryBytes() const noexcept {
  return entries_.size() * sizeof(Entry) +
         (young_.size() + old_.size() + filter_.size() + source_filter_.size()) *
             sizeof(std::uint64_t) +
         finished_.capacity() * sizeof(ScannerRecord) +
         used_slots_.capacity() * sizeof(std::uint32_t);
}

}  // namespace bw
