#include "daemon/store_writer.h"

#include <fmt/format.h>
#include <time.h>

#include <utility>

namespace bw {
namespace {

double wallNow() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

StoreWriter::StoreWriter(AttackStore& store, const AsnDatabase* asn, SensorLog log)
    : store_(store), asn_(asn), log_(std::move(log)) {}

StoreWriter::~StoreWriter() { stop(); }

void StoreWriter::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void StoreWriter::post(StoreWrite w) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      fault_ = "the store cannot keep up: writes are being dropped";
      return;
    }
    queue_.push_back(std::move(w));
  }
  cv_.notify_one();
}

void StoreWriter::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string StoreWriter::fault() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fault_;
}

void StoreWriter::run() {
  for (;;) {
    StoreWrite w;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || stop_; });
      if (queue_.empty()) return;  // stopping, and everything is written
      w = std::move(queue_.front());
      queue_.pop_front();
    }
    write(w);
  }
}

void StoreWriter::write(const StoreWrite& w) {
  Status st;
  const bool retry_insert = !w.insert && missing_.count(w.id) != 0;
  if (w.insert || retry_insert) {
    st = store_.insert(w.id, w.record, w.detected_at != 0 ? w.detected_at : wallNow(), asn_);
    if (st && retry_insert) st = store_.update(w.id, w.record, w.ended, w.series, asn_);
    if (st && w.insert && !w.series.empty()) st = store_.appendSeries(w.id, w.series);
    if (st) {
      missing_.erase(w.id);
    } else if (w.insert && missing_.size() < kMaxMissing) {
      missing_.insert(w.id);
    }
  } else {
    st = store_.update(w.id, w.record, w.ended, w.series, asn_);
  }
  if (!st) {
    failed(st.message());
    return;
  }
  bool recovered = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fault_.empty()) {
      fault_.clear();
      unlogged_ = 0;
      fault_logged_at_ = 0;
      recovered = true;
    }
  }
  if (recovered && log_) log_(LogLevel::Info, "store: writing again to " + store_.path());
}

void StoreWriter::failed(const std::string& message) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  const double now = wallNow();
  std::uint64_t count = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fault_ = message;
    ++unlogged_;
    if (now - fault_logged_at_ < 60) return;
    count = unlogged_;
    unlogged_ = 0;
    fault_logged_at_ = now;
  }
  if (log_) {
    log_(LogLevel::Error, message + (count > 1 ? fmt::format(" ({} writes failed)", count) : "") +
                              "; detection and events go on");
  }
}

}  // namespace bw
