// The tables of `breakwater run` ([sensor], [api], [store], [events], [mitigation]): every
// key read when valid, defaults kept when absent, and every bad value reported as one
// sentence at the value's line and column; token_file read and trimmed; relative paths
// resolved against the configuration file's directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config_file.h"

namespace bw {
namespace {

// A fresh temporary directory, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bw-config-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string errorOf(const std::string& text) {
  auto r = loadConfigText(text, "config.toml");
  return r.ok() ? std::string() : r.error().message;
}

const char* const kToken = "0123456789abcdef0123";  // 20 characters

TEST(RunSettings, DefaultsWhenAbsent) {
  auto r = loadConfigText("", "c.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->sensor.interfaces.empty());
  EXPECT_EQ(r->sensor.workers_per_interface, 1);
  EXPECT_TRUE(r->sensor.promiscuous);
  EXPECT_EQ(r->sensor.log_level, "info");
  EXPECT_TRUE(r->api.enabled);
  EXPECT_EQ(r->api.listen, "127.0.0.1:9473");
  EXPECT_TRUE(r->api.token.empty());
  EXPECT_EQ(r->store.path, "/var/lib/breakwater/attacks.db");
  EXPECT_EQ(r->events.notify_on, (std::vector<std::string>{"attack_started", "attack_ended"}));
  EXPECT_EQ(r->mitigation.backend, "none");
  EXPECT_EQ(r->mitigation.rtbh_community, "65535:666");
}

TEST(RunSettings, EveryKeyIsRead) {
  auto r = loadConfigText(std::string(R"(
[sensor]
interfaces = ["eth1", "enp3s0f1"]
workers_per_interface = 4
bpf_filter = "udp and not port 53"
promiscuous = false
sflow = ["0.0.0.0:6343", "[::]:6343"]
netflow = ["192.0.2.10:2055"]
update_interval_s = 0.5
user = "breakwater"
log_level = "debug"

[api]
enabled = true
listen = "[2001:db8::1]:9473"
token = ")") + kToken + R"("

[store]
enabled = false
path = "/srv/bw/attacks.db"
max_size_mb = 2048

[events]
file = "/var/log/breakwater/events.jsonl"
notify = ["/usr/local/bin/bw-notify", "--team", "noc"]
notify_timeout_s = 30
notify_on = ["attack_started"]
webhook_url = "https://hooks.example.net/bw"
webhook_timeout_s = 2.5
webhook_headers = ["Authorization: Bearer abc", "X-Source: breakwater"]
webhook_on = ["attack_ended", "attack_updated"]

[mitigation]
backend = "dry-run"
flowspec = false
rtbh = true
rtbh_community = "64500:666"
rtbh_next_hop = "2001:db8::666"
never = ["192.0.2.0/24", "2001:db8:1::/48"]
min_pps = 10000
min_mbps = 0
)",
                          "c.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const SensorSettings& s = r->sensor;
  EXPECT_EQ(s.interfaces, (std::vector<std::string>{"eth1", "enp3s0f1"}));
  EXPECT_EQ(s.workers_per_interface, 4);
  EXPECT_EQ(s.bpf_filter, "udp and not port 53");
  EXPECT_FALSE(s.promiscuous);
  EXPECT_EQ(s.sflow, (std::vector<std::string>{"0.0.0.0:6343", "[::]:6343"}));
  EXPECT_EQ(s.netflow, (std::vector<std::string>{"192.0.2.10:2055"}));
  EXPECT_DOUBLE_EQ(s.update_interval_s, 0.5);
  EXPECT_EQ(s.user, "breakwater");
  EXPECT_EQ(s.log_level, "debug");
  EXPECT_TRUE(r->api.enabled);
  EXPECT_EQ(r->api.listen, "[2001:db8::1]:9473");
  EXPECT_EQ(r->api.token, kToken);
  EXPECT_FALSE(r->store.enabled);
  EXPECT_EQ(r->store.path, "/srv/bw/attacks.db");
  EXPECT_EQ(r->store.max_size_mb, 2048u);
  const EventSettings& e = r->events;
  EXPECT_EQ(e.file, "/var/log/breakwater/events.jsonl");
  EXPECT_EQ(e.notify, (std::vector<std::string>{"/usr/local/bin/bw-notify", "--team", "noc"}));
  EXPECT_DOUBLE_EQ(e.notify_timeout_s, 30);
  EXPECT_EQ(e.notify_on, (std::vector<std::string>{"attack_started"}));
  EXPECT_EQ(e.webhook_url, "https://hooks.example.net/bw");
  EXPECT_DOUBLE_EQ(e.webhook_timeout_s, 2.5);
  EXPECT_EQ(e.webhook_headers,
            (std::vector<std::string>{"Authorization: Bearer abc", "X-Source: breakwater"}));
  EXPECT_EQ(e.webhook_on, (std::vector<std::string>{"attack_ended", "attack_updated"}));
  const MitigationSettings& m = r->mitigation;
  EXPECT_EQ(m.backend, "dry-run");
  EXPECT_FALSE(m.flowspec);
  EXPECT_TRUE(m.rtbh);
  EXPECT_EQ(m.rtbh_community, "64500:666");
  EXPECT_EQ(m.rtbh_next_hop, "2001:db8::666");
  ASSERT_EQ(m.never.size(), 2u);
  EXPECT_EQ(m.never[0], Prefix::parse("192.0.2.0/24").value());
  EXPECT_EQ(m.never[1], Prefix::parse("2001:db8:1::/48").value());
  EXPECT_DOUBLE_EQ(m.min_pps, 10000);
  EXPECT_DOUBLE_EQ(m.min_mbps, 0);
}

TEST(RunSettings, LoopbackListenNeedsNoToken) {
  for (const char* listen : {"127.0.0.1:9473", "127.1.2.3:80", "[::1]:9473"}) {
    EXPECT_EQ(errorOf(std::string("[api]\nlisten = \"") + listen + "\"\n"), "") << listen;
  }
  // A disabled API may name any address.
  EXPECT_EQ(errorOf("[api]\nenabled = false\nlisten = \"0.0.0.0:9473\"\n"), "");
  EXPECT_EQ(errorOf(std::string("[api]\nlisten = \"0.0.0.0:9473\"\ntoken = \"") + kToken + "\"\n"),
            "");
}

TEST(RunSettings, DistinctCollectorEndpointsAreFine) {
  // Same port on different addresses, IPv4 and IPv6 wildcards side by side (IPv6 sockets are
  // IPv6-only), different ports on one address.
  EXPECT_EQ(errorOf("[sensor]\nsflow = [\"192.0.2.1:6343\", \"192.0.2.2:6343\", \"[::]:6343\"]\n"
                    "netflow = [\"0.0.0.0:2055\", \"0.0.0.0:4739\"]\n"),
            "");
}

struct BadCase {
  const char* text;
  const char* expected;  // the exact message
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << ::testing::PrintToString(c.text); }

class RunSettingErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(RunSettingErrors, OneSentenceWithPosition) {
  EXPECT_EQ(errorOf(GetParam().text), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Sensor, RunSettingErrors,
    ::testing::Values(
        BadCase{"[sensor]\ninterfaces = \"eth1\"\n",
                "config.toml:2:14: sensor.interfaces must be an array of strings like "
                "[\"eth1\"], got \"eth1\""},
        BadCase{"[sensor]\ninterfaces = [\"eth1\", 2]\n",
                "config.toml:2:23: sensor.interfaces[1] must be a string like \"eth1\", got 2"},
        BadCase{"[sensor]\ninterfaces = [\"eth0\", \"a-very-long-name0\"]\n",
                "config.toml:2:23: sensor.interfaces[1] must be an interface name of 1 to 15 "
                "characters without '/' or whitespace, got \"a-very-long-name0\""},
        BadCase{"[sensor]\ninterfaces = [\"\"]\n",
                "config.toml:2:15: sensor.interfaces[0] must be an interface name of 1 to 15 "
                "characters without '/' or whitespace, got \"\""},
        BadCase{"[sensor]\ninterfaces = [\"eth 1\"]\n",
                "config.toml:2:15: sensor.interfaces[0] must be an interface name of 1 to 15 "
                "characters without '/' or whitespace, got \"eth 1\""},
        BadCase{"[sensor]\ninterfaces = [\"../eth1\"]\n",
                "config.toml:2:15: sensor.interfaces[0] must be an interface name of 1 to 15 "
                "characters without '/' or whitespace, got \"../eth1\""},
        BadCase{"[sensor]\ninterfaces = [\"eth1\", \"eth1\"]\n",
                "config.toml:2:23: sensor.interfaces[1] repeats \"eth1\"; each interface may be "
                "listed once"},
        BadCase{"[sensor]\nworkers_per_interface = 65\n",
                "config.toml:2:25: sensor.workers_per_interface must be an integer from 1 to 64, "
                "got 65"},
        BadCase{"[sensor]\nworkers_per_interface = 0\n",
                "config.toml:2:25: sensor.workers_per_interface must be an integer from 1 to 64, "
                "got 0"},
        BadCase{"[sensor]\nbpf_filter = 53\n",
                "config.toml:2:14: sensor.bpf_filter must be a tcpdump filter expression of at "
                "most 4096 characters, got 53"},
        BadCase{"[sensor]\npromiscuous = \"yes\"\n",
                "config.toml:2:15: sensor.promiscuous must be true or false, got \"yes\""},
        BadCase{"[sensor]\nsflow = [\"6343\"]\n",
                "config.toml:2:10: sensor.sflow[0] must be an endpoint such as \"0.0.0.0:6343\" "
                "or \"[::]:6343\" (an IP address and a port from 1 to 65535), got \"6343\""},
        BadCase{"[sensor]\nsflow = [\"0.0.0.0:0\"]\n",
                "config.toml:2:10: sensor.sflow[0] must be an endpoint such as \"0.0.0.0:6343\" "
                "or \"[::]:6343\" (an IP address and a port from 1 to 65535), got \"0.0.0.0:0\""},
        BadCase{"[sensor]\nnetflow = [\"::1:2055\"]\n",
                "config.toml:2:12: sensor.netflow[0] must be an endpoint such as "
                "\"0.0.0.0:2055\" or \"[::]:2055\" (an IP address and a port from 1 to 65535), "
                "got \"::1:2055\""},
        BadCase{"[sensor]\nnetflow = [\"collector.example:2055\"]\n",
                "config.toml:2:12: sensor.netflow[0] must be an endpoint such as "
                "\"0.0.0.0:2055\" or \"[::]:2055\" (an IP address and a port from 1 to 65535), "
                "got \"collector.example:2055\""},
        BadCase{"[sensor]\nnetflow = [\"0.0.0.0:65536\"]\n",
                "config.toml:2:12: sensor.netflow[0] must be an endpoint such as "
                "\"0.0.0.0:2055\" or \"[::]:2055\" (an IP address and a port from 1 to 65535), "
                "got \"0.0.0.0:65536\""},
        BadCase{"[sensor]\nsflow = \"0.0.0.0:6343\"\n",
                "config.toml:2:9: sensor.sflow must be an array of strings like "
                "[\"0.0.0.0:6343\"], got \"0.0.0.0:6343\""},
        BadCase{"[sensor]\nsflow = [\"0.0.0.0:2055\"]\nnetflow = [\"0.0.0.0:2055\"]\n",
                "config.toml:3:12: sensor.netflow[0] repeats the endpoint 0.0.0.0:2055 of "
                "sensor.sflow[0]; a UDP endpoint can be bound once"},
        BadCase{"[sensor]\nnetflow = [\"[::]:2055\", \"[0::0]:2055\"]\n",
                "config.toml:2:25: sensor.netflow[1] repeats the endpoint [::]:2055 of "
                "sensor.netflow[0]; a UDP endpoint can be bound once"},
        BadCase{"[sensor]\nsflow = [\"0.0.0.0:6343\"]\nnetflow = [\"192.0.2.1:6343\"]\n",
                "config.toml:3:12: sensor.netflow[0] 192.0.2.1:6343 overlaps sensor.sflow[0] "
                "0.0.0.0:6343, which binds UDP port 6343 on every IPv4 address"},
        BadCase{"[sensor]\nsflow = [\"192.0.2.1:6343\", \"0.0.0.0:6343\"]\n",
                "config.toml:2:28: sensor.sflow[1] 0.0.0.0:6343 binds UDP port 6343 on every "
                "IPv4 address, which overlaps sensor.sflow[0] 192.0.2.1:6343"},
        BadCase{"[sensor]\nupdate_interval_s = 0.05\n",
                "config.toml:2:21: sensor.update_interval_s must be a number of seconds from 0.1 "
                "to 3600, got 0.05"},
        BadCase{"[sensor]\nupdate_interval_s = 3601\n",
                "config.toml:2:21: sensor.update_interval_s must be a number of seconds from 0.1 "
                "to 3600, got 3601"},
        BadCase{"[sensor]\nuser = \"\"\n",
                "config.toml:2:8: sensor.user must be a user name of 1 to 32 characters without "
                "whitespace, ':' or '/', got \"\""},
        BadCase{"[sensor]\nlog_level = \"verbose\"\n",
                "config.toml:2:13: sensor.log_level must be one of debug, info, warn, error, got "
                "\"verbose\""},
        BadCase{"[sensor]\ninterface = \"eth0\"\n",
                "config.toml:2:1: unknown key sensor.interface (did you mean "
                "sensor.interfaces?)"},
        BadCase{"[sensor]\nasn_db = \"x\"\n",
                "config.toml:2:1: unknown key sensor.asn_db (did you mean enrich.asn_db, under "
                "[enrich]?)"},
        BadCase{"sensor = [\"eth0\"]\n",
                "config.toml:1:1: sensor must be a table ([sensor]), got an array"},
        BadCase{"interfaces = [\"eth0\"]\n[sensor]\n",
                "config.toml:1:1: unknown key interfaces at the top level (did you mean "
                "sensor.interfaces, under [sensor]?)"},
        BadCase{"[sensors]\n",
                "config.toml:1:2: unknown table or key sensors at the top level (did you mean "
                "[sensor]?)"}));

INSTANTIATE_TEST_SUITE_P(
    Api, RunSettingErrors,
    ::testing::Values(
        BadCase{"[api]\nenabled = 1\n",
                "config.toml:2:11: api.enabled must be true or false, got 1"},
        BadCase{"[api]\nlisten = \"localhost:9473\"\n",
                "config.toml:2:10: api.listen must be an endpoint such as \"127.0.0.1:9473\" or "
                "\"[::1]:9473\" (an IP address and a port from 1 to 65535), got "
                "\"localhost:9473\""},
        BadCase{"[api]\nlisten = \"0.0.0.0:9473\"\n",
                "config.toml:2:10: api.listen 0.0.0.0:9473 is not a loopback address: set "
                "api.token or api.token_file"},
        BadCase{"[api]\nlisten = \"[::]:9473\"\n",
                "config.toml:2:10: api.listen [::]:9473 is not a loopback address: set "
                "api.token or api.token_file"},
        BadCase{"[api]\ntoken = \"short\"\n",
                "config.toml:2:9: api.token must be 16 to 256 printable characters without "
                "spaces, got 5 characters"},
        BadCase{"[api]\ntoken = \"0123456789 abcdef01\"\n",
                "config.toml:2:9: api.token must be 16 to 256 printable characters without "
                "spaces, got 19 characters including spaces or non-printable ones"},
        BadCase{"[api]\ntoken = 1234567890123456\n",
                "config.toml:2:9: api.token must be 16 to 256 printable characters without "
                "spaces, got 1234567890123456"},
        BadCase{"[api]\ntoken = \"0123456789abcdef0123\"\ntoken_file = \"t\"\n",
                "config.toml:3:14: api.token_file cannot be used together with api.token; keep "
                "one of them"},
        BadCase{"[api]\ntoken_file = \"\"\n",
                "config.toml:2:14: api.token_file must be the path of a file holding the token, "
                "got \"\""},
        BadCase{"[api]\ntokens = \"x\"\n",
                "config.toml:2:1: unknown key api.tokens (did you mean api.token?)"}));

INSTANTIATE_TEST_SUITE_P(
    Store, RunSettingErrors,
    ::testing::Values(
        BadCase{"[store]\nenabled = \"no\"\n",
                "config.toml:2:11: store.enabled must be true or false, got \"no\""},
        BadCase{"[store]\npath = \"\"\n",
                "config.toml:2:8: store.path must be the path of the attack store file, got "
                "\"\""},
        BadCase{"[store]\nmax_size_mb = -1\n",
                "config.toml:2:15: store.max_size_mb must be an integer from 0 to 1000000, got "
                "-1"},
        BadCase{"[store]\nmax_size_mb = 1.5\n",
                "config.toml:2:15: store.max_size_mb must be an integer from 0 to 1000000, got "
                "1.5"},
        BadCase{"[store]\nmax_size = 5\n",
                "config.toml:2:1: unknown key store.max_size (did you mean "
                "store.max_size_mb?)"}));

INSTANTIATE_TEST_SUITE_P(
    Events, RunSettingErrors,
    ::testing::Values(
        BadCase{"[events]\nfile = \"\"\n",
                "config.toml:2:8: events.file must be the path of the event log (leave it out "
                "for none), got \"\""},
        BadCase{"[events]\nnotify = \"/usr/local/bin/page\"\n",
                "config.toml:2:10: events.notify must be an array of strings like "
                "[\"/usr/local/bin/bw-notify\", \"--page\"], got \"/usr/local/bin/page\""},
        BadCase{"[events]\nnotify = []\n",
                "config.toml:2:10: events.notify must name a command and its arguments, such as "
                "[\"/usr/local/bin/bw-notify\"], got an empty array"},
        BadCase{"[events]\nnotify = [\"\", \"x\"]\n",
                "config.toml:2:11: events.notify[0] must be the command to run, got \"\""},
        BadCase{"[events]\nnotify = [\"/bin/true\", 3]\n",
                "config.toml:2:24: events.notify[1] must be a string like \"--page\", got 3"},
        BadCase{"[events]\nnotify_timeout_s = 0\n",
                "config.toml:2:20: events.notify_timeout_s must be a number of seconds from 0.1 "
                "to 3600, got 0"},
        BadCase{"[events]\nnotify_on = [\"attack_started\", \"attack_start\"]\n",
                "config.toml:2:32: events.notify_on[1] must be one of attack_started, "
                "attack_updated, attack_ended, got \"attack_start\""},
        BadCase{"[events]\nnotify_on = [\"attack_ended\", \"attack_ended\"]\n",
                "config.toml:2:30: events.notify_on[1] repeats \"attack_ended\"; each event may "
                "be listed once"},
        BadCase{"[events]\nwebhook_url = \"ftp://example.net/x\"\n",
                "config.toml:2:15: events.webhook_url must be an http:// or https:// URL (leave "
                "it out for no webhook), got \"ftp://example.net/x\""},
        BadCase{"[events]\nwebhook_url = \"https://\"\n",
                "config.toml:2:15: events.webhook_url must be an http:// or https:// URL (leave "
                "it out for no webhook), got \"https://\""},
        BadCase{"[events]\nwebhook_url = \"https://a.example/x y\"\n",
                "config.toml:2:15: events.webhook_url must be an http:// or https:// URL (leave "
                "it out for no webhook), got \"https://a.example/x y\""},
        BadCase{"[events]\nwebhook_timeout_s = \"5s\"\n",
                "config.toml:2:21: events.webhook_timeout_s must be a number of seconds from 0.1 "
                "to 3600, got \"5s\""},
        BadCase{"[events]\nwebhook_headers = [\"X-Key: secret\\r\\nInjected: 1\"]\n",
                "config.toml:2:20: events.webhook_headers[0] must be a header \"Name: value\" "
                "without line breaks, such as \"Authorization: Bearer TOKEN\", got \"X-Key: "
                "...\""},
        BadCase{"[events]\nwebhook_headers = [\"Bad Name: x\"]\n",
                "config.toml:2:20: events.webhook_headers[0] must be a header \"Name: value\" "
                "without line breaks, such as \"Authorization: Bearer TOKEN\", got \"Bad Name: "
                "...\""},
        BadCase{"[events]\nwebhook_headers = [\"novalue\"]\n",
                "config.toml:2:20: events.webhook_headers[0] must be a header \"Name: value\" "
                "without line breaks, such as \"Authorization: Bearer TOKEN\", got "
                "\"novalue\""},
        BadCase{"[events]\nwebhook_on = [\"started\"]\n",
                "config.toml:2:15: events.webhook_on[0] must be one of attack_started, "
                "attack_updated, attack_ended, got \"started\""},
        BadCase{"[events]\nwebhook = \"https://x\"\n",
                "config.toml:2:1: unknown key events.webhook (did you mean "
                "events.webhook_url?)"}));

INSTANTIATE_TEST_SUITE_P(
    Mitigation, RunSettingErrors,
    ::testing::Values(
        BadCase{"[mitigation]\nbackend = \"gobgp\"\n",
                "config.toml:2:11: mitigation.backend must be one of none, dry-run, got "
                "\"gobgp\""},
        BadCase{"[mitigation]\nflowspec = \"on\"\n",
                "config.toml:2:12: mitigation.flowspec must be true or false, got \"on\""},
        BadCase{"[mitigation]\nrtbh = 0\n",
                "config.toml:2:8: mitigation.rtbh must be true or false, got 0"},
        BadCase{"[mitigation]\nrtbh_community = \"65536:666\"\n",
                "config.toml:2:18: mitigation.rtbh_community must be a BGP community "
                "\"ASN:VALUE\" with both numbers from 0 to 65535, such as \"65535:666\", got "
                "\"65536:666\""},
        BadCase{"[mitigation]\nrtbh_community = \"blackhole\"\n",
                "config.toml:2:18: mitigation.rtbh_community must be a BGP community "
                "\"ASN:VALUE\" with both numbers from 0 to 65535, such as \"65535:666\", got "
                "\"blackhole\""},
        BadCase{"[mitigation]\nrtbh_next_hop = \"192.0.2.300\"\n",
                "config.toml:2:17: mitigation.rtbh_next_hop must be an IPv4 or IPv6 address such "
                "as \"192.0.2.1\", got \"192.0.2.300\""},
        BadCase{"[mitigation]\nnever = [\"192.0.2.0/24\", \"x\"]\n",
                "config.toml:2:26: mitigation.never[1] must be an IPv4 or IPv6 prefix such as "
                "\"198.18.0.0/15\" or \"2001:db8::/32\", got \"x\""},
        BadCase{"[mitigation]\nnever = [\"192.0.2.1\\u0000x\"]\n",
                "config.toml:2:10: mitigation.never[0] must be an IPv4 or IPv6 prefix such as "
                "\"198.18.0.0/15\" or \"2001:db8::/32\", got \"192.0.2.1\\u0000x\""},
        BadCase{"[api]\nlisten = \"127.0.0.1\\u0000:9473\"\n",
                "config.toml:2:10: api.listen must be an endpoint such as \"127.0.0.1:9473\" or "
                "\"[::1]:9473\" (an IP address and a port from 1 to 65535), got "
                "\"127.0.0.1\\u0000:9473\""},
        BadCase{"[mitigation]\nnever = \"192.0.2.0/24\"\n",
                "config.toml:2:9: mitigation.never must be an array of prefixes such as "
                "[\"198.18.0.0/15\"], got \"192.0.2.0/24\""},
        BadCase{"[mitigation]\nmin_pps = -1\n",
                "config.toml:2:11: mitigation.min_pps must be a number of at least 0, got -1"},
        BadCase{"[mitigation]\nmin_mbps = nan\n",
                "config.toml:2:12: mitigation.min_mbps must be a number of at least 0, got nan"},
        BadCase{"[mitigation]\nbackends = \"none\"\n",
                "config.toml:2:1: unknown key mitigation.backends (did you mean "
                "mitigation.backend?)"}));

// Writes `text` to dir/name with `mode`.
void writeFile(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), mode);
}

TEST(RunSettings, TokenFileIsReadTrimmedAndRelativeToTheConfig) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("secrets"));
  writeFile(dir.file("secrets/api.token"), std::string("  ") + kToken + "\n\n");
  writeFile(dir.file("bw.toml"),
            "[api]\nlisten = \"0.0.0.0:9473\"\ntoken_file = \"secrets/api.token\"\n");
  auto r = loadConfigFile(dir.file("bw.toml"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->api.token, kToken);
}

TEST(RunSettings, TokenFileProblems) {
  TempDir dir;
  const std::string config = dir.file("bw.toml");
  writeFile(config, "[api]\ntoken_file = \"missing.token\"\n");
  auto missing = loadConfigFile(config);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            config + ":2:14: api.token_file must name a readable file, got \"missing.token\" (" +
                dir.file("missing.token") + ": No such file or directory)");

  writeFile(dir.file("short.token"), "abc\n");
  writeFile(config, "[api]\ntoken_file = \"short.token\"\n");
  auto short_token = loadConfigFile(config);
  ASSERT_FALSE(short_token.ok());
  EXPECT_EQ(short_token.error().message,
            config +
                ":2:14: api.token_file must hold one token of 16 to 256 printable "
                "characters without spaces, got 3 characters in " +
                dir.file("short.token"));

  writeFile(dir.file("two.token"), std::string(kToken) + "\n" + kToken + "\n");
  writeFile(config, "[api]\ntoken_file = \"two.token\"\n");
  auto two = loadConfigFile(config);
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("including spaces or non-printable ones"), std::string::npos)
      << two.error().message;

  writeFile(dir.file("huge.token"), std::string(100000, 'a'));
  writeFile(config, "[api]\ntoken_file = \"huge.token\"\n");
  auto huge = loadConfigFile(config);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("got more than 256 characters"), std::string::npos)
      << huge.error().message;

  writeFile(config, "[api]\ntoken_file = \".\"\n");
  auto directory = loadConfigFile(config);
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.error().message.find(": it is a directory)"), std::string::npos)
      << directory.error().message;

  if (::geteuid() != 0) {  // root reads any file
    writeFile(dir.file("private.token"), kToken, 0000);
    writeFile(config, "[api]\ntoken_file = \"private.token\"\n");
    auto denied = loadConfigFile(config);
    ASSERT_FALSE(denied.ok());
    EXPECT_NE(denied.error().message.find("Permission denied"), std::string::npos)
        << denied.error().message;
  }
}

TEST(RunSettings, RelativePathsResolveAgainstTheConfigDirectory) {
  TempDir dir;
  const std::string config = dir.file("etc/bw.toml");
  std::filesystem::create_directories(dir.file("etc"));
  writeFile(config,
            "[store]\npath = \"../var/attacks.db\"\n[events]\nfile = \"events.jsonl\"\n"
            "notify = [\"bin/notify\"]\n[enrich]\nasn_db = \"/abs/asn.mmdb\"\n");
  auto r = loadConfigFile(config);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->store.path, dir.file("var/attacks.db"));
  EXPECT_EQ(r->events.file, dir.file("etc/events.jsonl"));
  EXPECT_EQ(*r->asn_db, "/abs/asn.mmdb");  // absolute paths are kept
  // The notify command is run as execvp() would find it, not resolved here.
  EXPECT_EQ(r->events.notify[0], "bin/notify");

  // loadConfigText has no directory: paths stay as written.
  auto text = loadConfigText("[store]\npath = \"attacks.db\"\n", "c.toml");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->store.path, "attacks.db");
}

}  // namespace
}  // namespace bw
