// ReceivingCollector: a UdpCollector read on a thread of its own, for a caller that decodes
// on another.
//
// The receiving thread only polls the sockets and copies what arrives into a DatagramQueue,
// so a burst of work on the decoding thread (held records released at once, a full queue to
// the engine) does not leave the sockets unread: the kernel's buffer covers the receiving
// thread's own pauses, and the queue (`max_queued_bytes`) the decoding thread's.
//
// The decoding thread loops on drain() and idle(). idle() sleeps 1 ms at a time, and after 100
// empty looks in a row waits until a datagram arrives: a wake-up per datagram costs more than
// decoding it at high rates, and an idle collector should cost nothing.
//
// UdpCollector::stats() may only be called from the polling thread, so the receiving thread
// takes them every 250 ms (and once more when it stops); stats() returns the latest.
//
// Thread-safety: drain(), idle() and stop() from one decoding thread; stats() and failed()
// from any.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "flow/datagram_queue.h"
#include "flow/udp_collector.h"

namespace bw {

class ReceivingCollector {
 public:
  // Received datagrams waiting to be decoded, at most, unless told otherwise: about a quarter
  // of a second at 200,000 datagrams a second of 1,400 bytes, on top of the socket buffers.
  static constexpr std::size_t kDefaultMaxQueuedBytes = std::size_t{64} << 20;

  // Starts receiving at once. `thread_name` (at most 15 characters) names the receiving
  // thread for top -H and perf.
  ReceivingCollector(UdpCollector& collector, const char* thread_name,
                     std::size_t max_queued_bytes = kDefaultMaxQueuedBytes);
  ~ReceivingCollector();  // stop()
  ReceivingCollector(const ReceivingCollector&) = delete;
  ReceivingCollector& operator=(const ReceivingCollector&) = delete;

  // Calls f(const DatagramQueue::Batch&) for each batch queued, in arrival order, and returns
  // whether there was any. A batch's bytes stay valid only during its call.
  template <typename F>
  bool drain(F&& f) {
    queue_.takeAll(taken_);
    for (std::unique_ptr<DatagramQueue::Batch>& b : taken_) {
      f(static_cast<const DatagramQueue::Batch&>(*b));
      queue_.recycle(std::move(b));
    }
    const bool any = !taken_.empty();
    taken_.clear();
    if (any) empty_looks_ = 0;
    return any;
  }

  // After a drain() that found nothing: waits at most `max` for datagrams (see above).
  void idle(std::chrono::nanoseconds max);

  // Ends the receiving thread and waits for it. What it queued can still be drained. Safe to
  // call more than once.
  void stop();

  // Whether the receiving thread ended on an exception; rethrowFailure() rethrows it.
  bool failed() const noexcept { return failed_.load(); }
  // REQUIRES: stop() was called.
  void rethrowFailure() const;

  std::vector<ListenerStats> stats() const;

 private:
  void receive();
  void takeStats();

  static constexpr int kQuietLooks = 100;
  static constexpr std::chrono::milliseconds kIdleSleep{1};
  static constexpr std::chrono::milliseconds kStatsEvery{250};

  UdpCollector& collector_;
  DatagramQueue queue_;
  std::deque<std::unique_ptr<DatagramQueue::Batch>> taken_;
  int empty_looks_ = 0;
  std::atomic<bool> receiving_{true};
  std::atomic<bool> failed_{false};
  std::exception_ptr failure_;  // written by the receiving thread before it ends
  mutable std::mutex stats_mu_;
  std::vector<ListenerStats> stats_;
  std::thread thread_;
};

}  // namespace bw
