// The dry-run backend: says what a real backend would announce and withdraw, one log line per
// rule or route, and never fails. It doubles as the simulator for "what would Breakwater do
// with this traffic?" and as the reference a real backend's tests compare against.
#include <utility>

#include "mitigate/mitigation.h"

namespace bw {

namespace {

class DryRunBackend final : public MitigationBackend {
 public:
  explicit DryRunBackend(std::function<void(const std::string&)> log) : log_(std::move(log)) {}

  std::string name() const override { return "dry-run"; }
  Status announce(const MitigationPlan& plan) override {
    emit("announce", plan);
    return {};
  }
  Status withdraw(const MitigationPlan& plan) override {
    emit("withdraw", plan);
    return {};
  }

 private:
  void emit(const char* verb, const MitigationPlan& plan) const {
    if (!log_) return;
    const std::string tail = " (attack " + std::to_string(plan.attack_id) + ")";
    for (const FlowSpecRule& r : plan.flowspec) {
      log_(std::string("dry-run: would ") + verb + " flowspec " + r.text() + tail);
    }
    if (plan.rtbh)
      log_(std::string("dry-run: would ") + verb + " rtbh " + plan.rtbh->text() + tail);
  }

  std::function<void(const std::string&)> log_;
};

}  // namespace

std::unique_ptr<MitigationBackend> makeDryRunBackend(std::function<void(const std::string&)> log) {
  return std::make_unique<DryRunBackend>(std::move(log));
}

Result<std::unique_ptr<MitigationBackend>> makeMitigationBackend(
    const MitigationSettings& settings, std::function<void(const std::string&)> log) {
  if (settings.backend == "none") return std::unique_ptr<MitigationBackend>();
  if (settings.backend == "dry-run") return makeDryRunBackend(std::move(log));
  return Error{"unknown mitigation backend '" + settings.backend +
               "' (known backends: none, dry-run)"};
}

}  // namespace bw
