// The mitigation action: attack events -> MitigationBackend announcements and withdrawals,
// plugged into the EventDispatcher like any other action.
//
//  - attack_started: plans the attack (planMitigation); a plan with nothing to announce logs
//    its reason once; otherwise the plan is announced and remembered by attack id.
//  - attack_updated: an attack not announced yet is planned again, so one that grows past
//    min_pps / min_mbps is announced then; a failed announcement is retried on the next update.
//    Announced plans are not changed by updates.
//  - attack_ended: the remembered plan is withdrawn and forgotten.
//
// At most kMaxRememberedPlans announced plans are kept; past that a new attack is not
// announced (the handle() error says so), so memory stays bounded and nothing announced is
// ever forgotten without its withdrawal. Nothing is withdrawn on destruction: the sensor ends
// its attacks when it stops, and those attack_ended events withdraw.
//
// Thread-safety: like every EventAction, handle() runs on the dispatcher's worker thread only.
#pragma once

#include <cstddef>
#include <memory>

#include "config/config_file.h"
#include "daemon/actions.h"
#include "mitigate/mitigation.h"

namespace bw {

inline constexpr std::size_t kMaxRememberedPlans = 100'000;

// name() is "mitigation:" + the backend's name. Log lines (plans skipped, rules left out) go
// to `log`; failures are returned from handle() and logged by the dispatcher.
// Returns nullptr when `backend` is null (mitigation backend "none").
std::unique_ptr<EventAction> makeMitigationAction(std::unique_ptr<MitigationBackend> backend,
                                                  MitigationSettings settings, ActionLog log);

}  // namespace bw
