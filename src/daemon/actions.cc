// Event names, the event JSON, and EventDispatcher: one bounded queue and one worker thread
// per action. The event log, the notify command and the webhook live in action_*.cc.
//
// Failure logging is rate-limited per action: a dead webhook fails on every event, and the
// log must stay readable. The first failure is logged at once; the same failure again only
// once per kRepeatInterval (with the count of those not logged); different failures at most
// kLinesPerInterval per interval; the first success after failures logs one line.
#include "daemon/actions.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "report/json_report.h"

namespace bw {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr Clock::duration kRepeatInterval = std::chrono::seconds(60);
constexpr int kLinesPerInterval = 5;

std::string eventContext(const AttackEvent& event) {
  return std::string(" (event ") + eventName(event.kind) + ", attack " + std::to_string(event.id) +
         ")";
}

}  // namespace

const char* eventName(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::Started:
      return "attack_started";
    case EventKind::Updated:
      return "attack_updated";
    case EventKind::Ended:
      return "attack_ended";
  }
  return "attack_unknown";
}

bool parseEventName(std::string_view name, EventKind* kind) noexcept {
  for (EventKind k : {EventKind::Started, EventKind::Updated, EventKind::Ended}) {
    if (name == eventName(k)) {
      if (kind != nullptr) *kind = k;
      return true;
    }
  }
  return false;
}

json eventToJson(const AttackEvent& event) {
  json attack = event.attack;
  if (attack.is_null()) {  // a caller that did not render it: the engine record, as the API would
    attack = attackToJson(event.record, nullptr);
    attack["id"] = event.id;
    attack["state"] = event.kind == EventKind::Ended ? "ended" : "active";
  }
  return json{{"event", eventName(event.kind)}, {"at", event.at}, {"attack", std::move(attack)}};
}

// One action, its queue and its thread. The mutex guards everything above `thread`; the
// failure-log state below it belongs to the worker thread alone.
struct EventDispatcher::Worker {
  std::unique_ptr<EventAction> action;
  std::string name;
  const ActionLog* log = nullptr;  // the dispatcher's, which outlives the worker

  std::mutex mu;
  std::condition_variable wake;
  std::deque<std::shared_ptr<const AttackEvent>> queue;  // guarded by mu
  bool stopping = false;                                 // guarded by mu
  bool drain = true;                                     // guarded by mu
  bool reopen_requested = false;                         // guarded by mu
  std::uint64_t ok = 0;                                  // guarded by mu
  std::uint64_t failed = 0;                              // guarded by mu
  std::uint64_t dropped = 0;                             // guarded by mu
  std::string last_error;                                // guarded by mu

  std::thread thread;

  // Worker thread only.
  std::string last_logged;  // the last failure message logged (without event context)
  Clock::time_point last_logged_at{};
  Clock::time_point interval_start{};
  int lines_in_interval = 0;
  std::uint64_t not_logged = 0;  // failures since the last logged line
  std::uint64_t consecutive_failures = 0;

  void run() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      wake.wait(lock, [&] { return stopping || reopen_requested || !queue.empty(); });
      if (reopen_requested) {
        reopen_requested = false;
        lock.unlock();
        action->reopen();
        lock.lock();
        continue;
      }
      if (queue.empty() || (stopping && !drain)) {
        if (stopping) break;
        continue;
      }
      std::shared_ptr<const AttackEvent> event = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      Status s = action->handle(*event);
      if (s.ok()) {
        onSuccess();
      } else {
        onFailure(s.message(), *event);
      }
      lock.lock();
      if (s.ok()) {
        ++ok;
      } else {
        ++failed;
        last_error = s.message() + eventContext(*event);
      }
    }
    dropped += queue.size();  // stop(false): what was still queued is lost
    queue.clear();
  }

  void emit(const std::string& line) const {
    if (*log) (*log)(line);
  }

  void onFailure(const std::string& message, const AttackEvent& event) {
    ++consecutive_failures;
    const Clock::time_point now = Clock::now();
    if (now - interval_start >= kRepeatInterval) {
      interval_start = now;
      lines_in_interval = 0;
    }
    const bool repeat = message == last_logged;
    const bool due =
        repeat ? now - last_logged_at >= kRepeatInterval : lines_in_interval < kLinesPerInterval;
    if (!due) {
      ++not_logged;
      return;
    }
    std::string line = name + ": " + message + eventContext(event);
    if (not_logged > 0) {
      line += "; " + std::to_string(not_logged) + " more failure" + (not_logged == 1 ? "" : "s") +
              " not logged since the last line";
    }
    emit(line);
    last_logged = message;
    last_logged_at = now;
    ++lines_in_interval;
    not_logged = 0;
  }

  void onSuccess() {
    if (consecutive_failures == 0) return;
    emit(name + ": working again after " + std::to_string(consecutive_failures) + " failed event" +
         (consecutive_failures == 1 ? "" : "s"));
    consecutive_failures = 0;
    not_logged = 0;
    last_logged.clear();
  }
};

EventDispatcher::EventDispatcher(std::size_t queue_per_action, ActionLog log)
    : capacity_(queue_per_action == 0 ? 1 : queue_per_action) {
  // Workers log from their own threads: serialise them here so the callback need not be
  // thread-safe itself.
  if (log) {
    auto mu = std::make_shared<std::mutex>();
    log_ = [mu, log = std::move(log)](const std::string& line) {
      std::lock_guard<std::mutex> lock(*mu);
      log(line);
    };
  }
}

EventDispatcher::~EventDispatcher() { stop(true); }

void EventDispatcher::add(std::unique_ptr<EventAction> action) {
  if (!action || started_) return;
  auto w = std::make_unique<Worker>();
  w->name = action->name();
  w->action = std::move(action);
  w->log = &log_;
  workers_.push_back(std::move(w));
}

void EventDispatcher::start() {
  if (started_) return;
  started_ = true;
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->thread = std::thread([worker] { worker->run(); });
  }
}

bool EventDispatcher::post(const AttackEvent& event) {
  std::shared_ptr<const AttackEvent> shared;  // one copy, whatever the number of actions
  bool all_queued = true;
  for (auto& w : workers_) {
    if (!w->action->wants(event.kind)) continue;
    if (!shared) shared = std::make_shared<const AttackEvent>(event);
    {
      std::lock_guard<std::mutex> lock(w->mu);
      if (w->stopping || w->queue.size() >= capacity_) {
        ++w->dropped;
        all_queued = false;
        continue;
      }
      w->queue.push_back(shared);
    }
    w->wake.notify_one();
  }
  return all_queued;
}

void EventDispatcher::reopen() {
  for (auto& w : workers_) {
    {
      std::lock_guard<std::mutex> lock(w->mu);
      w->reopen_requested = true;
    }
    w->wake.notify_one();
  }
}

void EventDispatcher::stop(bool drain) {
  for (auto& w : workers_) {
    {
      std::lock_guard<std::mutex> lock(w->mu);
      if (!w->stopping) {
        w->stopping = true;
        w->drain = drain;
      } else if (!drain) {
        w->drain = false;  // a second, impatient stop
      }
    }
    w->wake.notify_one();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  // Never started: nothing will carry these out.
  for (auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->mu);
    w->dropped += w->queue.size();
    w->queue.clear();
  }
}

std::vector<ActionSnapshot> EventDispatcher::stats() const {
  std::vector<ActionSnapshot> out;
  out.reserve(workers_.size());
  for (const auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->mu);
    out.push_back(ActionSnapshot{w->name, w->ok, w->failed, w->dropped, w->last_error});
  }
  return out;
}

}  // namespace bw
