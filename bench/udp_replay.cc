// udp_replay: sends the UDP payloads found in a capture (export datagrams of NetFlow, IPFIX
// or sFlow) to one address at a fixed rate, with sendmmsg, for collector benchmarks.
//
// Usage: udp_replay CAPTURE HOST:PORT [--pps N] [--loops N] [--max-seconds S] [--port P]
//                   [--shift-time S | --real-time 1]
//   --pps 0 (default) sends as fast as the socket takes them; --port keeps only datagrams to
//   that destination port. Prints "sent N datagrams (B bytes) in S s = R/s" on stderr.
//   Repeated passes of one corpus repeat its times too, which a collector takes as stale
//   records and reordered sequence numbers. Two ways to make them one export stream instead:
//   --shift-time S moves every pass S seconds later than the one before: NetFlow v5/v9 and
//     IPFIX headers get their export time advanced by S and their sequence numbers by the
//     count of one pass. Flow times relative to the exporter's uptime move with the export
//     time; S should be at least the span of the corpus's flow times, so that passes do not
//     overlap.
//   --real-time 1 (NetFlow v9, with --pps) also rewrites the flow times (fields 21 and 22, read
//     from the corpus's templates) so that the stream's clock runs at the sender's pace: a
//     pass lasts as long in flow time as it takes to send, the corpus's flows squeezed into it.
//     At 200,000 datagrams/s that turns a 100 s, 10,000 flows/s corpus into a 0.16 s stretch
//     of 6.3 M flows/s: the load a collector would really see at that rate, with its
//     once-a-second work once a second.
//   sFlow datagrams carry no wall-clock time and are sent as they are.
// Bounded: stops after --loops passes or --max-seconds, whichever comes first.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "capture/capture_file.h"
#include "core/bytes.h"
#include "decode/packet.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: udp_replay CAPTURE HOST:PORT [--pps N] [--loops N] [--max-seconds S] "
               "[--port P] [--shift-time S | --real-time 1]\n");
  return 2;
}

// Where a flow export header keeps its export time (seconds) and sequence number, and what
// identifies its stream of sequence numbers.
struct ExportHeader {
  std::size_t time_at = 0, seq_at = 0;
  std::uint32_t secs = 0, seq = 0;
  std::uint64_t stream = 0;
  std::uint32_t seq_step = 0;  // how far the next datagram's sequence number moves, if known
};

std::optional<ExportHeader> exportHeader(const std::vector<std::uint8_t>& d) {
  if (d.size() < 20) return std::nullopt;
  const std::uint16_t version = bw::loadBe16(d.data());
  ExportHeader h;
  switch (version) {
    case 5:  // count, uptime, secs, nsecs, flow sequence (+count), engine type/id
      if (d.size() < 24) return std::nullopt;
      h.time_at = 8;
      h.seq_at = 16;
      h.stream = 5ULL << 32 | bw::loadBe16(d.data() + 20);
      h.seq_step = bw::loadBe16(d.data() + 2);
      break;
    case 9:  // count, uptime, secs, sequence (+1 a datagram), source id
      h.time_at = 8;
      h.seq_at = 12;
      h.stream = 9ULL << 32 | bw::loadBe32(d.data() + 16);
      h.seq_step = 1;
      break;
    case 10:  // length, export time, sequence (+data records), observation domain
      h.time_at = 4;
      h.seq_at = 8;
      h.stream = 10ULL << 32 | bw::loadBe32(d.data() + 12);
      break;
    default:
      return std::nullopt;
  }
  h.secs = bw::loadBe32(d.data() + h.time_at);
  h.seq = bw::loadBe32(d.data() + h.seq_at);
  return h;
}

// One pass's shift: the export time by `span_s`, the sequence numbers of each stream by how far
// they advanced over the pass.
struct TimeShift {
  std::vector<std::optional<ExportHeader>> headers;  // per payload
  std::uint32_t span_s = 0;
  std::map<std::uint64_t, std::uint32_t> seq_span;  // per stream

  TimeShift(const std::vector<std::vector<std::uint8_t>>& payloads, std::uint32_t span)
      : span_s(span) {
    struct Run {
      std::uint32_t first, last, last_step;
    };
    std::map<std::uint64_t, Run> runs;
    for (const auto& p : payloads) {
      headers.push_back(exportHeader(p));
      const auto& h = headers.back();
      if (!h) continue;
      auto [it, fresh] = runs.try_emplace(h->stream, Run{h->seq, h->seq, h->seq_step});
      Run& r = it->second;
      if (!fresh) {
        // IPFIX does not say how many records a datagram holds without its templates: take
        // the step from the one before as the last one's.
        r.last_step = h->seq_step != 0 ? h->seq_step : h->seq - r.last;
        r.last = h->seq;
      }
    }
    for (const auto& [stream, r] : runs) seq_span[stream] = r.last - r.first + r.last_step;
  }

  // Payload `i` as it goes out on pass `pass` (0 = unchanged).
  void apply(std::vector<std::uint8_t>& p, std::size_t i, std::uint64_t pass) const {
    const auto& h = headers[i];
    if (!h) return;
    const auto k = static_cast<std::uint32_t>(pass);
    bw::storeBe32(p.data() + h->time_at, h->secs + k * span_s);
    bw::storeBe32(p.data() + h->seq_at, h->seq + k * seq_span.at(h->stream));
  }
};

// --real-time: NetFlow v9 export and flow times mapped onto the sender's clock. Times are in
// milliseconds: v9 headers carry whole seconds and the exporter's uptime, flows the uptime at
// their first and last packet.
class RealTime {
 public:
  // `pass_ms`: how long one pass takes to send.
  RealTime(const std::vector<std::vector<std::uint8_t>>& payloads, double pass_ms)
      : sequences_(payloads, 0),
        pass_ms_(std::max<std::int64_t>(static_cast<std::int64_t>(pass_ms), 1)) {
    learnTemplates(payloads);
    std::int64_t first = INT64_MAX, last = INT64_MIN;
    for (const auto& p : payloads) {
      datagrams_.push_back(scan(p));
      const Datagram& d = datagrams_.back();
      if (!d.v9) continue;
      first = std::min(first, d.export_ms);
      last = std::max(last, d.export_ms);
      for (const Field& f : d.fields) {
        first = std::min(first, f.time_ms);
        last = std::max(last, f.time_ms);
      }
    }
    if (first > last) return;
    origin_ms_ = first;
    scale_ = static_cast<double>(pass_ms_) /
             static_cast<double>(std::max<std::int64_t>(last - first, 1));
  }
  bool usable() const noexcept { return scale_ > 0; }
  std::size_t fields() const noexcept {
    std::size_t n = 0;
    for (const Datagram& d : datagrams_) n += d.fields.size();
    return n;
  }

  // Payload `i` as it goes out on pass `pass`.
  void apply(std::vector<std::uint8_t>& p, std::size_t i, std::uint64_t pass) const {
    const Datagram& d = datagrams_[i];
    if (!d.v9) return;
    sequences_.apply(p, i, pass);  // and the export time, rewritten below
    const std::int64_t base = origin_ms_ + static_cast<std::int64_t>(pass) * pass_ms_;
    const std::int64_t export_s = (base + squeeze(d.export_ms)) / 1000;
    bw::storeBe32(p.data() + 8, static_cast<std::uint32_t>(export_s));
    // The decoder reads a flow's time as export - (uptime - field).
    for (const Field& f : d.fields) {
      const std::int64_t up = base + squeeze(f.time_ms) - export_s * 1000 + d.uptime_ms;
      bw::storeBe32(p.data() + f.offset, static_cast<std::uint32_t>(up));
    }
  }

 private:
  struct Field {
    std::size_t offset;
    std::int64_t time_ms;  // as the corpus has it
  };
  struct Datagram {
    bool v9 = false;
    std::int64_t export_ms = 0;
    std::uint32_t uptime_ms = 0;
    std::vector<Field> fields;
  };
  struct Layout {
    std::size_t length = 0;
    std::vector<std::size_t> time_offsets;  // of fields 21 and 22 in a record
  };

  std::int64_t squeeze(std::int64_t t) const noexcept {
    return static_cast<std::int64_t>(static_cast<double>(t - origin_ms_) * scale_);
  }

  static std::uint64_t key(std::uint32_t source, std::uint16_t id) {
    return std::uint64_t{source} << 16 | id;
  }

  // Walks a v9 datagram's flowsets, calling `on(id, body, body_end)`.
  template <typename F>
  static void flowsets(const std::vector<std::uint8_t>& p, F&& on) {
    std::size_t at = 20;
    while (at + 4 <= p.size()) {
      const std::uint16_t id = bw::loadBe16(p.data() + at);
      const std::size_t len = bw::loadBe16(p.data() + at + 2);
      if (len < 4 || at + len > p.size()) return;
      on(id, at + 4, at + len);
      at += len;
    }
  }

  void learnTemplates(const std::vector<std::vector<std::uint8_t>>& payloads) {
    for (const auto& p : payloads) {
      if (p.size() < 20 || bw::loadBe16(p.data()) != 9) continue;
      const std::uint32_t source = bw::loadBe32(p.data() + 16);
      flowsets(p, [&](std::uint16_t id, std::size_t at, std::size_t end) {
        if (id != 0) return;
        while (at + 4 <= end) {
          const std::uint16_t tid = bw::loadBe16(p.data() + at);
          const std::size_t count = bw::loadBe16(p.data() + at + 2);
          at += 4;
          if (at + count * 4 > end) return;
          Layout l;
          for (std::size_t k = 0; k < count; ++k, at += 4) {
            const std::uint16_t type = bw::loadBe16(p.data() + at);
            const std::uint16_t flen = bw::loadBe16(p.data() + at + 2);
            if ((type == 21 || type == 22) && flen == 4) l.time_offsets.push_back(l.length);
            l.length += flen;
          }
          if (l.length != 0) layouts_[key(source, tid)] = std::move(l);
        }
      });
    }
  }

  Datagram scan(const std::vector<std::uint8_t>& p) {
    Datagram d;
    if (p.size() < 20 || bw::loadBe16(p.data()) != 9) return d;
    d.v9 = true;
    d.uptime_ms = bw::loadBe32(p.data() + 4);
    d.export_ms = std::int64_t{bw::loadBe32(p.data() + 8)} * 1000;
    const std::uint32_t source = bw::loadBe32(p.data() + 16);
    flowsets(p, [&](std::uint16_t id, std::size_t at, std::size_t end) {
      if (id < 256) return;
      auto l = layouts_.find(key(source, id));
      if (l == layouts_.end()) return;
      for (; at + l->second.length <= end; at += l->second.length) {
        for (std::size_t off : l->second.time_offsets) {
          const std::uint32_t up = bw::loadBe32(p.data() + at + off);
          const std::int64_t t =
              d.export_ms - std::int64_t{static_cast<std::int32_t>(d.uptime_ms - up)};
          d.fields.push_back(Field{at + off, t});
        }
      }
    });
    return d;
  }

  TimeShift sequences_;  // moves the sequence numbers on, each pass
  std::int64_t pass_ms_ = 0;
  std::int64_t origin_ms_ = 0;
  double scale_ = 0;
  std::map<std::uint64_t, Layout> layouts_;
  std::vector<Datagram> datagrams_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string path = argv[1], to = argv[2];
  double pps = 0, max_seconds = 120;
  long loops = 1;
  int only_port = 0;
  long shift_s = 0;
  bool real_time = false;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--pps")
      pps = std::atof(argv[i + 1]);
    else if (k == "--loops")
      loops = std::atol(argv[i + 1]);
    else if (k == "--max-seconds")
      max_seconds = std::atof(argv[i + 1]);
    else if (k == "--port")
      only_port = std::atoi(argv[i + 1]);
    else if (k == "--shift-time")
      shift_s = std::atol(argv[i + 1]);
    else if (k == "--real-time")
      real_time = std::atoi(argv[i + 1]) != 0;
    else
      return usage();
  }
  auto colon = to.rfind(':');
  if (colon == std::string::npos) return usage();
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(std::atoi(to.c_str() + colon + 1)));
  if (inet_pton(AF_INET, to.substr(0, colon).c_str(), &dst.sin_addr) != 1) return usage();

  auto opened = bw::CaptureFile::open(path);
  if (!opened) {
    std::fprintf(stderr, "udp_replay: %s\n", opened.error().message.c_str());
    return 3;
  }
  std::vector<std::vector<std::uint8_t>> payloads;
  std::array<bw::Frame, 256> frames;
  while (std::size_t n = (*opened)->next(frames)) {
    for (std::size_t i = 0; i < n; ++i) {
      bw::PacketSummary p;
      const bw::Frame& f = frames[i];
      if (bw::decodeFrame(f.linktype, bw::ByteSpan(f.data, f.caplen), f.origlen, f.ts_ns, p) !=
              bw::DecodeStatus::Ok ||
          p.ip_proto != bw::ipproto::kUdp || !p.hasPorts() || p.isFragment() ||
          p.payload_len != p.payload_wire_len) {
        continue;
      }
      if (only_port && p.dst_port != only_port) continue;
      payloads.emplace_back(p.payload, p.payload + p.payload_len);
    }
  }
  if (payloads.empty()) {
    std::fprintf(stderr, "udp_replay: no UDP payloads in %s\n", path.c_str());
    return 3;
  }

  std::optional<TimeShift> shift;
  if (shift_s < 0 || shift_s > 86400) return usage();
  if (shift_s > 0) shift.emplace(payloads, static_cast<std::uint32_t>(shift_s));
  std::optional<RealTime> retime;
  if (real_time) {
    if (pps <= 0 || shift) return usage();
    retime.emplace(payloads, static_cast<double>(payloads.size()) / pps * 1000);
    if (!retime->usable()) {
      std::fprintf(stderr, "udp_replay: --real-time: no NetFlow v9 flow times in %s\n",
                   path.c_str());
      return 3;
    }
    std::fprintf(stderr, "udp_replay: rewriting %zu flow times a pass\n", retime->fields());
  }

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    std::perror("udp_replay: connect");
    return 3;
  }
  constexpr unsigned kBatch = 32;
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(max_seconds);
  std::uint64_t sent = 0, bytes = 0;
  std::size_t next = 0;
  const std::uint64_t total = payloads.size() * static_cast<std::uint64_t>(loops);
  while (sent < total) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    if (pps > 0) {  // pace per batch: never ahead of the schedule
      auto due = start + std::chrono::duration<double>(static_cast<double>(sent) / pps);
      if (due > now) std::this_thread::sleep_until(due);
    }
    unsigned n = static_cast<unsigned>(std::min<std::uint64_t>(kBatch, total - sent));
    for (unsigned i = 0; i < n; ++i) {
      const std::size_t k = (next + i) % payloads.size();
      auto& p = payloads[k];
      if (shift) shift->apply(p, k, (sent + i) / payloads.size());
      if (retime) retime->apply(p, k, (sent + i) / payloads.size());
      iov[i].iov_base = const_cast<std::uint8_t*>(p.data());
      iov[i].iov_len = p.size();
      msgs[i].msg_hdr = msghdr{};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int done = sendmmsg(fd, msgs.data(), n, 0);
    if (done <= 0) continue;  // ECONNREFUSED before the collector is up, ENOBUFS: retry
    for (int i = 0; i < done; ++i) bytes += iov[static_cast<unsigned>(i)].iov_len;
    sent += static_cast<std::uint64_t>(done);
    next = (next + static_cast<std::size_t>(done)) % payloads.size();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "sent %llu datagrams (%llu bytes) in %.3f s = %.0f/s\n",
               static_cast<unsigned long long>(sent), static_cast<unsigned long long>(bytes), secs,
               static_cast<double>(sent) / secs);
  close(fd);
  return 0;
}
