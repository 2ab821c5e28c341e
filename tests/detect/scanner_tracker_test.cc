// ScannerTracker on its own: sweep counts, answered probes, asked(), the two generations of
// remembered requests, the triple filter checked against a reference model, fixed memory.
#include "detect/scanner_tracker.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <vector>

namespace bw {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kT0 = 1519838460LL * kSec;  // 2018-02-28 17:21:00 UTC
constexpr std::uint16_t kMemcached = 11211;
constexpr std::uint16_t kDns = 53;
constexpr std::size_t kGen = ScannerTracker::kTriplesPerGeneration;

IpAddress v4(std::uint32_t host_order) { return IpAddress::fromV4(host_order); }
IpAddress ip(const char* text) { return *IpAddress::parse(text); }
// Distinct addresses for distinct i (odd multiplier: a bijection on 32 bits).
IpAddress target(std::uint32_t i) { return v4(0x01000000u + i * 2654435761u); }

std::uint64_t splitmix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

const ScannerRecord* recordOf(const std::vector<ScannerRecord>& records, const IpAddress& src) {
  for (const ScannerRecord& r : records) {
    if (r.source == src) return &r;
  }
  return nullptr;
}

TEST(ScannerTracker, SweepQualifiesWithExactCounts) {
  DetectionConfig config;
  ScannerTracker tracker(config);
  const IpAddress scanner = v4(0xCB007105);  // 203.0.113.5
  constexpr std::uint32_t kTargets = 5000;
  for (int round = 0; round < 2; ++round) {  // every target probed twice
    for (std::uint32_t i = 0; i < kTargets; ++i) {
      tracker.onRequest(scanner, target(i), kMemcached, Vector::Memcached,
                        kT0 + (round * kTargets + i) * 1000);
    }
  }
  // 40 targets answer, each three times; one answers from another port; strangers answer too.
  for (int again = 0; again < 3; ++again) {
    for (std::uint32_t i = 0; i < 40; ++i) {
      tracker.onResponse(target(i * 97), scanner, kMemcached, kT0 + 20 * kSec);
    }
    tracker.onResponse(target(4000), scanner, kDns, kT0 + 20 * kSec);
    tracker.onResponse(target(kTargets + 1), scanner, kMemcached, kT0 + 20 * kSec);
  }

  const std::vector<ScannerRecord> records = tracker.scanners();
  ASSERT_EQ(records.size(), 1u);
  const ScannerRecord& r = records[0];
  EXPECT_EQ(r.source, scanner);
  EXPECT_EQ(r.port, kMemcached);
  EXPECT_EQ(r.vector, Vector::Memcached);
  EXPECT_EQ(r.targets, kTargets);
  EXPECT_EQ(r.packets, 2 * kTargets);
  EXPECT_EQ(r.responders, 40u);
  EXPECT_EQ(r.start_ns, kT0);
  EXPECT_EQ(r.end_ns, kT0 + (2 * kTargets - 1) * 1000);
}

TEST(ScannerTracker, AnsweredClientIsNotAScanner) {
  DetectionConfig config;
  ScannerTracker tracker(config);
  const IpAddress resolver = ip("2001:db8::53");
  for (std::uint32_t i = 0; i < 100; ++i) {
    tracker.onRequest(resolver, target(i), kDns, Vector::Dns, kT0 + i);
    if (i % 4 != 0) tracker.onResponse(target(i), resolver, kDns, kT0 + i + 10);
  }
  EXPECT_TRUE(tracker.scanners().empty());  // 75 of 100 answered: above scanner_max_answered

  // With the bar raised the same source is reported, with its exact answer count.
  DetectionConfig lenient;
  lenient.scanner_max_answered = 1.0;
  ScannerTracker counted(lenient);
  for (std::uint32_t i = 0; i < 100; ++i) {
    counted.onRequest(resolver, target(i), kDns, Vector::Dns, kT0 + i);
    if (i % 4 != 0) counted.onResponse(target(i), resolver, kDns, kT0 + i + 10);
  }
  const std::vector<ScannerRecord> records = counted.scanners();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].targets, 100u);
  EXPECT_EQ(records[0].responders, 75u);
}

TEST(ScannerTracker, AskedOnlyForRequestsSent) {
  DetectionConfig config;
  ScannerTracker tracker(config);
  const IpAddress client = v4(0x0A000001);
  const IpAddress server = v4(0x08080808);
  const IpAddress other = v4(0x01010101);
  tracker.onRequest(client, server, kDns, Vector::Dns, kT0);

  EXPECT_TRUE(tracker.asked(client, kDns, server));
  EXPECT_TRUE(tracker.asked(client, client.hash(), kDns, server, server.hash()));
  EXPECT_FALSE(tracker.asked(server, kDns, client));  // the other direction
  EXPECT_FALSE(tracker.asked(client, 123, server));   // another port
  EXPECT_FALSE(tracker.asked(client, kDns, other));   // another server
  EXPECT_FALSE(tracker.asked(other, kDns, server));   // another client
  // A response never adds a request.
  tracker.onResponse(other, client, kDns, kT0 + 1);
  EXPECT_FALSE(tracker.asked(client, kDns, other));
}

TEST(ScannerTracker, OldRequestsAreForgottenAfterTwoGenerations) {
  DetectionConfig config;
  config.scanner_min_targets = 1;
  config.scanner_max_answered = 1.0;
  ScannerTracker tracker(config);
  const IpAddress client = v4(0x0A000001);
  const IpAddress first = v4(0x08080808);
  const IpAddress filler = v4(0xC6336401);
  tracker.onRequest(client, first, kDns, Vector::Dns, kT0);
  tracker.onResponse(first, client, kDns, kT0 + 1);

  // Others' requests fill the rest of this generation and the whole next one: `first` is old
  // but remembered; answered once, it is not counted again.
  std::uint32_t n = 0;
  for (; n < 2 * kGen - 1; ++n) {
    tracker.onRequest(filler, target(n), kMemcached, Vector::Memcached, kT0 + 2);
  }
  EXPECT_TRUE(tracker.asked(client, kDns, first));
  tracker.onResponse(first, client, kDns, kT0 + 3);

  // One more generation: gone.
  for (std::uint32_t end = n + kGen; n < end; ++n) {
    tracker.onRequest(filler, target(n), kMemcached, Vector::Memcached, kT0 + 4);
  }
  EXPECT_FALSE(tracker.asked(client, kDns, first));
  // Asked again, it is a target again.
  tracker.onRequest(client, first, kDns, Vector::Dns, kT0 + 5);
  EXPECT_TRUE(tracker.asked(client, kDns, first));

  const std::vector<ScannerRecord> records = tracker.scanners();
  const ScannerRecord* c = recordOf(records, client);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->targets, 2u);
  EXPECT_EQ(c->packets, 2u);
  EXPECT_EQ(c->responders, 1u);
  const ScannerRecord* f = recordOf(records, filler);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->targets, n);
}

TEST(ScannerTracker, RequestRepeatedFromOldGenerationKeepsItsAnswer) {
  DetectionConfig config;
  config.scanner_min_targets = 1;
  config.scanner_max_answered = 1.0;
  ScannerTracker tracker(config);
  const IpAddress client = v4(0x0A000001);
  const IpAddress server = v4(0x08080808);
  const IpAddress filler = v4(0xC6336401);
  tracker.onRequest(client, server, kDns, Vector::Dns, kT0);
  tracker.onResponse(server, client, kDns, kT0 + 1);
  for (std::uint32_t n = 0; n < kGen + 10; ++n) {  // `server` is now in the old generation
    tracker.onRequest(filler, target(n), kMemcached, Vector::Memcached, kT0 + 2);
  }
  tracker.onRequest(client, server, kDns, Vector::Dns, kT0 + 3);  // moves it to the young one
  for (std::uint32_t n = 0; n < kGen; ++n) {                      // the old one is dropped
    tracker.onRequest(filler, target(kGen + 10 + n), kMemcached, Vector::Memcached, kT0 + 4);
  }
  EXPECT_TRUE(tracker.asked(client, kDns, server));
  tracker.onResponse(server, client, kDns, kT0 + 5);

  const std::vector<ScannerRecord> records = tracker.scanners();
  const ScannerRecord* c = recordOf(records, client);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->targets, 1u);
  EXPECT_EQ(c->packets, 2u);
  EXPECT_EQ(c->responders, 1u);
}

// The tracker against a plain model of its contract: two generations of exact triples, the
// young one aging after kGen insertions, per-source target, packet and answer counts. Every
// asked() must agree with the model, so the filter can never hide a present triple; the
// address, hash and ResponseKey forms of each call are used in turn.
TEST(ScannerTracker, MatchesReferenceModelOverAMillionOperations) {
  using Key = std::tuple<std::uint32_t, std::uint16_t, std::uint32_t>;  // source, port, dst
  struct Model {
    std::map<Key, bool> young, old;  // triple -> answered
    std::map<std::pair<std::uint32_t, std::uint16_t>, ScannerRecord> sources;
    bool* find(const Key& k) {
      if (auto it = young.find(k); it != young.end()) return &it->second;
      if (auto it = old.find(k); it != old.end()) return &it->second;
      return nullptr;
    }
  } model;

  DetectionConfig config;
  config.scanner_min_targets = 1;
  config.scanner_max_answered = 1.0;
  ScannerTracker tracker(config);
  const std::size_t memory = tracker.memoryBytes();

  // 64 sources (the entry table never evicts), 4 ports, 8,192 destinations: 2 Mi triples,
  // so generations age about three times and old triples are asked about and re-requested.
  constexpr std::uint32_t kSources = 64, kDsts = 8192;
  constexpr std::uint16_t kPorts[] = {53, 123, 11211, 1900};
  auto addr = [](std::uint32_t id) { return v4(0x0A000000u + id * 2654435761u); };
  std::uint64_t seed = 7;
  std::uint64_t asked_true = 0, asked_false = 0;
  std::int64_t ts = kT0;
  for (int op = 0; op < 1'000'000; ++op) {
    const std::uint64_t r = splitmix(seed);
    const auto src = static_cast<std::uint32_t>(r % kSources);
    const std::uint16_t port = kPorts[(r >> 8) & 3];
    const auto dst = static_cast<std::uint32_t>(kSources + ((r >> 16) % kDsts));
    const Key key{src, port, dst};
    const IpAddress s = addr(src), d = addr(dst);
    ++ts;
    switch ((r >> 40) % 4) {
      case 0:
      case 1: {  // a request
        if ((r >> 44) & 1) {
          tracker.onRequest(s, d, port, Vector::Dns, ts);
        } else {
          tracker.onRequest(s, s.hash(), d, d.hash(), port, Vector::Dns, ts);
        }
        ScannerRecord& rec = model.sources[{src, port}];
        if (rec.packets == 0) rec.start_ns = ts;
        ++rec.packets;
        rec.end_ns = ts;
        if (model.young.count(key)) break;
        bool* in_old = nullptr;
        if (auto it = model.old.find(key); it != model.old.end()) in_old = &it->second;
        if (model.young.size() >= kGen) {
          model.old = std::move(model.young);
          model.young.clear();
          in_old = nullptr;
        }
        model.young[key] = in_old ? *in_old : false;
        if (!in_old) ++rec.targets;
        break;
      }
      case 2: {  // a response from dst to src, through each of the three forms
        const auto response = ScannerTracker::responseKey(d.hash(), s.hash(), port);
        bool said_asked = false;
        switch ((r >> 44) % 3) {
          case 0:
            said_asked = tracker.onResponse(d, s, port, ts);
            break;
          case 1:
            tracker.prefetchResponse(d, d.hash(), s, s.hash(), port);
            said_asked = tracker.onResponse(d, d.hash(), s, s.hash(), port, ts);
            break;
          default:
            tracker.prefetchResponse(response);
            said_asked = tracker.onResponse(s, response, ts);
            break;
        }
        bool* answered = model.find(key);
        ASSERT_EQ(said_asked, answered != nullptr) << "operation " << op;  // as asked() says
        auto it = model.sources.find({src, port});
        if (answered && !*answered && it != model.sources.end()) {
          *answered = true;
          ++it->second.responders;
        }
        break;
      }
      default: {
        const bool expected = model.find(key) != nullptr;
        const std::uint64_t form = (r >> 44) % 3;
        const bool got = form == 0 ? tracker.asked(s, port, d)
                         : form == 1
                             ? tracker.asked(s, s.hash(), port, d, d.hash())
                             : tracker.asked(ScannerTracker::responseKey(d.hash(), s.hash(), port));
        ASSERT_EQ(got, expected) << "operation " << op;
        (expected ? asked_true : asked_false) += 1;
        break;
      }
    }
  }
  EXPECT_GT(asked_true, 10'000u);  // both answers were exercised
  EXPECT_GT(asked_false, 10'000u);
  EXPECT_EQ(tracker.memoryBytes(), memory);
  EXPECT_EQ(tracker.evictions(), 0u);

  const std::vector<ScannerRecord> records = tracker.scanners();
  ASSERT_EQ(records.size(), model.sources.size());
  for (const auto& [k, want] : model.sources) {
    const IpAddress s = addr(k.first);
    const ScannerRecord* got = nullptr;
    for (const ScannerRecord& rec : records) {
      if (rec.source == s && rec.port == k.second) got = &rec;
    }
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->targets, want.targets);
    EXPECT_EQ(got->packets, want.packets);
    EXPECT_EQ(got->responders, want.responders);
    EXPECT_EQ(got->start_ns, want.start_ns);
    EXPECT_EQ(got->end_ns, want.end_ns);
  }
}

TEST(ScannerTracker, MemoryStaysFixedUnderManySources) {
  DetectionConfig config;
  config.max_scanner_sources = 1024;
  ScannerTracker tracker(config);
  const std::size_t before = tracker.memoryBytes();
  // 200,000 spoofed sources, one request each (none qualifies: nothing is retired), then
  // responses to all of them from strangers.
  for (std::uint32_t i = 0; i < 200'000; ++i) {
    tracker.onRequest(target(i), target(i + 1), kMemcached, Vector::Memcached, kT0 + i);
    tracker.onResponse(target(i + 7), target(i), kMemcached, kT0 + i);
  }
  EXPECT_EQ(tracker.memoryBytes(), before);
  EXPECT_GT(tracker.evictions(), 0u);
  EXPECT_TRUE(tracker.scanners().empty());
}

}  // namespace
}  // namespace bw
