#include "daemon/sensor.h"

#include <fmt/format.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "daemon/actions.h"
#include "daemon/api_server.h"
#include "daemon/batch_queue.h"
#include "daemon/mitigation_action.h"
#include "daemon/store_writer.h"
#include "decode/packet.h"
#include "decode/vector.h"
#include "detect/traffic_totals.h"
#include "flow/flow_decoder.h"
#include "flow/flow_feed.h"
#include "flow/receiving_collector.h"
#include "flow/udp_collector.h"
#include "mitigate/mitigation.h"
#include "report/asn_db.h"
#include "report/format.h"
#include "report/json_report.h"
#include "sensor/packet_source.h"
#include "store/attack_store.h"

namespace bw {

const char* logLevelName(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}

bool parseLogLevel(std::string_view name, LogLevel* level) noexcept {
  for (LogLevel l : {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error}) {
    if (name == logLevelName(l)) {
      if (level) *level = l;
      return true;
    }
  }
  return false;
}

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kBatchMax = 256;
// The packet clock trails the wall clock by at most this (ring retire timeout + queueing)
// before idle time is counted.
constexpr std::int64_t kRealtimeSlackNs = 300'000'000;
// NetFlow/IPFIX: an exporter's datagrams for a record ending at T arrive by T + this; with no
// records for this long the exporters are quiet.
constexpr std::int64_t kExportSlackNs = 2'000'000'000;
constexpr std::size_t kRecentEnded = 256;
constexpr std::size_t kMaxSeriesInMemory = 3600;
constexpr std::size_t kTopDestinations = 20;

double wallNow() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::int64_t wallNowNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct CaptureWorker {
  std::string interface;
  std::unique_ptr<PacketSource> source;
  std::atomic<std::uint64_t> rejected{0};  // malformed frames
  std::thread thread;
};

struct CollectorStats {
  std::vector<ListenerStats> listeners;
  std::uint64_t records = 0;
  std::uint64_t lost = 0;
  std::uint64_t rejected = 0;
};

struct CollectorWorker {
  std::string kind;  // "sflow" or "netflow"
  int lane = 0;
  std::unique_ptr<UdpCollector> collector;
  std::thread thread;
  std::mutex mu;  // guards published
  CollectorStats published;
};

// What the API shows of one attack; kept for active attacks and the most recent ended ones.
struct AttackView {
  nlohmann::json record;
  std::vector<SeriesPoint> series;
  std::int64_t start_ns = 0;
  bool active = true;
};

struct ActiveAttack {
  std::uint64_t id = 0;
  double detected_at = 0;
  AttackRecord record;
  std::int64_t last_point_ns = 0;  // event time of the last series point
  std::uint64_t last_packets = 0;
  std::uint64_t last_bytes = 0;
  double last_event_wall = 0;
  // The newest series point, whole for its second even when part of it was already written
  // (the store and the API replace a second's point, they do not add to it).
  std::optional<SeriesPoint> tail;
  std::vector<SeriesPoint> unsent;  // series points not yet written to the store
};

void addStats(EngineStats& into, const EngineStats& s) {
  for (const EngineStatsField& f : kEngineStatsFields) into.*f.member += s.*f.member;
}

// "18.2 kpps, 210.3 Mbit/s", as the reports write rates.
std::string rateText(double pps, double bps) {
  return report::formatPacketRate(pps) + ", " + report::formatBitRate(bps);
}

}  // namespace

struct Sensor::Impl {
  SensorOptions options;
  std::atomic<int> log_level{static_cast<int>(LogLevel::Info)};

  std::unique_ptr<AsnDatabase> asn;
  std::unique_ptr<AttackStore> store;
  std::unique_ptr<StoreWriter> store_writer;  // when the store is enabled
  std::vector<std::unique_ptr<CaptureWorker>> captures;
  std::vector<std::unique_ptr<CollectorWorker>> collectors;
  std::unique_ptr<ApiServer> api;
  std::mutex actions_mu;  // guards actions (swapped by reload)
  std::unique_ptr<EventDispatcher> actions;
  std::unique_ptr<EventDispatcher> mitigation;

  BatchQueue queue;
  std::atomic<bool> stopping{false};     // producers stop
  std::atomic<bool> engine_stop{false};  // the engine drains and ends attacks
  bool started = false;
  bool stopped = false;
  std::thread engine_thread;

  // Engine thread state.
  struct Lane;
  std::vector<std::unique_ptr<Lane>> lanes;
  std::uint64_t next_id = 1;
  std::map<std::pair<int, std::uint64_t>, ActiveAttack> active;
  std::uint64_t total_packets = 0, total_bytes = 0;
  std::int64_t event_time_ns = 0;  // newest packet time seen, any lane
  std::uint64_t second_packets = 0, second_bytes = 0;
  VectorTrafficTable vectors_at_last_second{};  // every lane's, summed
  std::unique_ptr<TrafficTotals> second_totals = std::make_unique<TrafficTotals>(1u << 16);
  double second_started = 0;
  std::uint64_t attacks_started = 0, attacks_ended = 0;
  LatencyHistogram latency;

  // Reload hand-over to the engine thread.
  std::mutex reload_mu;
  std::optional<DetectionConfig> pending_detection;

  // Published for readers.
  std::mutex snap_mu;
  SensorSnapshot snap;
  std::mutex view_mu;
  std::map<std::uint64_t, AttackView> views;  // active and recent ended
  std::deque<std::uint64_t> ended_order;

  double started_at = wallNow();

  // Whether a line of `level` would be written: lines built per bucket ask first, so that
  // nothing is formatted when the level is above them.
  bool logs(LogLevel level) const noexcept {
    return static_cast<int>(level) >= log_level.load(std::memory_order_relaxed);
  }
  void log(LogLevel level, const std::string& line) const {
    if (!logs(level)) return;
    if (options.log) options.log(level, line);
  }

  // ---- engine thread -------------------------------------------------------------------

  class Listener final : public AttackListener {
   public:
    Listener(Impl* impl, int lane) : impl_(impl), lane_(lane) {}
    void onAttackStarted(const AttackRecord& a) override { impl_->onStarted(lane_, a); }
    void onAttackUpdated(const AttackRecord& a) override { impl_->onUpdated(lane_, a); }
    void onAttackEnded(const AttackRecord& a) override { impl_->onEnded(lane_, a); }

   private:
    Impl* impl_;
    int lane_;
  };

  struct Lane {
    std::string name;
    bool realtime = true;
    std::unique_ptr<Listener> listener;
    std::unique_ptr<Engine> engine;
    // A flow lane's crowded cells, grouped here rather than on the collector's thread, which
    // has the datagrams to read.
    ChunkGrouper grouper;
  };

  nlohmann::json recordJson(const ActiveAttack& a, bool ended) const {
    nlohmann::json j = attackToJson(a.record, asn.get());
    j["id"] = a.id;
    j["state"] = ended ? "ended" : "active";
    j["active"] = !ended;
    j["detected_at"] = a.detected_at;
    return j;
  }

  void post(EventKind kind, const ActiveAttack& a, bool ended) {
    AttackEvent event;
    event.kind = kind;
    event.at = wallNow();
    event.id = a.id;
    event.record = a.record;
    event.attack = recordJson(a, ended);
    std::lock_guard<std::mutex> lock(actions_mu);
    if (actions) actions->post(event);
    if (mitigation) mitigation->post(event);
  }

  void publishView(const ActiveAttack& a, bool ended) {
    std::lock_guard<std::mutex> lock(view_mu);
    AttackView& v = views[a.id];
    v.record = recordJson(a, ended);
    v.start_ns = a.record.start_ns;
    v.active = !ended;
    for (const SeriesPoint& p : a.unsent) {
      if (!v.series.empty() && v.series.back().t == p.t) {
        v.series.back() = p;
      } else {
        v.series.push_back(p);
      }
    }
    if (v.series.size() > kMaxSeriesInMemory) {
      v.series.erase(
          v.series.begin(),
          v.series.begin() + static_cast<std::ptrdiff_t>(v.series.size() - kMaxSeriesInMemory));
    }
    if (ended) {
      ended_order.push_back(a.id);
      while (ended_order.size() > kRecentEnded) {
        views.erase(ended_order.front());
        ended_order.pop_front();
      }
    }
  }

  void queueStore(StoreWrite w) {
    if (store_writer) store_writer->post(std::move(w));
  }

  // Adds the series point covering [last point, now] of the attack's event time.
  void addPoint(ActiveAttack& a) {
    const AttackRecord& r = a.record;
    const std::int64_t dt_ns = r.end_ns - a.last_point_ns;
    if (dt_ns <= 0 || r.packets < a.last_packets) return;
    SeriesPoint p;
    p.t = r.end_ns >= 0 ? r.end_ns / 1'000'000'000 : (r.end_ns + 1) / 1'000'000'000 - 1;
    p.packets = r.packets - a.last_packets;
    p.bytes = r.bytes - a.last_bytes;
    const double dt = static_cast<double>(dt_ns) / 1e9;
    p.pps = static_cast<double>(p.packets) / dt;
    p.bps = static_cast<double>(p.bytes) * 8 / dt;
    p.reflectors = r.reflectors;
    if (a.tail && a.tail->t == p.t) {
      SeriesPoint& q = *a.tail;
      q.packets += p.packets;
      q.bytes += p.bytes;
      q.pps = std::max(q.pps, p.pps);
      q.bps = std::max(q.bps, p.bps);
      q.reflectors = p.reflectors;
    } else {
      a.tail = p;
    }
    if (!a.unsent.empty() && a.unsent.back().t == a.tail->t) {
      a.unsent.back() = *a.tail;
    } else {
      a.unsent.push_back(*a.tail);
    }
    a.last_point_ns = r.end_ns;
    a.last_packets = r.packets;
    a.last_bytes = r.bytes;
  }

  void onStarted(int lane, const AttackRecord& r) {
    ActiveAttack a;
    a.id = next_id++;
    a.detected_at = wallNow();
    a.record = r;
    a.last_point_ns = r.start_ns;
    a.last_event_wall = a.detected_at;
    addPoint(a);
    const double latency_s = std::max(0.0, a.detected_at - static_cast<double>(r.start_ns) / 1e9);
    latency.observe(latency_s);
    ++attacks_started;
    log(LogLevel::Warn,
        fmt::format(
            "attack_started id={} {} {} victim={} {} reflectors={} first_packet={:.2f}s_ago "
            "source={}",
            a.id, r.vectorLabel(), directionName(r.direction), r.victim.toString(),
            rateText(r.peak_pps, r.peak_bps), r.reflectors, latency_s,
            lanes[static_cast<std::size_t>(lane)]->name));
    post(EventKind::Started, a, false);
    StoreWrite op;
    op.insert = true;
    op.id = a.id;
    op.record = r;
    op.detected_at = a.detected_at;
    op.series = a.unsent;
    queueStore(std::move(op));
    publishView(a, false);
    a.unsent.clear();
    active.emplace(std::make_pair(lane, r.id), std::move(a));
  }

  void onUpdated(int lane, const AttackRecord& r) {
    auto it = active.find({lane, r.id});
    if (it == active.end()) return;
    ActiveAttack& a = it->second;
    a.record = r;
    addPoint(a);
    const double now = wallNow();
    if (now - a.last_event_wall < options.config.sensor.update_interval_s) return;
    a.last_event_wall = now;
    post(EventKind::Updated, a, false);
    StoreWrite op;
    op.id = a.id;
    op.record = r;
    op.series = a.unsent;
    queueStore(std::move(op));
    publishView(a, false);
    a.unsent.clear();
    log(LogLevel::Debug, fmt::format("attack_updated id={} {} victim={} peak {} reflectors={}",
                                     a.id, r.vectorLabel(), r.victim.toString(),
                                     rateText(r.peak_pps, r.peak_bps), r.reflectors));
  }

  void onEnded(int lane, const AttackRecord& r) {
    auto it = active.find({lane, r.id});
    if (it == active.end()) return;
    ActiveAttack a = std::move(it->second);
    active.erase(it);
    a.record = r;
    addPoint(a);
    ++attacks_ended;
    log(LogLevel::Warn,
        fmt::format("attack_ended id={} {} victim={} duration={:.1f}s packets={} bytes={} peak {} "
                    "reflectors={}",
                    a.id, r.vectorLabel(), r.victim.toString(),
                    static_cast<double>(r.end_ns - r.start_ns) / 1e9, r.packets, r.bytes,
                    rateText(r.peak_pps, r.peak_bps), r.reflectors));
    post(EventKind::Ended, a, true);
    StoreWrite op;
    op.id = a.id;
    op.record = r;
    op.ended = true;
    op.series = a.unsent;
    queueStore(std::move(op));
    publishView(a, true);
  }

  void account(std::span<const PacketSummary> items) {
    for (const PacketSummary& p : items) {
      event_time_ns = std::max(event_time_ns, p.ts_ns);
      total_packets += p.packets;
      total_bytes += p.ip_bytes;
      second_packets += p.packets;
      second_bytes += p.ip_bytes;
      second_totals->add(p.dst, p.packets, p.ip_bytes);
    }
  }

  // Once a second: the last second's rates, for the snapshot.
  void rollSecond(double now, SensorSnapshot& s) {
    const double dt = std::max(1e-3, now - second_started);
    s.pps = static_cast<double>(second_packets) / dt;
    s.bps = static_cast<double>(second_bytes) * 8 / dt;
    // The engines count each vector's reflected traffic as they classify it.
    VectorTrafficTable now_totals{};
    for (const auto& lane : lanes) {
      const VectorTrafficTable& t = lane->engine->vectorTraffic();
      for (std::size_t v = 0; v < t.size(); ++v) {
        now_totals[v].packets += t[v].packets;
        now_totals[v].bytes += t[v].bytes;
      }
    }
    s.vectors.clear();
    for (std::size_t v = 0; v < now_totals.size(); ++v) {
      if (now_totals[v].packets == 0) continue;
      VectorSnapshot vs;
      vs.vector = vectorName(static_cast<Vector>(v));
      vs.packets = now_totals[v].packets;
      vs.bytes = now_totals[v].bytes;
      vs.pps = static_cast<double>(vs.packets - vectors_at_last_second[v].packets) / dt;
      vs.bps = static_cast<double>(vs.bytes - vectors_at_last_second[v].bytes) * 8 / dt;
      s.vectors.push_back(std::move(vs));
    }
    vectors_at_last_second = now_totals;
    std::sort(s.vectors.begin(), s.vectors.end(),
              [](const VectorSnapshot& a, const VectorSnapshot& b) { return a.bytes > b.bytes; });
    s.top_destinations.clear();
    for (const DestinationTotal& d : second_totals->top(kTopDestinations)) {
      s.top_destinations.push_back(DestinationRate{d.ip.toString(),
                                                   static_cast<double>(d.packets) / dt,
                                                   static_cast<double>(d.bytes) * 8 / dt});
    }
    second_totals = std::make_unique<TrafficTotals>(1u << 16);
    second_packets = second_bytes = 0;
    second_started = now;
  }

  void publish(double now, bool roll) {
    std::lock_guard<std::mutex> lock(snap_mu);
    SensorSnapshot& s = snap;
    s.engine = EngineStats{};
    for (const auto& lane : lanes) addStats(s.engine, lane->engine->stats());
    s.event_time_ns = event_time_ns;
    s.packets = total_packets;
    s.bytes = total_bytes;
    s.active_attacks = active.size();
    s.attacks_started = attacks_started;
    s.attacks_ended = attacks_ended;
    s.detection_latency = latency;
    if (roll) rollSecond(now, s);
  }

  void applyPendingReload() {
    std::optional<DetectionConfig> next;
    {
      std::lock_guard<std::mutex> lock(reload_mu);
      next.swap(pending_detection);
    }
    if (!next) return;
    std::vector<std::string> kept;
    for (const auto& lane : lanes) kept = lane->engine->reconfigure(*next);
    if (!kept.empty()) {
      std::string names;
      for (const std::string& k : kept) names += (names.empty() ? "" : ", ") + k;
      log(LogLevel::Warn, "reload: detection settings applied, except " + names +
                              " (they size the engine's tables: restart to change them)");
    } else {
      log(LogLevel::Info, "reload: detection settings applied");
    }
  }

  void engineLoop() {
    double next_tick = wallNow();
    double next_second = next_tick + 1;
    second_started = next_tick;
    bool draining = false;
    for (;;) {
      std::unique_ptr<Batch> b = queue.pop(std::chrono::milliseconds(draining ? 0 : 50));
      if (b) {
        Lane& lane = *lanes[static_cast<std::size_t>(b->lane)];
        if (!b->items.empty()) {
          account(b->items);
          lane.engine->process(b->items);
        }
        if (!b->crowded.empty()) {
          b->crowded.forEachSpan([&](std::span<const HeldChunk> s) { lane.grouper.add(s); });
          std::size_t sent = 0;
          lane.grouper.flush([&](std::span<const PacketSummary> merged) {
            account(merged);
            lane.engine->process(merged);
            sent += merged.size();
          });
          if (logs(LogLevel::Debug)) {
            log(LogLevel::Debug, fmt::format("{}: a crowded bucket of {} flow chunks went to the "
                                             "engine as {}, grouped by key",
                                             lane.name, b->crowded.size(), sent));
          }
        }
        if (b->advance_ns != INT64_MIN) lane.engine->advanceTime(b->advance_ns);
        queue.recycle(std::move(b));
      } else if (draining) {
        break;  // producers are gone and the queue is empty
      } else if (engine_stop.load()) {
        draining = true;
        continue;
      }
      const double now = wallNow();
      if (now >= next_tick) {
        next_tick = now + 0.1;
        applyPendingReload();
        const std::int64_t now_ns = wallNowNs();
        for (const auto& lane : lanes) {
          if (lane->realtime) lane->engine->advanceTime(now_ns - kRealtimeSlackNs);
        }
        const bool roll = now >= next_second;
        if (roll) next_second = now + 1;
        publish(now, roll);
      }
    }
    for (const auto& lane : lanes) lane->engine->finish();
    publish(wallNow(), true);
  }

  // ---- producers -----------------------------------------------------------------------

  void captureLoop(CaptureWorker& w) {
    std::unique_ptr<Batch> batch;
    std::uint64_t rejected = 0;
    const PacketSource::Sink sink = [&](std::span<const Frame> frames) {
      if (!batch) batch = queue.acquire();
      batch->lane = 0;
      for (const Frame& f : frames) {
        PacketSummary p;
        const DecodeStatus st =
            decodeFrame(f.linktype, ByteSpan(f.data, f.caplen), f.origlen, f.ts_ns, p);
        if (st == DecodeStatus::Ok) {
          batch->add(p);
        } else if (isMalformed(st)) {
          ++rejected;
        }
      }
      if (!batch->items.empty()) {
        batch->seal();
        queue.push(std::move(batch), stopping);
      }
      if (rejected) {
        w.rejected.fetch_add(rejected, std::memory_order_relaxed);
        rejected = 0;
      }
    };
    while (!stopping.load(std::memory_order_relaxed)) {
      w.source->poll(100'000'000, sink);
    }
  }

  void collectorLoop(CollectorWorker& w) {
    FlowDecoder decoder;
    std::vector<FlowRecord> records;
    std::unique_ptr<Batch> batch;
    auto flush = [&](std::int64_t advance_ns) {
      if (!batch && advance_ns == INT64_MIN) return;
      if (!batch) batch = queue.acquire();
      batch->lane = w.lane;
      batch->advance_ns = advance_ns;
      batch->seal();
      queue.push(std::move(batch), stopping);
    };
    FlowFeedOptions feed_options;
    feed_options.cell_ns = options.config.detection.bucket_ns;  // a cell is one engine bucket
    FlowFeed feed(
        feed_options,
        [&](std::span<const PacketSummary> chunks) {
          while (!chunks.empty()) {
            if (!batch) batch = queue.acquire();
            const std::size_t take = std::min(chunks.size(), kBatchMax - batch->items.size());
            batch->addAll(chunks.first(take));
            chunks = chunks.subspan(take);
            if (batch->items.size() >= kBatchMax) flush(INT64_MIN);
          }
        },
        // Crowded cells go to the engine thread whole, after what was sent before them.
        [&](FlowFeed::CrowdedCell cell) {
          if (batch) flush(INT64_MIN);
          batch = queue.acquire();
          batch->crowded = std::move(cell);
          flush(INT64_MIN);
        });
    // When records last arrived (wall clock), and the exporters' clock then.
    std::int64_t input_wall_ns = 0;
    std::int64_t input_clock_ns = INT64_MIN;
    // Another thread receives, so that this one's bursts (a cell of held records released, a
    // full queue to the engine thread) do not leave the sockets unread.
    ReceivingCollector receiver(*w.collector, "bw-flows-rx");
    const auto decode = [&](const DatagramQueue::Batch& b) {
      bool any = false;
      for (const DatagramQueue::Datagram& d : b.datagrams) {
        records.clear();
        decoder.decode(d.from, b.data(d), d.received_ns, records);
        for (const FlowRecord& r : records) feed.add(r);
        any |= !records.empty();
        feed.release();
      }
      if (any) {
        input_wall_ns = wallNowNs();
        input_clock_ns = feed.clock();
      }
      // sFlow samples point into the datagrams: copy them before the batch is reused.
      flush(INT64_MIN);
    };
    auto publishStats = [&] {
      CollectorStats s;
      s.listeners = receiver.stats();
      const FlowDecoderStats& ds = decoder.stats();
      s.records = ds.records;
      s.lost = ds.lost_telemetry;
      for (std::size_t i = 0; i < ds.issues.size(); ++i) {
        if (static_cast<FlowIssue>(i) != FlowIssue::UnknownRecordType) s.rejected += ds.issues[i];
      }
      std::lock_guard<std::mutex> lock(w.mu);
      w.published = std::move(s);
    };
    Clock::time_point next_tick = Clock::now();
    while (!stopping.load(std::memory_order_relaxed) && !receiver.failed()) {
      if (!receiver.drain(decode)) receiver.idle(std::chrono::milliseconds(100));
      if (Clock::now() < next_tick) continue;
      next_tick = Clock::now() + std::chrono::milliseconds(500);
      if (w.lane != 0) {
        // Exporters gone quiet must not freeze this lane's clock (attacks would never end):
        // once nothing has come for the slack, it runs on at the wall clock's pace from where
        // the records left it. Never to the wall clock itself: records may describe the past
        // (a replayed capture, an exporter's clock behind), and a jump would end their attacks
        // between two datagrams.
        const std::int64_t quiet_ns = wallNowNs() - input_wall_ns;
        if (input_clock_ns != INT64_MIN && quiet_ns > kExportSlackNs) {
          feed.advanceTo(input_clock_ns + (quiet_ns - kExportSlackNs));
        }
        flush(feed.watermark());
      }
      publishStats();
    }
    receiver.stop();
    receiver.drain(decode);
    feed.flush();
    flush(w.lane != 0 ? feed.watermark() : INT64_MIN);
    publishStats();
    receiver.rethrowFailure();
  }

  // ---- set-up ------------------------------------------------------------------------------

  Result<std::unique_ptr<EventDispatcher>> buildActions(const LoadedConfig& c) {
    auto d = std::make_unique<EventDispatcher>(
        4096, [this](const std::string& line) { log(LogLevel::Error, line); });
    const EventSettings& e = c.events;
    auto kinds = [](const std::vector<std::string>& names) {
      std::vector<EventKind> out;
      for (const std::string& n : names) {
        EventKind k;
        if (parseEventName(n, &k)) out.push_back(k);
      }
      return out;
    };
    if (!e.file.empty()) {
      Result<std::unique_ptr<EventAction>> a = openEventLog(e.file);
      if (!a) return Error{a.error().message};
      d->add(std::move(*a));
    }
    if (!e.notify.empty()) {
      NotifyOptions n;
      n.argv = e.notify;
      n.timeout_s = e.notify_timeout_s;
      n.on = kinds(e.notify_on);
      Result<std::unique_ptr<EventAction>> a = makeNotifyCommand(n);
      if (!a) return Error{a.error().message};
      d->add(std::move(*a));
    }
    if (!e.webhook_url.empty()) {
      WebhookOptions w;
      w.url = e.webhook_url;
      w.timeout_s = e.webhook_timeout_s;
      w.headers = e.webhook_headers;
      w.on = kinds(e.webhook_on);
      Result<std::unique_ptr<EventAction>> a = makeWebhook(w);
      if (!a) return Error{a.error().message};
      d->add(std::move(*a));
    }
    return d;
  }

  Status openStore() {
    const StoreSettings& s = options.config.store;
    if (!s.enabled) return {};
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::path(s.path).parent_path();
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (!ec) ::chmod(dir.c_str(), 0750);
    }
    StoreOptions so;
    so.max_size_bytes = s.max_size_mb << 20;
    Result<std::unique_ptr<AttackStore>> st = AttackStore::open(s.path, so);
    if (!st) return Error{st.error().message};
    store = std::move(*st);
    store_writer = std::make_unique<StoreWriter>(
        *store, asn.get(), [this](LogLevel level, const std::string& line) { log(level, line); });
    Result<std::uint64_t> closed = store->markAllActiveEnded(wallNow());
    if (!closed) return Error{closed.error().message};
    if (*closed > 0) {
      log(LogLevel::Warn, fmt::format("store: {} attack(s) left active by an earlier run were "
                                      "closed as interrupted",
                                      *closed));
    }
    Result<std::uint64_t> last = store->lastId();
    if (!last) return Error{last.error().message};
    next_id = *last + 1;
    return {};
  }

  Status openSources() {
    const SensorSettings& s = options.config.sensor;
    int group = (static_cast<int>(::getpid()) & 0x7fff) ^ 0x4257;
    std::uint32_t interface_id = 0;
    for (const std::string& name : s.interfaces) {
      const int workers = std::max(1, s.workers_per_interface);
      for (int i = 0; i < workers; ++i) {
        PacketSourceOptions po;
        po.interface = name;
        po.fanout_group = workers > 1 ? group : -1;
        po.bpf_filter = s.bpf_filter;
        po.promiscuous = s.promiscuous;
        po.interface_id = interface_id;
        Result<std::unique_ptr<PacketSource>> src = PacketSource::open(po);
        if (!src) return Error{src.error().message};
        auto w = std::make_unique<CaptureWorker>();
        w->interface = name;
        w->source = std::move(*src);
        captures.push_back(std::move(w));
      }
      ++group;
      ++interface_id;
    }
    auto openCollector = [&](const std::vector<std::string>& endpoints, const char* kind,
                             int lane) -> Status {
      if (endpoints.empty()) return {};
      Result<std::unique_ptr<UdpCollector>> c = UdpCollector::open(endpoints);
      if (!c) return Error{c.error().message};
      auto w = std::make_unique<CollectorWorker>();
      w->kind = kind;
      w->lane = lane;
      w->collector = std::move(*c);
      for (const ListenerStats& l : w->collector->stats()) {
        // Linux reports twice the usable size.
        if (l.receive_buffer_bytes < (8 << 20)) {
          log(LogLevel::Warn,
              fmt::format("{} {}: the kernel granted only a {} KiB receive buffer; bursts may be "
                          "dropped (raise net.core.rmem_max or run with CAP_NET_ADMIN)",
                          kind, l.endpoint, l.receive_buffer_bytes / 2048));
        }
      }
      collectors.push_back(std::move(w));
      return {};
    };
    if (Status st = openCollector(s.sflow, "sflow", 0); !st) return st;
    const int flow_lane = s.netflow.empty() ? 0 : 1;
    if (Status st = openCollector(s.netflow, "netflow", flow_lane); !st) return st;
    return {};
  }

  void buildLanes() {
    auto add = [&](const char* name, bool realtime) {
      auto lane = std::make_unique<Lane>();
      lane->name = name;
      lane->realtime = realtime;
      lane->listener = std::make_unique<Listener>(this, static_cast<int>(lanes.size()));
      lane->engine = std::make_unique<Engine>(options.config.detection, lane->listener.get());
      lanes.push_back(std::move(lane));
    };
    add("packets", true);
    if (!options.config.sensor.netflow.empty()) add("netflow", false);
  }

  std::vector<SourceSnapshot> sources() {
    std::vector<SourceSnapshot> out;
    std::map<std::string, std::size_t> by_interface;
    for (const auto& w : captures) {
      const PacketSourceStats st = w->source->stats();
      auto [it, fresh] = by_interface.emplace(w->interface, out.size());
      if (fresh) {
        SourceSnapshot s;
        s.name = w->interface;
        s.kind = "interface";
        out.push_back(std::move(s));
      }
      SourceSnapshot& s = out[it->second];
      s.packets += st.packets;
      s.bytes += st.bytes;
      s.drops += st.kernel_drops;
      s.rejected += w->rejected.load(std::memory_order_relaxed);
      if (!st.fault.empty()) s.fault = st.fault;
    }
    for (const auto& w : collectors) {
      CollectorStats cs;
      {
        std::lock_guard<std::mutex> lock(w->mu);
        cs = w->published;
      }
      SourceSnapshot s;
      s.kind = w->kind;
      for (const ListenerStats& l : cs.listeners) {
        s.name += (s.name.empty() ? w->kind + " " : ",") + l.endpoint;
        s.packets += l.datagrams;
        s.bytes += l.bytes;
        s.drops += l.kernel_drops;
        s.rejected += l.truncated + l.errors;
      }
      if (s.name.empty()) s.name = w->kind;
      s.records = cs.records;
      s.lost_telemetry = cs.lost;
      s.rejected += cs.rejected;
      out.push_back(std::move(s));
    }
    return out;
  }
};

Sensor::Sensor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Sensor::~Sensor() { stop(); }

Result<std::unique_ptr<Sensor>> Sensor::open(SensorOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  Impl& m = *impl;
  LogLevel level = LogLevel::Info;
  if (parseLogLevel(m.options.config.sensor.log_level, &level))
    m.log_level = static_cast<int>(level);
  if (m.options.config.sensor.interfaces.empty() && m.options.config.sensor.sflow.empty() &&
      m.options.config.sensor.netflow.empty()) {
    return Error{
        "nothing to watch: give at least one --interface, --sflow or --netflow (or [sensor] "
        "interfaces / sflow / netflow in the config)"};
  }
  if (m.options.config.asn_db) {
    Result<std::unique_ptr<AsnDatabase>> db = AsnDatabase::open(*m.options.config.asn_db);
    if (!db) return Error{db.error().message};
    m.asn = std::move(*db);
  }
  if (Status st = m.openStore(); !st) return Error{st.message()};
  if (Status st = m.openSources(); !st) return Error{st.message()};
  Result<std::unique_ptr<EventDispatcher>> actions = m.buildActions(m.options.config);
  if (!actions) return Error{actions.error().message};
  m.actions = std::move(*actions);
  Result<std::unique_ptr<MitigationBackend>> backend = makeMitigationBackend(
      m.options.config.mitigation, [&m](const std::string& line) { m.log(LogLevel::Info, line); });
  if (!backend) return Error{backend.error().message};
  if (*backend) {
    m.mitigation = std::make_unique<EventDispatcher>(
        4096, [&m](const std::string& line) { m.log(LogLevel::Error, line); });
    m.mitigation->add(
        makeMitigationAction(std::move(*backend), m.options.config.mitigation,
                             [&m](const std::string& line) { m.log(LogLevel::Warn, line); }));
  }
  m.buildLanes();
  {
    std::lock_guard<std::mutex> lock(m.snap_mu);
    m.snap.started_at = m.started_at;
    m.snap.config_path = m.options.config_path;
    m.snap.config_loaded_at = m.started_at;
    m.snap.version = m.options.version;
  }
  std::unique_ptr<Sensor> sensor(new Sensor(std::move(impl)));
  const ApiSettings& api = sensor->impl_->options.config.api;
  if (api.enabled) {
    ApiOptions ao;
    ao.listen = api.listen;
    ao.token = api.token;
    Result<std::unique_ptr<ApiServer>> server = ApiServer::start(ao, sensor.get());
    if (!server) return Error{server.error().message};
    sensor->impl_->api = std::move(*server);
  }
  return sensor;
}

void Sensor::start() {
  Impl& m = *impl_;
  if (m.started) return;
  m.started = true;
  m.actions->start();
  if (m.mitigation) m.mitigation->start();
  if (m.store_writer) m.store_writer->start();
  // Named for `top -H` and perf: which thread is busy tells the operator what to tune.
  const auto named = [](std::thread t, const char* name) {
    pthread_setname_np(t.native_handle(), name);  // at most 15 characters
    return t;
  };
  m.engine_thread = named(std::thread([&m] { m.engineLoop(); }), "bw-engine");
  for (auto& w : m.captures) {
    CaptureWorker* p = w.get();
    w->thread = named(std::thread([&m, p] { m.captureLoop(*p); }), "bw-capture");
  }
  for (auto& w : m.collectors) {
    CollectorWorker* p = w.get();
    w->thread = named(std::thread([&m, p] { m.collectorLoop(*p); }), "bw-flows");
  }
}

void Sensor::stop() {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  if (m.started) {
    m.stopping = true;
    for (auto& w : m.captures) w->source->wake();
    for (auto& w : m.collectors) w->collector->wake();
    for (auto& w : m.captures) {
      if (w->thread.joinable()) w->thread.join();
    }
    for (auto& w : m.collectors) {
      if (w->thread.joinable()) w->thread.join();
    }
    m.engine_stop = true;
    m.queue.wake();
    if (m.engine_thread.joinable()) m.engine_thread.join();
    {
      std::lock_guard<std::mutex> lock(m.actions_mu);
      if (m.actions) m.actions->stop(true);
    }
    if (m.mitigation) m.mitigation->stop(true);
    if (m.store_writer) m.store_writer->stop();
  }
  if (m.api) m.api->stop();
}

void Sensor::reload(const LoadedConfig& next) {
  Impl& m = *impl_;
  const LoadedConfig& cur = m.options.config;
  std::vector<std::string> restart;
  auto differs = [&](bool d, const char* what) {
    if (d) restart.emplace_back(what);
  };
  const SensorSettings &a = cur.sensor, &b = next.sensor;
  differs(a.interfaces != b.interfaces || a.workers_per_interface != b.workers_per_interface ||
              a.bpf_filter != b.bpf_filter || a.promiscuous != b.promiscuous,
          "[sensor] interfaces");
  differs(a.sflow != b.sflow || a.netflow != b.netflow, "[sensor] collectors");
  differs(a.user != b.user, "[sensor] user");
  differs(cur.api.enabled != next.api.enabled || cur.api.listen != next.api.listen ||
              cur.api.token != next.api.token,
          "[api]");
  differs(cur.store.enabled != next.store.enabled || cur.store.path != next.store.path ||
              cur.store.max_size_mb != next.store.max_size_mb,
          "[store]");
  differs(cur.mitigation.backend != next.mitigation.backend ||
              cur.mitigation.flowspec != next.mitigation.flowspec ||
              cur.mitigation.rtbh != next.mitigation.rtbh ||
              cur.mitigation.rtbh_community != next.mitigation.rtbh_community ||
              cur.mitigation.rtbh_next_hop != next.mitigation.rtbh_next_hop ||
              cur.mitigation.never != next.mitigation.never ||
              cur.mitigation.min_pps != next.mitigation.min_pps ||
              cur.mitigation.min_mbps != next.mitigation.min_mbps,
          "[mitigation]");
  differs(cur.asn_db != next.asn_db, "[enrich] asn_db");

  Result<std::unique_ptr<EventDispatcher>> actions = m.buildActions(next);
  if (!actions) {
    m.log(LogLevel::Error,
          "reload: keeping the previous event actions: " + actions.error().message);
  } else {
    (*actions)->start();
    std::unique_ptr<EventDispatcher> old;
    {
      std::lock_guard<std::mutex> lock(m.actions_mu);
      old = std::move(m.actions);
      m.actions = std::move(*actions);
    }
    if (old) old->stop(true);
    m.options.config.events = next.events;
  }
  {
    std::lock_guard<std::mutex> lock(m.reload_mu);
    m.pending_detection = next.detection;
  }
  m.options.config.detection = next.detection;
  m.options.config.sensor.update_interval_s = next.sensor.update_interval_s;
  m.options.config.sensor.log_level = next.sensor.log_level;
  LogLevel level;
  if (parseLogLevel(next.sensor.log_level, &level)) m.log_level = static_cast<int>(level);
  {
    std::lock_guard<std::mutex> lock(m.snap_mu);
    ++m.snap.config_reloads;
    m.snap.config_loaded_at = wallNow();
  }
  if (!restart.empty()) {
    std::string names;
    for (const std::string& r : restart) names += (names.empty() ? "" : ", ") + r;
    m.log(LogLevel::Warn,
          "reload: " + names + " changed but need a restart; the running values are kept");
  }
  m.log(LogLevel::Info,
        "reload: configuration reloaded" +
            (m.options.config_path.empty() ? "" : " from " + m.options.config_path));
}

std::string Sensor::apiEndpoint() const {
  return impl_->api ? impl_->api->endpoint() : std::string();
}

std::string Sensor::describe() const {
  const Impl& m = *impl_;
  std::vector<std::string> parts;
  const SensorSettings& s = m.options.config.sensor;
  for (const std::string& i : s.interfaces) {
    parts.push_back(fmt::format("capturing on {} ({} worker{})", i, s.workers_per_interface,
                                s.workers_per_interface == 1 ? "" : "s"));
  }
  for (const std::string& e : s.sflow) parts.push_back("sFlow on " + e);
  for (const std::string& e : s.netflow) parts.push_back("NetFlow/IPFIX on " + e);
  parts.push_back(m.api ? "API on http://" + m.api->endpoint() : "API off");
  parts.push_back(m.store ? "store " + m.store->path() : "store off");
  if (!m.options.config.events.file.empty())
    parts.push_back("events to " + m.options.config.events.file);
  if (m.mitigation) parts.push_back("mitigation " + m.options.config.mitigation.backend);
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

SensorSnapshot Sensor::snapshot() {
  Impl& m = *impl_;
  SensorSnapshot s;
  {
    std::lock_guard<std::mutex> lock(m.snap_mu);
    s = m.snap;
  }
  s.now = wallNow();
  s.sources = m.sources();
  {
    std::lock_guard<std::mutex> lock(m.actions_mu);
    if (m.actions) s.actions = m.actions->stats();
  }
  if (m.mitigation) {
    for (ActionSnapshot& a : m.mitigation->stats()) s.actions.push_back(std::move(a));
  }
  s.store_enabled = m.store != nullptr;
  if (m.store) s.store_path = m.store->path();
  if (m.store_writer) {
    s.store_errors = m.store_writer->errors();
    s.store_fault = m.store_writer->fault();
  }
  return s;
}

nlohmann::json Sensor::attacks(std::size_t limit) {
  Impl& m = *impl_;
  std::vector<const AttackView*> order;
  nlohmann::json out = nlohmann::json::array();
  std::vector<std::uint64_t> seen;
  {
    std::lock_guard<std::mutex> lock(m.view_mu);
    for (const auto& [id, v] : m.views) order.push_back(&v);
    std::sort(order.begin(), order.end(), [](const AttackView* a, const AttackView* b) {
      if (a->active != b->active) return a->active;
      return a->start_ns > b->start_ns;
    });
    for (const AttackView* v : order) {
      if (out.size() >= limit) break;
      out.push_back(v->record);
      seen.push_back(v->record.value("id", std::uint64_t{0}));
    }
  }
  if (m.store && out.size() < limit) {
    ListFilter f;
    f.limit = limit + seen.size();
    Result<std::vector<StoredAttack>> stored = m.store->list(f);
    if (stored) {
      for (const StoredAttack& a : *stored) {
        if (out.size() >= limit) break;
        if (std::find(seen.begin(), seen.end(), a.id) != seen.end()) continue;
        out.push_back(a.record);
      }
    }
  }
  return out;
}

std::optional<nlohmann::json> Sensor::attack(std::uint64_t id) {
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.view_mu);
    auto it = m.views.find(id);
    if (it != m.views.end()) {
      nlohmann::json j = it->second.record;
      j["series"] = seriesToJson(it->second.series);
      return j;
    }
  }
  if (!m.store) return std::nullopt;
  Result<std::optional<StoredAttack>> got = m.store->get(id, true);
  if (!got || !*got) return std::nullopt;
  nlohmann::json j = (*got)->record;
  j["series"] = seriesToJson((*got)->series);
  return j;
}

}  // namespace bw
