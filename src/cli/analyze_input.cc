#include "cli/analyze_input.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "core/bytes.h"
#include "decode/packet.h"
#include "flow/datagram_queue.h"
#include "flow/flow_decoder.h"
#include "flow/flow_feed.h"
#include "flow/receiving_collector.h"

namespace bw::cli {
namespace {

constexpr std::size_t kBatch = 256;
constexpr std::size_t kSniffFrames = 2000;

// A one-line progress bar on stderr, redrawn at most four times a second.
class Progress {
 public:
  Progress(bool enabled, std::uint64_t total, const char* unit)
      : enabled_(enabled && total > 0 && isatty(STDERR_FILENO) == 1), total_(total), unit_(unit) {}
  ~Progress() {
    if (drawn_) std::fprintf(stderr, "\r%70s\r", "");
  }
  void update(std::uint64_t done, std::uint64_t items) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    // A file still being written can be read past the size it had when it was opened.
    double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    double secs = std::chrono::duration<double>(now - start_).count();
    int filled = static_cast<int>(frac * 30);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(30, '.');
    std::fprintf(stderr, "\r[%s] %5.1f%%  %.1f M %s  %.1f M/s ", bar.c_str(), frac * 100,
                 static_cast<double>(items) / 1e6, unit_,
                 secs > 0 ? static_cast<double>(items) / secs / 1e6 : 0.0);
    drawn_ = true;
  }

 private:
  bool enabled_;
  std::uint64_t total_;
  const char* unit_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

// A cheap structural check of an export header, enough to tell a telemetry capture from a
// packet capture (the decoder does the real validation).
bool plausibleExport(ByteSpan d) {
  if (d.size() < 8) return false;
  const std::uint16_t version = loadBe16(d.data());
  if (version == 5) {
    const std::uint16_t count = loadBe16(d.data() + 2);
    return count >= 1 && count <= 30 && d.size() >= 24u + 48u * count;
  }
  if (version == 9) return d.size() >= 24 && loadBe16(d.data() + 2) <= 1000;
  if (version == 10) return d.size() >= 16 && loadBe16(d.data() + 2) == d.size();
  if (loadBe32(d.data()) == 5) {
    const std::uint32_t agent_type = loadBe32(d.data() + 4);
    return agent_type == 1 || agent_type == 2;
  }
  return false;
}

bool isExport(const PacketSummary& p, const std::set<std::uint16_t>& ports) {
  return p.ip_proto == ipproto::kUdp && p.hasPorts() && !p.isFragment() &&
         ports.count(p.dst_port) != 0;
}

void countStatus(CaptureSummary& summary, DecodeStatus st, std::uint64_t n = 1) {
  if (st == DecodeStatus::Ok) return;
  (isMalformed(st) ? summary.malformed : summary.decode)[decodeStatusName(st)] += n;
}

void captureIssues(const CaptureFile& capture, CaptureSummary& summary) {
  const CaptureStats& cs = capture.stats();
  for (std::size_t i = 0; i < cs.issues.size(); ++i) {
    if (cs.issues[i])
      summary.malformed[captureIssueName(static_cast<CaptureIssue>(i))] = cs.issues[i];
  }
}

}  // namespace

std::set<std::uint16_t> defaultFlowPorts() { return {2055, 2056, 4739, 6343, 9995, 9996}; }

bool looksLikeTelemetry(CaptureFile& capture, const std::set<std::uint16_t>& ports) {
  std::array<Frame, kBatch> frames;
  std::size_t seen = 0, ip = 0, exports = 0;
  while (seen < kSniffFrames) {
    std::size_t n = capture.next(frames);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) {
      const Frame& f = frames[i];
      PacketSummary p;
      if (decodeFrame(f.linktype, ByteSpan(f.data, f.caplen), f.origlen, f.ts_ns, p) !=
          DecodeStatus::Ok) {
        continue;
      }
      ++ip;
      if (isExport(p, ports) && plausibleExport(p.payloadSpan())) ++exports;
    }
    seen += n;
  }
  return exports > 0 && exports * 2 >= ip;
}

CaptureSummary feedPackets(CaptureFile& capture, Engine& engine, const InputOptions& options,
                           std::uint32_t* unsupported_linktype) {
  Progress progress(options.progress, capture.totalBytes(), "packets");
  std::array<Frame, kBatch> frames;
  std::array<PacketSummary, kBatch> packets;
  std::array<std::uint64_t, static_cast<std::size_t>(DecodeStatus::kCount)> statuses{};
  CaptureSummary summary;
  std::uint64_t ip_bytes = 0;
  std::size_t batches = 0;
  while (std::size_t n = capture.next(frames)) {
    std::size_t ok = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const Frame& f = frames[i];
      DecodeStatus st =
          decodeFrame(f.linktype, ByteSpan(f.data, f.caplen), f.origlen, f.ts_ns, packets[ok]);
      ++statuses[static_cast<std::size_t>(st)];
      if (st == DecodeStatus::Ok) {
        ip_bytes += packets[ok].ip_bytes;
        ++ok;
      } else if (st == DecodeStatus::UnsupportedLinkType && unsupported_linktype) {
        *unsupported_linktype = f.linktype;
      }
    }
    if (summary.packets == 0) summary.first_ns = frames[0].ts_ns;
    summary.last_ns = frames[n - 1].ts_ns;
    summary.packets += n;
    engine.process(std::span<const PacketSummary>(packets.data(), ok));
    if (options.totals) {
      for (std::size_t i = 0; i < ok; ++i)
        options.totals->add(packets[i].dst, packets[i].packets, packets[i].ip_bytes);
    }
    if ((++batches & 63) == 0) progress.update(capture.bytesConsumed(), summary.packets);
  }
  summary.bytes = ip_bytes;
  captureIssues(capture, summary);
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    if (statuses[i]) countStatus(summary, static_cast<DecodeStatus>(i), statuses[i]);
  }
  return summary;
}

namespace {

// Export datagrams -> decoder -> per-destination totals and the engine (through FlowFeed),
// the same for captured and live datagrams.
class TelemetryPipeline {
 public:
  // The feed's cells are the engine's buckets.
  TelemetryPipeline(Engine& engine, TrafficTotals* totals, FlowFeedOptions feed_options)
      : totals_(totals),
        feed_(withCells(feed_options, engine),
              [&engine](std::span<const PacketSummary> batch) { engine.process(batch); }) {}

  // A capture file: nobody waits for the report, so records are held from the start for as
  // long as memory allows (the feed's max_pending) up to five minutes, which keeps records a
  // bulk-flushing exporter sends long after fresher ones in order. Live collection learns its
  // holdback from the exporters, as the sensor does.
  static FlowFeedOptions offline() {
    FlowFeedOptions o;
    o.max_holdback_ns = 300'000'000'000;
    o.min_holdback_ns = o.max_holdback_ns;
    return o;
  }

  static FlowFeedOptions withCells(FlowFeedOptions o, const Engine& engine) {
    o.cell_ns = engine.config().bucket_ns;
    return o;
  }

  void datagram(const IpAddress& exporter, ByteSpan data, std::int64_t received_ns) {
    records_.clear();
    decoder_.decode(exporter, data, received_ns, records_);
    for (const FlowRecord& r : records_) {
      if (r.flags & flowflag::kSampled) sampled_ = true;
      if (totals_) totals_->add(r.summary.dst, r.packets, r.bytes);
      feed_.add(r);
    }
    feed_.release();
  }

  // End of input: releases what the feed holds and describes what was decoded.
  void finish(TelemetrySummary& telemetry, bool& sampled) {
    feed_.flush();
    const FlowDecoderStats& ds = decoder_.stats();
    for (std::size_t i = 0; i < ds.datagrams.size(); ++i) {
      if (ds.datagrams[i])
        telemetry.datagrams[flowProtocolName(static_cast<FlowProtocol>(i))] = ds.datagrams[i];
    }
    telemetry.records = ds.records;
    telemetry.lost = ds.lost_telemetry;
    for (std::size_t i = 0; i < ds.issues.size(); ++i) {
      if (ds.issues[i]) telemetry.issues[flowIssueName(static_cast<FlowIssue>(i))] = ds.issues[i];
    }
    for (const ExporterInfo& e : decoder_.exporters()) {
      ExporterSummary x;
      x.address = e.address.toString();
      if (e.protocol == FlowProtocol::SflowV5) x.agent = e.agent.toString();
      x.protocol = flowProtocolName(e.protocol);
      x.domain = e.domain;
      x.datagrams = e.datagrams;
      x.records = e.records;
      x.lost = e.lost;
      x.sampling_rate = e.sampling_rate;
      if (e.sampling_rate > 1) sampled_ = true;
      telemetry.exporters.push_back(std::move(x));
    }
    sampled = sampled || sampled_;
  }

 private:
  TrafficTotals* totals_;
  FlowDecoder decoder_;
  FlowFeed feed_;
  std::vector<FlowRecord> records_;
  bool sampled_ = false;
};

}  // namespace

CaptureSummary feedTelemetry(CaptureFile& capture, Engine& engine, const InputOptions& options,
                             TelemetrySummary& telemetry) {
  Progress progress(options.progress, capture.totalBytes(), "frames");
  TelemetryPipeline pipeline(engine, options.totals, TelemetryPipeline::offline());
  std::array<Frame, kBatch> frames;
  CaptureSummary summary;
  std::uint64_t not_telemetry = 0, truncated_exports = 0;
  std::size_t batches = 0;
  while (std::size_t n = capture.next(frames)) {
    for (std::size_t i = 0; i < n; ++i) {
      const Frame& f = frames[i];
      PacketSummary p;
      DecodeStatus st = decodeFrame(f.linktype, ByteSpan(f.data, f.caplen), f.origlen, f.ts_ns, p);
      if (st != DecodeStatus::Ok) {
        countStatus(summary, st);
        continue;
      }
      summary.bytes += p.ip_bytes;
      if (!isExport(p, options.flow_ports)) {
        ++not_telemetry;
        continue;
      }
      if (p.payload_len < p.payload_wire_len) {  // cut by the capture's snaplen
        ++truncated_exports;
        continue;
      }
      pipeline.datagram(p.src, p.payloadSpan(), f.ts_ns);
    }
    if (summary.packets == 0) summary.first_ns = frames[0].ts_ns;
    summary.last_ns = frames[n - 1].ts_ns;
    summary.packets += n;
    if ((++batches & 63) == 0) progress.update(capture.bytesConsumed(), summary.packets);
  }
  pipeline.finish(telemetry, summary.sampled);
  captureIssues(capture, summary);
  if (not_telemetry) summary.decode["not_telemetry"] = not_telemetry;
  if (truncated_exports) summary.malformed["truncated_export"] = truncated_exports;
  return summary;
}

namespace {

// The longest the decoding thread waits for datagrams before it looks at the clock and the
// interrupt flag again.
constexpr std::chrono::milliseconds kQuietWait{200};

}  // namespace

// Two threads: this one decodes and runs the engine; a second one only receives, so that a
// burst of engine work (a second's worth of held records released at once) does not leave the
// sockets unread meanwhile.
CaptureSummary feedCollector(UdpCollector& collector, Engine& engine, const InputOptions& options,
                             std::int64_t duration_ns, const volatile std::sig_atomic_t* stop,
                             TelemetrySummary& telemetry) {
  TelemetryPipeline pipeline(engine, options.totals, FlowFeedOptions{});
  CaptureSummary summary;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed_ns = [&] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                start)
        .count();
  };
  ReceivingCollector receiver(collector, "bw-receive");
  auto decode = [&](const DatagramQueue::Batch& b) {
    for (const DatagramQueue::Datagram& d : b.datagrams) {
      if (summary.packets == 0) summary.first_ns = d.received_ns;
      summary.last_ns = d.received_ns;
      ++summary.packets;
      summary.bytes += d.size;
      pipeline.datagram(d.from, b.data(d), d.received_ns);
    }
  };
  while (!(stop && *stop) && !receiver.failed()) {
    std::chrono::nanoseconds left = kQuietWait;
    if (duration_ns > 0) {
      left = std::min(left, std::chrono::nanoseconds(duration_ns - elapsed_ns()));
      if (left.count() <= 0) break;
    }
    if (!receiver.drain(decode)) receiver.idle(left);
  }
  receiver.stop();
  receiver.rethrowFailure();
  receiver.drain(decode);  // what was received before the end is still reported
  pipeline.finish(telemetry, summary.sampled);
  std::uint64_t drops = 0, truncated = 0;
  for (const ListenerStats& l : collector.stats()) {
    drops += l.kernel_drops;
    truncated += l.truncated;
  }
  if (drops) telemetry.issues["socket_drops"] = drops;
  if (truncated) telemetry.issues["truncated_datagram"] = truncated;
  return summary;
}

}  // namespace bw::cli
