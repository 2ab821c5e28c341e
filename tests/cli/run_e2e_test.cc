// End-to-end tests of `breakwater run`: the real binary as a process, traffic replayed by
// tcpreplay into one end of a veth pair inside a network namespace the test creates while
// the sensor captures on the other end, and live NetFlow from softflowd. They check what an
// operator relies on: the started event (victim, vector, direction) and its latency, the
// ended event after the traffic stops, the store and the API, reload and restart, and one
// clear message for each start-up fault.
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_support.h"

namespace bw::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

double wallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool canUseNamespaces() {
  return geteuid() == 0 && haveTool("ip") && haveTool("tcpreplay") && haveTool("curl");
}

// A network namespace with lo up and a veth pair vA (replay side) <-> vB (sensor side).
class Namespace {
 public:
  Namespace() : name_("bwrun" + std::to_string(getpid()) + "x" + std::to_string(counter_++)) {
    const std::string n = name_;
    ok_ = std::system(("ip netns add " + n + " && ip -n " + n + " link set lo up && ip -n " + n +
                       " link add vA type veth peer name vB && ip -n " + n +
                       " link set vA up && ip -n " + n + " link set vB up")
                          .c_str()) == 0;
  }
  ~Namespace() { std::system(("ip netns del " + name_ + " 2>/dev/null").c_str()); }
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  std::string exec() const { return "ip netns exec " + name_ + " "; }

 private:
  static inline int counter_ = 0;
  std::string name_;
  bool ok_ = false;
};

// `breakwater run ARGS` in the background (inside `ns` when given), stderr to a log file.
class Sensor {
 public:
  Sensor(const std::string& log, const std::vector<std::string>& args, const Namespace* ns)
      : log_(log) {
    std::vector<std::string> argv;
    if (ns != nullptr) argv = {"ip", "netns", "exec", ns->name()};
    argv.push_back(BW_BINARY);
    argv.push_back("run");
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = fork();
    if (pid_ == 0) {
      FILE* err = std::fopen(log.c_str(), "w");
      if (err != nullptr) dup2(fileno(err), 2);
      FILE* null = std::fopen("/dev/null", "r");
      if (null != nullptr) dup2(fileno(null), 0);
      std::vector<char*> raw;
      for (std::string& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      execvp(raw[0], raw.data());
      _exit(127);
    }
  }
  ~Sensor() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::string log() const { return readFile(log_); }
  // Waits for the "ready:" line (or an early exit).
  bool waitReady(std::chrono::seconds limit = 20s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (log().find(" ready: ") != std::string::npos) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return false;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  // Waits until the log holds `text` (a reload's outcome: its time depends on the load).
  bool waitLog(const std::string& text, std::chrono::seconds limit = 10s) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  void signal(int sig) { kill(pid_, sig); }
  pid_t pid() const { return pid_; }  // `ip netns exec` execs the sensor: same process
  // Exit status after `sig`, or nullopt when it did not exit in time.
  std::optional<int> stop(int sig = SIGTERM, std::chrono::seconds limit = 30s) {
    if (exited_) return status_;
    kill(pid_, sig);
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return status_;
      }
      std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
  }
  std::optional<int> exitStatus() const {
    return exited_ ? std::optional<int>(status_) : std::nullopt;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;
};

std::vector<json> readEvents(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

// Waits for an event of `kind` in the event log; returns it.
std::optional<json> waitEvent(const std::string& path, const std::string& kind,
                              std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    for (const json& e : readEvents(path)) {
      if (e.value("event", "") == kind) return e;
    }
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

std::string httpGet(const Namespace& ns, const std::string& path) {
  RunResult r = runCommand({"ip", "netns", "exec", ns.name(), "curl", "-s", "--max-time", "5",
                            "http://127.0.0.1:9473" + path});
  return r.out;
}

struct Flood {
  std::string pcap;
  json truth;
};

// 4 kpps of memcached reflection for 4 s from 200 reflectors toward 198.18.0.10: slow enough
// for tcpreplay to keep its pace on a busy 2-core machine, well above the 150 pps threshold.
const Flood& flood() {
  static TempDir dir;
  static Flood f = [] {
    Flood x;
    x.pcap = dir.file("memcached.pcap");
    RunResult r =
        runBreakwater({"synth", "-o", x.pcap, "--duration", "4", "--attack",
                       "vector=memcached,victim=198.18.0.10,pps=4k,duration=4,reflectors=200"});
    EXPECT_EQ(r.status, 0) << r.err;
    std::ifstream in(x.pcap + ".truth.json");
    x.truth = json::parse(in);
    return x;
  }();
  return f;
}

// Replays `pcap` at its own pace and returns how long tcpreplay says it took (it stretches
// the capture's 4 s when the machine is busy).
double replay(const Namespace& ns, const std::string& pcap) {
  RunResult r = runCommand({"sh", "-c", ns.exec() + "tcpreplay -i vA " + pcap});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  const auto at = r.out.find(" sent in ");
  EXPECT_NE(at, std::string::npos) << r.out;
  return at == std::string::npos ? 0 : std::stod(r.out.substr(at + 9));
}

TEST(RunLive, ReplayedMemcachedFloodIsDeclaredWithinASecondStoredAndServed) {
  if (!canUseNamespaces()) GTEST_SKIP() << "needs root, iproute2, tcpreplay and curl";
  const Flood& f = flood();
  Namespace ns;
  ASSERT_TRUE(ns.ok());
  TempDir dir;
  Sensor sensor(
      dir.file("sensor.log"),
      {"--interface", "vB", "--networks", "198.18.0.0/24", "--events", dir.file("events.jsonl"),
       "--store", dir.file("attacks.db"), "--api", "127.0.0.1:9473"},
      &ns);
  ASSERT_TRUE(sensor.waitReady()) << sensor.log();

  const double sent_at = wallNow();
  const double replay_span = replay(ns, f.pcap);
  std::optional<json> started = waitEvent(dir.file("events.jsonl"), "attack_started", 5s);
  ASSERT_TRUE(started) << sensor.log();
  const json& a = (*started)["attack"];
  const json& expected = f.truth.at("attacks").at(0);
  EXPECT_EQ(a["victim"], "198.18.0.10");
  EXPECT_EQ(a["vector"], "memcached");
  EXPECT_EQ(a["direction"], "inbound");
  EXPECT_EQ(a["state"], "active");
  // Latency: from the attack's first packet (as captured) to the declaration, and, as a
  // cross-check on the sensor's own clock, from the moment the test started the replay.
  const double latency = a["detected_at"].get<double>() - a["start"].get<double>();
  EXPECT_GE(latency, 0.0);
  EXPECT_LE(latency, 1.0) << started->dump();
  EXPECT_LE((*started)["at"].get<double>() - sent_at, 1.5) << started->dump();

  // Ended after the traffic stops: the quiet period (5 s) plus a little.
  std::optional<json> ended = waitEvent(dir.file("events.jsonl"), "attack_ended", 12s);
  ASSERT_TRUE(ended) << sensor.log();
  const json& e = (*ended)["attack"];
  EXPECT_EQ(e["id"], a["id"]);
  EXPECT_EQ(e["state"], "ended");
  EXPECT_EQ(e["reflectors"].get<std::uint64_t>(), expected["reflectors"].get<std::uint64_t>());
  EXPECT_EQ(e["packets"].get<std::uint64_t>(), expected["packets"].get<std::uint64_t>());
  // The attack lasts as long as the replay did, by tcpreplay's own count.
  EXPECT_NEAR(e["end"].get<double>() - e["start"].get<double>(), replay_span, 0.3);

  // The API while running.
  json list = json::parse(httpGet(ns, "/api/v1/attacks"));
  ASSERT_EQ(list["attacks"].size(), 1u) << list.dump();
  EXPECT_EQ(list["attacks"][0]["id"], a["id"]);
  EXPECT_EQ(list["attacks"][0]["state"], "ended");
  json one = json::parse(httpGet(ns, "/api/v1/attacks/" + a["id"].dump()));
  std::uint64_t series_packets = 0;
  for (const json& p : one["series"]) series_packets += p["packets"].get<std::uint64_t>();
  EXPECT_EQ(series_packets, e["packets"].get<std::uint64_t>()) << one["series"].dump();
  json status = json::parse(httpGet(ns, "/api/v1/status"));
  ASSERT_TRUE(status.contains("sources")) << status.dump();
  EXPECT_EQ(status["sources"][0]["drops"].get<std::uint64_t>(), 0u);
  EXPECT_GE(status["sources"][0]["packets"].get<std::uint64_t>(),
            expected["packets"].get<std::uint64_t>());
  // Per-vector traffic as the engine classified it: the whole flood, as memcached.
  ASSERT_EQ(status["vectors"].size(), 1u) << status.dump();
  EXPECT_EQ(status["vectors"][0]["vector"], "memcached");
  EXPECT_EQ(status["vectors"][0]["packets"].get<std::uint64_t>(),
            expected["packets"].get<std::uint64_t>());
  const std::string metrics = httpGet(ns, "/metrics");
  EXPECT_NE(metrics.find("breakwater_attacks_started_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("breakwater_detection_latency_seconds_count 1"), std::string::npos);

  // The store, read by the CLI while the sensor runs (and writes).
  {
    RunResult r =
        runBreakwater({"attacks", "list", "--store", dir.file("attacks.db"), "--format", "json"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("198.18.0.10"), std::string::npos) << r.out;
  }
  ASSERT_EQ(sensor.stop(), std::optional<int>(0)) << sensor.log();
  // The store, read by the CLI after the sensor has gone.
  RunResult r = runBreakwater(
      {"attacks", "show", a["id"].dump(), "--store", dir.file("attacks.db"), "--format", "json"});
  ASSERT_EQ(r.status, 0) << r.err;
  json stored = json::parse(r.out);
  const json& rec = stored.contains("attack") ? stored["attack"] : stored;
  EXPECT_EQ(rec["state"], "ended") << r.out;
  EXPECT_EQ(rec["victim"], "198.18.0.10");
  EXPECT_EQ(rec["packets"].get<std::uint64_t>(), expected["packets"].get<std::uint64_t>());
  // Exactly one started and one ended event, in that order; updates in between.
  std::vector<json> events = readEvents(dir.file("events.jsonl"));
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front()["event"], "attack_started");
  EXPECT_EQ(events.back()["event"], "attack_ended");
  for (std::size_t i = 1; i + 1 < events.size(); ++i)
    EXPECT_EQ(events[i]["event"], "attack_updated");
}

TEST(RunLive, BenignTrafficRaisesNothing) {
  if (!canUseNamespaces()) GTEST_SKIP() << "needs root, iproute2, tcpreplay and curl";
  TempDir dir;
  RunResult s =
      runBreakwater({"synth", "-o", dir.file("benign.pcap"), "--duration", "3", "--benign",
                     "kind=dns,pps=2k,duration=3", "--benign", "kind=web,pps=2k,duration=3",
                     "--benign", "kind=ntp,pps=500,duration=3"});
  ASSERT_EQ(s.status, 0) << s.err;
  Namespace ns;
  ASSERT_TRUE(ns.ok());
  Sensor sensor(dir.file("sensor.log"),
                {"--interface", "vB", "--networks", "198.18.0.0/24", "--events",
                 dir.file("events.jsonl"), "--no-store", "--no-api"},
                &ns);
  ASSERT_TRUE(sensor.waitReady()) << sensor.log();
  replay(ns, dir.file("benign.pcap"));
  std::this_thread::sleep_for(1500ms);
  ASSERT_EQ(sensor.stop(), std::optional<int>(0)) << sensor.log();
  EXPECT_TRUE(readEvents(dir.file("events.jsonl")).empty()) << readFile(dir.file("events.jsonl"));
  EXPECT_NE(sensor.log().find("stopped: "), std::string::npos) << sensor.log();
}

TEST(RunLive, ReloadAppliesNewThresholdsAndKeepsCounters) {
  if (!canUseNamespaces()) GTEST_SKIP() << "needs root, iproute2, tcpreplay and curl";
  const Flood& f = flood();
  Namespace ns;
  ASSERT_TRUE(ns.ok());
  TempDir dir;
  const std::string config = dir.file("breakwater.toml");
  auto writeConfig = [&](const std::string& threshold_pps) {
    std::ofstream out(config);
    out << "[detection]\nthreshold_pps = " << threshold_pps
        << "\nthreshold_mbps = 100000\nnetworks = [\"198.18.0.0/24\"]\n\n[sensor]\ninterfaces = "
           "[\"vB\"]\n\n[store]\nenabled = false\n\n[api]\nlisten = \"127.0.0.1:9473\"\n\n"
           "[events]\nfile = \""
        << dir.file("events.jsonl") << "\"\n";
  };
  // At first the threshold is far above the flood: nothing is declared.
  writeConfig("1000000");
  Sensor sensor(dir.file("sensor.log"), {"--config", config}, &ns);
  ASSERT_TRUE(sensor.waitReady()) << sensor.log();
  // The status counts a replay's packets once the snapshot after them is taken (about a
  // second): waits up to 5 s for `want`, and returns the last count.
  auto statusPackets = [&](std::uint64_t want) {
    std::uint64_t packets = 0;
    for (const auto until = std::chrono::steady_clock::now() + 5s;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(100ms)) {
      const json status = json::parse(httpGet(ns, "/api/v1/status"));
      packets = status["sources"][0]["packets"].get<std::uint64_t>();
      if (packets >= want) break;
    }
    return packets;
  };
  const auto flood_packets = f.truth["attacks"][0]["packets"].get<std::uint64_t>();
  replay(ns, f.pcap);
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(readEvents(dir.file("events.jsonl")).empty());
  const std::uint64_t packets_before = statusPackets(flood_packets);
  EXPECT_GE(packets_before, flood_packets);

  // A broken file: the reload is refused and the sensor keeps running.
  {
    std::ofstream out(config);
    out << "[detection]\nthreshold_pps = \"lots\"\n";
  }
  sensor.signal(SIGHUP);
  EXPECT_TRUE(sensor.waitLog("reload failed")) << sensor.log();
  EXPECT_FALSE(sensor.exitStatus());

  // Lowered: the same flood is now an attack, and the counters went on from where they were.
  writeConfig("1000");
  sensor.signal(SIGHUP);
  EXPECT_TRUE(sensor.waitLog("reload: configuration reloaded")) << sensor.log();
  replay(ns, f.pcap);
  std::optional<json> started = waitEvent(dir.file("events.jsonl"), "attack_started", 5s);
  ASSERT_TRUE(started) << sensor.log();
  EXPECT_EQ((*started)["attack"]["threshold_pps"].get<double>(), 1000.0);
  // The attack starts within the replay: the counters catch up after it.
  EXPECT_GE(statusPackets(packets_before + flood_packets), packets_before + flood_packets);
  ASSERT_EQ(sensor.stop(), std::optional<int>(0)) << sensor.log();
  // A clean stop ends what is active.
  EXPECT_TRUE(waitEvent(dir.file("events.jsonl"), "attack_ended", 1s));
}

TEST(RunLive, RestartAfterACrashClosesTheInterruptedAttackAndContinuesIds) {
  if (!canUseNamespaces()) GTEST_SKIP() << "needs root, iproute2, tcpreplay and curl";
  const Flood& f = flood();
  Namespace ns;
  ASSERT_TRUE(ns.ok());
  TempDir dir;
  const std::vector<std::string> args = {"--interface",   "vB",       "--networks",
                                         "198.18.0.0/24", "--store",  dir.file("attacks.db"),
                                         "--no-api",      "--events", dir.file("events.jsonl")};
  std::uint64_t first_id = 0;
  {
    Sensor sensor(dir.file("sensor1.log"), args, &ns);
    ASSERT_TRUE(sensor.waitReady()) << sensor.log();
    replay(ns, f.pcap);
    std::optional<json> started = waitEvent(dir.file("events.jsonl"), "attack_started", 5s);
    ASSERT_TRUE(started) << sensor.log();
    first_id = (*started)["attack"]["id"].get<std::uint64_t>();
    std::this_thread::sleep_for(500ms);  // let the store writer commit
    EXPECT_EQ(sensor.stop(SIGKILL), std::optional<int>(-1));
  }
  {
    RunResult r = runBreakwater(
        {"attacks", "list", "--store", dir.file("attacks.db"), "--format", "json", "--active"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("\"id\": " + std::to_string(first_id)), std::string::npos) << r.out;
  }
  std::filesystem::remove(dir.file("events.jsonl"));
  Sensor sensor(dir.file("sensor2.log"), args, &ns);
  ASSERT_TRUE(sensor.waitReady()) << sensor.log();
  EXPECT_NE(sensor.log().find("closed as interrupted"), std::string::npos) << sensor.log();
  replay(ns, f.pcap);
  std::optional<json> started = waitEvent(dir.file("events.jsonl"), "attack_started", 5s);
  ASSERT_TRUE(started) << sensor.log();
  EXPECT_GT((*started)["attack"]["id"].get<std::uint64_t>(), first_id);
  ASSERT_EQ(sensor.stop(), std::optional<int>(0)) << sensor.log();
  RunResult r = runBreakwater({"attacks", "show", std::to_string(first_id), "--store",
                               dir.file("attacks.db"), "--format", "json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"interrupted\": true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"state\": \"ended\""), std::string::npos) << r.out;
}

// After opening its sockets and files as root the sensor runs as an unprivileged user with
// CAP_NET_RAW only, and still captures and declares.
TEST(RunLive, DropsPrivilegesAndKeepsCapturing) {
  if (!canUseNamespaces()) GTEST_SKIP() << "needs root, iproute2, tcpreplay and curl";
  if (std::system("id nobody >/dev/null 2>&1") != 0) GTEST_SKIP() << "no user nobody";
  const Flood& f = flood();
  Namespace ns;
  ASSERT_TRUE(ns.ok());
  TempDir dir;
  Sensor sensor(
      dir.file("sensor.log"),
      {"--interface", "vB", "--networks", "198.18.0.0/24", "--events", dir.file("events.jsonl"),
       "--store", dir.file("attacks.db"), "--user", "nobody", "--api", "127.0.0.1:9473"},
      &ns);
  ASSERT_TRUE(sensor.waitReady()) << sensor.log();
  EXPECT_NE(sensor.log().find("running as nobody with capabilities cap_net_raw=ep"),
            std::string::npos)
      << sensor.log();
  replay(ns, f.pcap);
  std::optional<json> started = waitEvent(dir.file("events.jsonl"), "attack_started", 5s);
  ASSERT_TRUE(started) << sensor.log();
  EXPECT_EQ((*started)["attack"]["victim"], "198.18.0.10");
  // The process really is nobody now, with CAP_NET_RAW (bit 13) alone in its effective set.
  const std::string proc = readFile("/proc/" + std::to_string(sensor.pid()) + "/status");
  const std::string nobody = std::to_string(getpwnam("nobody")->pw_uid);
  EXPECT_NE(proc.find("Uid:\t" + nobody + "\t" + nobody), std::string::npos) << proc;
  EXPECT_NE(proc.find("CapEff:\t0000000000002000"), std::string::npos) << proc;
  const json status = json::parse(httpGet(ns, "/api/v1/status"));
  EXPECT_EQ(status["store"]["errors"], 0) << status.dump();
  ASSERT_EQ(sensor.stop(), std::optional<int>(0)) << sensor.log();
  EXPECT_EQ(sensor.log().find("store:"), std::string::npos) << sensor.log();
}

// The store's disk fills up during an attack: the sensor says so once, keeps detecting and
// writing events, and once space is back the attack reaches the store after all.
TEST(RunLive, FullDiskForTheStoreIsReportedAndDetectionGoesOn) {
  if (!canUseNamespaces()) GTEST_SKIP() << "needs root, iproute2, tcpreplay and curl";
  const Flood& f = flood();
  Namespace ns;
  ASSERT_TRUE(ns.ok());
  TempDir dir;
  const std::string small = dir.file("small");
  std::filesystem::create_directory(small);
  ASSERT_EQ(std::system(("mount -t tmpfs -o size=1m tmpfs " + small).c_str()), 0);
  struct Unmount {
    std::string path;
    ~Unmount() { std::system(("umount -l " + path).c_str()); }
  } unmount{small};
  Sensor sensor(dir.file("sensor.log"),
                {"--interface", "vB", "--networks", "198.18.0.0/24", "--events",
                 dir.file("events.jsonl"), "--store", small + "/attacks.db", "--no-api"},
                &ns);
  ASSERT_TRUE(sensor.waitReady()) << sensor.log();
  // Fill what is left of the file system.
  std::system(("dd if=/dev/zero of=" + small + "/fill bs=4k 2>/dev/null").c_str());
  replay(ns, f.pcap);
  ASSERT_TRUE(waitEvent(dir.file("events.jsonl"), "attack_started", 5s)) << sensor.log();
  EXPECT_NE(sensor.log().find("full"), std::string::npos) << sensor.log();
  EXPECT_NE(sensor.log().find("detection and events go on"), std::string::npos) << sensor.log();
  EXPECT_FALSE(sensor.exitStatus());
  // Space again: the next write records the attack.
  std::filesystem::remove(small + "/fill");
  ASSERT_TRUE(waitEvent(dir.file("events.jsonl"), "attack_ended", 12s)) << sensor.log();
  ASSERT_EQ(sensor.stop(), std::optional<int>(0)) << sensor.log();
  EXPECT_NE(sensor.log().find("writing again"), std::string::npos) << sensor.log();
  RunResult r =
      runBreakwater({"attacks", "list", "--store", small + "/attacks.db", "--format", "json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"state\": \"ended\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("198.18.0.10"), std::string::npos) << r.out;
}

// NetFlow v9 from softflowd reading the flood's capture, exported over loopback to the
// sensor's collector. Records describe the past, so their attack is declared on the records'
// clock: same victim, vector, packets, and an end once the exporter's records run out. The
// export is relayed with a pause of 1.5 s halfway (longer than the collector's 0.5 s tick,
// shorter than the 2 s export slack): the lane's clock must not run ahead in it, or the attack
// would end with the first half of its packets.
TEST(RunFlows, SoftflowdNetflowExportIsDeclaredAndEnded) {
  if (!haveTool("softflowd")) GTEST_SKIP() << "softflowd not installed";
  const Flood& f = flood();
  TempDir dir;
  int port = 0;
  {
    // A free UDP port on loopback.
    RunResult r = runCommand({"sh", "-c",
                              "python3 -c 'import socket;s=socket.socket(socket."
                              "AF_INET,socket.SOCK_DGRAM);s.bind((\"127.0.0.1\",0));"
                              "print(s.getsockname()[1])'"});
    ASSERT_EQ(r.status, 0);
    port = std::stoi(r.out);
  }
  Sensor sensor(dir.file("sensor.log"),
                {"--netflow", "127.0.0.1:" + std::to_string(port), "--networks", "198.18.0.0/24",
                 "--events", dir.file("events.jsonl"), "--no-store", "--no-api"},
                nullptr);
  ASSERT_TRUE(sensor.waitReady()) << sensor.log();
  // Collects softflowd's datagrams (bounded in count, and in time by softflowd's timeout),
  // then relays them to the sensor in two halves.
  const char* relay = R"(
import socket, subprocess, sys, time
pcap, pidfile, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# softflowd sends its whole export at once: a default-sized buffer overflows under load.
try:
    rx.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE, as root
except OSError:
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
rx.bind(("127.0.0.1", 0))
rx.settimeout(0.5)
sf = subprocess.Popen(["timeout", "-s", "TERM", "4", "softflowd", "-d", "-a", "-r", pcap, "-v", "9",
                       "-n", "127.0.0.1:%d" % rx.getsockname()[1], "-t", "maxlife=10",
                       "-t", "expint=1", "-c", "none", "-p", pidfile],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
got = []
while len(got) < 100000:
    try:
        got.append(rx.recv(65535))
    except socket.timeout:
        if sf.poll() is not None:
            break
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i, d in enumerate(got):
    if i == len(got) // 2:
        time.sleep(1.5)
    tx.sendto(d, ("127.0.0.1", port))
print(len(got))
)";
  RunResult sf =
      runCommand({"python3", "-c", relay, f.pcap, dir.file("sf.pid"), std::to_string(port)});
  ASSERT_EQ(sf.status, 0) << sf.err;
  ASSERT_GE(std::stoi(sf.out), 2) << "softflowd exported too little to split";
  // Quiet for the 2 s export slack, then the 5 s end_quiet_s on the records' clock.
  std::optional<json> ended = waitEvent(dir.file("events.jsonl"), "attack_ended", 20s);
  ASSERT_TRUE(ended) << sensor.log();
  const json& a = (*ended)["attack"];
  const json& expected = f.truth.at("attacks").at(0);
  EXPECT_EQ(a["victim"], "198.18.0.10");
  EXPECT_EQ(a["vector"], "memcached");
  EXPECT_EQ(a["direction"], "inbound");
  EXPECT_EQ(a["packets"].get<std::uint64_t>(), expected["packets"].get<std::uint64_t>());
  EXPECT_EQ(a["reflectors"].get<std::uint64_t>(), expected["reflectors"].get<std::uint64_t>());
  EXPECT_TRUE(waitEvent(dir.file("events.jsonl"), "attack_started", 1s));
  ASSERT_EQ(sensor.stop(), std::optional<int>(0)) << sensor.log();
}

// NetFlow v5 at a flood's rate of records: 21,000 in each 100 ms of flow time (210 k records
// a second, one packet each, from 2,000 memcached reflectors to random ports of one victim),
// 20 such buckets. Each is crowded enough to be handed to the engine thread whole and grouped
// by key there; the attack must still count every packet and every reflector.
TEST(RunFlows, AFloodOfRecordsIsGroupedAndCountedExactly) {
  // As root the collector forces its 32 MiB receive buffer: the burst below must not drop.
  if (geteuid() != 0) GTEST_SKIP() << "needs root for the collector's receive buffer";
  TempDir dir;
  int port = 0;
  {
    RunResult r = runCommand({"python3", "-c",
                              "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                              "s.bind(('127.0.0.1',0));print(s.getsockname()[1])"});
    ASSERT_EQ(r.status, 0);
    port = std::stoi(r.out);
  }
  Sensor sensor(
      dir.file("sensor.log"),
      {"--netflow", "127.0.0.1:" + std::to_string(port), "--networks", "198.18.0.0/24", "--events",
       dir.file("events.jsonl"), "--no-store", "--no-api", "--log-level", "debug"},
      nullptr);
  ASSERT_TRUE(sensor.waitReady()) << sensor.log();
  const char* sender = R"(
import random, socket, struct, sys, time
port = int(sys.argv[1])
rnd = random.Random(5)
uptime_export, unix_export = 1000000 + 3000, 1700000003  # the export moment: after the flood
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
seq, sent, sources = 0, 0, set()
for cell in range(20):
    records = []
    for i in range(21000):
        src = 0x0a070000 + rnd.randrange(2000)
        sources.add(src)
        t = 1000000 + cell * 100 + i * 100 // 21000  # uptime, ms
        records.append(struct.pack("!IIIHHIIIIHHBBBBHHBBH", src, 0xc612000a, 0, 0, 0, 1, 1428,
                                   t, t, 11211, 20000 + rnd.randrange(20000), 0, 0, 17, 0, 0, 0,
                                   0, 0, 0))
    for k in range(0, len(records), 30):
        part = records[k:k + 30]
        header = struct.pack("!HHIIIIBBH", 5, len(part), uptime_export, unix_export, 0, seq, 0, 0, 0)
        tx.sendto(header + b"".join(part), ("127.0.0.1", port))
        seq += len(part)
        sent += 1
        if sent % 100 == 0:
            time.sleep(0.001)
print(seq, len(sources))
)";
  RunResult sent = runCommand({"python3", "-c", sender, std::to_string(port)});
  ASSERT_EQ(sent.status, 0) << sent.err;
  std::uint64_t packets = 0, reflectors = 0;
  {
    std::istringstream in(sent.out);
    in >> packets >> reflectors;
  }
  ASSERT_EQ(packets, 420'000u);
  std::optional<json> ended = waitEvent(dir.file("events.jsonl"), "attack_ended", 30s);
  ASSERT_TRUE(ended) << sensor.log();
  const json& a = (*ended)["attack"];
  EXPECT_EQ(a["victim"], "198.18.0.10");
  EXPECT_EQ(a["vector"], "memcached");
  EXPECT_EQ(a["packets"].get<std::uint64_t>(), packets) << sensor.log();
  EXPECT_EQ(a["bytes"].get<std::uint64_t>(), packets * 1428);
  EXPECT_EQ(a["reflectors"].get<std::uint64_t>(), reflectors);
  // The flood began with the first record (uptime 1,000,000 ms = 1,700,000,000 s) and lasted
  // its 2 s of flow time, to within one bucket.
  EXPECT_NEAR(a["start"].get<double>(), 1'700'000'000.0, 1e-3);
  EXPECT_NEAR(a["end"].get<double>(), 1'700'000'002.0, 0.1);
  // The path under test was taken: buckets went to the engine grouped.
  EXPECT_NE(sensor.log().find("grouped by key"), std::string::npos) << sensor.log();
  ASSERT_EQ(sensor.stop(), std::optional<int>(0)) << sensor.log();
}

// sFlow from pmacctd sampling the replay 1 in 10 on the far end of the veth pair, into the
// sensor's sFlow collector in the same namespace. Samples carry the packets' headers, so the
// memcached frames name the vector, and they are timestamped on arrival, like packets.
TEST(RunFlows, PmacctdSflowSamplesAreDeclaredLiveAndEnded) {
  if (!canUseNamespaces() || !haveTool("pmacctd"))
    GTEST_SKIP() << "needs root, iproute2, tcpreplay, curl and pmacctd";
  const Flood& f = flood();
  Namespace ns;
  ASSERT_TRUE(ns.ok());
  TempDir dir;
  std::ofstream conf(dir.file("pmacctd.conf"));
  conf << "daemonize: false\npidfile: " << dir.file("pmacctd.pid")
       << "\nlogfile: " << dir.file("pmacctd.log")
       << "\npcap_interface: vB\nplugins: sfprobe[sf]\nsfprobe_receiver[sf]: 127.0.0.1:6343\n"
          "sfprobe_agentip[sf]: 127.0.0.1\nsfprobe_agentsubid[sf]: 7\nsfprobe_ifindex[sf]: 3\n"
          "sfprobe_direction[sf]: in\nsampling_rate[sf]: 10\nplugin_pipe_size: 10240000\n"
          "plugin_buffer_size: 1024\n";
  conf.close();
  Sensor sensor(dir.file("sensor.log"),
                {"--sflow", "127.0.0.1:6343", "--networks", "198.18.0.0/24", "--events",
                 dir.file("events.jsonl"), "--no-store", "--no-api"},
                &ns);
  ASSERT_TRUE(sensor.waitReady()) << sensor.log();
  std::system((ns.exec() + "timeout -s INT 25 pmacctd -f " + dir.file("pmacctd.conf") +
               " >/dev/null 2>&1 &")
                  .c_str());
  std::this_thread::sleep_for(2s);
  const double sent_at = wallNow();
  const double span = replay(ns, f.pcap);
  std::optional<json> started = waitEvent(dir.file("events.jsonl"), "attack_started", 5s);
  ASSERT_TRUE(started) << sensor.log() << readFile(dir.file("pmacctd.log"));
  const json& a = (*started)["attack"];
  EXPECT_EQ(a["victim"], "198.18.0.10");
  EXPECT_EQ(a["vector"], "memcached");
  EXPECT_EQ(a["direction"], "inbound");
  // pmacctd sends samples in small batches: still within a couple of seconds of the flood.
  EXPECT_LE((*started)["at"].get<double>() - sent_at, 3.0) << started->dump();
  std::optional<json> ended = waitEvent(dir.file("events.jsonl"), "attack_ended", 15s);
  ASSERT_TRUE(ended) << sensor.log();
  const auto packets = f.truth["attacks"][0]["packets"].get<double>();
  EXPECT_NEAR((*ended)["attack"]["packets"].get<double>(), packets, 0.25 * packets);
  EXPECT_NEAR((*ended)["attack"]["end"].get<double>() - (*ended)["attack"]["start"].get<double>(),
              span, 1.5);
  std::system(("pkill -INT -F " + dir.file("pmacctd.pid") + " 2>/dev/null").c_str());
  ASSERT_EQ(sensor.stop(), std::optional<int>(0)) << sensor.log();
}

TEST(RunErrors, StartUpFaultsAreOneClearMessage) {
  TempDir dir;
  {
    RunResult r = runBreakwater({"run", "--interface", "nosuch0", "--no-store", "--no-api"});
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_NE(r.err.find("nosuch0"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  {
    RunResult r = runBreakwater({"run", "--no-store", "--no-api"});
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_NE(r.err.find("nothing to watch"), std::string::npos) << r.err;
  }
  {
    std::ofstream(dir.file("bad.toml"))
        << "[sensor]\ninterfaces = [\"lo\"]\nworkers_per_interface = 0\n";
    RunResult r = runBreakwater({"run", "--config", dir.file("bad.toml")});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("bad.toml:3:"), std::string::npos) << r.err;
  }
  {
    // The API port already taken (by a listener this test holds).
    RunResult r = runCommand(
        {"sh", "-c",
         "python3 -c 'import socket,time,sys;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,"
         "socket.SO_REUSEADDR,1);s.bind((\"127.0.0.1\",0));s.listen();print(s.getsockname()[1]);"
         "sys.stdout.flush();time.sleep(8)' > " +
             dir.file("port") + " & sleep 1; " + BW_BINARY +
             " run --netflow 127.0.0.1:0 --no-store --api 127.0.0.1:$(cat " + dir.file("port") +
             "); echo status=$?; kill %1"});
    EXPECT_NE(r.out.find("status=3"), std::string::npos) << r.out << r.err;
    EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace bw::testing
