// checkConfigText/checkConfigFile: every problem of a file, in line order, each once; a TOML
// syntax error is the only one reported; loadConfigText reports the first of the same list;
// positions of the settings written; host checks (checkHost) for interfaces, users,
// directories, commands and the ASN database.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config_file.h"
#include "config/host_checks.h"

namespace bw {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bw-check-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> messages(const ConfigCheck& check, std::string_view name) {
  std::vector<std::string> out;
  for (const ConfigProblem& p : check.errors) out.push_back(describeProblem(name, p));
  return out;
}

// Problems spread over every table, written out of table order, some two to a line's table.
const char* const kManyErrors = R"([mitigation]
backend = "gobgp"
min_pps = -1

[sensor]
interfaces = ["eth0", "bad/name"]
workers_per_interface = 100
colour = "blue"

[detection]
threshold_pps = 0
networks = ["198.18.0.0/33"]

[api]
listen = "0.0.0.0:9473"

[events]
notify_on = ["attack_begun"]

[[detection.override]]
prefix = "nope"
)";

TEST(ConfigCheck, CollectsEveryErrorInLineOrder) {
  const ConfigCheck check = checkConfigText(kManyErrors, "bw.toml");
  EXPECT_FALSE(check.config.has_value());
  EXPECT_FALSE(check.unreadable);
  const std::vector<std::string> expected = {
      "bw.toml:2:11: mitigation.backend must be one of none, dry-run, got \"gobgp\"",
      "bw.toml:3:11: mitigation.min_pps must be a number of at least 0, got -1",
      "bw.toml:6:23: sensor.interfaces[1] must be an interface name of 1 to 15 characters "
      "without '/' or whitespace, got \"bad/name\"",
      "bw.toml:7:25: sensor.workers_per_interface must be an integer from 1 to 64, got 100",
      "bw.toml:8:1: unknown key sensor.colour; valid keys in [sensor] are interfaces, "
      "workers_per_interface, bpf_filter, promiscuous, sflow, netflow, update_interval_s, "
      "user, log_level",
      "bw.toml:11:17: detection.threshold_pps must be a positive number, got 0",
      "bw.toml:12:13: detection.networks[0] must be an IPv4 or IPv6 prefix such as "
      "\"198.18.0.0/15\" or \"2001:db8::/32\", got \"198.18.0.0/33\"",
      "bw.toml:15:10: api.listen 0.0.0.0:9473 is not a loopback address: set api.token or "
      "api.token_file",
      "bw.toml:18:14: events.notify_on[0] must be one of attack_started, attack_updated, "
      "attack_ended, got \"attack_begun\"",
      "bw.toml:21:10: detection.override[0].prefix must be an IPv4 or IPv6 prefix such as "
      "\"198.18.0.53/32\", got \"nope\"",
  };
  EXPECT_EQ(messages(check, "bw.toml"), expected);

  // The single-error API reports the first of them.
  auto first = loadConfigText(kManyErrors, "bw.toml");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().message, expected.front());
}

TEST(ConfigCheck, OneBadValueIsReportedOnce) {
  // A bad bucket does not also fail the window check; a bad prefix does not also ask for
  // thresholds; an unknown key in an override does not hide its other problems.
  const ConfigCheck check = checkConfigText(
      "[detection]\nbucket_ms = 0\n[[detection.override]]\nprefix = \"x\"\n"
      "[[detection.override]]\nprefix = \"10.0.0.0/8\"\nthreshold = 1\nthreshold_pps = -1\n",
      "c.toml");
  const std::vector<std::string> expected = {
      "c.toml:2:13: detection.bucket_ms must be an integer from 1 to 10000, got 0",
      "c.toml:4:10: detection.override[0].prefix must be an IPv4 or IPv6 prefix such as "
      "\"198.18.0.53/32\", got \"x\"",
      "c.toml:7:1: unknown key detection.override[1].threshold (did you mean "
      "detection.override[1].threshold_pps?)",
      "c.toml:8:17: detection.override[1].threshold_pps must be a positive number, got -1",
  };
  EXPECT_EQ(messages(check, "c.toml"), expected);
}

TEST(ConfigCheck, SyntaxErrorStopsTheCheck) {
  const ConfigCheck check =
      checkConfigText("[sensor]\nworkers_per_interface = 100\nuser = = 5\n", "c.toml");
  ASSERT_EQ(check.errors.size(), 1u);
  EXPECT_EQ(check.errors[0].line, 3);
  EXPECT_EQ(check.errors[0].what.rfind("invalid TOML: ", 0), 0u) << check.errors[0].what;
  EXPECT_FALSE(check.unreadable);
}

TEST(ConfigCheck, ValidFileHasConfigAndPositions) {
  const ConfigCheck check = checkConfigText(
      "[sensor]\ninterfaces = [\"eth1\",\n  \"eth2\"]\nuser = \"bw\"\n[store]\npath = \"a.db\"\n",
      "c.toml");
  ASSERT_TRUE(check.errors.empty()) << check.errors[0].what;
  ASSERT_TRUE(check.config.has_value());
  EXPECT_EQ(check.config->sensor.interfaces.size(), 2u);
  const auto at = [&](const char* key) {
    auto it = check.positions.find(key);
    return it == check.positions.end() ? std::pair(0, 0)
                                       : std::pair(it->second.line, it->second.column);
  };
  EXPECT_EQ(at("sensor.interfaces"), std::pair(2, 14));
  EXPECT_EQ(at("sensor.interfaces[0]"), std::pair(2, 15));
  EXPECT_EQ(at("sensor.interfaces[1]"), std::pair(3, 3));
  EXPECT_EQ(at("sensor.user"), std::pair(4, 8));
  EXPECT_EQ(at("store.path"), std::pair(6, 8));
  EXPECT_EQ(at("api.listen"), std::pair(0, 0));  // not written
}

TEST(ConfigCheck, UnreadableFile) {
  TempDir dir;
  const ConfigCheck missing = checkConfigFile(dir.file("nope.toml"));
  EXPECT_TRUE(missing.unreadable);
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0].line, 0);
  EXPECT_EQ(missing.errors[0].what,
            "cannot read config file " + dir.file("nope.toml") + ": No such file or directory");
  EXPECT_EQ(describeProblem("x", missing.errors[0]), "x: " + missing.errors[0].what);

  const ConfigCheck directory = checkConfigFile(dir.path());
  EXPECT_TRUE(directory.unreadable);

  // A file that reads but is wrong is not "unreadable".
  std::ofstream(dir.file("bad.toml")) << "[store]\nmax_size_mb = -1\n";
  const ConfigCheck bad = checkConfigFile(dir.file("bad.toml"));
  EXPECT_FALSE(bad.unreadable);
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(describeProblem(dir.file("bad.toml"), bad.errors[0]),
            dir.file("bad.toml") +
                ":2:15: store.max_size_mb must be an integer from 0 to 1000000, got -1");
}

std::vector<std::string> hostMessages(const std::string& text, const std::string& name) {
  const ConfigCheck check = checkConfigText(text, name);
  EXPECT_TRUE(check.errors.empty()) << describeProblem(name, check.errors.front());
  std::vector<std::string> out;
  if (!check.config) return out;
  for (const ConfigProblem& p : checkHost(*check.config, check.positions)) {
    out.push_back(describeProblem(name, p));
  }
  return out;
}

TEST(HostChecks, CleanConfigurationHasNoWarnings) {
  TempDir dir;
  std::ofstream(dir.file("asn.tsv")) << "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n";
  const std::string text = "[sensor]\ninterfaces = [\"lo\"]\n[store]\npath = \"" +
                           dir.file("attacks.db") + "\"\n[events]\nfile = \"" +
                           dir.file("events.jsonl") +
                           "\"\nnotify = [\"sh\", \"-c\", \"true\"]\n[enrich]\nasn_db = \"" +
                           dir.file("asn.tsv") + "\"\n";
  EXPECT_EQ(hostMessages(text, "c.toml"), std::vector<std::string>{});
}

TEST(HostChecks, WarnsAboutWhatThisHostLacks) {
  TempDir dir;
  const std::string text =
      "[sensor]\ninterfaces = [\"lo\", \"bwnosuch0\"]\n"
      "user = \"bw-no-such-user\"\n"
      "[store]\npath = \"" +
      dir.file("missing/attacks.db") + "\"\n" + "[events]\nfile = \"" + dir.file("events.jsonl/x") +
      "\"\n" +
      "notify = [\"bw-no-such-command\"]\n"
      "[enrich]\nasn_db = \"" +
      dir.file("asn.mmdb") + "\"\n";
  std::ofstream(dir.file("events.jsonl")) << "";  // a file where a directory should be
  const std::vector<std::string> expected = {
      "c.toml:2:21: sensor.interfaces[1] \"bwnosuch0\" is not an interface of this host",
      "c.toml:3:8: sensor.user \"bw-no-such-user\" is not a user of this host",
      "c.toml:5:8: store.path " + dir.file("missing/attacks.db") + " is in " + dir.file("missing") +
          ", which does not exist",
      "c.toml:7:8: events.file " + dir.file("events.jsonl/x") + " is in " +
          dir.file("events.jsonl") + ", which is not a directory",
      "c.toml:8:11: events.notify[0] \"bw-no-such-command\" is not an executable file in PATH",
      "c.toml:10:10: enrich.asn_db " + dir.file("asn.mmdb") + " does not exist",
  };
  EXPECT_EQ(hostMessages(text, "c.toml"), expected);
}

TEST(HostChecks, DefaultStorePathHasNoPosition) {
  // The default store directory rarely exists on a build host; when it does not, the warning
  // says it is the default and carries no line.
  if (std::filesystem::exists("/var/lib/breakwater")) {
    GTEST_SKIP() << "/var/lib/breakwater exists on this host";
  }
  EXPECT_EQ(hostMessages("", "c.toml"),
            std::vector<std::string>{"c.toml: store.path /var/lib/breakwater/attacks.db (the "
                                     "default) is in /var/lib/breakwater, which does not exist"});
  EXPECT_EQ(hostMessages("[store]\nenabled = false\n", "c.toml"), std::vector<std::string>{});
}

TEST(HostChecks, NonExecutableCommand) {
  TempDir dir;
  std::ofstream(dir.file("notify.sh")) << "#!/bin/sh\n";
  ::chmod(dir.file("notify.sh").c_str(), 0644);  // no execute bit: not even root may run it
  EXPECT_EQ(hostMessages("[store]\nenabled = false\n[events]\nnotify = [\"" +
                             dir.file("notify.sh") + "\"]\n",
                         "c.toml"),
            std::vector<std::string>{"c.toml:4:11: events.notify[0] \"" + dir.file("notify.sh") +
                                     "\" is not an executable file"});
}

TEST(HostChecks, UnwritableDirectory) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can write anywhere";
  TempDir dir;
  std::filesystem::create_directories(dir.file("ro"));
  ::chmod(dir.file("ro").c_str(), 0555);
  const std::string uid = std::to_string(::getuid());
  EXPECT_EQ(hostMessages("[store]\npath = \"" + dir.file("ro/attacks.db") + "\"\n", "c.toml"),
            std::vector<std::string>{"c.toml:2:8: store.path " + dir.file("ro/attacks.db") +
                                     " is in " + dir.file("ro") +
                                     ", which is not writable by this user (uid " + uid + ")"});
  ::chmod(dir.file("ro").c_str(), 0755);
}

}  // namespace
}  // namespace bw
