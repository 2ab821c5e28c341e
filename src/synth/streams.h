// Internal to src/synth: the pieces Generator is made of.
//
// A Stream produces the packets of one spec (an attack, a benign source, a scanner) in time
// order; Generator merges all streams by their next timestamp. Emitter builds frames and
// writes them, tallying IP bytes for the ground truth. Pacer spaces a stream's events and
// DelayQueue holds solicited answers until their round trip has passed. None of them
// allocates after construction.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "synth/packet_builder.h"
#include "synth/pcap_writer.h"
#include "synth/rng.h"
#include "synth/scenario.h"

namespace bw::synth {

inline std::int64_t secondsToNs(double s) noexcept { return std::llround(s * 1e9); }

class Emitter {
 public:
  Emitter(PcapWriter& writer, const LinkOptions& link, std::int64_t start_ns)
      : writer_(writer), builder_(link), start_ns_(start_ns) {}

  // Builds one UDP datagram (fragmented above `mtu`) at relative time `t` and writes it.
  void udp(std::int64_t t, const Endpoints& e, const IpFields& ip, ByteSpan payload,
           std::uint32_t mtu, Tally& tally) noexcept {
    batch_.clear();
    if (builder_.udp(e, ip, payload, mtu, batch_) == 0) ++failures_;
    write(t, tally);
  }
  void tcp(std::int64_t t, const Endpoints& e, const IpFields& ip, const TcpFields& tcp,
           ByteSpan payload, Tally& tally) noexcept {
    batch_.clear();
    if (builder_.tcp(e, ip, tcp, payload, batch_) == 0) ++failures_;
    write(t, tally);
  }
  // Frames of the last udp()/tcp() call.
  std::size_t lastFrames() const noexcept { return batch_.size(); }
  std::uint64_t failures() const noexcept { return failures_; }
  const Tally& total() const noexcept { return total_; }

 private:
  void write(std::int64_t t, Tally& tally) noexcept {
    const std::int64_t ts = start_ns_ + t;
    const std::int64_t stored = writer_.storedTimestamp(ts);
    for (std::size_t i = 0; i < batch_.size(); ++i) {
      auto f = batch_.frame(i);
      writer_.write(ts, f.data(), static_cast<std::uint32_t>(f.size()));
      tally.add(stored, batch_.ipBytes(i));
      total_.add(stored, batch_.ipBytes(i));
    }
  }

  PcapWriter& writer_;
  PacketBuilder builder_;
  FrameBatch batch_;
  std::int64_t start_ns_;
  Tally total_;
  std::uint64_t failures_ = 0;
};

class Stream {
 public:
  virtual ~Stream() = default;
  // Relative time (ns since the scenario start) of the next packet; kNever when done.
  std::int64_t next() const noexcept { return next_; }
  // Emits the packet(s) due at next() and advances next().
  virtual void emit(Emitter& out) noexcept = 0;
  // Completes the ground truth once generation is over (distinct counts, host lists).
  virtual void finish() {}

 protected:
  std::int64_t next_ = kNever;
};

// Event times for `pps` events per second in [begin, end).
class Pacer {
 public:
  Pacer() = default;
  Pacer(double pps, Timing timing, std::int64_t begin_ns, std::int64_t end_ns, Rng& rng) noexcept
      : period_ns_(1e9 / pps), timing_(timing), t_(static_cast<double>(begin_ns)), end_(end_ns) {
    // The first event falls inside the first period so streams started together interleave.
    t_ += timing_ == Timing::Poisson ? rng.exponential(period_ns_) : rng.unit() * period_ns_;
    settle();
  }
  std::int64_t next() const noexcept { return next_; }
  void advance(Rng& rng) noexcept {
    t_ += timing_ == Timing::Poisson ? rng.exponential(period_ns_)
                                     : period_ns_ * (0.8 + 0.4 * rng.unit());
    settle();
  }

 private:
  void settle() noexcept {
    const auto t = static_cast<std::int64_t>(std::llround(t_));
    next_ = t < end_ ? t : kNever;
  }
  double period_ns_ = 1e9;
  Timing timing_ = Timing::Even;
  double t_ = 0;
  std::int64_t end_ = 0;
  std::int64_t next_ = kNever;
};

// FIFO of pending events ordered by `due` (callers push with a constant delay), fixed
// capacity: push() returns false when full and the event is dropped.
template <typename T>
class DelayQueue {
 public:
  explicit DelayQueue(std::size_t capacity) : items_(std::max<std::size_t>(capacity, 1)) {}
  bool empty() const noexcept { return size_ == 0; }
  const T& front() const noexcept { return items_[head_]; }
  std::int64_t nextDue() const noexcept { return empty() ? kNever : front().due; }
  bool push(const T& item) noexcept {
    if (size_ == items_.size()) return false;
    items_[(head_ + size_) % items_.size()] = item;
    ++size_;
    return true;
  }
  void pop() noexcept {
    head_ = (head_ + 1) % items_.size();
    --size_;
  }

 private:
  std::vector<T> items_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

// Random ephemeral port in Linux's default range.
inline std::uint16_t ephemeralPort(Rng& rng) noexcept {
  return static_cast<std::uint16_t>(rng.range(32768, 60999));
}
inline void patchId(Payload& p, int offset, std::uint16_t id) noexcept {
  if (offset >= 0 && static_cast<std::size_t>(offset) + 2 <= p.size()) {
    storeBe16(p.data() + offset, id);
  }
}

// Stream factories; each stream writes its ground truth into `truth`, which must outlive it.
std::unique_ptr<Stream> makeAttackStream(const Scenario& s, std::size_t index, std::int64_t end_ns,
                                         AttackTruth& truth);
std::unique_ptr<Stream> makeBenignStream(const Scenario& s, std::size_t index, std::int64_t end_ns,
                                         BenignTruth& truth);
std::unique_ptr<Stream> makeScannerStream(const Scenario& s, std::size_t index, std::int64_t end_ns,
                                          ScannerTruth& truth);

// Stream seed tags, so each stream's randomness is independent of the others.
inline std::uint64_t attackTag(std::size_t i) noexcept { return 0x1000000 + i; }
inline std::uint64_t benignTag(std::size_t i) noexcept { return 0x2000000 + i; }
inline std::uint64_t scannerTag(std::size_t i) noexcept { return 0x3000000 + i; }

}  // namespace bw::synth
