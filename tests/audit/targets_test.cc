// Target lists: every form parses to exactly the addresses it names, overlaps count once,
// exclusions and the always-removed ranges are honoured, absurd sizes are refused with a
// sentence that says what to do, and errors name the element (and file line).
#include "audit/targets.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace bw::audit {
namespace {

std::vector<std::string> walk(const TargetSet& set) {
  std::vector<std::string> out;
  TargetSet::Cursor c(set);
  IpAddress a;
  while (c.next(a)) out.push_back(a.toString());
  return out;
}

TargetSet build(std::vector<std::string> specs, std::vector<std::string> excludes = {},
                TargetLimits limits = {}) {
  auto r = TargetSet::build(specs, excludes, limits);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : TargetSet{};
}

TEST(Targets, AddressesPrefixesAndRanges) {
  EXPECT_EQ(walk(build({"198.18.1.10"})), std::vector<std::string>{"198.18.1.10"});
  EXPECT_EQ(build({"198.18.1.0/24"}).size(), 256u);
  EXPECT_EQ(walk(build({"198.18.1.5/30"})),  // host bits ignored, as nmap does
            (std::vector<std::string>{"198.18.1.4", "198.18.1.5", "198.18.1.6", "198.18.1.7"}));
  EXPECT_EQ(walk(build({"198.18.1.254-198.18.2.1"})),
            (std::vector<std::string>{"198.18.1.254", "198.18.1.255", "198.18.2.0", "198.18.2.1"}));
  EXPECT_EQ(walk(build({"2001:db8::/126"})),
            (std::vector<std::string>{"2001:db8::", "2001:db8::1", "2001:db8::2", "2001:db8::3"}));
  TargetSet both = build({"198.18.1.1", "2001:db8::1"});
  EXPECT_TRUE(both.hasV4());
  EXPECT_TRUE(both.hasV6());
  EXPECT_FALSE(build({"198.18.1.1"}).hasV6());
}

TEST(Targets, OverlapsCountOnceAndCommaListsWork) {
  TargetSet s = build({"198.18.1.0/25", "198.18.1.100-198.18.1.200,198.18.1.10", "198.18.1.0/24"});
  EXPECT_EQ(s.size(), 256u);
  auto v = walk(s);
  EXPECT_EQ(std::set<std::string>(v.begin(), v.end()).size(), 256u);
  EXPECT_EQ(v.front(), "198.18.1.0");
  EXPECT_EQ(v.back(), "198.18.1.255");
}

TEST(Targets, ExclusionsAreNeverWalked) {
  TargetSet s = build({"198.18.1.0/24"}, {"198.18.1.99", "198.18.1.128/25", "203.0.113.0/24"});
  EXPECT_EQ(s.size(), 127u);
  EXPECT_EQ(s.excluded(), 129u);
  for (const auto& a : walk(s)) {
    auto ip = IpAddress::parse(a);
    ASSERT_TRUE(ip);
    EXPECT_NE(a, "198.18.1.99");
    EXPECT_LT(ip->v4() & 0xff, 128u) << a;
    EXPECT_TRUE(s.contains(*ip));
  }
  EXPECT_FALSE(s.contains(*IpAddress::parse("198.18.1.99")));
  EXPECT_FALSE(s.contains(*IpAddress::parse("198.18.1.200")));
  EXPECT_FALSE(s.contains(*IpAddress::parse("198.18.2.1")));
  EXPECT_FALSE(s.contains(*IpAddress::parse("::ffff:0:0")));
}

TEST(Targets, MulticastBroadcastAndUnspecifiedAreAlwaysRemoved) {
  TargetSet s = build({"224.0.0.1", "239.255.255.250", "255.255.255.255", "0.0.0.0", "0.1.2.3",
                       "ff02::1", "::", "198.18.1.1"});
  EXPECT_EQ(walk(s), std::vector<std::string>{"198.18.1.1"});
  EXPECT_EQ(s.specialRemoved(), 7u);
  // A range across the multicast block keeps what is around it.
  TargetSet around = build({"223.255.255.254-240.0.0.1"});
  EXPECT_EQ(walk(around), (std::vector<std::string>{"223.255.255.254", "223.255.255.255",
                                                    "240.0.0.0", "240.0.0.1"}));
  auto all_excluded = TargetSet::build({"198.18.1.1"}, {"198.18.1.0/24"}, {});
  ASSERT_TRUE(all_excluded.ok());
  EXPECT_TRUE(all_excluded->empty());
}

TEST(Targets, AbsurdSizesAreRefusedUnlessForced) {
  auto eight = TargetSet::build({"10.0.0.0/7"}, {}, {});
  ASSERT_FALSE(eight.ok());
  EXPECT_NE(eight.error().message.find("33554432"), std::string::npos) << eight.error().message;
  EXPECT_NE(eight.error().message.find("--force"), std::string::npos);
  EXPECT_TRUE(TargetSet::build({"10.0.0.0/8"}, {}, {}).ok());  // exactly 2^24
  TargetLimits forced;
  forced.force = true;
  auto big = TargetSet::build({"10.0.0.0/7"}, {}, forced);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->size(), 1u << 25);
  auto v6 = TargetSet::build({"2001:db8::/64"}, {}, forced);
  ASSERT_FALSE(v6.ok());  // 2^64 is beyond any scan, forced or not
  EXPECT_NE(v6.error().message.find("2^32"), std::string::npos) << v6.error().message;
  auto everything = TargetSet::build({"::/0"}, {}, forced);
  EXPECT_FALSE(everything.ok());
}

TEST(Targets, ErrorsNameTheElement) {
  auto bad = TargetSet::build({"198.18.1.0/24", "web01.example.net"}, {}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("'web01.example.net'"), std::string::npos);
  EXPECT_NE(bad.error().message.find("not resolved"), std::string::npos);
  EXPECT_FALSE(TargetSet::build({"198.18.1.0/33"}, {}, {}).ok());
  EXPECT_FALSE(TargetSet::build({"198.18.1.9-198.18.1.1"}, {}, {}).ok());
  EXPECT_FALSE(TargetSet::build({"198.18.1.1-2001:db8::1"}, {}, {}).ok());
  auto ex = TargetSet::build({"198.18.1.0/24"}, {"nope"}, {});
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.error().message.rfind("exclude", 0), 0u) << ex.error().message;
  EXPECT_FALSE(TargetSet::build({}, {}, {}).ok());
}

struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("bw-targets-" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

TEST(Targets, FileListsWithCommentsAndLineNumbers) {
  TempDir dir;
  {
    std::ofstream f(dir.file("hosts.txt"));
    f << "# customer A\n198.18.1.10  198.18.1.11 # two hosts\n\n198.18.2.0/30,198.18.3.1\r\n";
  }
  TargetSet s = build({"@" + dir.file("hosts.txt")}, {"198.18.2.1"});
  EXPECT_EQ(walk(s), (std::vector<std::string>{"198.18.1.10", "198.18.1.11", "198.18.2.0",
                                               "198.18.2.2", "198.18.2.3", "198.18.3.1"}));
  {
    std::ofstream f(dir.file("bad.txt"));
    f << "198.18.1.1\n198.18.1.2\nhost.example\n";
  }
  auto bad = TargetSet::build({"@" + dir.file("bad.txt")}, {}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bad.txt:3"), std::string::npos) << bad.error().message;
  auto missing = TargetSet::build({"@" + dir.file("missing.txt")}, {}, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot read target list"), std::string::npos);
}

TEST(Targets, CursorsWalkIndependently) {
  TargetSet s = build({"198.18.1.0/30", "2001:db8::/127"});
  TargetSet::Cursor a(s), b(s);
  IpAddress x, y;
  ASSERT_TRUE(a.next(x));
  ASSERT_TRUE(a.next(x));
  ASSERT_TRUE(b.next(y));
  EXPECT_EQ(x.toString(), "198.18.1.1");
  EXPECT_EQ(y.toString(), "198.18.1.0");
  EXPECT_EQ(walk(s).size(), 6u);
}

}  // namespace
}  // namespace bw::audit
