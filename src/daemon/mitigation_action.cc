#include "daemon/mitigation_action.h"

#include <set>
#include <unordered_map>
#include <utility>

namespace bw {

namespace {

std::string describeAttack(const AttackEvent& event) {
  return "attack " + std::to_string(event.id) + " (" + event.record.vectorLabel() + " " +
         directionName(event.record.direction) + " " + event.record.victim.toString() + ")";
}

// Outbound plans cover at most a bounded number of abused hosts: how many they do cover.
std::size_t coveredHosts(const MitigationPlan& plan) {
  std::set<IpAddress> hosts;
  for (const FlowSpecRule& r : plan.flowspec) {
    if (r.source) hosts.insert(r.source->network());
  }
  return hosts.size();
}

class MitigationAction final : public EventAction {
 public:
  MitigationAction(std::unique_ptr<MitigationBackend> backend, MitigationSettings settings,
                   ActionLog log)
      : backend_(std::move(backend)), settings_(std::move(settings)), log_(std::move(log)) {}

  std::string name() const override { return "mitigation:" + backend_->name(); }

  Status handle(const AttackEvent& event) override {
    switch (event.kind) {
      case EventKind::Started:
      case EventKind::Updated:
        return announceIfEligible(event);
      case EventKind::Ended:
        return withdraw(event);
    }
    return {};
  }

 private:
  Status announceIfEligible(const AttackEvent& event) {
    if (announced_.count(event.id) != 0) return {};
    MitigationPlan plan = planMitigation(event.id, event.record, settings_);
    if (plan.empty()) {
      noteSkipped(event, plan.skipped);
      return {};
    }
    if (announced_.size() >= kMaxRememberedPlans) {
      return Error{describeAttack(event) + " not mitigated: " +
                   std::to_string(kMaxRememberedPlans) + " plans are announced already"};
    }
    if (event.record.direction == Direction::Outbound) {
      std::set<IpAddress> abused(event.record.abused_hosts.begin(),
                                 event.record.abused_hosts.end());
      const std::size_t covered = coveredHosts(plan);
      if (covered < abused.size()) {
        say(describeAttack(event) + ": FlowSpec rules cover " + std::to_string(covered) + " of " +
            std::to_string(abused.size()) +
            " abused hosts (the heaviest; rules per attack are capped, and hosts inside "
            "never-mitigate "
            "prefixes are left out)");
      }
    }
    if (Status s = backend_->announce(plan); !s.ok()) {
      return Error{"announcing " + describeAttack(event) + " failed: " + s.message() +
                   " (retried on its next update)"};
    }
    skipped_.erase(event.id);
    announced_.emplace(event.id, std::move(plan));
    return {};
  }

  Status withdraw(const AttackEvent& event) {
    skipped_.erase(event.id);
    auto it = announced_.find(event.id);
    if (it == announced_.end()) return {};
    MitigationPlan plan = std::move(it->second);
    announced_.erase(it);
    if (Status s = backend_->withdraw(plan); !s.ok()) {
      return Error{"withdrawing " + describeAttack(event) + " failed: " + s.message() +
                   " (its rules stay announced until withdrawn by hand)"};
    }
    return {};
  }

  // One line per attack and reason: updates arrive every second and must not repeat it.
  void noteSkipped(const AttackEvent& event, const std::string& why) {
    auto it = skipped_.find(event.id);
    if (it != skipped_.end() && it->second == why) return;
    say(describeAttack(event) + " not mitigated: " + why);
    if (it != skipped_.end()) {
      it->second = why;
      return;
    }
    // Only a memo against repeated lines: when full, forgetting costs a repeated line at most.
    if (skipped_.size() >= kMaxRememberedPlans) skipped_.clear();
    skipped_.emplace(event.id, why);
  }

  void say(const std::string& line) const {
    if (log_) log_("mitigation: " + line);
  }

  std::unique_ptr<MitigationBackend> backend_;
  MitigationSettings settings_;
  ActionLog log_;
  std::unordered_map<std::uint64_t, MitigationPlan> announced_;
  std::unordered_map<std::uint64_t, std::string> skipped_;  // attack id -> reason logged
};

}  // namespace

std::unique_ptr<EventAction> makeMitigationAction(std::unique_ptr<MitigationBackend> backend,
                                                  MitigationSettings settings, ActionLog log) {
  if (!backend) return nullptr;
  return std::make_unique<MitigationAction>(std::move(backend), std::move(settings),
                                            std::move(log));
}

}  // namespace bw
