// Event actions: what the sensor does with attack lifecycle events besides storing them.
//
//  - a JSON-lines event log: one line per event, {"event": "attack_started" |
//    "attack_updated" | "attack_ended", "at": EPOCH, "attack": {...}}, appended and flushed per
//    event; reopen() (on SIGHUP) reopens the path so logrotate can move the file away;
//  - a notify command: run with its configured arguments followed by four more (event name,
//    victim, vector label, attack id), the event's JSON on stdin, killed after a timeout; at
//    most a few run at once;
//  - a webhook: the event's JSON POSTed with libcurl (Content-Type: application/json), with
//    a timeout; a non-2xx answer counts as a failure;
//  - mitigation (src/mitigate/), plugged in through the same interface.
//
// The engine thread must never wait for any of them: EventDispatcher gives every action its
// own bounded queue and worker thread, so a hung webhook delays nothing but itself, and an
// action that cannot keep up loses events (counted) instead of memory.
//
// Thread-safety: EventAction::handle() is called from the action's worker thread only.
// EventDispatcher::post(), stats() and reopen() from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/result.h"
#include "daemon/snapshot.h"
#include "detect/attack.h"

namespace bw {

enum class EventKind : std::uint8_t { Started, Updated, Ended };
const char* eventName(EventKind kind) noexcept;  // "attack_started", ...
// Parses the names above; false when unknown.
bool parseEventName(std::string_view name, EventKind* kind) noexcept;

struct AttackEvent {
  EventKind kind = EventKind::Started;
  double at = 0;          // wall clock, EPOCH seconds, when the sensor declared it
  std::uint64_t id = 0;   // the attack's global id (the store's)
  AttackRecord record;    // the engine's record (record.id is the engine's own number)
  nlohmann::json attack;  // the record as the API shows it: attackToJson() + id/state/detected_at
};

// {"event": ..., "at": ..., "attack": ...}
nlohmann::json eventToJson(const AttackEvent& event);

class EventAction {
 public:
  virtual ~EventAction() = default;
  virtual std::string name() const = 0;
  // Which events this action wants; the dispatcher does not queue the others.
  virtual bool wants(EventKind kind) const { return true; }
  // Carries the event out. An error is one sentence; the dispatcher counts and logs it.
  virtual Status handle(const AttackEvent& event) = 0;
  // Called on SIGHUP (from the worker thread, between events).
  virtual void reopen() {}
};

// Opens (creates, appends to) the event log; the error names the path.
Result<std::unique_ptr<EventAction>> openEventLog(const std::string& path);

struct NotifyOptions {
  std::vector<std::string> argv;  // command and its fixed arguments; argv[0] is looked up in PATH
  double timeout_s = 10;
  std::vector<EventKind> on = {EventKind::Started, EventKind::Ended};
};
// Fails when argv is empty or argv[0] is not an executable file.
Result<std::unique_ptr<EventAction>> makeNotifyCommand(const NotifyOptions& options);

struct WebhookOptions {
  std::string url;  // http:// or https://
  double timeout_s = 5;
  std::vector<std::string> headers;  // "Name: value"
  std::vector<EventKind> on = {EventKind::Started, EventKind::Updated, EventKind::Ended};
};
// Fails on a URL that is not http(s) or a malformed header.
Result<std::unique_ptr<EventAction>> makeWebhook(const WebhookOptions& options);

// Called with one line for the log whenever an action fails (and once when it recovers).
using ActionLog = std::function<void(const std::string& line)>;

class EventDispatcher {
 public:
  explicit EventDispatcher(std::size_t queue_per_action = 4096, ActionLog log = {});
  ~EventDispatcher();  // stop(true)
  EventDispatcher(const EventDispatcher&) = delete;
  EventDispatcher& operator=(const EventDispatcher&) = delete;

  // REQUIRES: before start().
  void add(std::unique_ptr<EventAction> action);
  void start();
  // Never blocks on an action. Returns false when some action's queue was full (the event
  // was dropped for that action and counted).
  bool post(const AttackEvent& event);
  // Asks every action to reopen() between events.
  void reopen();
  // Stops the workers; with drain, the events already queued are carried out first (each
  // action still bounded by its own timeout).
  void stop(bool drain = true);
  std::vector<ActionSnapshot> stats() const;

 private:
  struct Worker;
  std::size_t capacity_;
  ActionLog log_;
  std::vector<std::unique_ptr<Worker>> workers_;
  bool started_ = false;
};

}  // namespace bw
