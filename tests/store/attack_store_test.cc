// The attack store as the sensor and the CLI use it: records survive a round trip with every
// field, updates and series upserts, list filters and order, ids across reopen; and the
// failures an operator meets: a process crash mid-write, a concurrent reader, a full disk, a
// corrupt or foreign file, a read-only file.
#include "store/attack_store.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "report/format.h"
#include "report/json_report.h"
#include "report/sample_analysis.h"

namespace bw {
namespace {

using nlohmann::json;
using testing::addr;
using testing::kCaptureStart;

// A fresh temporary directory, removed when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bw-store-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

constexpr double kWall = 1'700'000'000.25;  // a wall-clock detection time

std::unique_ptr<AttackStore> openOrDie(const std::string& path, bool read_only = false) {
  auto s = AttackStore::open(path, read_only);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? std::move(*s) : nullptr;
}

// A plain attack for list and concurrency tests; `start_s` seconds after kCaptureStart.
AttackRecord attack(const char* victim, Vector v, std::uint16_t port, int start_s, int duration_s,
                    std::uint64_t packets = 1000) {
  AttackRecord a;
  a.victim = addr(victim);
  a.vector = v;
  a.source_port = port;
  a.start_ns = kCaptureStart + std::int64_t{start_s} * 1'000'000'000;
  a.end_ns = a.start_ns + std::int64_t{duration_s} * 1'000'000'000;
  a.detected_ns = a.start_ns + 300'000'000;
  a.packets = packets;
  a.bytes = packets * 1400;
  a.peak_pps = 2.0 * static_cast<double>(packets);
  a.peak_bps = a.peak_pps * 11200;
  a.reflectors = 42;
  return a;
}

double startOf(int start_s) { return report::epochSeconds(kCaptureStart) + start_s; }

// What the store must return for `a`: the report's rendering with the store's own fields.
json expectedRecord(const AttackRecord& a, std::uint64_t id, const char* state, double at) {
  json j = attackToJson(a, nullptr);
  j["id"] = id;
  j["state"] = state;
  j["active"] = std::string(state) == "active";
  j["detected_at"] = at;
  return j;
}

std::vector<std::uint64_t> ids(const std::vector<StoredAttack>& v) {
  std::vector<std::uint64_t> out;
  for (const StoredAttack& a : v) out.push_back(a.id);
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(AttackStore, RoundTripKeepsEveryField) {
  TempDir dir;
  const std::string path = dir.file("attacks.db");
  AttackRecord mem = testing::memcachedInbound();  // ransom note, IPv6 top reflector
  AttackRecord ntp = testing::ntpOutbound();       // abused hosts
  AttackRecord udp = testing::genericUdp500();     // IPv6 victim, estimated reflectors
  mem.ransom_notes.push_back({std::string("bad \xff\xfe bytes\n\x1b[2J"), {}});
  std::uint64_t id_mem, id_ntp, id_udp;
  {
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    id_mem = store->insert(mem, kWall).value();
    id_ntp = store->insert(ntp, kWall + 1).value();
    id_udp = store->insert(udp, kWall + 2).value();
  }
  EXPECT_EQ(id_mem, 1u);
  EXPECT_EQ(id_ntp, 2u);
  EXPECT_EQ(id_udp, 3u);

  auto store = openOrDie(path, /*read_only=*/true);
  ASSERT_TRUE(store);
  auto got = store->get(id_mem);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  const StoredAttack& m = **got;
  EXPECT_EQ(m.state, "active");
  EXPECT_EQ(m.detected_at, kWall);
  EXPECT_EQ(m.record, expectedRecord(mem, id_mem, "active", kWall));
  // Spot checks against the inputs, not the rendering.
  EXPECT_EQ(m.record["victim"], "198.18.0.10");
  EXPECT_EQ(m.record["vector"], "memcached");
  EXPECT_EQ(m.record["top_reflectors"].size(), 3u);
  EXPECT_EQ(m.record["top_reflectors"][1]["ip"], "2001:db8::77");
  EXPECT_EQ(m.record["top_reflectors"][1]["bytes"], 7'000'000u);
  EXPECT_EQ(m.record["ransom_notes"][0]["text"], mem.ransom_notes[0].text);
  EXPECT_EQ(m.record["ransom_notes"][0]["monero_addresses"][0],
            mem.ransom_notes[0].monero_addresses[0]);
  EXPECT_EQ(m.record["ransom_notes"][1]["text"], "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes\n\x1b[2J");
  EXPECT_EQ(m.record["start"].get<double>(), report::epochSeconds(mem.start_ns));
  EXPECT_EQ(m.record["packets"], mem.packets);
  EXPECT_EQ(m.record["fragments"], mem.fragments);

  auto n = store->get(id_ntp).value();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->record, expectedRecord(ntp, id_ntp, "active", kWall + 1));
  EXPECT_EQ(n->record["direction"], "outbound");
  EXPECT_EQ(n->record["abused_hosts"], json({"198.18.0.77", "198.18.0.78"}));

  auto u = store->get(id_udp).value();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->record, expectedRecord(udp, id_udp, "active", kWall + 2));
  EXPECT_EQ(u->record["victim"], "2001:db8:feed::1");
  EXPECT_EQ(u->record["vector"], "udp:500");
  EXPECT_EQ(u->record["reflectors_estimated"], true);

  EXPECT_FALSE(store->get(99).value().has_value());
}

TEST(AttackStore, UpdateReplacesFiguresAndEndIsFinal) {
  TempDir dir;
  auto store = openOrDie(dir.file("a.db"));
  ASSERT_TRUE(store);
  AttackRecord a = attack("198.18.0.5", Vector::Dns, 53, 0, 1, 100);
  std::uint64_t id = store->insert(a, kWall).value();

  a.packets = 5000;
  a.end_ns += 9'000'000'000;
  a.reflectors = 900;
  a.top_reflectors = {{addr("192.0.2.1"), 4000, 5'600'000}};
  ASSERT_TRUE(store->update(id, a, false));
  auto got = store->get(id).value();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, "active");
  EXPECT_EQ(got->detected_at, kWall);  // kept from insert
  EXPECT_EQ(got->record, expectedRecord(a, id, "active", kWall));

  a.packets = 6000;
  ASSERT_TRUE(store->update(id, a, true));
  got = store->get(id).value();
  EXPECT_EQ(got->state, "ended");
  EXPECT_EQ(got->record["active"], false);
  EXPECT_EQ(got->record["packets"], 6000u);

  // A late update without `ended` cannot reopen it.
  a.packets = 7000;
  ASSERT_TRUE(store->update(id, a, false));
  got = store->get(id).value();
  EXPECT_EQ(got->state, "ended");
  EXPECT_EQ(got->record["packets"], 7000u);

  Status missing = store->update(4242, a, false);
  EXPECT_FALSE(missing);
  EXPECT_TRUE(contains(missing.message(), "4242")) << missing.message();
  EXPECT_TRUE(contains(missing.message(), dir.file("a.db"))) << missing.message();
}

TEST(AttackStore, SeriesUpsertsBySecond) {
  TempDir dir;
  auto store = openOrDie(dir.file("a.db"));
  ASSERT_TRUE(store);
  std::uint64_t id = store->insert(attack("198.18.0.5", Vector::Ntp, 123, 0, 5), kWall).value();
  std::uint64_t other = store->insert(attack("198.18.0.6", Vector::Ntp, 123, 0, 5), kWall).value();

  std::vector<SeriesPoint> first;
  for (std::int64_t t = 100; t < 105; ++t) {
    first.push_back({t, std::uint64_t(t), std::uint64_t(t) * 10, double(t), double(t) * 80, 1});
  }
  ASSERT_TRUE(store->appendSeries(id, first));
  std::vector<SeriesPoint> second;
  for (std::int64_t t = 103; t < 107; ++t) {
    second.push_back({t, 1000 + std::uint64_t(t), 7, 1.5, 2.5, 9});
  }
  ASSERT_TRUE(store->appendSeries(id, second));
  ASSERT_TRUE(store->appendSeries(other, std::vector<SeriesPoint>{{100, 1, 1, 1, 1, 1}}));

  std::vector<SeriesPoint> want(first.begin(), first.begin() + 3);
  want.insert(want.end(), second.begin(), second.end());
  EXPECT_EQ(store->series(id).value(), want);
  EXPECT_EQ(store->series(other).value().size(), 1u);

  // Figures and series in one update.
  AttackRecord a = attack("198.18.0.5", Vector::Ntp, 123, 0, 8, 4321);
  std::vector<SeriesPoint> third = {{107, 5, 5, 5, 40, 2}};
  ASSERT_TRUE(store->update(id, a, false, third));
  auto got = store->get(id, /*with_series=*/true).value();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->record["packets"], 4321u);
  ASSERT_EQ(got->series.size(), want.size() + 1);
  EXPECT_EQ(got->series.back(), third[0]);

  Status bad = store->appendSeries(77, first);
  EXPECT_FALSE(bad);
  EXPECT_TRUE(contains(bad.message(), "no attack 77")) << bad.message();
  EXPECT_TRUE(store->series(77).value().empty());
}

TEST(AttackStore, ListFiltersAndOrder) {
  TempDir dir;
  auto store = openOrDie(dir.file("a.db"));
  ASSERT_TRUE(store);
  // id: victim, vector, start (s), duration (s), final state
  struct Row {
    const char* victim;
    Vector v;
    std::uint16_t port;
    int start, duration;
    bool ended;
  };
  const Row rows[] = {
      {"198.18.0.1", Vector::Memcached, 11211, 0, 10, true},      // 1
      {"198.18.0.2", Vector::Dns, 53, 100, 10, false},            // 2
      {"198.18.1.9", Vector::Memcached, 11211, 200, 500, true},   // 3
      {"2001:db8:1::5", Vector::GenericUdp, 500, 300, 10, true},  // 4
      {"2001:db8:2::5", Vector::Ntp, 123, 400, 10, false},        // 5
      {"198.18.0.1", Vector::Ntp, 123, 50, 10, true},             // 6
  };
  for (const Row& r : rows) {
    AttackRecord a = attack(r.victim, r.v, r.port, r.start, r.duration);
    std::uint64_t id = store->insert(a, kWall).value();
    if (r.ended) {
      ASSERT_TRUE(store->update(id, a, true));
    }
  }
  auto list = [&](const ListFilter& f) {
    auto r = store->list(f);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? ids(*r) : std::vector<std::uint64_t>{};
  };
  using V = std::vector<std::uint64_t>;
  ListFilter all;
  EXPECT_EQ(list(all), (V{5, 2, 4, 3, 6, 1}));  // active newest first, then ended newest first

  ListFilter f;
  f.active_only = true;
  EXPECT_EQ(list(f), (V{5, 2}));

  f = {};
  f.since = startOf(250);  // still going at 250 s: 3 (200..700), 4, 5, and active 2
  EXPECT_EQ(list(f), (V{5, 2, 4, 3}));
  f.until = startOf(300);  // and started by 300 s
  EXPECT_EQ(list(f), (V{2, 4, 3}));

  f = {};
  f.victim = Prefix::parse("198.18.0.1").value();
  EXPECT_EQ(list(f), (V{6, 1}));
  f.victim = Prefix::parse("198.18.0.0/24").value();
  EXPECT_EQ(list(f), (V{2, 6, 1}));
  f.victim = Prefix::parse("198.18.0.0/15").value();
  EXPECT_EQ(list(f), (V{2, 3, 6, 1}));
  f.victim = Prefix::parse("2001:db8:1::/48").value();
  EXPECT_EQ(list(f), (V{4}));
  f.victim = Prefix::parse("2001:db8::/32").value();
  EXPECT_EQ(list(f), (V{5, 4}));

  f = {};
  f.vector = "MEMCACHED";
  EXPECT_EQ(list(f), (V{3, 1}));
  f.vector = "udp:500";
  EXPECT_EQ(list(f), (V{4}));
  f.vector = "ntp";
  f.victim = Prefix::parse("198.18.0.0/16").value();
  EXPECT_EQ(list(f), (V{6}));

  f = {};
  f.limit = 1;
  EXPECT_EQ(list(f), (V{5}));
  f.limit = 3;  // the limit spans both groups
  EXPECT_EQ(list(f), (V{5, 2, 4}));

  // Streaming stops when the sink says so.
  int seen = 0;
  ASSERT_TRUE(store->forEach({}, false, [&](const StoredAttack&) { return ++seen < 2; }));
  EXPECT_EQ(seen, 2);
}

TEST(AttackStore, IdsStableAcrossReopen) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  json first;
  {
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(store->insert(attack("198.18.0.1", Vector::Dns, 53, i, 1), kWall).value(),
                std::uint64_t(i + 1));
    }
    first = store->get(2).value()->record;
  }
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->get(2).value()->record, first);
  EXPECT_EQ(store->insert(attack("198.18.0.1", Vector::Dns, 53, 9, 1), kWall).value(), 4u);
}

TEST(AttackStore, CallerChosenIdsContinueAfterTheLastOne) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->lastId().value(), 0u);
  AttackRecord a = attack("198.18.0.1", Vector::Dns, 53, 0, 1);
  ASSERT_TRUE(store->insert(7, a, kWall));
  EXPECT_EQ(store->lastId().value(), 7u);
  EXPECT_EQ(store->get(7).value()->record["id"], 7);
  EXPECT_EQ(store->get(7).value()->state, "active");
  // Taken and invalid ids are refused, and leave nothing behind.
  EXPECT_FALSE(store->insert(7, a, kWall));
  EXPECT_FALSE(store->insert(0, a, kWall));
  // Automatic ids continue after the chosen one, also after a reopen.
  EXPECT_EQ(store->insert(a, kWall).value(), 8u);
  store.reset();
  store = openOrDie(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->lastId().value(), 8u);
  EXPECT_EQ(store->list(ListFilter{}).value().size(), 2u);
}

TEST(AttackStore, MarkAllActiveEndedClosesLeftovers) {
  TempDir dir;
  auto store = openOrDie(dir.file("a.db"));
  ASSERT_TRUE(store);
  AttackRecord a = attack("198.18.0.1", Vector::Dns, 53, 0, 1);
  std::uint64_t done = store->insert(a, kWall).value();
  ASSERT_TRUE(store->update(done, a, true));
  std::uint64_t left1 = store->insert(a, kWall).value();
  std::uint64_t left2 = store->insert(a, kWall).value();
  EXPECT_EQ(store->markAllActiveEnded(kWall + 60).value(), 2u);
  for (std::uint64_t id : {left1, left2}) {
    auto got = store->get(id).value();
    EXPECT_EQ(got->state, "ended");
    EXPECT_EQ(got->record["interrupted"], true);
    EXPECT_EQ(got->record["closed_at"], kWall + 60);
    EXPECT_EQ(got->record["packets"], a.packets);
  }
  EXPECT_FALSE(store->get(done).value()->record.contains("interrupted"));
  EXPECT_EQ(store->markAllActiveEnded(kWall + 61).value(), 0u);
}

TEST(AttackStore, ThreadsShareOneStore) {
  TempDir dir;
  auto store = openOrDie(dir.file("a.db"));
  ASSERT_TRUE(store);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (!store->insert(attack("198.18.0.1", Vector::Dns, 53, i, 1), kWall).ok()) ++failures;
        ListFilter newest;
        newest.limit = 5;
        if (!store->list(newest).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto all = store->list({}).value();
  EXPECT_EQ(all.size(), 200u);
  std::set<std::uint64_t> distinct;
  for (const auto& a : all) distinct.insert(a.id);
  EXPECT_EQ(distinct.size(), 200u);
}

// The writer used by the cross-process tests: `attacks` attacks, each updated `steps` times
// with one series second per update, in one transaction per update, so a reader that sees a
// record's packets must see exactly that many packets in its series.
void writeSteadily(const std::string& path, int attacks, int steps, int progress_fd = -1) {
  auto opened = AttackStore::open(path);
  if (!opened) _exit(10);
  AttackStore& store = **opened;
  for (int i = 0; i < attacks; ++i) {
    AttackRecord a = attack("198.18.0.7", Vector::Memcached, 11211, i, 1, 0);
    auto id = store.insert(a, kWall + i);
    if (!id) _exit(11);
    for (int k = 1; k <= steps; ++k) {
      a.packets = std::uint64_t(k) * 1000;
      SeriesPoint p{1'700'000'000 + k, 1000, 1'400'000, 1000, 1.12e7, 5};
      if (!store.update(*id, a, k == steps, std::span<const SeriesPoint>(&p, 1))) _exit(12);
      if (progress_fd >= 0) {
        std::uint32_t done = static_cast<std::uint32_t>(i * steps + k);
        if (write(progress_fd, &done, sizeof done) != sizeof done) _exit(13);
      }
    }
  }
}

// Every attack's figures agree with its series: both were written in one transaction.
void expectConsistent(const std::vector<StoredAttack>& all) {
  for (const StoredAttack& a : all) {
    std::uint64_t sum = 0;
    for (const SeriesPoint& p : a.series) sum += p.packets;
    EXPECT_EQ(a.record["packets"].get<std::uint64_t>(), sum) << "attack " << a.id;
    EXPECT_EQ(a.state == "ended", a.series.size() == 20u) << "attack " << a.id;
  }
}

TEST(AttackStore, ReaderDuringWritesSeesConsistentSnapshots) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  { ASSERT_TRUE(openOrDie(path)); }  // created before the writer starts
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    writeSteadily(path, 30, 20);
    _exit(0);
  }
  auto reader = openOrDie(path, /*read_only=*/true);
  ASSERT_TRUE(reader);
  int reads = 0, reads_mid_attack = 0;
  std::size_t last_count = 0;
  int status = 0;
  for (;;) {
    bool writer_done = waitpid(child, &status, WNOHANG) == child;
    auto all = reader->list({}, /*with_series=*/true);
    ASSERT_TRUE(all.ok()) << all.error().message;
    ++reads;
    EXPECT_GE(all->size(), last_count);  // rows never disappear
    last_count = all->size();
    expectConsistent(*all);
    if (!all->empty() && all->front().state == "active") ++reads_mid_attack;
    if (writer_done) break;
  }
  ASSERT_TRUE(WIFEXITED(status)) << status;
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(last_count, 30u);
  EXPECT_GT(reads_mid_attack, 0) << "the reader never ran while an attack was being written";
  std::printf("reads while writing: %d (%d during an active attack)\n", reads, reads_mid_attack);
}

TEST(AttackStore, ProcessCrashKeepsCommittedRows) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  // A writer that exits without closing anything: no checkpoint, the rows live in the WAL.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    writeSteadily(path, 3, 20);
    auto leak = AttackStore::open(path);
    if (!leak) _exit(20);
    if (!(*leak)->insert(attack("198.18.0.8", Vector::Dns, 53, 0, 1), kWall)) _exit(21);
    leak->release();  // never closed
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(std::filesystem::exists(path + "-wal"));

  auto store = openOrDie(path, /*read_only=*/true);
  ASSERT_TRUE(store);
  auto all = store->list({}, true).value();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all.front().record["victim"], "198.18.0.8");
  all.erase(all.begin());
  expectConsistent(all);

  // Killed mid-stream: whatever it last reported as committed is there, and every row is whole.
  const std::string killed = dir.file("killed.db");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    writeSteadily(killed, 1000, 20, fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::uint32_t committed = 0, value = 0;
  while (committed < 150 && read(fds[0], &value, sizeof value) == sizeof value) committed = value;
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
  close(fds[0]);
  ASSERT_GE(committed, 150u);
  auto after = openOrDie(killed);  // read-write: recovers the WAL as the restarted sensor would
  ASSERT_TRUE(after);
  auto rows = after->list({}, true).value();
  std::uint64_t updates = 0;
  for (const auto& a : rows) updates += a.series.size();
  EXPECT_GE(updates, committed);
  expectConsistent(rows);
  EXPECT_LE(after->markAllActiveEnded(kWall).value(), 1u);
}

// Fills the store with large records until a write fails; returns the committed inserts.
int fillUntilFull(AttackStore& store, std::string* error) {
  AttackRecord a = testing::memcachedInbound();
  a.ransom_notes[0].text = std::string(3000, 'x');
  for (int i = 0; i < 100000; ++i) {
    auto id = store.insert(a, kWall + i);
    if (!id) {
      *error = id.error().message;
      return i;
    }
    std::vector<SeriesPoint> points(20);
    for (int k = 0; k < 20; ++k) points[k] = {k, 1, 1, 1, 1, 1};
    if (Status st = store.appendSeries(*id, points); !st) {
      *error = st.message();
      return i + 1;
    }
  }
  return -1;
}

TEST(AttackStore, SizeLimitActsLikeAFullDisk) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  StoreOptions options;
  options.max_size_bytes = 128 * 1024;
  auto store = AttackStore::open(path, options);
  ASSERT_TRUE(store.ok()) << store.error().message;
  std::string error;
  int inserted = fillUntilFull(**store, &error);
  ASSERT_GT(inserted, 0);
  EXPECT_TRUE(contains(error, path)) << error;
  EXPECT_TRUE(contains(error, "full")) << error;
  // Still usable: everything committed reads back, and a failed write left no half rows.
  auto all = (*store)->list({}, true);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_GE(all->size(), std::size_t(inserted) - 1);
  EXPECT_LE(all->size(), std::size_t(inserted));
  store->reset();
  auto bigger = openOrDie(path);
  ASSERT_TRUE(bigger);
  EXPECT_TRUE(bigger->insert(attack("198.18.0.1", Vector::Dns, 53, 0, 1), kWall).ok());
}

// A real full file system: a 256 KiB tmpfs in a private mount namespace (root only), with a
// 64 KiB ballast file to delete once it is full, as an operator would. The child does the work and
// reports one line: "<inserted> <read back> <recovered> <error>".
TEST(AttackStore, FullTmpfsIsAClearErrorAndTheStoreStaysReadable) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  TempDir dir;
  const std::string mnt = dir.file("mnt");
  std::filesystem::create_directory(mnt);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    if (unshare(CLONE_NEWNS) != 0) _exit(77);
    if (mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(77);
    if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k") != 0) _exit(77);
    std::string path = mnt + "/attacks.db";
    std::ofstream(mnt + "/ballast") << std::string(64 * 1024, 'b');
    std::string error, line;
    int inserted = -2;
    std::size_t back = 0;
    bool recovered = false;
    {
      auto store = AttackStore::open(path);
      if (!store) {
        line = "-3 0 " + store.error().message;
      } else {
        inserted = fillUntilFull(**store, &error);
        auto all = (*store)->list({}, true);
        back = all.ok() ? all->size() : 0;
        // The operator frees some space: the store takes writes again.
        std::filesystem::remove(mnt + "/ballast");
        recovered = (*store)->insert(attack("198.18.0.1", Vector::Dns, 53, 0, 1), kWall).ok();
        if (recovered) ++back;
      }
    }
    if (line.empty()) {
      // And from a fresh reader, as `breakwater attacks list` would.
      auto reader = AttackStore::open(path, true);
      std::size_t fresh = 0;
      if (reader) {
        auto all = (*reader)->list({});
        fresh = all.ok() ? all->size() : 0;
      }
      line = std::to_string(inserted) + " " + std::to_string(std::min(back, fresh)) + " " +
             (recovered ? "1 " : "0 ") + error;
    }
    if (write(fds[1], line.data(), line.size()) < 0) _exit(2);
    umount(mnt.c_str());
    _exit(0);
  }
  close(fds[1]);
  std::string line;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) line.append(buf, std::size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
    GTEST_SKIP() << "no private mount namespace here (unshare/mount refused)";
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child died: " << status;
  int inserted = -1, recovered = -1;
  std::size_t back = 0;
  int consumed = 0;
  ASSERT_EQ(std::sscanf(line.c_str(), "%d %zu %d %n", &inserted, &back, &recovered, &consumed), 3)
      << line;
  std::string error = line.substr(std::size_t(consumed));
  std::printf("tmpfs 256k: %d attacks recorded before: %s\n", inserted, error.c_str());
  ASSERT_GT(inserted, 0) << line;
  EXPECT_TRUE(contains(error, "the disk is full")) << error;
  EXPECT_TRUE(contains(error, mnt + "/attacks.db")) << error;
  EXPECT_GE(back, std::size_t(inserted) - 1 + std::size_t(recovered));
  EXPECT_EQ(recovered, 1) << "no write succeeded after space was freed";
}

TEST(AttackStore, BadFilesAreOneClearSentenceAtOpen) {
  TempDir dir;
  auto openError = [](const std::string& path, bool read_only) {
    auto s = AttackStore::open(path, read_only);
    return s.ok() ? std::string("opened") : s.error().message;
  };
  // Missing, read-only.
  std::string e = openError(dir.file("none.db"), true);
  EXPECT_TRUE(contains(e, dir.file("none.db")) && contains(e, "no attack store")) << e;

  // Not SQLite at all.
  const std::string garbage = dir.file("garbage.db");
  std::ofstream(garbage) << std::string(8192, 'Z');
  for (bool ro : {false, true}) {
    e = openError(garbage, ro);
    EXPECT_TRUE(contains(e, garbage) && contains(e, "not an SQLite database")) << e;
  }

  // An SQLite header followed by a damaged first page.
  const std::string damaged = dir.file("damaged.db");
  {
    auto s = openOrDie(damaged);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->insert(attack("198.18.0.1", Vector::Dns, 53, 0, 1), kWall).ok());
  }
  {
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    std::string junk(3000, '\x5a');
    f.write(junk.data(), std::streamsize(junk.size()));
  }
  e = openError(damaged, true);
  EXPECT_TRUE(contains(e, damaged) && (contains(e, "corrupt"))) << e;

  // Some other application's database, left untouched.
  const std::string foreign = dir.file("foreign.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(foreign.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE notes (x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  e = openError(foreign, false);
  EXPECT_TRUE(contains(e, foreign) && contains(e, "other application")) << e;
  EXPECT_FALSE(std::filesystem::exists(foreign + "-wal"));

  // Written by a newer version.
  const std::string newer = dir.file("newer.db");
  { ASSERT_TRUE(openOrDie(newer)); }
  ASSERT_EQ(sqlite3_open(newer.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  e = openError(newer, true);
  EXPECT_TRUE(contains(e, newer) && contains(e, "newer")) << e;

  // An empty file is a new store for the sensor, but nothing for a reader to read.
  const std::string empty = dir.file("empty.db");
  std::ofstream{empty};
  e = openError(empty, true);
  EXPECT_TRUE(contains(e, "not an attack store yet")) << e;
  EXPECT_EQ(openError(empty, false), "opened");

  // A directory.
  e = openError(dir.file(""), false);
  EXPECT_TRUE(contains(e, "directory")) << e;
}

TEST(AttackStore, CorruptPagesAreReportedNotCrashed) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  {
    auto s = openOrDie(path);
    ASSERT_TRUE(s);
    std::string error;
    for (int i = 0; i < 200; ++i) {
      AttackRecord a = testing::memcachedInbound();
      ASSERT_TRUE(s->insert(a, kWall + i).ok());
    }
  }
  auto size = std::filesystem::file_size(path);
  ASSERT_GT(size, 8 * 4096u);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    for (std::uintmax_t off = 4096; off + 4096 < size; off += 4096) {  // every page but the first
      f.seekp(std::streamoff(off));
      std::string junk(4096, '\xa5');
      f.write(junk.data(), 4096);
    }
  }
  auto store = AttackStore::open(path, true);
  if (!store) {
    EXPECT_TRUE(contains(store.error().message, "corrupt")) << store.error().message;
    return;
  }
  auto all = (*store)->list({});
  ASSERT_FALSE(all.ok());
  EXPECT_TRUE(contains(all.error().message, path)) << all.error().message;
  EXPECT_TRUE(contains(all.error().message, "corrupt")) << all.error().message;
}

TEST(AttackStore, ReadOnlyFileAndReadOnlyHandle) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  { ASSERT_TRUE(openOrDie(path)); }
  auto reader = openOrDie(path, true);
  ASSERT_TRUE(reader);
  auto id = reader->insert(attack("198.18.0.1", Vector::Dns, 53, 0, 1), kWall);
  ASSERT_FALSE(id.ok());
  EXPECT_TRUE(contains(id.error().message, "read-only")) << id.error().message;
  EXPECT_TRUE(reader->list({}).ok());

  // A file this user cannot write: as root, drop to nobody in a child to see it.
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  ASSERT_EQ(chmod(dir.file("").c_str(), 0755), 0);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    if (geteuid() == 0 && setuid(65534) != 0) _exit(3);
    if (geteuid() != 0) chmod(path.c_str(), 0444);
    auto s = AttackStore::open(path);
    std::string msg = s.ok() ? "opened" : s.error().message;
    if (write(fds[1], msg.data(), msg.size()) < 0) _exit(2);
    _exit(0);
  }
  close(fds[1]);
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, std::size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(contains(msg, path) && contains(msg, "read-only")) << msg;
}

// Operators read the store as another user with read access only. With the sensor stopped
// there is no -shm and they cannot create one; with it running they share its -shm.
TEST(AttackStore, AnotherUserReadsWithoutWriteAccess) {
  if (geteuid() != 0) GTEST_SKIP() << "switching to another user needs root";
  TempDir dir;
  const std::string path = dir.file("a.db");
  ASSERT_EQ(chmod(dir.file("").c_str(), 0755), 0);
  auto countAsNobody = [&]() -> std::string {
    int fds[2];
    if (pipe(fds) != 0) return "pipe failed";
    pid_t child = fork();
    if (child == 0) {
      close(fds[0]);
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
      auto s = AttackStore::open(path, true);
      std::string msg = !s ? s.error().message : [&] {
        auto all = (*s)->list({});
        return all ? std::to_string(all->size()) : all.error().message;
      }();
      if (write(fds[1], msg.data(), msg.size()) < 0) _exit(2);
      _exit(0);
    }
    close(fds[1]);
    std::string msg;
    char buf[512];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, std::size_t(n));
    close(fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    return msg;
  };
  {
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->insert(attack("198.18.0.1", Vector::Dns, 53, 0, 1), kWall).ok());
  }
  ASSERT_FALSE(std::filesystem::exists(path + "-wal"));  // a clean close folds the WAL back
  EXPECT_EQ(countAsNobody(), "1");

  auto writer = openOrDie(path);  // the sensor running: its rows are still in the WAL
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->insert(attack("198.18.0.2", Vector::Dns, 53, 1, 1), kWall).ok());
  ASSERT_TRUE(std::filesystem::exists(path + "-shm"));
  EXPECT_EQ(countAsNobody(), "2");
}

}  // namespace
}  // namespace bw
