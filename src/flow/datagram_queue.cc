// See datagram_queue.h.
#include "flow/datagram_queue.h"

#include <utility>

namespace bw {

void DatagramQueue::push(std::span<const ReceivedDatagram> received) {
  std::unique_ptr<Batch> b = takeFree();
  b->bytes.clear();
  b->datagrams.clear();
  for (const ReceivedDatagram& r : received) {
    b->datagrams.push_back(Datagram{r.from, r.received_ns, b->bytes.size(), r.data.size()});
    b->bytes.insert(b->bytes.end(), r.data.begin(), r.data.end());
  }
  const std::size_t size = b->bytes.size();
  std::unique_lock<std::mutex> lock(mu_);
  space_.wait(lock,
              [&] { return closed_ || queued_bytes_ == 0 || queued_bytes_ + size <= max_bytes_; });
  if (closed_) return;
  queued_bytes_ += size;
  queue_.push_back(std::move(b));
  if (idle_) ready_.notify_one();
}

void DatagramQueue::takeAll(std::deque<std::unique_ptr<Batch>>& out) {
  std::lock_guard<std::mutex> lock(mu_);
  out.swap(queue_);
  queued_bytes_ = 0;
  space_.notify_all();
}

void DatagramQueue::waitIdle(std::chrono::nanoseconds max) {
  std::unique_lock<std::mutex> lock(mu_);
  idle_ = true;
  ready_.wait_for(lock, max, [&] { return !queue_.empty() || closed_; });
  idle_ = false;
}

void DatagramQueue::recycle(std::unique_ptr<Batch> b) {
  if (b == nullptr || b->bytes.capacity() > kKeptBatchBytes) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.size() < kKeptBatches) free_.push_back(std::move(b));
}

void DatagramQueue::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  space_.notify_all();
  ready_.notify_all();
}

std::size_t DatagramQueue::queuedBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_bytes_;
}

std::size_t DatagramQueue::keptBatches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return free_.size();
}

std::unique_ptr<DatagramQueue::Batch> DatagramQueue::takeFree() {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.empty()) return std::make_unique<Batch>();
  std::unique_ptr<Batch> b = std::move(free_.back());
  free_.pop_back();
  return b;
}

}  // namespace bw
