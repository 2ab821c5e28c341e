// UdpCollector: receives flow export datagrams (sFlow, NetFlow, IPFIX) on one or more UDP
// endpoints, IPv4 and IPv6, from any number of exporters, and hands them out in batches.
//
// Built for one receiving thread that also decodes: poll() waits on every listener at once
// (ppoll with a nanosecond timeout), drains the ready sockets with recvmmsg into buffers
// allocated once at open(), and calls the sink with spans into those buffers. Nothing on that
// path allocates, locks or logs; what goes wrong there is counted in stats():
//   - truncated: datagrams longer than max_datagram_bytes (MSG_TRUNC); counted, not delivered,
//     since a cut-off export datagram would only be miscounted by the decoders;
//   - kernel_drops: datagrams the kernel dropped because the socket's receive queue was full
//     (the socket drop counter, read from SO_RXQ_OVFL ancillary data and from SO_MEMINFO);
//   - errors: receive calls that failed for another reason.
// Receive buffers are requested with SO_RCVBUFFORCE (works with CAP_NET_ADMIN) and otherwise
// SO_RCVBUF, which net.core.rmem_max caps; stats() reports the size the kernel granted (Linux
// doubles the request to account for its bookkeeping), so a caller can warn when an
// unprivileged collector got far less than it asked for.
//
// IPv6 listeners are IPV6_V6ONLY, so "0.0.0.0:2055" and "[::]:2055" can be open together and
// each family is counted on its own listener. SO_REUSEADDR/SO_REUSEPORT are not set: a second
// collector on the same port fails at open() instead of silently sharing the traffic.
//
// Thread-safety: poll() and stats() from one thread at a time; wake() from any thread, at any
// time while the collector exists. The destructor closes every socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/ip_address.h"
#include "core/result.h"

namespace bw {

struct CollectorOptions {
  // Requested per socket. Exporters send in bursts (a router flushing its flow cache); the
  // queue must absorb a burst while the thread is busy decoding the previous one. Linux charges
  // about 2.3 KB per 1,400-byte datagram, so the default (granted as 64 MiB) holds about 29,000
  // of them; memory is used only while datagrams wait. 0 or less keeps the system default.
  int receive_buffer_bytes = 32 << 20;
  std::size_t batch = 64;                  // datagrams per recvmmsg call, 1..1024
  std::size_t max_datagram_bytes = 65535;  // per datagram buffer, 512..65535
  // After a poll() that read fewer than `gather_below` datagrams, it waits `gather_ns` more
  // (returning at once on wake()) so that the next read finds a batch: a wake-up and two
  // system calls for every datagram or two cost more than decoding them. At 200,000 datagrams
  // a second that took `analyze --listen` from 0.138 to 0.100 CPU seconds per million records.
  // At 300,000 a second, 500 us is 150 datagrams for the socket buffer to hold. 0: no wait.
  std::size_t gather_below = 32;
  std::int64_t gather_ns = 500'000;
};

struct ReceivedDatagram {
  IpAddress from;  // the exporter (IPv4 as ::ffff:a.b.c.d, see IpAddress)
  std::uint16_t from_port = 0;
  std::uint16_t local_port = 0;  // the listener's port
  std::uint32_t listener = 0;    // index into endpoints() / stats()
  std::int64_t received_ns = 0;  // CLOCK_REALTIME: kernel receive time, else time of the read
  ByteSpan data;                 // valid only during the sink call
};

struct ListenerStats {
  std::string endpoint;         // as bound, e.g. "0.0.0.0:2055", "[::1]:40123"
  std::uint64_t datagrams = 0;  // delivered
  std::uint64_t bytes = 0;      // delivered payload bytes
  std::uint64_t truncated = 0;
  std::uint64_t kernel_drops = 0;  // cumulative since open()
  std::uint64_t errors = 0;
  int receive_buffer_bytes = 0;  // as granted by the kernel
};

class UdpCollector {
 public:
  using Sink = std::function<void(std::span<const ReceivedDatagram>)>;

  // Binds every endpoint (see parseEndpoint) or none: the first failure closes what was
  // opened and names the endpoint, e.g. "address already in use: 0.0.0.0:2055 (another
  // collector running?)".
  static Result<std::unique_ptr<UdpCollector>> open(const std::vector<std::string>& endpoints,
                                                    CollectorOptions options = {});

  UdpCollector(const UdpCollector&) = delete;
  UdpCollector& operator=(const UdpCollector&) = delete;
  ~UdpCollector();

  // Waits up to timeout_ns (0: just look) for datagrams on any listener, then reads what is
  // ready and hands each batch to `sink`, then waits options.gather_ns if that was only a few
  // (see CollectorOptions). Returns the datagrams delivered. Returns early when
  // wake() is called; a wake() made before the call is not lost. The wait never exceeds
  // timeout_ns (plus scheduling latency); reading is bounded too: at most a few batches per
  // listener per call, so a flooded listener cannot starve the others or a shutdown.
  std::size_t poll(std::int64_t timeout_ns, const Sink& sink);

  // Interrupts a poll() in progress (or makes the next one return at once). Thread-safe.
  void wake() noexcept;

  // One entry per listener, in endpoint order. Reads the kernel's current drop counters, so
  // drops after the last delivered datagram are included.
  std::vector<ListenerStats> stats() const;

  // As bound, with the real port when port 0 was asked for.
  std::vector<std::string> endpoints() const;

 private:
  struct Listener;
  struct Buffers;
  UdpCollector();
  void drain(std::size_t index, const Sink& sink, std::size_t* delivered);

  std::vector<Listener> listeners_;
  std::unique_ptr<Buffers> buffers_;
  int wake_fd_ = -1;
  CollectorOptions options_;
};

// "ADDR:PORT", "[V6ADDR]:PORT", ":PORT" or "PORT" (the last two mean 0.0.0.0). Port 0 asks the
// kernel for an ephemeral port. Host names are not resolved.
Result<std::pair<IpAddress, std::uint16_t>> parseEndpoint(std::string_view text);

// The inverse of parseEndpoint: "192.0.2.1:2055", "[2001:db8::1]:2055".
std::string formatEndpoint(const IpAddress& address, std::uint16_t port);

}  // namespace bw
