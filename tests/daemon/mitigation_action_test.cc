// The mitigation action: which events announce and withdraw what, through a recording fake
// backend; thresholds crossed by an update; skipped attacks logged once; failed announcements
// retried; the dry-run backend's lines end to end through the dispatcher.
#include "daemon/mitigation_action.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace bw {
namespace {

struct Call {
  std::string op;  // "announce" / "withdraw"
  std::uint64_t attack_id;
  std::vector<std::string> rules;
  bool rtbh;
};

class RecordingBackend : public MitigationBackend {
 public:
  explicit RecordingBackend(std::shared_ptr<std::vector<Call>> calls, int fail_announces = 0)
      : calls_(std::move(calls)), fail_announces_(fail_announces) {}
  std::string name() const override { return "fake"; }
  Status announce(const MitigationPlan& plan) override {
    record("announce", plan);
    if (fail_announces_ > 0) {
      --fail_announces_;
      return Error{"speaker unreachable"};
    }
    return {};
  }
  Status withdraw(const MitigationPlan& plan) override {
    record("withdraw", plan);
    return {};
  }

 private:
  void record(const char* op, const MitigationPlan& plan) {
    Call c{op, plan.attack_id, {}, plan.rtbh.has_value()};
    for (const FlowSpecRule& r : plan.flowspec) c.rules.push_back(r.text());
    calls_->push_back(std::move(c));
  }
  std::shared_ptr<std::vector<Call>> calls_;
  int fail_announces_;
};

AttackEvent event(EventKind kind, std::uint64_t id, double peak_pps = 50'000,
                  const char* victim = "198.51.100.7") {
  AttackEvent e;
  e.kind = kind;
  e.id = id;
  e.record.id = id;
  e.record.victim = *IpAddress::parse(victim);
  e.record.vector = Vector::Memcached;
  e.record.source_port = 11211;
  e.record.peak_pps = peak_pps;
  e.record.peak_bps = peak_pps * 1400 * 8;
  return e;
}

const std::string kRule =
    "match destination 198.51.100.7/32 protocol udp source-port ==11211 then discard";

TEST(MitigationAction, AnnouncesOnStartWithdrawsOnEnd) {
  auto calls = std::make_shared<std::vector<Call>>();
  auto action =
      makeMitigationAction(std::make_unique<RecordingBackend>(calls), MitigationSettings{}, {});
  ASSERT_NE(action, nullptr);
  EXPECT_EQ(action->name(), "mitigation:fake");
  EXPECT_TRUE(action->wants(EventKind::Updated));

  ASSERT_TRUE(action->handle(event(EventKind::Started, 7)).ok());
  ASSERT_TRUE(action->handle(event(EventKind::Updated, 7)).ok());  // already announced
  ASSERT_TRUE(action->handle(event(EventKind::Ended, 7)).ok());
  ASSERT_TRUE(action->handle(event(EventKind::Ended, 7)).ok());  // forgotten: nothing again
  ASSERT_EQ(calls->size(), 2u);
  EXPECT_EQ((*calls)[0].op, "announce");
  EXPECT_EQ((*calls)[0].attack_id, 7u);
  EXPECT_EQ((*calls)[0].rules, std::vector<std::string>{kRule});
  EXPECT_EQ((*calls)[1].op, "withdraw");
  EXPECT_EQ((*calls)[1].rules, std::vector<std::string>{kRule});
}

TEST(MitigationAction, AnnouncesWhenAnUpdateCrossesTheThreshold) {
  auto calls = std::make_shared<std::vector<Call>>();
  std::vector<std::string> lines;
  MitigationSettings s;
  s.min_pps = 100'000;
  auto action = makeMitigationAction(std::make_unique<RecordingBackend>(calls), s,
                                     [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(action->handle(event(EventKind::Started, 3, 20'000)).ok());
  ASSERT_TRUE(action->handle(event(EventKind::Updated, 3, 20'000)).ok());
  EXPECT_TRUE(calls->empty());
  // The same reason is logged once, not on every update.
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "mitigation: attack 3 (memcached inbound 198.51.100.7) not mitigated: "
                       "peak 20000 pps / 224.0 Mbit/s is below min_pps 100000"}));
  ASSERT_TRUE(action->handle(event(EventKind::Updated, 3, 150'000)).ok());
  ASSERT_EQ(calls->size(), 1u);
  EXPECT_EQ((*calls)[0].op, "announce");
  ASSERT_TRUE(action->handle(event(EventKind::Updated, 3, 300'000)).ok());
  ASSERT_TRUE(action->handle(event(EventKind::Ended, 3, 300'000)).ok());
  ASSERT_EQ(calls->size(), 2u);
  EXPECT_EQ((*calls)[1].op, "withdraw");
}

TEST(MitigationAction, SkippedAttacksAreLoggedAndNeverWithdrawn) {
  auto calls = std::make_shared<std::vector<Call>>();
  std::vector<std::string> lines;
  MitigationSettings s;
  s.never = {*Prefix::parse("10.0.0.0/24")};
  auto action = makeMitigationAction(std::make_unique<RecordingBackend>(calls), s,
                                     [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(action->handle(event(EventKind::Started, 5, 50'000, "10.0.0.53")).ok());
  ASSERT_TRUE(action->handle(event(EventKind::Ended, 5, 50'000, "10.0.0.53")).ok());
  EXPECT_TRUE(calls->empty());
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "mitigation: attack 5 (memcached inbound 10.0.0.53) not mitigated: victim "
                       "10.0.0.53 is inside never-mitigate prefix 10.0.0.0/24"}));
}

TEST(MitigationAction, FailedAnnouncementIsRetriedOnTheNextUpdate) {
  auto calls = std::make_shared<std::vector<Call>>();
  auto action =
      makeMitigationAction(std::make_unique<RecordingBackend>(calls, 1), MitigationSettings{}, {});
  Status s = action->handle(event(EventKind::Started, 8));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "announcing attack 8 (memcached inbound 198.51.100.7) failed: speaker unreachable "
            "(retried on its next update)");
  ASSERT_TRUE(action->handle(event(EventKind::Updated, 8)).ok());
  ASSERT_TRUE(action->handle(event(EventKind::Ended, 8)).ok());
  ASSERT_EQ(calls->size(), 3u);
  EXPECT_EQ((*calls)[0].op, "announce");
  EXPECT_EQ((*calls)[1].op, "announce");
  EXPECT_EQ((*calls)[2].op, "withdraw");
}

TEST(MitigationAction, AttacksAreTrackedSeparately) {
  auto calls = std::make_shared<std::vector<Call>>();
  MitigationSettings s;
  s.rtbh = true;
  auto action = makeMitigationAction(std::make_unique<RecordingBackend>(calls), s, {});
  ASSERT_TRUE(action->handle(event(EventKind::Started, 1)).ok());
  ASSERT_TRUE(action->handle(event(EventKind::Started, 2, 50'000, "198.51.100.8")).ok());
  ASSERT_TRUE(action->handle(event(EventKind::Ended, 1)).ok());
  ASSERT_TRUE(action->handle(event(EventKind::Ended, 2, 50'000, "198.51.100.8")).ok());
  ASSERT_EQ(calls->size(), 4u);
  EXPECT_EQ((*calls)[2].op, "withdraw");
  EXPECT_EQ((*calls)[2].attack_id, 1u);
  EXPECT_TRUE((*calls)[2].rtbh);
  EXPECT_EQ((*calls)[3].attack_id, 2u);
  EXPECT_EQ((*calls)[3].rules,
            std::vector<std::string>{
                "match destination 198.51.100.8/32 protocol udp source-port ==11211 then discard"});
}

TEST(MitigationAction, OutboundTruncationIsLogged) {
  auto calls = std::make_shared<std::vector<Call>>();
  std::vector<std::string> lines;
  auto action =
      makeMitigationAction(std::make_unique<RecordingBackend>(calls), MitigationSettings{},
                           [&](const std::string& l) { lines.push_back(l); });
  AttackEvent e = event(EventKind::Started, 11, 50'000, "203.0.113.9");
  e.record.direction = Direction::Outbound;
  for (std::uint32_t i = 1; i <= 70; ++i)
    e.record.abused_hosts.push_back(IpAddress::fromV4(0xC6120000u + i));
  ASSERT_TRUE(action->handle(e).ok());
  ASSERT_EQ(calls->size(), 1u);
  EXPECT_EQ((*calls)[0].rules.size(), 64u);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("mitigation: attack 11 (memcached outbound 203.0.113.9): FlowSpec rules "
                           "cover 64 of 70 abused hosts",
                           0),
            0u)
      << lines[0];
}

TEST(MitigationAction, NoBackendNoAction) {
  EXPECT_EQ(makeMitigationAction(nullptr, MitigationSettings{}, {}), nullptr);
}

TEST(MitigationAction, DryRunThroughTheDispatcher) {
  std::vector<std::string> lines;
  std::mutex mu;
  ActionLog log = [&](const std::string& l) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(l);
  };
  MitigationSettings s;
  s.backend = "dry-run";
  auto backend = makeMitigationBackend(s, log);
  ASSERT_TRUE(backend.ok());
  EventDispatcher d(16, log);
  d.add(makeMitigationAction(std::move(*backend), s, log));
  d.start();
  ASSERT_TRUE(d.post(event(EventKind::Started, 7)));
  ASSERT_TRUE(d.post(event(EventKind::Updated, 7)));
  ASSERT_TRUE(d.post(event(EventKind::Ended, 7)));
  d.stop(true);
  EXPECT_EQ(d.stats()[0].name, "mitigation:dry-run");
  EXPECT_EQ(d.stats()[0].ok, 3u);
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "dry-run: would announce flowspec " + kRule + " (attack 7)",
                       "dry-run: would withdraw flowspec " + kRule + " (attack 7)"}));
}

}  // namespace
}  // namespace bw
