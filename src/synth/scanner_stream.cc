// Scanner streams: one source sweeping a prefix on an amplification port with the service's
// real request payload (memcached "stats" with its frame header, DNS ANY, monlist, ...), in
// a shuffled order at an even rate, one or more passes. `responders` targets, spread evenly
// over the sweep order, answer each probe with the service's response after 2 ms.
#include <algorithm>

#include "synth/address_pool.h"
#include "synth/streams.h"

namespace bw::synth {
namespace {

constexpr std::int64_t kReplyDelayNs = 2'000'000;

class ScannerStream final : public Stream {
 public:
  ScannerStream(const Scenario& s, std::size_t index, std::int64_t end_ns, ScannerTruth& truth)
      : spec_(s.scanners[index]),
        truth_(truth),
        rng_(deriveSeed(s.seed, scannerTag(index))),
        pending_(1) {
    source_ = *spec_.source;
    targets_ = AddressPool::inPrefix(*spec_.targets, rng_.next(), /*hosts_only=*/false);
    target_count_ = targets_.capacity();
    total_probes_ = target_count_ * spec_.passes;
    request_ = makeRequest(spec_.vector, spec_.port, rng_);
    if (spec_.responders > 0) {
      ResponseOptions o;
      o.port = spec_.port;
      response_ = makeResponse(spec_.vector, o, rng_);
    }
    source_port_ = ephemeralPort(rng_);
    const double pending = spec_.pps * 0.002 * static_cast<double>(response_.datagrams.size());
    pending_ = DelayQueue<Pending>(static_cast<std::size_t>(pending * 4) + 64);
    pacer_ = Pacer(spec_.pps, Timing::Even, secondsToNs(spec_.start), end_ns, rng_);
    next_ = pacer_.next();
    truth_.spec = spec_;
    truth_.port = request_.dst_port;
  }

  void emit(Emitter& out) noexcept override {
    if (!pending_.empty() && pending_.nextDue() <= probeTime()) {
      const Pending p = pending_.front();
      pending_.pop();
      Payload& d = response_.datagrams[p.datagram];
      patchId(d, response_.id_offset, p.id);
      const std::uint16_t sport = response_.source_port != 0 ? response_.source_port : p.reply_port;
      IpFields ip;
      ip.id = static_cast<std::uint32_t>(rng_.next() >> 32);
      out.udp(p.due, Endpoints{targets_.at(p.target), source_, sport, source_port_}, ip, d, 1500,
              truth_.replies);
    } else {
      const std::int64_t t = pacer_.next();
      const std::uint64_t target = probes_++ % target_count_;
      const auto id = static_cast<std::uint16_t>(rng_.next() >> 49);
      patchId(request_.bytes, request_.id_offset, id);
      IpFields ip;
      ip.id = static_cast<std::uint32_t>(rng_.next() >> 32);
      ip.ttl = 54;
      out.udp(t, Endpoints{source_, targets_.at(target), source_port_, request_.dst_port}, ip,
              request_.bytes, 0, truth_.probes);
      if (responds(target)) {
        const std::uint16_t reply_port = ephemeralPort(rng_);
        for (std::uint16_t d = 0; d < response_.datagrams.size(); ++d) {
          (void)pending_.push(Pending{t + kReplyDelayNs, target, id, d, reply_port});
        }
      }
      pacer_.advance(rng_);
    }
    next_ = std::min(probeTime(), pending_.nextDue());
  }

  void finish() override {
    const std::uint64_t probed = std::min(probes_, target_count_);
    truth_.targets = probed;
    for (std::uint64_t i = 0; i < probed; ++i) {
      if (responds(i)) truth_.responders.push_back(targets_.at(i));
    }
    std::sort(truth_.responders.begin(), truth_.responders.end());
  }

 private:
  struct Pending {
    std::int64_t due = 0;
    std::uint64_t target = 0;
    std::uint16_t id = 0;
    std::uint16_t datagram = 0;
    std::uint16_t reply_port = 0;
  };

  std::int64_t probeTime() const noexcept {
    return probes_ < total_probes_ ? pacer_.next() : kNever;
  }
  // Exactly `responders` indices of [0, target_count) answer, spread evenly.
  bool responds(std::uint64_t i) const noexcept {
    const auto r = static_cast<unsigned __int128>(spec_.responders);
    return (i * r) / target_count_ != ((i + 1) * r) / target_count_;
  }

  ScannerSpec spec_;
  ScannerTruth& truth_;
  Rng rng_;
  IpAddress source_;
  AddressPool targets_;
  std::uint64_t target_count_ = 1;
  std::uint64_t total_probes_ = 0;
  std::uint64_t probes_ = 0;
  RequestTemplate request_;
  ResponseTemplate response_;
  std::uint16_t source_port_ = 0;
  DelayQueue<Pending> pending_;
  Pacer pacer_;
};

}  // namespace

std::unique_ptr<Stream> makeScannerStream(const Scenario& s, std::size_t index, std::int64_t end_ns,
                                          ScannerTruth& truth) {
  return std::make_unique<ScannerStream>(s, index, end_ns, truth);
}

}  // namespace bw::synth
