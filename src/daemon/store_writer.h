// StoreWriter: the sensor's writes to the attack store, on a thread of their own, so a slow,
// locked or full disk never stalls detection or events.
//
// Writes wait in a bounded queue (past it they are dropped and counted). A failed write is
// counted, remembered as the current fault and logged at most once a minute; an attack whose
// insert failed is inserted again with its next update, so once space is back the attack
// reaches the store after all. The first write that succeeds after a failure says so in the
// log and clears the fault.
//
// Thread-safety: post(), errors() and fault() from any thread; start() and stop() from the
// owner.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "daemon/sensor.h"
#include "store/attack_store.h"

namespace bw {

struct StoreWrite {
  bool insert = false;  // a new attack (else an update of `id`)
  std::uint64_t id = 0;
  AttackRecord record;
  double detected_at = 0;  // inserts: wall clock of the declaration
  bool ended = false;
  std::vector<SeriesPoint> series;
};

class StoreWriter {
 public:
  // `store` and `asn` (may be null) outlive the writer.
  StoreWriter(AttackStore& store, const AsnDatabase* asn, SensorLog log);
  ~StoreWriter();  // stop()
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  void start();
  // Never waits for the disk.
  void post(StoreWrite write);
  // Carries out what is queued, then ends the thread. Idempotent.
  void stop();

  std::uint64_t errors() const noexcept { return errors_.load(std::memory_order_relaxed); }
  std::string fault() const;  // empty while healthy

 private:
  static constexpr std::size_t kMaxQueued = 65536;
  static constexpr std::size_t kMaxMissing = 100000;

  void run();
  void write(const StoreWrite& w);
  void failed(const std::string& message);

  AttackStore& store_;
  const AsnDatabase* asn_;
  SensorLog log_;
  std::thread thread_;
  mutable std::mutex mu_;  // guards queue_, stop_, fault_ and the logging state
  std::condition_variable cv_;
  std::deque<StoreWrite> queue_;
  bool stop_ = false;
  std::atomic<std::uint64_t> errors_{0};
  std::string fault_;
  double fault_logged_at_ = 0;
  std::uint64_t unlogged_ = 0;
  std::unordered_set<std::uint64_t> missing_;  // writer thread only: ids whose insert failed
};

}  // namespace bw
