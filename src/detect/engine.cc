// Engine implementation. See engine.h for the contract and docs/detection.md for the model.
//
// Per packet (UDP only; everything else is counted and skipped):
//   1. Non-first fragments take the vector of their datagram's first fragment (FragmentTable).
//   2. Requests to a vector's port feed the scanner tracker and the sender's solicitation
//      counters; responses are classified by source port (and payload evidence).
//   3. The (destination, vector, port) slot's ring advances to the packet's bucket, the
//      packet is added, and the onset check runs against the window sums.
// Every bucket of event time a sweep advances the slots of active attacks (so silence is
// seen), records peaks, ends quiet attacks and frees idle trackers.
#include "detect/engine.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "core/prefix.h"
#include "decode/memcached.h"
#include "detect/fragment_table.h"
#include "detect/rate_table.h"
#include "detect/scanner_tracker.h"
#include "detect/source_tracker.h"

namespace bw {

const char* directionName(Direction d) noexcept {
  return d == Direction::Outbound ? "outbound" : "inbound";
}

namespace {

constexpr double kRunWatchFraction = 0.1;  // below this share of the threshold a run restarts
constexpr double kRunGapSpacings =
    10;  // ... and after this many threshold-rate spacings of silence
constexpr double kFullDatagramBytes = 1500;
constexpr double kTrackWatchPackets = kEarlySources;  // sources tracked from this many per window
constexpr std::size_t kMaxRansomNotes = 4;
constexpr std::uint32_t kRansomFullChecks = 4096;  // then every 128th memcached datagram
constexpr std::size_t kMaxAbusedHosts = 1024;
constexpr std::int64_t kUpdateIntervalNs = 1'000'000'000;

// Where an address stands relative to the operator's networks.
enum class Place : std::uint8_t { Protected, Ignored, Outside };

}  // namespace

class Engine::Impl {
 public:
  Impl(DetectionConfig config, AttackListener* listener)
      : config_(std::move(config)),
        listener_(listener),
        networks_(config_.networks),
        ignore_(config_.ignore),
        all_protected_(networks_.empty() && ignore_.empty()),
        rates_(config_.max_destinations, config_.window_buckets),
        scanners_(config_),
        budget_(config_.exact_sources_budget_bytes),
        place_cache_(kPlaceCacheSize) {
    config_.window_buckets = rates_.windowBuckets();
    if (config_.bucket_ns <= 0) config_.bucket_ns = 100'000'000;
    window_ns_ = config_.bucket_ns * config_.window_buckets;
    window_s_ = static_cast<double>(window_ns_) / 1e9;
    for (const PrefixThresholds& o : config_.overrides) overrides_.insert(o.prefix, o.thresholds);
    trackers_.reserve(std::min<std::uint32_t>(config_.max_tracked, 1024));
  }

  // Packets are handled one at a time, in order; a few places ahead, each is classified and
  // the table lines it will touch are prefetched, so the cache misses of successive packets
  // overlap instead of queuing (see docs/performance.md).
  void process(std::span<const PacketSummary> batch) noexcept {
    while (!batch.empty()) {
      const std::size_t n = std::min(batch.size(), kPipeline);
      const PacketSummary* p = batch.data();
      for (std::size_t j = 0; j < std::min(n, kAheadTags); ++j) prepare(p[j], prepared_[j]);
      for (std::size_t j = 0; j < std::min(n, kAheadSlot); ++j) prefetchSlot(prepared_[j]);
      for (std::size_t i = 0; i < n; ++i) {
        if (i + kAheadTags < n) prepare(p[i + kAheadTags], prepared_[i + kAheadTags]);
        if (i + kAheadSlot < n) prefetchSlot(prepared_[i + kAheadSlot]);
        onPacket(p[i], prepared_[i]);
      }
      batch = batch.subspan(n);
    }
  }

  void advanceTime(std::int64_t now_ns) noexcept {
    if (now_ns > now_ns_) {
      now_ns_ = now_ns;
      if (now_ns_ >= next_sweep_ns_) sweep();
    }
  }

  std::vector<std::string> reconfigure(const DetectionConfig& next) {
    std::vector<std::string> kept;
    auto keep = [&](bool differs, const char* name) {
      if (differs) kept.emplace_back(name);
    };
    keep(next.bucket_ns != config_.bucket_ns, "bucket_ns");
    keep(next.window_buckets != config_.window_buckets, "window_buckets");
    keep(next.max_destinations != config_.max_destinations, "max_destinations");
    keep(next.max_tracked != config_.max_tracked, "max_tracked");
    keep(next.exact_sources_per_attack != config_.exact_sources_per_attack,
         "exact_sources_per_attack");
    keep(next.exact_sources_budget_bytes != config_.exact_sources_budget_bytes,
         "exact_sources_budget_bytes");
    keep(next.max_scanner_sources != config_.max_scanner_sources, "max_scanner_sources");
    keep(next.scanner_min_targets != config_.scanner_min_targets ||
             next.scanner_window_ns != config_.scanner_window_ns ||
             next.scanner_max_answered != config_.scanner_max_answered,
         "scanners");

    config_.thresholds = next.thresholds;
    config_.overrides = next.overrides;
    config_.networks = next.networks;
    config_.ignore = next.ignore;
    config_.end_ratio = next.end_ratio;
    config_.end_quiet_ns = next.end_quiet_ns;
    config_.solicited_ratio = next.solicited_ratio;
    config_.solicited_max_amplification = next.solicited_max_amplification;
    config_.generic_min_sources = next.generic_min_sources;
    config_.top_reflectors = next.top_reflectors;
    networks_ = PrefixSet(config_.networks);
    ignore_ = PrefixSet(config_.ignore);
    all_protected_ = networks_.empty() && ignore_.empty();
    overrides_ = PrefixMap<Thresholds>();
    for (const PrefixThresholds& o : config_.overrides) overrides_.insert(o.prefix, o.thresholds);
    for (PlaceCacheEntry& e : place_cache_) e.valid = false;
    // Destinations already tracked take the new thresholds now, not when next evicted.
    for (std::uint32_t i = 0; i < rates_.capacity(); ++i) {
      if (!rates_.used(i)) continue;
      RateSlot& slot = rates_.at(i);
      applyThresholds(slot);
    }
    for (std::uint32_t idx : active_) setEndLevel(attacks_[idx]);
    return kept;
  }

  void finish() noexcept {
    if (now_ns_ == std::numeric_limits<std::int64_t>::min()) return;
    // Complete the current bucket of every active attack so its last window counts.
    std::vector<std::uint32_t> active = active_;
    for (std::uint32_t idx : active) {
      AttackState& a = attacks_[idx];
      advanceSlot(rates_.at(a.slot), rates_.at(a.slot).bucket + 1);
      endAttack(idx);
    }
  }

  std::vector<AttackRecord> attacks() const {
    std::vector<AttackRecord> out;
    out.reserve(attacks_.size());
    for (const AttackState& a : attacks_) {
      AttackRecord r = a.record;
      if (r.active) fillFromTracker(a, r);
      out.push_back(std::move(r));
    }
    std::stable_sort(out.begin(), out.end(), [](const AttackRecord& x, const AttackRecord& y) {
      return x.start_ns < y.start_ns;
    });
    return out;
  }

  std::vector<ScannerRecord> scanners() const { return scanners_.scanners(); }
  const VectorTrafficTable& vectorTraffic() const noexcept { return vector_traffic_; }

  void countVector(Vector v, const PacketSummary& p) noexcept {
    VectorTraffic& t = vector_traffic_[static_cast<std::size_t>(v)];
    t.packets += p.packets;
    t.bytes += p.ip_bytes;
  }

  const EngineStats& stats() const noexcept {
    stats_.scanner_evictions = scanners_.evictions();
    return stats_;
  }
  const DetectionConfig& config() const noexcept { return config_; }

 private:
  struct Tracker {
    Tracker(ExactBudget* budget, std::size_t exact_limit) : sources(budget, exact_limit) {}
    SourceTracker sources;
    std::uint32_t slot = kNone;
    std::uint8_t evidence = 0;
    std::uint8_t possible = 0;  // possibleEvidence() of the slot's vector
    std::uint32_t ransom_checks = 0;
    std::vector<RansomEvidence> notes;
  };

  struct AttackState {
    AttackRecord record;
    std::uint32_t slot = kNone;
    std::int64_t last_hot_ns = 0;  // last packet while the rate was above the end level
    std::uint64_t hot_packets = 0;
    std::uint64_t hot_bytes = 0;
    std::uint64_t hot_fragments = 0;
    std::int64_t quiet_since_ns = -1;
    std::int64_t last_update_ns = 0;
    // The end level (end_ratio times the slot's thresholds) as whole counts: see
    // aboveEndLevel().
    std::uint64_t end_packets = 0;
    std::uint64_t end_bytes = 0;
  };

  static constexpr std::size_t kPlaceCacheSize = 4096;
  struct PlaceCacheEntry {
    IpAddress ip;
    Place place = Place::Outside;
    bool valid = false;
  };

  Place placeOf(const IpAddress& a) noexcept {
    if (all_protected_) return Place::Protected;
    return placeOf(a, a.hash());
  }
  Place placeOf(const IpAddress& a, std::uint64_t hash) noexcept {
    if (all_protected_) return Place::Protected;
    PlaceCacheEntry& e = place_cache_[hash & (kPlaceCacheSize - 1)];
    if (e.valid && e.ip == a) return e.place;
    Place p = Place::Outside;
    if (!ignore_.empty() && ignore_.contains(a)) {
      p = Place::Ignored;
    } else if (networks_.empty() || networks_.contains(a)) {
      p = Place::Protected;
    }
    e = PlaceCacheEntry{a, p, true};
    return p;
  }

  // Multicast and broadcast destinations (mDNS, SSDP NOTIFY, NetBIOS broadcasts) are local
  // chatter; a reflected flood is aimed at a unicast address.
  static bool notAVictim(const IpAddress& a) noexcept {
    const auto& b = a.bytes();
    if (a.isV4()) return (b[12] & 0xf0) == 0xe0 || a.v4() == 0xffffffffu;
    return b[0] == 0xff;
  }

  // Packets mostly fall in the bucket of the one before: remember it instead of dividing.
  [[gnu::always_inline]] std::int64_t bucketOf(std::int64_t ts) const noexcept {
    if (ts >= cached_bucket_start_ && ts < cached_bucket_end_) return cached_bucket_;
    return newBucket(ts);
  }
  [[gnu::noinline]] std::int64_t newBucket(std::int64_t ts) const noexcept {
    const std::int64_t b =
        ts >= 0 ? ts / config_.bucket_ns : (ts - config_.bucket_ns + 1) / config_.bucket_ns;
    if (b > std::numeric_limits<std::int64_t>::min() / config_.bucket_ns + 1 &&
        b < std::numeric_limits<std::int64_t>::max() / config_.bucket_ns - 1) {
      cached_bucket_ = b;
      cached_bucket_start_ = b * config_.bucket_ns;
      cached_bucket_end_ = cached_bucket_start_ + config_.bucket_ns;
    }
    return b;
  }

  // The slot at a prefetchSlot() hint if it still holds the key (a hashed look-up costs about
  // 120 instructions), else the look-up.
  RateSlot* slotFor(std::uint32_t hint, std::uint64_t hash, const IpAddress& dst, Vector v,
                    std::uint16_t port, bool asked, std::int64_t ts) noexcept {
    if (RateSlot* s = rates_.holding(hint, dst, v, port, asked)) return s;
    return slotFor(hash, dst, v, port, asked, ts);
  }
  RateSlot* slotFor(std::uint64_t hash, const IpAddress& dst, Vector v, std::uint16_t port,
                    bool asked, std::int64_t ts) noexcept {
    bool created = false, evicted = false;
    RateSlot* s =
        rates_.findOrCreate(hash, dst, v, port, asked, bucketOf(ts), ts, &created, &evicted);
    if (!s) {
      ++stats_.destination_table_full;
      return nullptr;
    }
    if (evicted) ++stats_.destination_evictions;
    if (created) {
      applyThresholds(*s);
      if (!asked && v != Vector::GenericUdp) {
        if (const RateSlot* a = rates_.find(dst, v, port, true))
          s->last_request_ns = a->last_request_ns;
      }
    }
    return s;
  }

  // The destination's thresholds (longest-prefix override, else the default) and whether it
  // is one of ours, from the current configuration.
  void applyThresholds(RateSlot& s) noexcept {
    const Thresholds* t = overrides_.lookup(s.dst);
    const Thresholds& th = t ? *t : config_.thresholds;
    s.threshold_pps = th.pps;
    s.threshold_bps = th.bps;
    s.threshold_packets = th.pps * window_s_;
    s.threshold_bytes = th.bps / 8 * window_s_;
    s.dst_protected = placeOf(s.dst) == Place::Protected;
    // Packet spacing at the threshold: by packets, or by bytes for full-size datagrams.
    double rate = std::min(th.pps, th.bps / (8.0 * kFullDatagramBytes));
    double gap_s = kRunGapSpacings / std::max(rate, 1e-9);
    s.run_gap_ns =
        static_cast<std::int64_t>(std::clamp(gap_s * 1e9, 1e6, static_cast<double>(window_ns_)));
  }

  // What a packet's classification and keys are, computed a few packets ahead.
  struct Prepared {
    VectorMatch match;
    Vector request = Vector::None;
    Vector key_vector = Vector::None;  // the response key account() will use...
    std::uint16_t key_port = 0;
    bool keyed = false;  // ...when the packet has one (UDP with ports)
    // A datagram of no vector that is no request either: its sender's generic key for the
    // destination port is looked up (see onPacket()).
    bool generic_sender = false;
    // prefetchSlot()'s answers for key_hash and the sender's keys below, and the table's
    // claims() when it gave them.
    std::uint32_t slot_hint = kNone;
    std::uint32_t sender_hint = kNone;
    std::uint32_t sender_unasked_hint = kNone;
    std::uint32_t sender_generic_hint = kNone;
    std::uint32_t claims = 0;
    std::uint64_t src_hash = 0;
    std::uint64_t dst_hash = 0;
    std::uint64_t key_hash = 0;
    // The sender's own keys: for a request, its asked and unasked slots on that service; for
    // a generic sender, its generic slot for the destination port.
    std::uint64_t sender_hash = 0;
    std::uint64_t sender_unasked_hash = 0;
    std::uint64_t sender_generic_hash = 0;
    ScannerTracker::ResponseKey scan_key;  // classified responses
  };
  static constexpr std::size_t kPipeline = 256;
  static constexpr std::size_t kAheadTags = 12;
  static constexpr std::size_t kAheadSlot = 6;

  // A packet's destination port matters to the engine only for requests (classify() tells
  // them by it; the scanner's key carries it) and for datagrams of no vector (the sender's
  // generic key). ChunkGrouper (src/flow) merges flow chunks that differ only in that port
  // when neither applies: a new use of it must change its readsDstPort() too.
  void prepare(const PacketSummary& p, Prepared& q) noexcept {
    q.keyed = false;
    q.generic_sender = false;
    q.slot_hint = kNone;
    q.sender_hint = kNone;
    q.sender_unasked_hint = kNone;
    q.sender_generic_hint = kNone;
    if (p.ip_proto != ipproto::kUdp || !p.hasPorts() || p.isNonFirstFragment()) return;
    // The payload evidence is read in account(), only while the attack still lacks some.
    const Classification c = classifyWithoutEvidence(p);
    q.match = c.response;
    q.request = c.request;
    if (q.match.vector == Vector::None) {
      q.key_vector = Vector::GenericUdp;
      q.key_port = p.src_port;
    } else {
      q.key_vector = q.match.vector;
      q.key_port =
          q.match.vector == Vector::Tftp ? vectorServicePort(Vector::Tftp) : q.match.service_port;
    }
    q.keyed = true;
    q.src_hash = p.src.hash();
    q.dst_hash = p.dst.hash();
    q.key_hash = RateTable::keyHash(q.dst_hash, q.key_vector, q.key_port, false);
    rates_.prefetchTags(q.key_hash);
    if (q.match.vector != Vector::None)
      q.scan_key = ScannerTracker::responseKey(q.src_hash, q.dst_hash, q.key_port);
    if (q.request != Vector::None) {
      const std::uint16_t port = vectorServicePort(q.request);
      q.sender_hash = RateTable::keyHash(q.src_hash, q.request, port, true);
      q.sender_unasked_hash = RateTable::keyHash(q.src_hash, q.request, port, false);
      rates_.prefetchTags(q.sender_hash);
      rates_.prefetchTags(q.sender_unasked_hash);
    }
    q.generic_sender = q.match.vector == Vector::None && q.request == Vector::None;
    if (q.generic_sender) {
      q.sender_generic_hash = RateTable::keyHash(q.src_hash, Vector::GenericUdp, p.dst_port, false);
      rates_.prefetchTags(q.sender_generic_hash);
    }
    if (!all_protected_) __builtin_prefetch(&place_cache_[q.dst_hash & (kPlaceCacheSize - 1)]);
  }

  void prefetchSlot(Prepared& q) noexcept {
    if (!q.keyed) return;
    q.claims = rates_.claims();
    q.slot_hint = rates_.prefetchSlot(q.key_hash);
    if (q.request != Vector::None) {
      q.sender_hint = rates_.prefetchSlot(q.sender_hash);
      q.sender_unasked_hint = rates_.prefetchSlot(q.sender_unasked_hash);
    }
    if (q.generic_sender) q.sender_generic_hint = rates_.prefetchSlot(q.sender_generic_hash);
    if (q.match.vector != Vector::None) scanners_.prefetchResponse(q.scan_key);
  }

  void onPacket(const PacketSummary& p, const Prepared& q) noexcept {
    // Not `if (p.ts_ns > now_ns_)`: packets often share a timestamp, and that branch was
    // mispredicted for a quarter of the packets of a 2 Mpps capture. A sweep always leaves
    // next_sweep_ns_ beyond now_ns_, so nothing sweeps unless time moved.
    now_ns_ = std::max(now_ns_, p.ts_ns);
    if (now_ns_ >= next_sweep_ns_) sweep();
    stats_.packets += p.packets;
    stats_.bytes += p.ip_bytes;
    if (p.ip_proto != ipproto::kUdp) return;

    Vector v = Vector::None;
    std::uint16_t port = 0;
    bool response = false;  // a reflected response: its payload may be evidence
    bool asked = false;     // ... that answers a request its destination sent
    std::uint32_t extra_packets = 0;
    std::uint64_t extra_bytes = 0;
    bool fragment = false;
    bool lookup_only = false;

    if (p.isNonFirstFragment()) {
      std::uint64_t dropped = 0;
      FragmentTable::Entry& e =
          fragments_.slot(FragmentTable::keyOf(p.src, p.dst, p.frag_id), p.ts_ns, &dropped);
      stats_.fragments_unattributed += dropped;
      if (e.vector == Vector::None) {  // its first fragment has not arrived (yet)
        e.pending_packets += p.packets;
        e.pending_bytes += p.ip_bytes;
        return;
      }
      v = e.vector;
      port = e.port;
      fragment = true;
      stats_.fragments_attributed += p.packets;
      if (v != Vector::GenericUdp) countVector(v, p);
    } else {
      if (!p.hasPorts()) return;
      const VectorMatch& m = q.match;
      const Vector request = q.request;
      assert(q.keyed);
      v = q.key_vector;  // the key prepare() hashed
      port = q.key_port;
      if (request != Vector::None) onRequest(p, q, request);
      if (m.vector == Vector::None) {
        // A datagram to a service's port from an unknown port is most likely a client's
        // request; it still counts for a generic key that exists already, because floods aimed
        // at random victim ports hit service ports too (but it creates none: every client's
        // ephemeral port would get a key of its own).
        lookup_only = request != Vector::None;
        // The generic class's own solicitation: what this sender asked of that port. Not for a
        // request to a service's port: no generic key has such a port (datagrams from it are
        // that service's), and a resolver's every query looked for one.
        if (q.generic_sender) {
          if (RateSlot* s =
                  rates_.findHinted(q.sender_generic_hint, q.claims, q.sender_generic_hash, p.src,
                                    Vector::GenericUdp, p.dst_port, false)) {
            addRequest(*s, p);
          }
        }
      } else {
        response = true;
        ++stats_.reflection_packets;
        countVector(v, p);
        asked = scanners_.onResponse(p.dst, q.scan_key, p.ts_ns);
      }
      if (p.isFragment()) {  // first fragment: name the datagram, collect early fragments
        std::uint64_t dropped = 0;
        FragmentTable::Entry& e =
            fragments_.slot(FragmentTable::keyOf(p.src, p.dst, p.frag_id), p.ts_ns, &dropped);
        stats_.fragments_unattributed += dropped;
        if (e.vector == Vector::None) {
          extra_packets = e.pending_packets;
          extra_bytes = e.pending_bytes;
          stats_.fragments_attributed += e.pending_packets;
          e.pending_packets = 0;
          e.pending_bytes = 0;
        }
        e.vector = v;
        e.port = port;
      }
    }
    account(p, q, v, port, response, asked, fragment, extra_packets, extra_bytes, lookup_only);
  }

  void onRequest(const PacketSummary& p, const Prepared& q, Vector v) noexcept {
    scanners_.onRequest(p.src, q.src_hash, p.dst, q.dst_hash, p.dst_port, v, p.ts_ns);
    const std::uint16_t port = vectorServicePort(v);
    if (RateSlot* s = slotFor(q.sender_hint, q.sender_hash, p.src, v, port, true, p.ts_ns))
      addRequest(*s, p);
    // Tell the sender's slot for unasked traffic to check answers against its questions.
    if (RateSlot* u = rates_.findHinted(q.sender_unasked_hint, q.claims, q.sender_unasked_hash,
                                        p.src, v, port, false)) {
      u->last_request_ns = p.ts_ns;
    }
  }

  void addRequest(RateSlot& s, const PacketSummary& p) noexcept {
    s.last_request_ns = p.ts_ns;
    if (const std::int64_t b = bucketOf(p.ts_ns); b > s.bucket) advanceSlot(s, b);
    RateBucket& b = rates_.bucketAt(s);
    b.requests += p.packets;
    b.request_bytes += p.ip_bytes;
    s.win_requests += p.packets;
    s.win_request_bytes += p.ip_bytes;
  }

  // `lookup_only`: count the packet only if its key already exists (a datagram that may be a
  // client's request must not create a key of its own).
  // `response`: a reflected response of vector `v` (not a fragment's tail or a generic key),
  // whose payload may be evidence; `asked`: ScannerTracker::asked() of it, which
  // onResponse() told.
  // Inlined into its one caller: the call, its arguments and the saved registers were about
  // 25 instructions per packet.
  [[gnu::always_inline]] void account(const PacketSummary& p, const Prepared& q, Vector v,
                                      std::uint16_t port, bool response, bool asked, bool fragment,
                                      std::uint32_t extra_packets, std::uint64_t extra_bytes,
                                      bool lookup_only) noexcept {
    if (notAVictim(p.dst)) return;
    const std::uint64_t dst_hash = q.keyed ? q.dst_hash : p.dst.hash();
    if (!all_protected_) {
      const Place dst_place = placeOf(p.dst, dst_hash);
      if (dst_place == Place::Ignored) return;
      if (dst_place == Place::Outside &&
          placeOf(p.src, q.keyed ? q.src_hash : p.src.hash()) != Place::Protected) {
        ++stats_.transit_packets;
        return;
      }
    }
    // Fragments take their datagram's key, which prepare() could not know (it leaves them
    // unkeyed).
    const std::uint64_t key_hash =
        q.keyed ? q.key_hash : RateTable::keyHash(dst_hash, v, port, false);
    // Through the hint prefetchSlot() gave a few packets ago (kNone for fragments).
    RateSlot* sp = lookup_only
                       ? rates_.findHinted(q.slot_hint, q.claims, key_hash, p.dst, v, port, false)
                       : slotFor(q.slot_hint, key_hash, p.dst, v, port, false, p.ts_ns);
    if (!sp) return;
    // An answer from a server the destination asked within the window belongs to its
    // conversations, not to a flood from sources it never asked.
    if (((v != Vector::GenericUdp) & (p.ts_ns - sp->last_request_ns <= window_ns_)) &&
        (response ? asked : scanners_.asked(p.dst, port, p.src))) {
      RateSlot* asked_slot = rates_.holding(sp->asked_twin, p.dst, v, port, true);
      if (!asked_slot) {
        RateSlot* unasked = sp;
        asked_slot =
            slotFor(RateTable::keyHash(dst_hash, v, port, true), p.dst, v, port, true, p.ts_ns);
        if (!asked_slot) return;
        // (Should claiming the asked slot have taken over the unasked one, the hint lands in
        // the asked slot itself, where nothing reads it.)
        unasked->asked_twin = rates_.indexOf(asked_slot);
      }
      sp = asked_slot;
    }
    RateSlot& s = *sp;
    const std::uint64_t n = std::uint64_t{p.packets} + extra_packets;
    const std::uint64_t bytes = p.ip_bytes + extra_bytes;
    std::int64_t b = bucketOf(p.ts_ns);
    std::int64_t ts = p.ts_ns;
    // A chunk out of time order inside its bucket (flows grouped by key): see startsRun().
    const bool unordered = p.flags & pktflag::kUnordered;
    if (b < s.bucket) {
      ++stats_.late_packets;
      // Older than the whole window: its own bucket is gone. It is counted now, as of the
      // slot's newest packet, which keeps the rate of a source that is always this late (an
      // exporter whose clock lags the others', records longer than the flow feed's holdback)
      // instead of losing it.
      if (s.bucket - b >= rates_.windowBuckets()) {
        ++stats_.stale_packets;
        b = s.bucket;
        ts = s.last_ns;
      }
    } else if (b > s.bucket) {  // most packets fall in the slot's newest bucket
      advanceSlot(s, b);
    }

    if (s.attack == kNone) {
      if (startsRun(s, ts, unordered)) {
        s.run_start_ns = ts;  // quiet until now: a possible attack starts here
        s.run_packets = 0;
        s.run_bytes = 0;
        s.early_count = 0;
      } else if (unordered && ts < s.run_start_ns) {
        s.run_start_ns = ts;  // the run's earliest packet came after others of its bucket
      }
    }
    // A late packet still inside the window goes to its own bucket, so it leaves the window
    // when its time does.
    RateBucket& bucket = b == s.bucket ? rates_.bucketAt(s) : rates_.ring(s)[rates_.ringIndex(b)];
    if (bucket.packets == 0 || ts < bucket.first_ns) bucket.first_ns = ts;
    bucket.packets += static_cast<std::uint32_t>(n);
    bucket.bytes += bytes;
    s.win_packets += n;
    s.win_bytes += bytes;
    s.run_packets += n;
    s.run_bytes += bytes;
    s.last_ns = std::max(s.last_ns, ts);
    rates_.touch(s, s.last_ns);

    const auto src_packets = static_cast<std::uint32_t>(std::min<std::uint64_t>(n, UINT32_MAX));
    const auto src_bytes = static_cast<std::uint32_t>(std::min<std::uint64_t>(bytes, UINT32_MAX));
    if (s.tracker == kNone) {
      if (s.win_packets >= std::min(kTrackWatchPackets, s.threshold_packets)) {
        rates_.setTracker(s, allocateTracker(rates_.indexOf(&s)));
        if (s.tracker != kNone) {
          SourceTracker& sources = trackers_[s.tracker]->sources;
          const EarlySources& e = rates_.early(s);
          for (int i = 0; i < s.early_count; ++i) sources.add(e.src[i], e.packets[i], e.bytes[i]);
        }
        s.early_count = 0;
      } else if (s.early_count < kEarlySources) {
        EarlySources& e = rates_.early(s);
        e.src[s.early_count] = p.src;
        e.packets[s.early_count] = src_packets;
        e.bytes[s.early_count] = src_bytes;
        ++s.early_count;
      }
    }
    if (s.tracker != kNone) {
      Tracker& t = *trackers_[s.tracker];
      if (q.keyed) {
        t.sources.add(p.src, q.src_hash, src_packets, bytes);
      } else {
        t.sources.add(p.src, src_packets, bytes);
      }
      // Payloads are read only while the attack lacks evidence its vector can show (a flood's
      // first packets show all there is; reading every payload cost 7 % of the run on small
      // packets) and for the ransom-note checks. The conditions are combined without
      // branches into one that is nearly always false: branches on the kind of each packet
      // are mispredicted whenever floods interleave.
      const bool evidence_due = response & ((t.evidence & t.possible) != t.possible);
      const bool ransom_packet = (v == Vector::Memcached) & (p.payload_len > 8);
      const std::uint32_t checks = t.ransom_checks;
      t.ransom_checks = checks + ransom_packet;
      // Every memcached payload at first, then every 128th.
      const bool ransom_due =
          ransom_packet & ((checks < kRansomFullChecks) | ((checks & 127) == 0));
      if (evidence_due | ransom_due) [[unlikely]]
        readPayload(t, p, v, evidence_due, ransom_due);
    }

    if (s.attack != kNone) {
      AttackState& a = attacks_[s.attack];
      a.record.packets += n;
      a.record.bytes += bytes;
      if (fragment) a.record.fragments += n;
      a.record.end_ns = std::max(a.record.end_ns, ts);
      if (unordered) a.record.start_ns = std::min(a.record.start_ns, ts);  // see startsRun()
      if (aboveEndLevel(a, s)) {
        a.last_hot_ns = a.record.end_ns;
        a.hot_packets = a.record.packets;
        a.hot_bytes = a.record.bytes;
        a.hot_fragments = a.record.fragments;
      }
    } else if ((s.win_packets >= s.threshold_packets || s.win_bytes >= s.threshold_bytes) &&
               !solicited(s)) {
      tryOnset(s, s.last_ns);  // (a busy resolver's answers: above the threshold, solicited)
    }
  }

  // A run (the packets that would make up an attack) restarts after a silence ten times
  // longer than the packet spacing at the threshold rate, or when the window is still below a
  // tenth of the threshold a whole window after the run began: a flood's ramp-up is kept,
  // sparse background before it is not.
  // `unordered`: packets of one bucket come in any order, so only the buckets between two
  // packets are known to be silent.
  bool startsRun(const RateSlot& s, std::int64_t ts, bool unordered) const noexcept {
    if (unordered) {
      const std::int64_t silent_buckets = bucketOf(ts) - bucketOf(s.last_ns) - 1;
      if (silent_buckets > s.run_gap_ns / config_.bucket_ns) return true;
    } else if (ts - s.last_ns > s.run_gap_ns) {
      return true;
    }
    return s.win_packets < s.threshold_packets * kRunWatchFraction &&
           s.win_bytes < s.threshold_bytes * kRunWatchFraction && ts - s.run_start_ns >= window_ns_;
  }

  std::int64_t windowFirstPacket(const RateSlot& s) const noexcept {
    std::int64_t first = std::numeric_limits<std::int64_t>::max();
    const RateBucket* ring = rates_.ring(s);
    for (int k = 0; k < rates_.windowBuckets(); ++k) {
      const RateBucket& b = ring[k];
      if (b.packets != 0) first = std::min(first, b.first_ns);
    }
    return first;
  }

  // The window at or above end_ratio times a threshold. Whole counts compare as the doubles
  // did (a count is at least x exactly when it is at least ceil(x)), without converting two
  // counts and multiplying for every packet of an attack.
  static bool aboveEndLevel(const AttackState& a, const RateSlot& s) noexcept {
    return (s.win_packets >= a.end_packets) | (s.win_bytes >= a.end_bytes);
  }
  static std::uint64_t countAtLeast(double x) noexcept {
    if (std::isnan(x)) return std::numeric_limits<std::uint64_t>::max();  // never reached
    if (x <= 0) return 0;
    if (x >= 0x1p64) return std::numeric_limits<std::uint64_t>::max();
    return static_cast<std::uint64_t>(std::ceil(x));
  }
  void setEndLevel(AttackState& a) const noexcept {
    const RateSlot& s = rates_.at(a.slot);
    a.end_packets = countAtLeast(config_.end_ratio * s.threshold_packets);
    a.end_bytes = countAtLeast(config_.end_ratio * s.threshold_bytes);
  }

  [[gnu::noinline]] void readPayload(Tracker& t, const PacketSummary& p, Vector v,
                                     bool evidence_due, bool ransom_due) {
    if (evidence_due) t.evidence |= payloadEvidence(v, p);
    if (ransom_due) checkRansom(t, p);
  }

  void checkRansom(Tracker& t, const PacketSummary& p) {
    if (t.notes.size() >= kMaxRansomNotes) return;
    std::optional<RansomNote> note = findRansomNote(p.payloadSpan());
    if (!note) return;
    for (const RansomEvidence& e : t.notes) {
      if (e.text == note->text) return;
    }
    t.notes.push_back(RansomEvidence{std::move(note->text), std::move(note->monero_addresses)});
  }

  std::uint32_t allocateTracker(std::uint32_t slot) {
    std::uint32_t idx;
    if (!free_trackers_.empty()) {
      idx = free_trackers_.back();
      free_trackers_.pop_back();
    } else if (trackers_.size() < config_.max_tracked) {
      idx = static_cast<std::uint32_t>(trackers_.size());
      trackers_.emplace_back();
    } else {
      ++stats_.tracker_overflows;
      return kNone;
    }
    trackers_[idx] = std::make_unique<Tracker>(&budget_, config_.exact_sources_per_attack);
    trackers_[idx]->slot = slot;
    trackers_[idx]->possible = possibleEvidence(rates_.at(slot).vector);
    return idx;
  }

  void freeTracker(RateSlot& s) {
    if (s.tracker == kNone) return;
    trackers_[s.tracker].reset();
    free_trackers_.push_back(s.tracker);
    rates_.setTracker(s, kNone);
  }

  // Answers to requests the destination sent are not reflection. Named services: the asked
  // slot holds answers from servers the destination asked, and they must also not dwarf the
  // requests, since spoofed requests are visible where our own servers are abused. The
  // generic class has no per-server check and no byte clause, because any bulk download over
  // UDP (QUIC) is "amplified" in bytes by its acknowledgements.
  bool solicited(const RateSlot& s) const noexcept {
    if (s.vector != Vector::GenericUdp && !s.asked) return false;  // nobody asked these sources
    if (static_cast<double>(s.win_requests) <
        config_.solicited_ratio * static_cast<double>(s.win_packets)) {
      return false;
    }
    return s.vector == Vector::GenericUdp ||
           static_cast<double>(s.win_bytes) <
               config_.solicited_max_amplification * static_cast<double>(s.win_request_bytes);
  }

  // REQUIRES: the window is at the threshold and not solicited().
  void tryOnset(RateSlot& s, std::int64_t ts) {
    if (s.vector == Vector::GenericUdp) {
      if (s.tracker == kNone || trackers_[s.tracker]->sources.distinct() <
                                    static_cast<std::uint64_t>(config_.generic_min_sources)) {
        return;
      }
    }
    AttackState a;
    AttackRecord& r = a.record;
    r.id = attacks_.size() + 1;
    r.victim = s.dst;
    r.direction = s.dst_protected ? Direction::Inbound : Direction::Outbound;
    r.vector = s.vector;
    r.source_port = s.port;
    r.start_ns = s.run_start_ns;
    r.end_ns = s.last_ns;
    r.detected_ns = ts;
    r.packets = s.run_packets;
    r.bytes = s.run_bytes;
    // The attack covers at least the window that crossed the threshold, even when a burst's
    // silence restarted the run inside it.
    std::int64_t window_first = windowFirstPacket(s);
    if (window_first < r.start_ns) {
      r.start_ns = window_first;
      r.packets = s.win_packets;
      r.bytes = s.win_bytes;
    }
    r.threshold_pps = s.threshold_pps;
    r.threshold_bps = s.threshold_bps;
    a.slot = rates_.indexOf(&s);
    a.last_hot_ns = r.end_ns;
    a.hot_packets = r.packets;
    a.hot_bytes = r.bytes;
    a.last_update_ns = ts;
    setEndLevel(a);
    std::uint32_t idx = static_cast<std::uint32_t>(attacks_.size());
    attacks_.push_back(std::move(a));
    rates_.setAttack(s, idx);
    active_.push_back(idx);
    if (listener_) {
      AttackRecord snapshot = attacks_[idx].record;
      fillFromTracker(attacks_[idx], snapshot);
      listener_->onAttackStarted(snapshot);
    }
  }

  // Moves a slot to bucket `b`; when that completes buckets of an attack's slot, the window
  // that just closed is a candidate for the attack's peak.
  void advanceSlot(RateSlot& s, std::int64_t b) noexcept {
    std::int64_t old_bucket = s.bucket;
    std::uint64_t packets = 0, bytes = 0;
    if (!rates_.advance(s, b, &packets, &bytes)) return;
    if (s.attack == kNone) return;
    AttackRecord& r = attacks_[s.attack].record;
    std::int64_t window_end = (old_bucket + 1) * config_.bucket_ns;
    // Only windows wholly inside the attack: not its ramp-up, not the silence after it.
    if (window_end - r.start_ns >= window_ns_ && window_end - config_.bucket_ns <= r.end_ns) {
      r.peak_pps = std::max(r.peak_pps, static_cast<double>(packets) / window_s_);
      r.peak_bps = std::max(r.peak_bps, static_cast<double>(bytes) * 8 / window_s_);
    }
  }

  void fillFromTracker(const AttackState& a, AttackRecord& r) const {
    const RateSlot& s = rates_.at(a.slot);
    if (s.tracker == kNone || !trackers_[s.tracker]) return;
    const Tracker& t = *trackers_[s.tracker];
    r.reflectors = t.sources.distinct();
    r.reflectors_estimated = t.sources.estimated();
    r.top_reflectors = t.sources.top(config_.top_reflectors);
    r.evidence = t.evidence;
    r.ransom_notes = t.notes;
    r.abused_hosts.clear();
    if (r.direction == Direction::Outbound) {
      for (const ReflectorStat& st : t.sources.top(kMaxAbusedHosts))
        r.abused_hosts.push_back(st.ip);
      std::sort(r.abused_hosts.begin(), r.abused_hosts.end());
    }
    if (r.active && r.peak_pps == 0) fillShortPeak(r, r.end_ns);
  }

  // An attack shorter than one window never closes a full window: its rate over its own span
  // is the best estimate of its peak.
  void fillShortPeak(AttackRecord& r, std::int64_t end_ns) const {
    double span_s = std::max<double>(static_cast<double>(end_ns - r.start_ns) / 1e9, 1e-3);
    r.peak_pps = static_cast<double>(r.packets) / std::max(span_s, 1e-3);
    r.peak_bps = static_cast<double>(r.bytes) * 8 / std::max(span_s, 1e-3);
    if (span_s >= window_s_) {  // never claim more than a window could hold
      r.peak_pps = std::min(r.peak_pps, static_cast<double>(r.packets) / window_s_);
      r.peak_bps = std::min(r.peak_bps, static_cast<double>(r.bytes) * 8 / window_s_);
    }
  }

  void endAttack(std::uint32_t idx) {
    AttackState& a = attacks_[idx];
    RateSlot& s = rates_.at(a.slot);
    AttackRecord& r = a.record;
    r.active = false;
    r.end_ns = a.last_hot_ns;
    r.packets = a.hot_packets;
    r.bytes = a.hot_bytes;
    r.fragments = a.hot_fragments;
    fillFromTracker(a, r);
    if (r.peak_pps == 0) fillShortPeak(r, r.end_ns);
    rates_.setAttack(s, kNone);
    freeTracker(s);
    active_.erase(std::find(active_.begin(), active_.end(), idx));
    if (listener_) listener_->onAttackEnded(r);
  }

  void sweep() {
    next_sweep_ns_ = (bucketOf(now_ns_) + 1) * config_.bucket_ns;
    const std::int64_t now_bucket = bucketOf(now_ns_);
    // Backwards, because endAttack() removes the current element from active_.
    for (std::size_t k = active_.size(); k-- > 0;) {
      const std::uint32_t idx = active_[k];
      AttackState& a = attacks_[idx];
      RateSlot& s = rates_.at(a.slot);
      advanceSlot(s, std::max(now_bucket, s.bucket));
      if (aboveEndLevel(a, s)) {
        a.quiet_since_ns = -1;
      } else if (a.quiet_since_ns < 0 || a.last_hot_ns >= a.quiet_since_ns) {
        // Sweeps only run when time moves; the window had drained at the latest one window
        // after the last hot packet, however long the silence before this sweep. A hot
        // packet since the quiet began ends that quiet even if no sweep saw the window
        // above the end level: input that comes in bursts (sFlow agents that send a
        // second's samples at once) moves time only with its bursts, so every sweep runs
        // just before a burst is counted, when the window is empty.
        a.quiet_since_ns = std::min(now_ns_, a.last_hot_ns + window_ns_);
      }
      if (a.quiet_since_ns >= 0 && now_ns_ - a.quiet_since_ns >= config_.end_quiet_ns) {
        endAttack(idx);
        continue;
      }
      if (listener_ && now_ns_ - a.last_update_ns >= kUpdateIntervalNs) {
        a.last_update_ns = now_ns_;
        AttackRecord snapshot = a.record;
        fillFromTracker(a, snapshot);
        listener_->onAttackUpdated(snapshot);
      }
    }
    // Once a second, release trackers of candidates that went quiet.
    if (now_ns_ - last_tracker_sweep_ns_ >= kUpdateIntervalNs) {
      last_tracker_sweep_ns_ = now_ns_;
      for (std::uint32_t i = 0; i < trackers_.size(); ++i) {
        if (!trackers_[i]) continue;
        RateSlot& s = rates_.at(trackers_[i]->slot);
        if (s.attack != kNone) continue;
        advanceSlot(s, std::max(now_bucket, s.bucket));
        if (s.win_packets < kTrackWatchPackets / 2) freeTracker(s);
      }
    }
  }

  DetectionConfig config_;
  AttackListener* listener_;
  PrefixSet networks_;
  PrefixSet ignore_;
  bool all_protected_;  // no networks and nothing ignored: every destination is ours
  PrefixMap<Thresholds> overrides_;
  RateTable rates_;
  FragmentTable fragments_;
  ScannerTracker scanners_;
  ExactBudget budget_;
  std::vector<std::unique_ptr<Tracker>> trackers_;
  std::vector<std::uint32_t> free_trackers_;
  std::vector<AttackState> attacks_;
  std::vector<std::uint32_t> active_;
  std::vector<PlaceCacheEntry> place_cache_;
  std::array<Prepared, kPipeline> prepared_{};
  mutable std::int64_t cached_bucket_ = 0;  // bucketOf()'s last answer, and its span
  mutable std::int64_t cached_bucket_start_ = 1;
  mutable std::int64_t cached_bucket_end_ = 0;
  std::int64_t window_ns_ = 0;
  double window_s_ = 1;
  std::int64_t now_ns_ = std::numeric_limits<std::int64_t>::min();
  // Above now_ns_'s initial value, so that only a packet's time can start the first sweep.
  std::int64_t next_sweep_ns_ = std::numeric_limits<std::int64_t>::min() + 1;
  std::int64_t last_tracker_sweep_ns_ = std::numeric_limits<std::int64_t>::min() / 2;
  mutable EngineStats stats_;
  VectorTrafficTable vector_traffic_{};
};

Engine::Engine(DetectionConfig config, AttackListener* listener)
    : impl_(std::make_unique<Impl>(std::move(config), listener)) {}
Engine::~Engine() = default;
void Engine::process(std::span<const PacketSummary> batch) noexcept { impl_->process(batch); }
void Engine::advanceTime(std::int64_t now_ns) noexcept { impl_->advanceTime(now_ns); }
const VectorTrafficTable& Engine::vectorTraffic() const noexcept { return impl_->vectorTraffic(); }

std::vector<std::string> Engine::reconfigure(const DetectionConfig& config) {
  return impl_->reconfigure(config);
}

void Engine::finish() noexcept { impl_->finish(); }
std::vector<AttackRecord> Engine::attacks() const { return impl_->attacks(); }
std::vector<ScannerRecord> Engine::scanners() const { return impl_->scanners(); }
const EngineStats& Engine::stats() const noexcept { return impl_->stats(); }
const DetectionConfig& Engine::config() const noexcept { return impl_->config(); }

}  // namespace bw
