// A private two-namespace network for audit tests: a scanner namespace and a target
// namespace joined by a veth pair (10.251.0.1 <-> 10.251.0.2, fd00:251::1 <-> fd00:251::2;
// IPv4 or IPv6 prefixes are routed through the matching one); target addresses live on the
// target namespace's lo (this kernel has no dummy interface), and the scanner routes the
// given prefixes to the target side. Addresses routed there but not on its lo are silent
// (forwarding is off, so they are dropped without an ICMP reply).
//
// Names carry the pid, so parallel test runs do not collide. The destructor stops every
// process the lab started (by recorded pid) and deletes both namespaces, also when an
// assertion failed halfway; nothing touches the host's own interfaces.
// Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for setns).
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace bw::testing {

inline bool runningAsRoot() { return ::geteuid() == 0; }

inline bool commandExists(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

class NetnsLab {
 public:
  // `tag`: a few letters naming the test; `routed`: prefixes the scanner sends to the target
  // side; `local`: addresses (no prefix length) put on the target namespace's lo.
  NetnsLab(const std::string& tag, const std::vector<std::string>& routed,
           const std::vector<std::string>& local) {
    const std::string id = tag + std::to_string(::getpid());
    scanner_ = "bw" + id + "s";
    target_ = "bw" + id + "t";
    const std::string va = "bw" + id + "a", vb = "bw" + id + "b";  // <= 15 characters
    dir_ = std::filesystem::temp_directory_path() / ("bw-lab-" + id);
    std::filesystem::create_directories(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms::all);  // memcached runs as nobody
    std::vector<std::string> steps = {
        "ip netns add " + scanner_,
        "ip netns add " + target_,
        "ip link add " + va + " netns " + scanner_ + " type veth peer name " + vb + " netns " +
            target_,
        "ip -n " + scanner_ + " link set lo up",
        "ip -n " + target_ + " link set lo up",
        "ip -n " + scanner_ + " addr add 10.251.0.1/30 dev " + va,
        "ip -n " + target_ + " addr add 10.251.0.2/30 dev " + vb,
        // IPv6 without duplicate address detection, so the link is usable at once.
        "ip -n " + scanner_ + " -6 addr add fd00:251::1/64 dev " + va + " nodad",
        "ip -n " + target_ + " -6 addr add fd00:251::2/64 dev " + vb + " nodad",
        "ip -n " + scanner_ + " link set " + va + " up",
        "ip -n " + target_ + " link set " + vb + " up",
        "ip netns exec " + target_ + " sysctl -qw net.ipv4.conf.all.rp_filter=0",
        "ip netns exec " + scanner_ + " sysctl -qw net.ipv4.conf.all.rp_filter=0",
    };
    veth_ = va;
    created_ = true;
    for (const auto& s : steps) {
      if (!run(s)) return;
    }
    // Static neighbours both ways: a freshly raised link resolves IPv6 neighbours only after
    // a second or so, which would make the first probes of a test vanish.
    const std::string mac_a = macOf(scanner_, va), mac_b = macOf(target_, vb);
    if (mac_a.empty() || mac_b.empty()) {
      error_ = "cannot read the veth MAC addresses";
      return;
    }
    for (const auto& s : {
             "ip -n " + scanner_ + " neigh replace 10.251.0.2 lladdr " + mac_b + " dev " + va +
                 " nud permanent",
             "ip -n " + scanner_ + " neigh replace fd00:251::2 lladdr " + mac_b + " dev " + va +
                 " nud permanent",
             "ip -n " + target_ + " neigh replace 10.251.0.1 lladdr " + mac_a + " dev " + vb +
                 " nud permanent",
             "ip -n " + target_ + " neigh replace fd00:251::1 lladdr " + mac_a + " dev " + vb +
                 " nud permanent",
         }) {
      if (!run(s)) return;
    }
    std::ofstream batch(dir_ / "addrs.batch");
    for (const auto& r : routed) {
      const bool v6 = r.find(':') != std::string::npos;
      batch << "route add " << r << " via " << (v6 ? "fd00:251::2" : "10.251.0.2") << "\n";
    }
    batch.close();
    if (!routed.empty() &&
        !run("ip -n " + scanner_ + " -batch " + (dir_ / "addrs.batch").string())) {
      return;
    }
    std::ofstream local_batch(dir_ / "local.batch");
    for (const auto& a : local) {
      local_batch << "addr add " << a << (a.find(':') != std::string::npos ? "/128" : "/32")
                  << " dev lo\n";
    }
    local_batch.close();
    if (!local.empty() && !run("ip -n " + target_ + " -batch " + (dir_ / "local.batch").string())) {
      return;
    }
    ok_ = true;
  }

  ~NetnsLab() {
    for (pid_t pid : pids_) stop(pid);
    if (created_) {
      std::system(("ip netns del " + scanner_ + " >/dev/null 2>&1").c_str());
      std::system(("ip netns del " + target_ + " >/dev/null 2>&1").c_str());
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& scanner() const { return scanner_; }
  const std::string& target() const { return target_; }
  const std::string& scannerVeth() const { return veth_; }
  std::filesystem::path file(const std::string& name) const { return dir_ / name; }

  // Starts memcached as a daemon in the target namespace; returns its pid, 0 on failure.
  pid_t startMemcached(const std::string& name, const std::string& args) {
    const auto pidfile = dir_ / (name + ".pid");
    if (!run("ip netns exec " + target_ + " memcached -u nobody -m 64 -d -P " + pidfile.string() +
             " " + args)) {
      return 0;
    }
    for (int i = 0; i < 100; ++i) {
      std::ifstream in(pidfile);
      pid_t pid = 0;
      if (in >> pid && pid > 0) {
        pids_.push_back(pid);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // sockets bound
        return pid;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    error_ = "memcached " + args + " wrote no pid file";
    return 0;
  }

  // Starts `command` (through sh) in the background in the given namespace; returns its pid.
  pid_t spawn(const std::string& ns, const std::string& command) {
    const auto pidfile = dir_ / ("spawn" + std::to_string(pids_.size()) + ".pid");
    std::string cmd = "ip netns exec " + ns + " sh -c " +
                      quote("echo $$ > " + pidfile.string() + "; exec " + command) +
                      " </dev/null >/dev/null 2>&1 &";
    if (!run(cmd)) return 0;
    for (int i = 0; i < 100; ++i) {
      std::ifstream in(pidfile);
      pid_t pid = 0;
      if (in >> pid && pid > 0) {
        pids_.push_back(pid);
        return pid;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return 0;
  }

  // Ends one process this lab started: SIGTERM, then SIGKILL after two seconds.
  static void stop(pid_t pid) {
    if (pid <= 0 || ::kill(pid, SIGTERM) != 0) return;
    for (int i = 0; i < 100 && alive(pid); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (alive(pid)) ::kill(pid, SIGKILL);
  }

  // A daemon's parent may never reap it (PID 1 in a container): a zombie counts as gone.
  static bool alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    auto paren = line.rfind(')');
    return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
  }

  bool run(const std::string& cmd) {
    int rc = std::system((cmd + " >/dev/null 2>>" + (dir_ / "errors").string()).c_str());
    if (rc != 0) {
      std::ifstream in(dir_ / "errors");
      std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      error_ = "'" + cmd + "' failed: " + all;
      return false;
    }
    return true;
  }

  static std::string macOf(const std::string& ns, const std::string& dev) {
    FILE* p = ::popen(("ip -n " + ns + " -br link show " + dev + " 2>/dev/null").c_str(), "r");
    if (p == nullptr) return {};
    char buf[256] = {};
    std::string line = std::fgets(buf, sizeof buf, p) ? buf : "";
    ::pclose(p);
    // "name@peer  UP  aa:bb:cc:dd:ee:ff <...>"
    std::istringstream words(line);
    std::string name, state, mac;
    words >> name >> state >> mac;
    return mac.size() == 17 ? mac : std::string{};
  }

  static std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  }

 private:
  std::string scanner_, target_, veth_, error_;
  std::filesystem::path dir_;
  std::vector<pid_t> pids_;
  bool created_ = false;
  bool ok_ = false;
};

// Moves the calling thread into a named network namespace until destroyed. Sockets opened
// meanwhile stay in that namespace.
class NetnsEnter {
 public:
  explicit NetnsEnter(const std::string& name) {
    original_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int fd = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    ok_ = original_ >= 0 && fd >= 0 && ::setns(fd, CLONE_NEWNET) == 0;
    if (fd >= 0) ::close(fd);
  }
  ~NetnsEnter() {
    if (original_ >= 0) {
      if (ok_) ::setns(original_, CLONE_NEWNET);
      ::close(original_);
    }
  }
  NetnsEnter(const NetnsEnter&) = delete;
  NetnsEnter& operator=(const NetnsEnter&) = delete;
  bool ok() const { return ok_; }

 private:
  int original_ = -1;
  bool ok_ = false;
};

}  // namespace bw::testing
