#include "detect/source_tracker.h"

#include <algorithm>
#include <cmath>

namespace bw {
namespace {
constexpr std::size_t kInitialSlots = 64;
}

SourceTracker::SourceTracker(ExactBudget* budget, std::size_t exact_limit)
    : budget_(budget), exact_limit_(exact_limit) {
  if (budget_->take(kInitialSlots * sizeof(Entry))) {
    table_.assign(kInitialSlots, Entry{});
  } else {
    switchToSketch();
  }
}

SourceTracker::~SourceTracker() { budget_->give(table_.size() * sizeof(Entry)); }

void SourceTracker::add(const IpAddress& src, std::uint32_t packets, std::uint64_t bytes) noexcept {
  const std::uint64_t hash = src.hash();
  if (sketch_) {
    sketchAdd(src, hash, packets, bytes);
    return;
  }
  std::size_t mask = table_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    Entry& e = table_[i];
    if (e.packets == 0) {
      if ((count_ + 1) * 2 > table_.size()) {
        if (!grow()) {
          switchToSketch();
          sketchAdd(src, hash, packets, bytes);
          return;
        }
        add(src, packets, bytes);  // re-probe in the grown table
        return;
      }
      e.ip = src;
      e.packets = packets;
      e.bytes = bytes;
      ++count_;
      return;
    }
    if (e.ip == src) {
      e.packets += packets;
      e.bytes += bytes;
      return;
    }
  }
}

bool SourceTracker::grow() noexcept {
  std::size_t old_slots = table_.size();
  std::size_t new_slots = old_slots * 2;
  if (count_ + 1 > exact_limit_) return false;
  if (!budget_->take((new_slots - old_slots) * sizeof(Entry))) return false;
  std::vector<Entry> old;
  old.swap(table_);
  table_.assign(new_slots, Entry{});
  std::size_t mask = new_slots - 1;
  for (const Entry& e : old) {
    if (e.packets == 0) continue;
    std::size_t i = e.ip.hash() & mask;
    while (table_[i].packets != 0) i = (i + 1) & mask;
    table_[i] = e;
  }
  budget_->give(old_slots * sizeof(Entry));
  return true;
}

void SourceTracker::switchToSketch() noexcept {
  sketch_ = std::make_unique<Sketch>();
  // Seed the heavy-hitter summary with the exact map's heaviest entries (their counts are
  // exact, so their error is zero), and the HLL with every source seen so far.
  std::vector<Entry> live;
  live.reserve(count_);
  for (const Entry& e : table_) {
    if (e.packets == 0) continue;
    sketch_->hll.add(mix64(e.ip.hash()));
    live.push_back(e);
  }
  std::size_t keep = std::min(live.size(), kTopCapacity);
  std::partial_sort(live.begin(), live.begin() + keep, live.end(),
                    [](const Entry& a, const Entry& b) { return a.bytes > b.bytes; });
  for (std::size_t i = 0; i < keep; ++i) {
    sketch_->top[i] = live[i];
    sketch_->hashes[i] = live[i].ip.hash();
  }
  sketch_->used = keep;
  budget_->give(table_.size() * sizeof(Entry));
  std::vector<Entry>().swap(table_);
  count_ = 0;
}

void SourceTracker::sketchAdd(const IpAddress& src, std::uint64_t hash, std::uint32_t packets,
                              std::uint64_t bytes) noexcept {
  Sketch& s = *sketch_;
  s.hll.add(mix64(hash));
  // One pass finds the source or, failing that, the lightest entry: under a spoofed flood
  // nearly every packet is a newcomer, so a second scan for the minimum doubled the cost.
  std::size_t min_i = 0;
  for (std::size_t i = 0; i < s.used; ++i) {
    if (s.hashes[i] == hash && s.top[i].ip == src) {
      s.top[i].packets += packets;
      s.top[i].bytes += bytes;
      return;
    }
    if (s.top[i].bytes < s.top[min_i].bytes) min_i = i;
  }
  if (s.used < kTopCapacity) {
    s.top[s.used] = Entry{src, packets, bytes};
    s.hashes[s.used] = hash;
    ++s.used;
    return;
  }
  // Space-Saving: the newcomer replaces the lightest entry and inherits its count, which
  // bounds its overestimate by that count.
  Entry& e = s.top[min_i];
  e.ip = src;
  e.packets += packets;
  e.bytes += bytes;
  s.hashes[min_i] = hash;
}

std::uint64_t SourceTracker::distinct() const noexcept {
  if (sketch_) return static_cast<std::uint64_t>(std::llround(sketch_->hll.estimate()));
  return count_;
}

std::vector<ReflectorStat> SourceTracker::top(std::size_t n) const {
  std::vector<ReflectorStat> out;
  auto push = [&](const Entry& e) { out.push_back(ReflectorStat{e.ip, e.packets, e.bytes}); };
  if (sketch_) {
    for (std::size_t i = 0; i < sketch_->used; ++i) push(sketch_->top[i]);
  } else {
    for (const Entry& e : table_) {
      if (e.packets != 0) push(e);
    }
  }
  auto heavier = [](const ReflectorStat& a, const ReflectorStat& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.ip < b.ip;
  };
  std::size_t keep = std::min(n, out.size());
  std::partial_sort(out.begin(), out.begin() + keep, out.end(), heavier);
  out.resize(keep);
  return out;
}

}  // namespace bw
