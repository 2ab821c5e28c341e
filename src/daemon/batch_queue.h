// Batch and BatchQueue: how capture workers and collectors hand decoded packets to the
// sensor's engine thread.
//
// A Batch holds up to a few hundred PacketSummary values and copies of the payload bytes the
// engine inspects, because the buffers the summaries pointed into (ring blocks, datagrams)
// are reused as soon as the producer returns. BatchQueue is a bounded many-producer,
// one-consumer queue: producers wait when it is full, so overload becomes kernel drops at the
// sources, counted there, never unbounded memory here.
//
// Thread-safety: a Batch belongs to one thread at a time; BatchQueue is thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "decode/packet.h"
#include "flow/flow_feed.h"

namespace bw {

// Batches waiting for the engine, over every producer. With payload copies a batch is at most
// about 400 KB; in practice a few KB.
inline constexpr std::size_t kQueueBatches = 1024;
// Payload bytes kept per packet for the engine's evidence checks: protocol headers need a
// few dozen; memcached responses are kept whole (up to one datagram) for ransom notes.
inline constexpr std::size_t kPayloadKeep = 256;
inline constexpr std::size_t kPayloadKeepMemcached = 1500;
// Payload arena a recycled batch keeps (a batch of full-size payload prefixes).
inline constexpr std::size_t kKeepArenaBytes = 64 << 10;

// A batch of summaries on its way to the engine, with copies of their payload prefixes.
struct Batch {
  // Where the payload of items[index] was copied in the arena.
  struct Kept {
    std::uint32_t index;
    std::uint32_t offset;
  };

  int lane = 0;
  std::int64_t advance_ns = INT64_MIN;  // the producer's clock reached this (flow lane)
  std::vector<PacketSummary> items;
  std::vector<Kept> kept;  // items with payload bytes, in item order
  std::vector<std::uint8_t> arena;
  // A flow lane's crowded cell, handed over whole to be grouped on the engine thread (then
  // `items` is empty). Its memory goes back to the collector's feed when the batch is cleared.
  FlowFeed::CrowdedCell crowded;

  void clear() {
    lane = 0;
    advance_ns = INT64_MIN;
    crowded = FlowFeed::CrowdedCell();
    items.clear();
    kept.clear();
    arena.clear();
  }
  void add(const PacketSummary& p) {
    items.push_back(p);
    keepPayload(items.size() - 1);
  }
  // The same as add() for each of `ps` in turn. Summaries without payload (flow records)
  // cost one copy and nothing else.
  void addAll(std::span<const PacketSummary> ps) {
    const std::size_t first = items.size();
    items.insert(items.end(), ps.begin(), ps.end());
    for (std::size_t i = first; i < items.size(); ++i) {
      if (items[i].payload != nullptr || items[i].payload_len != 0) keepPayload(i);
    }
  }
  // Points the payloads at the arena; the arena must not grow afterwards.
  void seal() {
    for (const Kept& k : kept) items[k.index].payload = arena.data() + k.offset;
  }

 private:
  // Copies the payload prefix of items[i] to the arena; the item keeps the copy's length.
  void keepPayload(std::size_t i) {
    PacketSummary& p = items[i];
    std::size_t keep = 0;
    if (p.payload != nullptr && p.payload_len > 0) {
      std::size_t limit =
          p.hasPorts() && p.src_port == 11211 ? kPayloadKeepMemcached : kPayloadKeep;
      keep = std::min<std::size_t>(p.payload_len, limit);
      kept.push_back(Kept{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(arena.size())});
      arena.insert(arena.end(), p.payload, p.payload + keep);
    }
    p.payload = nullptr;
    p.payload_len = static_cast<std::uint16_t>(keep);
  }
};

// Many producers, one consumer, bounded. Producers wait (re-checking `stopping`) when full.
class BatchQueue {
 public:
  std::unique_ptr<Batch> acquire() {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return std::make_unique<Batch>();
    std::unique_ptr<Batch> b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  // Keeps up to a full queue's worth of batches for reuse (the memory a full queue holds
  // anyway), so a producer that keeps the queue busy does not allocate; payload arenas grown
  // past kKeepArenaBytes are freed.
  void recycle(std::unique_ptr<Batch> b) {
    b->clear();
    if (b->arena.capacity() > kKeepArenaBytes) std::vector<std::uint8_t>().swap(b->arena);
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < kQueueBatches) free_.push_back(std::move(b));
  }
  // Returns false (and drops the batch) only when `stopping` was set while waiting.
  bool push(std::unique_ptr<Batch> b, const std::atomic<bool>& stopping) {
    std::unique_lock<std::mutex> lock(mu_);
    while (queue_.size() >= kQueueBatches) {
      ++waits_;
      not_full_.wait_for(lock, std::chrono::milliseconds(20));
      if (stopping.load(std::memory_order_relaxed) && queue_.size() >= kQueueBatches) return false;
    }
    queue_.push_back(std::move(b));
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }
  std::unique_ptr<Batch> pop(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu_);
    if (queue_.empty()) not_empty_.wait_for(lock, wait);
    if (queue_.empty()) return nullptr;
    std::unique_ptr<Batch> b = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return b;
  }
  void wake() { not_empty_.notify_all(); }
  std::size_t depth() {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }
  std::uint64_t waits() {
    std::lock_guard<std::mutex> lock(mu_);
    return waits_;
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::unique_ptr<Batch>> queue_;
  std::vector<std::unique_ptr<Batch>> free_;
  std::uint64_t waits_ = 0;
};

}  // namespace bw
