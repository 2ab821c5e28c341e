// `breakwater attacks` as an operator meets it: the real binary reading a store this test
// fills through AttackStore, in every format, with filters; one-sentence errors with exit 2
// for bad flags and 3 for a missing, corrupt or unknown store or attack; and listing while
// another process keeps writing.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_support.h"
#include "report/format.h"
#include "report/sample_analysis.h"
#include "store/attack_store.h"

namespace bw {
namespace {

using nlohmann::json;
using testing::has;
using testing::lines;
using testing::readFile;
using testing::runBreakwater;
using testing::TempDir;

std::vector<std::uint64_t> idsOf(const json& attacks) {
  std::vector<std::uint64_t> out;
  for (const json& a : attacks) out.push_back(a.at("id").get<std::uint64_t>());
  return out;
}

// Three attacks: 1 memcached inbound (ended, ransom note, 10 s series with a gap),
// 2 NTP outbound (ended, abused hosts), 3 generic udp:500 on an IPv6 victim (active).
class AttacksCli : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = dir_.file("attacks.db");
    auto opened = AttackStore::open(store_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    AttackStore& s = **opened;
    AttackRecord mem = testing::memcachedInbound();
    std::uint64_t id = s.insert(mem, 1519838462.3).value();
    // pps = 100 * t for t = 0..9 (t = 5 missing), so means over two-second rows are known.
    for (std::int64_t t = 0; t < 10; ++t) {
      if (t == 5) continue;
      std::uint64_t n = 100 * std::uint64_t(t);
      series_.push_back({kT0 + t, n, n * 1000, double(n), double(n) * 8000, std::uint64_t(t)});
    }
    ASSERT_TRUE(s.update(id, mem, true, series_));
    AttackRecord ntp = testing::ntpOutbound();
    id = s.insert(ntp, 1519838463.1).value();
    ASSERT_TRUE(s.update(id, ntp, true));
    ASSERT_TRUE(s.insert(testing::genericUdp500(), 1519838466.5).ok());
  }

  static constexpr std::int64_t kT0 = 1519838462;
  TempDir dir_;
  std::string store_;
  std::vector<SeriesPoint> series_;
};

TEST_F(AttacksCli, ListTextIsATableActiveFirst) {
  auto r = runBreakwater({"attacks", "list", "--store", store_});
  ASSERT_EQ(r.status, 0) << r.err;
  auto ls = lines(r.out);
  ASSERT_GE(ls.size(), 5u) << r.out;
  EXPECT_TRUE(has(ls[0], "VICTIM") && has(ls[0], "PEAK Gbit/s") && has(ls[0], "PEAK Mpps") &&
              has(ls[0], "REFLECTORS"))
      << ls[0];
  EXPECT_TRUE(has(ls[1], "2001:db8:feed::1") && has(ls[1], "active") && has(ls[1], "udp:500"))
      << ls[1];
  EXPECT_TRUE(has(ls[2], "203.0.113.99") && has(ls[2], "ntp") && has(ls[2], "out")) << ls[2];
  // 1.21 Gbit/s and 100 kpps peaks in fixed units; 300 reflectors; 2018-02-28 17:21:02 start.
  EXPECT_TRUE(has(ls[3], "198.18.0.10") && has(ls[3], "1.210") && has(ls[3], "0.100") &&
              has(ls[3], "300") && has(ls[3], "2018-02-28 17:21:02") && has(ls[3], "4.99 s"))
      << ls[3];
  EXPECT_TRUE(has(r.out, "3 attacks, 1 active")) << r.out;

  r = runBreakwater({"attacks", "list", "--store", store_, "--limit", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "more attacks match")) << r.out;
}

TEST_F(AttacksCli, ListJsonAndFilters) {
  auto list = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"attacks", "list", "--store", store_, "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = runBreakwater(args);
    EXPECT_EQ(r.status, 0) << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.out;
    return j.is_object() ? idsOf(j.at("attacks")) : std::vector<std::uint64_t>{};
  };
  using V = std::vector<std::uint64_t>;
  EXPECT_EQ(list({}), (V{3, 2, 1}));
  EXPECT_EQ(list({"--active"}), (V{3}));
  EXPECT_EQ(list({"--victim", "198.18.0.0/24"}), (V{1}));
  EXPECT_EQ(list({"--victim", "2001:db8:feed::1"}), (V{3}));
  EXPECT_EQ(list({"--vector", "NTP"}), (V{2}));
  EXPECT_EQ(list({"--vector", "udp:500"}), (V{3}));
  // Attack 1 ends 17:21:07.002, attack 2 at 17:21:05.5; 3 is active.
  EXPECT_EQ(list({"--since", "2018-02-28T17:21:06Z"}), (V{3, 1}));
  EXPECT_EQ(list({"--since", "1519838466", "--until", "2018-02-28 18:21:02.5+01:00"}), (V{1}));
  EXPECT_EQ(list({"--until", "2018-02-28"}), (V{}));
  EXPECT_EQ(list({"--since", "1h"}), (V{3}));

  auto r = runBreakwater({"attacks", "list", "--store", store_, "--format", "json"});
  json j = json::parse(r.out);
  const json& mem = j["attacks"][2];
  EXPECT_EQ(mem["state"], "ended");
  EXPECT_EQ(mem["detected_at"], 1519838462.3);
  EXPECT_EQ(mem["packets"], 498'331u);
  EXPECT_EQ(mem["top_reflectors"][1]["ip"], "2001:db8::77");
  EXPECT_EQ(mem["ransom_notes"][0]["monero_addresses"].size(), 1u);
  EXPECT_EQ(j["attacks"][1]["abused_hosts"], json({"198.18.0.77", "198.18.0.78"}));
}

TEST_F(AttacksCli, ShowTextAndJson) {
  auto r = runBreakwater({"attacks", "show", "1", "--store", store_, "--rows", "5"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "Attack 1: memcached on 198.18.0.10, inbound, ended")) << r.out;
  EXPECT_TRUE(has(r.out, "2018-02-28 17:21:02.013 UTC")) << r.out;
  EXPECT_TRUE(has(r.out, "2018-02-28 17:21:02.300 UTC")) << r.out;  // detected, wall clock
  EXPECT_TRUE(has(r.out, "498,331 packets")) << r.out;
  EXPECT_TRUE(has(r.out, "2001:db8::77")) << r.out;
  EXPECT_TRUE(has(r.out, "4AdUndXHHZ6cf")) << r.out;
  // 10 s in 5 rows of 2 s: mean pps (0+100)/2, (200+300)/2, (400+0)/2 (t=5 missing), ...
  EXPECT_TRUE(has(r.out, "2 s per row")) << r.out;
  auto ls = lines(r.out);
  std::vector<std::string> rows;
  for (const std::string& l : ls) {
    if (l.rfind("  17:21:", 0) == 0) rows.push_back(l);
  }
  ASSERT_EQ(rows.size(), 5u) << r.out;
  EXPECT_TRUE(has(rows[0], "17:21:02") && has(rows[0], "50 pps") && has(rows[0], "100")) << rows[0];
  EXPECT_TRUE(has(rows[1], "250 pps") && has(rows[1], "500")) << rows[1];
  EXPECT_TRUE(has(rows[2], "200 pps") && has(rows[2], "400")) << rows[2];
  EXPECT_TRUE(has(rows[4], "850 pps") && has(rows[4], "1,700")) << rows[4];

  r = runBreakwater({"attacks", "show", "1", "--store", store_, "--rows", "0"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "9 points")) << r.out;

  r = runBreakwater({"attacks", "show", "1", "--store", store_, "--format", "json"});
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["id"], 1u);
  ASSERT_EQ(j["series"].size(), series_.size());
  for (std::size_t i = 0; i < series_.size(); ++i) {
    EXPECT_EQ(j["series"][i]["t"], series_[i].t);
    EXPECT_EQ(j["series"][i]["packets"], series_[i].packets);
    EXPECT_EQ(j["series"][i]["bps"], series_[i].bps);
    EXPECT_EQ(j["series"][i]["reflectors"], series_[i].reflectors);
  }

  r = runBreakwater({"attacks", "show", "3", "--store", store_});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "ACTIVE") && has(r.out, "so far") && has(r.out, "70,000 (estimated)"))
      << r.out;
}

TEST_F(AttacksCli, ExportFormats) {
  auto r = runBreakwater({"attacks", "export", "--store", store_});
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(idsOf(j["attacks"]), (std::vector<std::uint64_t>{3, 2, 1}));
  EXPECT_EQ(j["attacks"][2]["series"].size(), series_.size());

  const std::string out = dir_.file("export.jsonl");
  r = runBreakwater(
      {"attacks", "export", "--store", store_, "-f", "jsonl", "-o", out, "--vector", "memcached"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto ls = lines(readFile(out));
  ASSERT_EQ(ls.size(), 1u);
  json one = json::parse(ls[0]);
  EXPECT_EQ(one["victim"], "198.18.0.10");
  EXPECT_EQ(one["series"][3]["packets"], 300u);

  r = runBreakwater({"attacks", "export", "--store", store_, "-f", "csv"});
  ASSERT_EQ(r.status, 0) << r.err;
  ls = lines(r.out);
  ASSERT_EQ(ls.size(), 4u) << r.out;
  auto cells = [](const std::string& l) {
    std::vector<std::string> c;
    std::string cur;
    bool quoted = false;
    for (char ch : l) {
      if (ch == '"') {
        quoted = !quoted;
      } else if (ch == ',' && !quoted) {
        c.push_back(cur);
        cur.clear();
      } else {
        cur += ch;
      }
    }
    c.push_back(cur);
    return c;
  };
  auto header = cells(ls[0]);
  auto mem = cells(ls[3]);
  ASSERT_EQ(header.size(), mem.size());
  auto col = [&](const char* name) {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return mem[i];
    }
    return std::string("<no column>");
  };
  EXPECT_EQ(col("id"), "1");
  EXPECT_EQ(col("victim"), "198.18.0.10");
  EXPECT_EQ(col("packets"), "498331");
  EXPECT_EQ(col("start_utc"), "2018-02-28T17:21:02.013Z");
  EXPECT_DOUBLE_EQ(std::stod(col("start")),
                   report::epochSeconds(testing::memcachedInbound().start_ns));
  EXPECT_EQ(col("top_reflectors"), "203.0.113.7 2001:db8::77 192.0.2.200");
  EXPECT_EQ(col("ransom_notes"), "1");
}

TEST_F(AttacksCli, ErrorsAreOneSentenceWithExitCodes) {
  auto r = runBreakwater({"attacks", "show", "42", "--store", store_});
  EXPECT_EQ(r.status, 3);
  EXPECT_TRUE(has(r.err, "no attack 42") && has(r.err, store_)) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;

  const std::string missing = dir_.file("missing.db");
  r = runBreakwater({"attacks", "list", "--store", missing});
  EXPECT_EQ(r.status, 3);
  EXPECT_TRUE(has(r.err, missing)) << r.err;
  EXPECT_FALSE(std::filesystem::exists(missing));  // a reader never creates the store

  const std::string corrupt = dir_.file("corrupt.db");
  std::ofstream(corrupt) << std::string(4096, '#');
  r = runBreakwater({"attacks", "export", "--store", corrupt});
  EXPECT_EQ(r.status, 3);
  EXPECT_TRUE(has(r.err, corrupt) && has(r.err, "not an SQLite database")) << r.err;

  r = runBreakwater({"attacks", "list", "--store", store_, "--since", "last tuesday"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.err, "--since")) << r.err;
  r = runBreakwater({"attacks", "list", "--store", store_, "--vector", "gopher"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.err, "gopher")) << r.err;
  r = runBreakwater({"attacks", "list", "--store", store_, "--victim", "198.18.0.300"});
  EXPECT_EQ(r.status, 2);
  r = runBreakwater({"attacks", "export", "--store", store_, "-o", "/nonexistent-dir/x.json"});
  EXPECT_EQ(r.status, 3);
  EXPECT_TRUE(has(r.err, "/nonexistent-dir/x.json")) << r.err;
  EXPECT_EQ(runBreakwater({"attacks"}).status, 2);
  EXPECT_EQ(runBreakwater({"attacks", "show"}).status, 2);
}

// The CLI reads while another process writes: every run succeeds, sees whole attacks (the
// record's packets equal the sum of its series, both committed together), never fewer rows.
TEST(AttacksCliLive, ListsWhileTheSensorWrites) {
  TempDir dir;
  const std::string path = dir.file("live.db");
  { ASSERT_TRUE(AttackStore::open(path).ok()); }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    auto opened = AttackStore::open(path);
    if (!opened) _exit(10);
    bool told = false;
    for (int i = 0; i < 400; ++i) {
      AttackRecord a = testing::memcachedInbound();
      a.packets = 0;
      auto id = (*opened)->insert(a, 1.7e9 + i);
      if (!id) _exit(11);
      for (int k = 1; k <= 10; ++k) {
        a.packets = std::uint64_t(k) * 7;
        SeriesPoint p{1'700'000'000 + k, 7, 7000, 7, 56000, 1};
        if (!(*opened)->update(*id, a, k == 10, std::span<const SeriesPoint>(&p, 1))) _exit(12);
      }
      if (!told && i >= 5) {  // the reader starts once something is there
        told = write(fds[1], "x", 1) == 1;
      }
      usleep(2000);
    }
    _exit(0);
  }
  close(fds[1]);
  char c;
  ASSERT_EQ(read(fds[0], &c, 1), 1);
  close(fds[0]);

  int runs = 0, runs_while_writing = 0;
  std::size_t last = 0;
  int status = 0;
  for (;;) {
    bool done = waitpid(child, &status, WNOHANG) == child;
    auto r = runBreakwater({"attacks", "export", "--store", path, "-f", "jsonl"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto ls = lines(r.out);
    EXPECT_GE(ls.size(), last);
    last = ls.size();
    for (const std::string& l : ls) {
      json a = json::parse(l);
      std::uint64_t sum = 0;
      for (const json& p : a["series"]) sum += p["packets"].get<std::uint64_t>();
      ASSERT_EQ(a["packets"].get<std::uint64_t>(), sum) << l.substr(0, 200);
    }
    auto t = runBreakwater({"attacks", "list", "--store", path, "--limit", "5"});
    ASSERT_EQ(t.status, 0) << t.err;
    ++runs;
    if (!done) ++runs_while_writing;
    if (done) break;
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(last, 400u);
  EXPECT_GE(runs_while_writing, 2) << "the CLI never ran while the writer was writing";
  std::printf("CLI runs: %d, while writing: %d\n", runs, runs_while_writing);
}

}  // namespace
}  // namespace bw
