// `breakwater audit` end to end: the command line (exit 2 for bad usage, 3 for unreadable
// lists or nothing sendable), --dry-run showing exactly what would be probed, and, in network
// namespaces this test creates, a real scan of memcached servers with every output format,
// the exit status cron and CI rely on, --deep, and a packet capture proving that nothing
// outside the targets (or inside the exclude list) received a single packet.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "audit/memcached_client.h"
#include "audit/netns_lab.h"
#include "cli/cli_support.h"

namespace bw::testing {
namespace {

TEST(AuditCli, UsageErrorsExitTwoWithAReason) {
  RunResult none = runBreakwater({"audit"});
  EXPECT_EQ(none.status, 2);
  RunResult host = runBreakwater({"audit", "web01.example.net"});
  EXPECT_EQ(host.status, 2);
  EXPECT_NE(host.err.find("web01.example.net"), std::string::npos) << host.err;
  RunResult big = runBreakwater({"audit", "10.0.0.0/7"});
  EXPECT_EQ(big.status, 2);
  EXPECT_NE(big.err.find("--force"), std::string::npos) << big.err;
  RunResult svc = runBreakwater({"audit", "--services", "memcached,bogus", "198.18.1.1"});
  EXPECT_EQ(svc.status, 2);
  EXPECT_NE(svc.err.find("bogus"), std::string::npos);
  EXPECT_NE(svc.err.find("memcached"), std::string::npos) << "lists the known services";
  RunResult timeout = runBreakwater({"audit", "--timeout", "5x", "198.18.1.1"});
  EXPECT_EQ(timeout.status, 2);
  EXPECT_NE(timeout.err.find("--timeout"), std::string::npos);
  RunResult all_out = runBreakwater({"audit", "198.18.1.1", "--exclude", "198.18.1.0/24"});
  EXPECT_EQ(all_out.status, 2);
  RunResult missing = runBreakwater({"audit", "@/nonexistent/hosts.txt"});
  EXPECT_EQ(missing.status, 3);
  EXPECT_NE(missing.err.find("/nonexistent/hosts.txt"), std::string::npos) << missing.err;
}

TEST(AuditCli, HelpTeachesExitCodesAndServices) {
  RunResult help = runBreakwater({"audit", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("Exit status: 0 nothing exposed, 1 exposed"), std::string::npos);
  EXPECT_NE(help.out.find("memcached"), std::string::npos);
  EXPECT_NE(help.out.find("--exclude"), std::string::npos);
}

TEST(AuditCli, DryRunListsExactlyWhatWouldBeProbed) {
  RunResult r = runBreakwater(
      {"audit", "--dry-run", "198.18.1.0/29", "224.0.0.1", "--exclude", "198.18.1.3"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("7 addresses to probe"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  198.18.1.0-198.18.1.2\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  198.18.1.4-198.18.1.7\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("224.0.0.1"), std::string::npos) << "multicast is never a target";
}

class AuditCliLab : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!runningAsRoot()) GTEST_SKIP() << "needs root to create network namespaces";
    if (!commandExists("memcached")) GTEST_SKIP() << "memcached is not installed";
    if (!commandExists("tcpdump")) GTEST_SKIP() << "tcpdump is not installed";
  }
};

std::set<std::string> foundSet(const nlohmann::json& report) {
  std::set<std::string> s;
  for (const auto& f : report["findings"]) {
    s.insert(f["ip"].get<std::string>() + "/" + f["transport"].get<std::string>());
  }
  return s;
}

TEST_F(AuditCliLab, ScansARealRangeAndTouchesNothingElse) {
  NetnsLab lab("cl", {"198.18.1.0/24"},
               {"198.18.1.10", "198.18.1.20", "198.18.1.30", "198.18.1.40", "198.18.1.60",
                "198.18.1.99", "198.18.1.200"});
  ASSERT_TRUE(lab.ok()) << lab.error();
  ASSERT_GT(lab.startMemcached("mc10", "-l 198.18.1.10 -p 11211 -U 11211"), 0);
  ASSERT_GT(lab.startMemcached("mc20", "-l 198.18.1.20 -p 11211 -U 0"), 0);
  ASSERT_GT(lab.startMemcached("mc30", "-l 198.18.1.30 -p 0 -U 11211"), 0);
  ASSERT_GT(lab.startMemcached("mc40", "-l 198.18.1.40 -p 11211 -U 11211 -I 2m"), 0);
  ASSERT_GT(lab.startMemcached("mc99", "-l 198.18.1.99 -p 11211 -U 11211"), 0);
  ASSERT_GT(lab.startMemcached("mc200", "-l 198.18.1.200 -p 11211 -U 11211"), 0);
  {
    NetnsEnter in(lab.scanner());
    ASSERT_TRUE(in.ok());
    std::string value(1'000'000, 'z');
    ASSERT_EQ(memcachedTcp("198.18.1.40", "set blob 0 0 1000000\r\n" + value + "\r\n", "\r\n"),
              "STORED\r\n");
  }

  // Every packet the scanner namespace sends, captured on its only link.
  const std::string pcap = lab.file("scan.pcap").string();
  pid_t dump = lab.spawn(lab.scanner(), "tcpdump --immediate-mode -i " + lab.scannerVeth() +
                                            " -n -U -s 128 -w " + pcap + " ip");
  ASSERT_GT(dump, 0);
  for (int i = 0; i < 100 && !std::filesystem::exists(pcap); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  const std::string json_path = lab.file("audit.json").string();
  RunResult r =
      runCommand({"ip", "netns", "exec", lab.scanner(), BW_BINARY, "audit", "198.18.1.0/25",
                  "--exclude", "198.18.1.99", "--services", "memcached", "--format", "json", "-o",
                  json_path, "--deep", "--min-timeout", "50ms"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  NetnsLab::stop(dump);
  ASSERT_EQ(r.status, 1) << r.err;  // exposed services found

  nlohmann::json report = nlohmann::json::parse(readFile(json_path));
  EXPECT_EQ(report["targets"], 127);
  EXPECT_EQ(report["probed"], 127);
  EXPECT_LT(report["duration_s"].get<double>(), 5.0);
  EXPECT_EQ(foundSet(report),
            (std::set<std::string>{"198.18.1.10/udp", "198.18.1.10/tcp", "198.18.1.20/tcp",
                                   "198.18.1.30/udp", "198.18.1.40/udp", "198.18.1.40/tcp"}));
  for (const auto& f : report["findings"]) {
    EXPECT_EQ(f["service"], "memcached");
    EXPECT_EQ(f["port"], 11211);
    EXPECT_FALSE(f["version"].get<std::string>().empty());
    EXPECT_FALSE(f["advice"].get<std::string>().empty());
    if (f["transport"] == "udp") {
      EXPECT_GT(f["amplification"].get<double>(), 1.0);
      EXPECT_GT(f["details"]["amplification_ip"].get<double>(), 1.0);
    }
    if (f["ip"] == "198.18.1.40" && f["transport"] == "udp") {
      const auto& deep = f["details"]["deep"];
      ASSERT_TRUE(deep.contains("amplification")) << deep.dump();
      EXPECT_EQ(deep["key"], "blob");
      EXPECT_EQ(deep["item_bytes"], 1'000'000);
      EXPECT_GT(deep["amplification"].get<double>(), 10000.0);
    }
  }

  // The capture: from the scanner's address, only 198.18.1.0/25 minus .99 was ever a
  // destination; and the capture did see the scan.
  RunResult outside = runCommand(
      {"tcpdump", "-n", "-r", pcap,
       "src host 10.251.0.1 and not (dst net 198.18.1.0/25 and not dst host 198.18.1.99)"});
  RunResult inside = runCommand({"tcpdump", "-n", "-r", pcap, "src host 10.251.0.1"});
  EXPECT_EQ(outside.out, "") << "packets left for addresses that were not targets";
  EXPECT_GT(std::count(inside.out.begin(), inside.out.end(), '\n'), 127 * 2);

  // Text and CSV of the same kind of scan; exit 0 when nothing is exposed.
  RunResult text = runCommand({"ip", "netns", "exec", lab.scanner(), BW_BINARY, "audit",
                               "198.18.1.10", "198.18.1.60", "--services", "memcached"});
  EXPECT_EQ(text.status, 1) << text.err;
  EXPECT_NE(text.out.find("198.18.1.10  memcached  11211/udp"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("-U 0"), std::string::npos);
  RunResult csv = runCommand({"ip", "netns", "exec", lab.scanner(), BW_BINARY, "audit",
                              "198.18.1.30", "--services", "memcached", "-f", "csv"});
  EXPECT_EQ(csv.status, 1);
  EXPECT_EQ(csv.out.rfind("ip,service,transport,port,version,auth_required,", 0), 0u) << csv.out;
  EXPECT_NE(csv.out.find("\n198.18.1.30,memcached,udp,11211,"), std::string::npos) << csv.out;
  RunResult quiet = runCommand({"ip", "netns", "exec", lab.scanner(), BW_BINARY, "audit",
                                "198.18.1.60-198.18.1.70", "--services", "memcached"});
  EXPECT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_NE(quiet.out.find("nothing exposed"), std::string::npos) << quiet.out;

  // No route at all: not "nothing exposed" (which cron would take as all clear) but an error.
  RunResult unroutable = runCommand({"ip", "netns", "exec", lab.scanner(), BW_BINARY, "audit",
                                     "203.0.113.0/30", "--services", "memcached"});
  EXPECT_EQ(unroutable.status, 3) << unroutable.out << unroutable.err;
  EXPECT_NE(unroutable.err.find("no probe could be sent"), std::string::npos) << unroutable.err;
}

}  // namespace
}  // namespace bw::testing
