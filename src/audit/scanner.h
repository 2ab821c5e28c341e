// The audit scanner: one thread, one epoll loop, thousands of probes in flight.
//
// Work is (target, probe) pairs, walked in address order by two independent cursors (UDP
// and TCP), so a full TCP connection table never holds back UDP probes. Every packet we send
// (UDP datagram or TCP SYN) takes a token from one packets-per-second bucket; retries take
// tokens too. Nothing is ever sent because of a reply: the only triggers are the cursors and
// timeouts (a retry is sent only for a pair that has heard nothing at all from its address
// and port), so a hostile responder cannot make the scanner send more.
//
// UDP: one unconnected socket per (address family, UDP probe), so replies are matched by
// (socket, source address, source port) to the pair they answer; anything else is counted as
// unsolicited and dropped. Which attempt a datagram answers is decided by the probe itself
// (parse() with each attempt's token), so a late answer to a first attempt still counts and
// the request bytes behind a finding are those of the attempts that were answered.
// ICMP unreachable reports (IP_RECVERR) for a probed pair end it early without a retry.
// TCP: non-blocking connect, the request once connected, reads until the probe says the
// answer is complete, the peer closes, the byte cap is reached or the timeout expires.
//
// Time: each attempt waits `timeout` until round trips have been measured; then
// clamp(max(srtt + 4 * rttvar, 2 * slowest round trip), min_timeout, timeout), as TCP and nmap
// size their timers. The scan ends as soon as every pair is answered completely or timed out.
//
// Memory is bounded whatever the network does: live pairs are capped (max_udp_in_flight,
// max_tcp_in_flight), a pair accounts at most max_reply_datagrams / max_reply_bytes (more are
// counted in ScanStats::over_cap, not parsed), a TCP answer is read up to max_tcp_bytes, and
// finished pairs keep nothing but their Finding.
//
// Not thread-safe; run one scan per thread. Probes must outlive runScan().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "audit/probe.h"
#include "audit/targets.h"
#include "core/ip_address.h"
#include "core/result.h"

namespace bw::audit {

struct ScanOptions {
  double rate_pps = 10000;                     // packets per second, all transports
  std::chrono::milliseconds timeout{1000};     // longest wait for one attempt
  std::chrono::milliseconds min_timeout{100};  // shortest wait once round trips are known
  int retries = 1;                             // extra attempts for unanswered pairs, 0-7
  std::size_t max_tcp_in_flight = 1024;        // open connections (also bounded by RLIMIT_NOFILE)
  std::size_t max_udp_in_flight = 65536;       // live UDP pairs
  std::size_t max_reply_datagrams = 256;       // accounted per pair
  std::size_t max_reply_bytes = std::size_t{1} << 20;  // accounted per UDP pair
  std::size_t max_tcp_bytes = std::size_t{64} << 10;   // read per connection
  int socket_buffer = 8 << 20;                         // UDP receive buffer (forced when root)
  std::uint64_t seed = 0;                              // token secret; 0 picks a random one
};

// One exposed service on one host.
struct Finding {
  IpAddress ip;
  const Probe* probe = nullptr;
  ReplyInfo info;
  std::uint64_t request_bytes = 0;       // payload bytes of the answered attempts (TCP: sent)
  std::uint64_t response_bytes = 0;      // payload bytes accounted (TCP: stream bytes read)
  std::uint64_t response_datagrams = 0;  // UDP datagrams accounted (TCP: 0)
  std::uint32_t requests_answered = 0;   // UDP attempts that drew a reply (TCP: 1)
  std::uint32_t attempts = 0;            // attempts sent
  bool capped = false;                   // the reply went past a cap: figures are a floor
  double rtt_ms = 0;                     // first answer (TCP: connection set-up)
};

struct ScanStats {
  std::uint64_t targets = 0;   // addresses in the target set
  std::uint64_t probed = 0;    // addresses at least one probe was started for
  std::uint64_t pairs = 0;     // (target, probe) pairs started
  std::uint64_t udp_sent = 0;  // datagrams sent, retries included
  std::uint64_t udp_retries = 0;
  std::uint64_t tcp_connects = 0;  // connection attempts, retries included
  std::uint64_t tcp_retries = 0;
  std::uint64_t datagrams_received = 0;  // on our UDP sockets, from anyone
  std::uint64_t replies = 0;             // datagrams a probe accepted for a live pair
  std::uint64_t unsolicited = 0;         // from an address/port no live pair was waiting on
  std::uint64_t rejected = 0;            // from a probed pair, but not an answer to our request
  std::uint64_t over_cap = 0;            // accepted pair, past its datagram/byte cap: counted only
  std::uint64_t truncated = 0;           // datagrams larger than the receive buffer
  std::uint64_t icmp_unreachable = 0;    // pairs ended by an ICMP unreachable report
  std::uint64_t icmp_other = 0;          // ICMP reports for nothing live
  std::uint64_t udp_timeouts = 0;        // pairs that never answered
  std::uint64_t tcp_refused = 0;
  std::uint64_t tcp_timeouts = 0;
  std::uint64_t tcp_errors = 0;
  std::uint64_t send_errors = 0;  // probes the kernel refused to send
  std::string last_send_error;
  std::uint64_t findings = 0;
  std::uint64_t peak_in_flight = 0;   // live pairs at the busiest moment
  std::uint64_t outside_targets = 0;  // sends refused by the final target check (a bug if > 0)
  double duration_s = 0;
  double srtt_ms = 0;           // smoothed round trip at the end (0: none measured)
  double final_timeout_ms = 0;  // per-attempt wait in force at the end
};

struct ScanProgress {
  std::uint64_t pairs_done = 0;
  std::uint64_t pairs_total = 0;
  std::uint64_t packets_sent = 0;
  std::uint64_t findings = 0;
  double elapsed_s = 0;
};

using FindingSink = std::function<void(Finding&&)>;
using ProgressSink = std::function<void(const ScanProgress&)>;

// Probes every address of `targets` with every probe in `probes`. Findings are delivered as
// pairs finish; `on_progress` (optional) is called about four times a second and once at the
// end. Fails only when the scan cannot start (no sockets, bad options).
// REQUIRES: `probes` non-empty, every element non-null.
Result<ScanStats> runScan(const TargetSet& targets, std::span<const Probe* const> probes,
                          const ScanOptions& options, const FindingSink& on_finding,
                          const ProgressSink& on_progress = {});

}  // namespace bw::audit
