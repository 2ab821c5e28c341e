// `breakwater check-config` as an operator meets it: the real binary on files this test
// writes. Every error with its line and column and a count, exit 2; a missing file exits 3;
// a valid file prints OK and a summary; host problems (a missing interface) are warnings, or
// errors with --strict; the JSON document; and the documented example, examples/sensor.toml,
// is the same as in docs/configuration.md and passes.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_support.h"

namespace bw {
namespace {

using nlohmann::json;
using testing::has;
using testing::lines;
using testing::readFile;
using testing::runBreakwater;
using testing::TempDir;

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

// Valid everywhere: loopback interface, store and event log in the test's directory.
std::string validConfig(const TempDir& dir) {
  return "[sensor]\ninterfaces = [\"lo\"]\nsflow = [\"127.0.0.1:16343\"]\n"
         "[store]\npath = \"" +
         dir.file("attacks.db") + "\"\n[events]\nfile = \"events.jsonl\"\n" +
         "[mitigation]\nbackend = \"dry-run\"\n";
}

TEST(CheckConfigCli, ValidFileIsOkWithASummary) {
  TempDir dir;
  const std::string path = write(dir, "bw.toml", validConfig(dir));
  auto r = runBreakwater({"check-config", path});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  auto ls = lines(r.out);
  ASSERT_GE(ls.size(), 2u) << r.out;
  EXPECT_EQ(ls[0], path + ": OK");
  EXPECT_TRUE(has(r.out, "capture on lo")) << r.out;
  EXPECT_TRUE(has(r.out, "sFlow on 127.0.0.1:16343")) << r.out;
  EXPECT_TRUE(has(r.out, "127.0.0.1:9473")) << r.out;
  EXPECT_TRUE(has(r.out, dir.file("events.jsonl"))) << "relative path resolved: " << r.out;
  EXPECT_TRUE(has(r.out, "dry-run")) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST(CheckConfigCli, ReportsEveryErrorWithItsPosition) {
  TempDir dir;
  const std::string path = write(dir, "bad.toml",
                                 "[sensor]\n"
                                 "workers_per_interface = 0\n"
                                 "sflow = [\"0.0.0.0:2055\"]\n"
                                 "netflow = [\"0.0.0.0:2055\"]\n"
                                 "[api]\n"
                                 "listen = \"0.0.0.0:9473\"\n"
                                 "[mitigation]\n"
                                 "backend = \"gobgp\"\n"
                                 "[events]\n"
                                 "notify_on = [\"attack_begun\"]\n"
                                 "colour = 1\n");
  auto r = runBreakwater({"check-config", path});
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  const std::vector<std::string> expected = {
      path + ":2:25: sensor.workers_per_interface must be an integer from 1 to 64, got 0",
      path +
          ":4:12: sensor.netflow[0] repeats the endpoint 0.0.0.0:2055 of sensor.sflow[0]; a "
          "UDP endpoint can be bound once",
      path +
          ":6:10: api.listen 0.0.0.0:9473 is not a loopback address: set api.token or "
          "api.token_file",
      path + ":8:11: mitigation.backend must be one of none, dry-run, got \"gobgp\"",
      path +
          ":10:14: events.notify_on[0] must be one of attack_started, attack_updated, "
          "attack_ended, got \"attack_begun\"",
      path +
          ":11:1: unknown key events.colour; valid keys in [events] are file, notify, "
          "notify_timeout_s, notify_on, webhook_url, webhook_timeout_s, webhook_headers, "
          "webhook_on",
      "6 errors",
  };
  EXPECT_EQ(lines(r.out), expected);
}

TEST(CheckConfigCli, SyntaxErrorIsTheOnlyError) {
  TempDir dir;
  const std::string path =
      write(dir, "syntax.toml", "[sensor]\nworkers_per_interface = 0\nx = = 1\n");
  auto r = runBreakwater({"check-config", path});
  EXPECT_EQ(r.status, 2);
  auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 2u) << r.out;
  EXPECT_EQ(ls[0].rfind(path + ":3:", 0), 0u) << ls[0];
  EXPECT_TRUE(has(ls[0], "invalid TOML")) << ls[0];
  EXPECT_EQ(ls[1], "1 error");
}

TEST(CheckConfigCli, MissingFileExits3) {
  TempDir dir;
  auto r = runBreakwater({"check-config", dir.file("nope.toml")});
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "breakwater check-config: cannot read config file " + dir.file("nope.toml") +
                       ": No such file or directory\n");

  auto j = runBreakwater({"check-config", dir.file("nope.toml"), "--format", "json"});
  EXPECT_EQ(j.status, 3);
  json doc = json::parse(j.out);
  EXPECT_FALSE(doc["ok"].get<bool>());
  ASSERT_EQ(doc["errors"].size(), 1u);
  EXPECT_EQ(doc["errors"][0]["line"], 0);
}

TEST(CheckConfigCli, MissingInterfaceIsAWarningUnlessStrict) {
  TempDir dir;
  const std::string path =
      write(dir, "bw.toml",
            "[sensor]\ninterfaces = [\"lo\", \"bwnosuch0\"]\n[store]\npath = \"attacks.db\"\n");
  const std::string warning =
      path + ":2:21: warning: sensor.interfaces[1] \"bwnosuch0\" is not an interface of this host";
  auto r = runBreakwater({"check-config", path});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  auto ls = lines(r.out);
  ASSERT_GE(ls.size(), 3u) << r.out;
  EXPECT_EQ(ls[0], warning);
  EXPECT_EQ(ls[1], path + ": OK with 1 warning");

  auto strict = runBreakwater({"check-config", "--strict", path});
  EXPECT_EQ(strict.status, 2) << strict.out;
  EXPECT_EQ(lines(strict.out),
            (std::vector<std::string>{path + ":2:21: sensor.interfaces[1] \"bwnosuch0\" is not "
                                             "an interface of this host",
                                      "1 error"}));
}

TEST(CheckConfigCli, JsonDocument) {
  TempDir dir;
  const std::string good =
      write(dir, "good.toml",
            validConfig(dir) + "[api]\nlisten = \"0.0.0.0:9473\"\ntoken = \"0123456789abcdef\"\n");
  auto r = runBreakwater({"check-config", good, "--format", "json"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  json doc = json::parse(r.out);
  EXPECT_EQ(doc["file"], good);
  EXPECT_TRUE(doc["ok"].get<bool>());
  EXPECT_TRUE(doc["errors"].empty());
  EXPECT_TRUE(doc["warnings"].empty()) << doc["warnings"].dump();
  const json& s = doc["summary"];
  EXPECT_EQ(s["sensor"]["interfaces"], json::array({"lo"}));
  EXPECT_EQ(s["sensor"]["sflow"], json::array({"127.0.0.1:16343"}));
  EXPECT_EQ(s["api"]["listen"], "0.0.0.0:9473");
  EXPECT_EQ(s["api"]["token"], true);  // whether there is one, never the token
  EXPECT_FALSE(has(r.out, "0123456789abcdef"));
  EXPECT_EQ(s["store"]["path"], dir.file("attacks.db"));
  EXPECT_EQ(s["events"]["file"], dir.file("events.jsonl"));
  EXPECT_EQ(s["mitigation"]["backend"], "dry-run");

  const std::string bad = write(dir, "bad.toml",
                                "[sensor]\ninterfaces = [\"lo\", \"bwnosuch0\"]\n"
                                "update_interval_s = 0\n[api]\ntoken = \"short\"\n");
  auto b = runBreakwater({"check-config", bad, "--format", "json"});
  EXPECT_EQ(b.status, 2);
  json bdoc = json::parse(b.out);
  EXPECT_FALSE(bdoc["ok"].get<bool>());
  EXPECT_TRUE(bdoc["summary"].is_null());
  EXPECT_TRUE(bdoc["warnings"].empty()) << "host checks need a valid file";
  ASSERT_EQ(bdoc["errors"].size(), 2u) << b.out;
  EXPECT_EQ(bdoc["errors"][0]["line"], 3);
  EXPECT_EQ(bdoc["errors"][0]["column"], 21);
  EXPECT_EQ(bdoc["errors"][0]["message"],
            "sensor.update_interval_s must be a number of seconds from 0.1 to 3600, got 0");
  EXPECT_EQ(bdoc["errors"][1]["line"], 5);
  EXPECT_EQ(bdoc["errors"][1]["column"], 9);

  const std::string warn =
      write(dir, "warn.toml", "[sensor]\ninterfaces = [\"bwnosuch0\"]\n[store]\nenabled = false\n");
  auto w = runBreakwater({"check-config", warn, "--format", "json"});
  EXPECT_EQ(w.status, 0);
  json wdoc = json::parse(w.out);
  EXPECT_TRUE(wdoc["ok"].get<bool>());
  ASSERT_EQ(wdoc["warnings"].size(), 1u);
  EXPECT_EQ(wdoc["warnings"][0]["line"], 2);
  EXPECT_EQ(wdoc["warnings"][0]["column"], 15);
  EXPECT_EQ(wdoc["warnings"][0]["message"],
            "sensor.interfaces[0] \"bwnosuch0\" is not an interface of this host");
}

TEST(CheckConfigCli, BadCommandLine) {
  EXPECT_EQ(runBreakwater({"check-config"}).status, 2);
  TempDir dir;
  const std::string path = write(dir, "bw.toml", "");
  EXPECT_EQ(runBreakwater({"check-config", path, "--format", "yaml"}).status, 2);
}

// The example in the documentation is examples/sensor.toml, and it is valid.
TEST(CheckConfigCli, DocumentedSensorExamplePasses) {
  const std::string example_path = std::string(BW_SOURCE_DIR) + "/examples/sensor.toml";
  const std::string example = readFile(example_path);
  ASSERT_FALSE(example.empty()) << example_path;
  const std::string docs = readFile(std::string(BW_SOURCE_DIR) + "/docs/configuration.md");
  const std::size_t section = docs.find("## A full sensor configuration");
  ASSERT_NE(section, std::string::npos);
  const std::size_t begin = docs.find("```toml\n", section);
  ASSERT_NE(begin, std::string::npos);
  const std::size_t end = docs.find("```\n", begin + 8);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(docs.substr(begin + 8, end - begin - 8), example)
      << "docs/configuration.md and examples/sensor.toml differ";

  auto r = runBreakwater({"check-config", example_path, "--format", "json"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  json doc = json::parse(r.out);
  EXPECT_TRUE(doc["ok"].get<bool>());
  EXPECT_TRUE(doc["errors"].empty());
  // What a test host lacks (eth1, /var/lib/breakwater, ...) may only be warned about.
  for (const json& w : doc["warnings"]) {
    EXPECT_GT(w["line"].get<int>(), 0) << w.dump();
  }
  EXPECT_EQ(doc["summary"]["sensor"]["interfaces"], json::array({"eth1"}));
  EXPECT_EQ(doc["summary"]["mitigation"]["backend"], "dry-run");
}

}  // namespace
}  // namespace bw
