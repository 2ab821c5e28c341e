// See receiving_collector.h.
#include "flow/receiving_collector.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

namespace bw {

ReceivingCollector::ReceivingCollector(UdpCollector& collector, const char* thread_name,
                                       std::size_t max_queued_bytes)
    : collector_(collector), queue_(max_queued_bytes) {
  stats_ = collector_.stats();  // before the thread starts: nobody else polls yet
  thread_ = std::thread([this] { receive(); });
  pthread_setname_np(thread_.native_handle(), thread_name);
}

ReceivingCollector::~ReceivingCollector() { stop(); }

void ReceivingCollector::receive() {
  try {
    const UdpCollector::Sink sink = [this](std::span<const ReceivedDatagram> batch) {
      queue_.push(batch);
    };
    auto next_stats = std::chrono::steady_clock::now() + kStatsEvery;
    while (receiving_.load(std::memory_order_relaxed)) {
      collector_.poll(100'000'000, sink);
      if (std::chrono::steady_clock::now() >= next_stats) {
        takeStats();
        next_stats = std::chrono::steady_clock::now() + kStatsEvery;
      }
    }
    takeStats();
  } catch (...) {
    failure_ = std::current_exception();
    failed_.store(true);
  }
}

void ReceivingCollector::takeStats() {
  std::vector<ListenerStats> s = collector_.stats();
  std::lock_guard<std::mutex> lock(stats_mu_);
  stats_ = std::move(s);
}

std::vector<ListenerStats> ReceivingCollector::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

void ReceivingCollector::idle(std::chrono::nanoseconds max) {
  if (max.count() <= 0) return;
  if (++empty_looks_ < kQuietLooks) {
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(kIdleSleep, max));
  } else {
    queue_.waitIdle(max);
  }
}

void ReceivingCollector::stop() {
  if (!thread_.joinable()) return;
  receiving_.store(false, std::memory_order_relaxed);
  collector_.wake();
  queue_.close();  // a push waiting for room returns; later ones drop what they were given
  thread_.join();
}

void ReceivingCollector::rethrowFailure() const {
  if (failure_) std::rethrow_exception(failure_);
}

}  // namespace bw
