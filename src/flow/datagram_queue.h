// DatagramQueue: datagrams handed from a thread that only receives them to one that decodes.
//
// UdpCollector's buffers are reused as soon as its sink returns, so push() copies each batch
// it is given (bytes and where each datagram lies in them). Memory is bounded by `max_bytes`
// of queued datagrams: when the decoding thread falls behind by that much, push() waits and
// the kernel's socket buffer takes the rest (its drops are counted there). A batch larger than
// the bound on its own is queued when the queue is empty, so nothing waits forever. Read
// batches go back with recycle(); a few, none very large, are kept for the next pushes.
//
// The decoding thread is not woken per batch: at 200,000 datagrams a second, a wake-up for
// every batch of a few datagrams cost more CPU than decoding them. It comes to look with
// takeAll(), and only once it has found nothing for a while does it wait in waitIdle(), which
// the next push() ends. ReceivingCollector (receiving_collector.h) runs both sides.
// Thread-safe: any number of pushing threads, one decoding thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "core/ip_address.h"
#include "flow/udp_collector.h"

namespace bw {

class DatagramQueue {
 public:
  struct Datagram {
    IpAddress from;
    std::int64_t received_ns = 0;
    std::size_t offset = 0;  // into Batch::bytes
    std::size_t size = 0;
  };
  struct Batch {
    std::vector<std::uint8_t> bytes;
    std::vector<Datagram> datagrams;
    ByteSpan data(const Datagram& d) const { return {bytes.data() + d.offset, d.size}; }
  };

  // Batches kept for reuse, and the largest kept.
  static constexpr std::size_t kKeptBatches = 32;
  static constexpr std::size_t kKeptBatchBytes = std::size_t{1} << 20;

  explicit DatagramQueue(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // Copies `received` into a batch and queues it; waits while the queue is full. After
  // close() it returns at once and drops the datagrams: nobody will read them.
  void push(std::span<const ReceivedDatagram> received);

  // Moves every queued batch to `out` (empty when none).
  // REQUIRES: `out` is empty.
  void takeAll(std::deque<std::unique_ptr<Batch>>& out);

  // Waits up to `max` for a batch to be queued (or close()).
  void waitIdle(std::chrono::nanoseconds max);

  // Gives a read batch back for reuse.
  void recycle(std::unique_ptr<Batch> b);

  // Ends every wait of push() and waitIdle() for good; later pushes are dropped.
  void close();

  std::size_t queuedBytes() const;
  std::size_t keptBatches() const;

 private:
  std::unique_ptr<Batch> takeFree();

  const std::size_t max_bytes_;
  mutable std::mutex mu_;
  std::condition_variable space_, ready_;
  std::deque<std::unique_ptr<Batch>> queue_;
  std::vector<std::unique_ptr<Batch>> free_;
  std::size_t queued_bytes_ = 0;
  bool closed_ = false;
  bool idle_ = false;  // the decoding thread is in waitIdle()
};

}  // namespace bw
