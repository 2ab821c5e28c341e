// Event actions: the dispatcher's guarantees (order per action, a slow action delays nothing
// else, bounded queues with counted drops, drain on stop, rate-limited failure lines), the
// JSON-lines event log (whole lines, reopen after logrotate's rename, a full disk), and the
// notify command (exact arguments, stdin and environment, timeout kills, exit status, a
// command that ignores its stdin).
#include "daemon/actions.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "report/json_report.h"

namespace bw {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bw-actions-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> readLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

AttackEvent makeEvent(EventKind kind, std::uint64_t id) {
  AttackEvent e;
  e.kind = kind;
  e.at = 1'700'000'000.25 + static_cast<double>(id);
  e.id = id;
  e.record.id = id;
  e.record.victim = *IpAddress::parse("198.51.100.7");
  e.record.vector = Vector::Memcached;
  e.record.source_port = 11211;
  e.record.packets = 1000 * id;
  e.record.bytes = 1'400'000 * id;
  e.attack = attackToJson(e.record, nullptr);
  e.attack["id"] = id;
  e.attack["state"] = kind == EventKind::Ended ? "ended" : "active";
  e.attack["detected_at"] = e.at;
  return e;
}

// Waits (bounded) for `pred`; false when it never held.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

// Records the attack ids it handled; optionally blocks in handle() until released, or fails.
class Recorder : public EventAction {
 public:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::uint64_t> ids;
    std::vector<EventKind> kinds;
    bool block = false;
    int inside = 0;  // handle() calls currently blocked
    int reopens = 0;
    std::vector<std::string> failures;  // handle() i fails with failures[i] when non-empty
  };
  Recorder(std::string name, std::shared_ptr<State> state,
           std::vector<EventKind> wanted = {EventKind::Started, EventKind::Updated,
                                            EventKind::Ended})
      : name_(std::move(name)), state_(std::move(state)), wanted_(std::move(wanted)) {}

  std::string name() const override { return name_; }
  bool wants(EventKind k) const override {
    return std::find(wanted_.begin(), wanted_.end(), k) != wanted_.end();
  }
  Status handle(const AttackEvent& event) override {
    std::unique_lock<std::mutex> lock(state_->mu);
    ++state_->inside;
    state_->cv.notify_all();
    state_->cv.wait(lock, [&] { return !state_->block; });
    --state_->inside;
    const std::size_t i = state_->ids.size();
    state_->ids.push_back(event.id);
    state_->kinds.push_back(event.kind);
    if (i < state_->failures.size() && !state_->failures[i].empty()) {
      return Error{state_->failures[i]};
    }
    return {};
  }
  void reopen() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    ++state_->reopens;
  }

 private:
  std::string name_;
  std::shared_ptr<State> state_;
  std::vector<EventKind> wanted_;
};

std::size_t handled(const std::shared_ptr<Recorder::State>& s) {
  std::lock_guard<std::mutex> lock(s->mu);
  return s->ids.size();
}
void setBlocked(const std::shared_ptr<Recorder::State>& s, bool block) {
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->block = block;
  }
  s->cv.notify_all();
}
bool waitInside(const std::shared_ptr<Recorder::State>& s) {
  std::unique_lock<std::mutex> lock(s->mu);
  return s->cv.wait_for(lock, std::chrono::seconds(5), [&] { return s->inside > 0; });
}

TEST(EventNames, RoundTrip) {
  for (EventKind k : {EventKind::Started, EventKind::Updated, EventKind::Ended}) {
    EventKind parsed = EventKind::Started;
    ASSERT_TRUE(parseEventName(eventName(k), &parsed));
    EXPECT_EQ(parsed, k);
  }
  EXPECT_STREQ(eventName(EventKind::Started), "attack_started");
  EXPECT_STREQ(eventName(EventKind::Updated), "attack_updated");
  EXPECT_STREQ(eventName(EventKind::Ended), "attack_ended");
  EventKind untouched = EventKind::Updated;
  EXPECT_FALSE(parseEventName("attack_begun", &untouched));
  EXPECT_FALSE(parseEventName("", &untouched));
  EXPECT_EQ(untouched, EventKind::Updated);
}

TEST(EventToJson, HasEventAtAndTheAttack) {
  AttackEvent e = makeEvent(EventKind::Ended, 7);
  json j = eventToJson(e);
  EXPECT_EQ(j.size(), 3u);
  EXPECT_EQ(j["event"], "attack_ended");
  EXPECT_DOUBLE_EQ(j["at"].get<double>(), 1'700'000'007.25);
  EXPECT_EQ(j["attack"]["id"], 7);
  EXPECT_EQ(j["attack"]["victim"], "198.51.100.7");
  EXPECT_EQ(j["attack"]["vector"], "memcached");
  EXPECT_EQ(j["attack"]["state"], "ended");

  // Without a rendered attack, the record stands in.
  e.attack = nullptr;
  j = eventToJson(e);
  EXPECT_EQ(j["attack"]["id"], 7);
  EXPECT_EQ(j["attack"]["victim"], "198.51.100.7");
  EXPECT_EQ(j["attack"]["state"], "ended");
}

TEST(EventDispatcher, EachActionSeesItsEventsInOrder) {
  auto a = std::make_shared<Recorder::State>();
  auto b = std::make_shared<Recorder::State>();
  EventDispatcher d(64);
  d.add(std::make_unique<Recorder>("a", a));
  d.add(std::make_unique<Recorder>("b", b));
  d.start();
  std::vector<std::uint64_t> expected;
  for (std::uint64_t i = 1; i <= 50; ++i) {
    ASSERT_TRUE(d.post(makeEvent(EventKind::Updated, i)));
    expected.push_back(i);
  }
  d.stop(true);
  EXPECT_EQ(a->ids, expected);
  EXPECT_EQ(b->ids, expected);
  auto stats = d.stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].name, "a");
  EXPECT_EQ(stats[0].ok, 50u);
  EXPECT_EQ(stats[0].failed, 0u);
  EXPECT_EQ(stats[0].dropped, 0u);
}

TEST(EventDispatcher, SlowActionDelaysNeitherPostNorOtherActions) {
  auto slow = std::make_shared<Recorder::State>();
  auto fast = std::make_shared<Recorder::State>();
  slow->block = true;
  EventDispatcher d(64);
  d.add(std::make_unique<Recorder>("slow", slow));
  d.add(std::make_unique<Recorder>("fast", fast));
  d.start();
  const auto t0 = Clock::now();
  for (std::uint64_t i = 1; i <= 20; ++i) ASSERT_TRUE(d.post(makeEvent(EventKind::Started, i)));
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(500));
  EXPECT_TRUE(eventually([&] { return handled(fast) == 20; }));
  EXPECT_EQ(handled(slow), 0u);  // still stuck in its first event
  setBlocked(slow, false);
  d.stop(true);
  EXPECT_EQ(handled(slow), 20u);
}

TEST(EventDispatcher, FullQueueDropsAndCounts) {
  auto s = std::make_shared<Recorder::State>();
  s->block = true;
  EventDispatcher d(4);
  d.add(std::make_unique<Recorder>("stuck", s));
  d.start();
  ASSERT_TRUE(d.post(makeEvent(EventKind::Started, 1)));
  ASSERT_TRUE(waitInside(s));  // the worker holds event 1; the queue is empty again
  int refused = 0;
  for (std::uint64_t i = 2; i <= 10; ++i)
    refused += d.post(makeEvent(EventKind::Updated, i)) ? 0 : 1;
  EXPECT_EQ(refused, 5);
  EXPECT_EQ(d.stats()[0].dropped, 5u);
  setBlocked(s, false);
  d.stop(true);
  EXPECT_EQ(s->ids, (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(d.stats()[0].ok, 5u);
}

TEST(EventDispatcher, UnwantedEventsAreNotQueued) {
  auto s = std::make_shared<Recorder::State>();
  EventDispatcher d(1);
  d.add(std::make_unique<Recorder>("ends", s, std::vector<EventKind>{EventKind::Ended}));
  d.start();
  for (std::uint64_t i = 1; i <= 10; ++i) EXPECT_TRUE(d.post(makeEvent(EventKind::Updated, i)));
  EXPECT_TRUE(d.post(makeEvent(EventKind::Ended, 11)));
  d.stop(true);
  EXPECT_EQ(s->ids, (std::vector<std::uint64_t>{11}));
  EXPECT_EQ(d.stats()[0].dropped, 0u);
}

TEST(EventDispatcher, StopDrainsOrDropsTheQueue) {
  for (bool drain : {true, false}) {
    SCOPED_TRACE(drain ? "drain" : "no drain");
    auto s = std::make_shared<Recorder::State>();
    s->block = true;
    EventDispatcher d(16);
    d.add(std::make_unique<Recorder>("a", s));
    d.start();
    for (std::uint64_t i = 1; i <= 4; ++i) ASSERT_TRUE(d.post(makeEvent(EventKind::Started, i)));
    ASSERT_TRUE(waitInside(s));
    std::thread stopper([&] { d.stop(drain); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let stop() mark the worker
    setBlocked(s, false);
    stopper.join();
    auto st = d.stats()[0];
    if (drain) {
      EXPECT_EQ(s->ids, (std::vector<std::uint64_t>{1, 2, 3, 4}));
      EXPECT_EQ(st.ok, 4u);
      EXPECT_EQ(st.dropped, 0u);
    } else {
      EXPECT_EQ(s->ids, (std::vector<std::uint64_t>{1}));  // the event already in hand finishes
      EXPECT_EQ(st.ok, 1u);
      EXPECT_EQ(st.dropped, 3u);
    }
    EXPECT_FALSE(d.post(makeEvent(EventKind::Ended, 5)));  // stopped: refused and counted
    EXPECT_EQ(d.stats()[0].dropped, st.dropped + 1);
  }
}

TEST(EventDispatcher, EventsPostedBeforeStartRunAfterIt) {
  auto s = std::make_shared<Recorder::State>();
  EventDispatcher d(8);
  d.add(std::make_unique<Recorder>("a", s));
  ASSERT_TRUE(d.post(makeEvent(EventKind::Started, 1)));
  d.start();
  d.stop(true);
  EXPECT_EQ(s->ids, (std::vector<std::uint64_t>{1}));
}

TEST(EventDispatcher, ReopenReachesEveryAction) {
  auto a = std::make_shared<Recorder::State>();
  auto b = std::make_shared<Recorder::State>();
  EventDispatcher d(8);
  d.add(std::make_unique<Recorder>("a", a));
  d.add(std::make_unique<Recorder>("b", b));
  d.start();
  d.reopen();
  EXPECT_TRUE(eventually([&] {
    std::scoped_lock lock(a->mu, b->mu);
    return a->reopens == 1 && b->reopens == 1;
  }));
  d.stop(true);
}

TEST(EventDispatcher, RepeatedFailuresAreLoggedOnceThenRecoveryOnce) {
  std::vector<std::string> lines;
  std::mutex mu;
  auto s = std::make_shared<Recorder::State>();
  for (int i = 0; i < 200; ++i)
    s->failures.push_back("POST http://127.0.0.1:9/hook failed: Connection refused");
  s->failures.push_back("");  // the 201st event succeeds
  {
    EventDispatcher d(1024, [&](const std::string& l) {
      std::lock_guard<std::mutex> lock(mu);
      lines.push_back(l);
    });
    d.add(std::make_unique<Recorder>("webhook", s));
    d.start();
    for (std::uint64_t i = 1; i <= 201; ++i) ASSERT_TRUE(d.post(makeEvent(EventKind::Started, i)));
    d.stop(true);
    auto st = d.stats()[0];
    EXPECT_EQ(st.failed, 200u);
    EXPECT_EQ(st.ok, 1u);
    EXPECT_EQ(st.last_error,
              "POST http://127.0.0.1:9/hook failed: Connection refused (event attack_started, "
              "attack 200)");
  }
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "webhook: POST http://127.0.0.1:9/hook failed: Connection refused (event "
                       "attack_started, attack 1)",
                       "webhook: working again after 200 failed events"}));
}

TEST(EventDispatcher, DistinctFailuresAreLoggedAtMostAFewPerMinute) {
  std::vector<std::string> lines;
  auto s = std::make_shared<Recorder::State>();
  for (int i = 0; i < 100; ++i) s->failures.push_back("failure number " + std::to_string(i));
  EventDispatcher d(1024, [&](const std::string& l) { lines.push_back(l); });
  d.add(std::make_unique<Recorder>("notify", s));
  d.start();
  for (std::uint64_t i = 1; i <= 100; ++i) ASSERT_TRUE(d.post(makeEvent(EventKind::Started, i)));
  d.stop(true);
  EXPECT_EQ(d.stats()[0].failed, 100u);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "notify: failure number 0 (event attack_started, attack 1)");
}

// --- the event log ---

TEST(EventLog, OneJsonLinePerEvent) {
  TempDir dir;
  const std::string path = dir.file("events.jsonl");
  const mode_t old_mask = ::umask(022);
  auto log = openEventLog(path);
  ::umask(old_mask);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->name(), "events-file");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);

  ASSERT_TRUE((*log)->handle(makeEvent(EventKind::Started, 1)).ok());
  AttackEvent updated = makeEvent(EventKind::Updated, 1);
  updated.attack["note"] = std::string("bad \xff\xfe bytes\nand a newline");
  ASSERT_TRUE((*log)->handle(updated).ok());
  ASSERT_TRUE((*log)->handle(makeEvent(EventKind::Ended, 1)).ok());

  const std::string text = readFile(path);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  auto lines = readLines(path);
  ASSERT_EQ(lines.size(), 3u);
  const char* names[] = {"attack_started", "attack_updated", "attack_ended"};
  for (std::size_t i = 0; i < 3; ++i) {
    json j = json::parse(lines[i]);  // throws (fails the test) on a bad line
    EXPECT_EQ(j["event"], names[i]);
    EXPECT_TRUE(j["at"].is_number());
    EXPECT_EQ(j["attack"]["id"], 1);
    EXPECT_EQ(j["attack"]["victim"], "198.51.100.7");
    EXPECT_EQ(j["attack"]["vector"], "memcached");
    EXPECT_TRUE(j["attack"].contains("packets"));
    EXPECT_TRUE(j["attack"].contains("state"));
  }
  EXPECT_EQ(json::parse(lines[1])["attack"]["note"],
            "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes\nand a newline");
}

TEST(EventLog, AppendsToAnExistingFile) {
  TempDir dir;
  const std::string path = dir.file("events.jsonl");
  { std::ofstream(path) << "{\"earlier\":true}\n"; }
  auto log = openEventLog(path);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->handle(makeEvent(EventKind::Started, 2)).ok());
  auto lines = readLines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "{\"earlier\":true}");
}

TEST(EventLog, ReopenAfterRenameWritesTheNewFile) {
  TempDir dir;
  const std::string path = dir.file("events.jsonl");
  EventDispatcher d(16);
  auto log = openEventLog(path);
  ASSERT_TRUE(log.ok());
  d.add(std::move(*log));
  d.start();
  ASSERT_TRUE(d.post(makeEvent(EventKind::Started, 1)));
  ASSERT_TRUE(eventually([&] { return d.stats()[0].ok == 1; }));
  std::filesystem::rename(path, path + ".1");  // what logrotate does
  d.reopen();
  ASSERT_TRUE(d.post(makeEvent(EventKind::Ended, 1)));
  d.stop(true);
  auto old_lines = readLines(path + ".1");
  auto new_lines = readLines(path);
  ASSERT_EQ(old_lines.size(), 1u);
  ASSERT_EQ(new_lines.size(), 1u);
  EXPECT_EQ(json::parse(old_lines[0])["event"], "attack_started");
  EXPECT_EQ(json::parse(new_lines[0])["event"], "attack_ended");
}

TEST(EventLog, ReopenFailureKeepsWritingTheOldFileAndSaysSo) {
  TempDir dir;
  const std::string sub = dir.file("logs");
  std::filesystem::create_directory(sub);
  const std::string path = sub + "/events.jsonl";
  auto log = openEventLog(path);
  ASSERT_TRUE(log.ok());
  std::filesystem::rename(sub, dir.file("logs.old"));  // the directory is gone
  (*log)->reopen();
  Status s = (*log)->handle(makeEvent(EventKind::Started, 1));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot open event log " + path), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("still writing to the old file"), std::string::npos);
  EXPECT_EQ(readLines(dir.file("logs.old/events.jsonl")).size(), 1u);
  std::filesystem::create_directory(sub);  // back: the next event reopens the path
  EXPECT_TRUE((*log)->handle(makeEvent(EventKind::Ended, 1)).ok());
  EXPECT_EQ(readLines(path).size(), 1u);
}

TEST(EventLog, FullDiskIsAnErrorNotACrash) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full here";
  auto log = openEventLog("/dev/full");
  ASSERT_TRUE(log.ok()) << log.error().message;
  for (int i = 0; i < 3; ++i) {
    Status s = (*log)->handle(makeEvent(EventKind::Started, 1));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.message(), "write to /dev/full failed: No space left on device");
  }
}

TEST(EventLog, OpenErrorNamesThePath) {
  auto log = openEventLog("/nonexistent-dir-bw/events.jsonl");
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().message,
            "cannot open event log /nonexistent-dir-bw/events.jsonl: No such file or directory");
}

// --- the notify command ---

std::string writeScript(const TempDir& dir, const std::string& name, const std::string& body) {
  const std::string path = dir.file(name);
  { std::ofstream(path) << "#!/bin/sh\n" << body; }
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path;
}

TEST(NotifyCommand, GetsArgumentsStdinAndEnvironment) {
  TempDir dir;
  const std::string out = dir.file("out");
  const std::string script =
      writeScript(dir, "hook.sh",
                  "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" + out +
                      ".args'\n"
                      "cat > '" +
                      out +
                      ".stdin'\n"
                      "env | grep '^BREAKWATER_' | sort > '" +
                      out + ".env'\n");
  NotifyOptions o;
  o.argv = {script, "--fixed", "two words"};
  auto notify = makeNotifyCommand(o);
  ASSERT_TRUE(notify.ok()) << notify.error().message;
  EXPECT_EQ((*notify)->name(), "notify");
  EXPECT_TRUE((*notify)->wants(EventKind::Started));
  EXPECT_FALSE((*notify)->wants(EventKind::Updated));
  EXPECT_TRUE((*notify)->wants(EventKind::Ended));

  AttackEvent e = makeEvent(EventKind::Started, 42);
  Status s = (*notify)->handle(e);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(readLines(out + ".args"),
            (std::vector<std::string>{"--fixed", "two words", "attack_started", "198.51.100.7",
                                      "memcached", "42"}));
  EXPECT_EQ(json::parse(readFile(out + ".stdin")), eventToJson(e));
  EXPECT_EQ(
      readLines(out + ".env"),
      (std::vector<std::string>{"BREAKWATER_ATTACK_ID=42", "BREAKWATER_EVENT=attack_started",
                                "BREAKWATER_VECTOR=memcached", "BREAKWATER_VICTIM=198.51.100.7"}));
}

TEST(NotifyCommand, IsFoundInPath) {
  NotifyOptions o;
  o.argv = {"true"};
  auto notify = makeNotifyCommand(o);
  ASSERT_TRUE(notify.ok()) << notify.error().message;
  EXPECT_TRUE((*notify)->handle(makeEvent(EventKind::Ended, 1)).ok());
}

TEST(NotifyCommand, NonZeroExitIsAFailureWithItsStderr) {
  NotifyOptions o;
  o.argv = {"sh", "-c", "echo 'no route to pager' >&2; exit 3"};
  auto notify = makeNotifyCommand(o);
  ASSERT_TRUE(notify.ok());
  Status s = (*notify)->handle(makeEvent(EventKind::Started, 1));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/sh exited with status 3: no route to pager"), std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().front(), '/');  // the resolved path
}

TEST(NotifyCommand, TimeoutKillsTheCommandAndWhatItStarted) {
  TempDir dir;
  const std::string pidfile = dir.file("pid");
  NotifyOptions o;
  o.timeout_s = 0.3;
  o.argv = {"sh", "-c", "sleep 100 & echo $! > '" + pidfile + "'; wait"};
  auto notify = makeNotifyCommand(o);
  ASSERT_TRUE(notify.ok());
  const auto t0 = Clock::now();
  Status s = (*notify)->handle(makeEvent(EventKind::Started, 1));
  const auto took = Clock::now() - t0;
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("did not finish within 0.3 s and was killed"), std::string::npos)
      << s.message();
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(3));
  // The background sleep was in the command's process group: it is gone too.
  const pid_t sleeper = std::stoi(readFile(pidfile));
  EXPECT_TRUE(eventually([&] { return ::kill(sleeper, 0) != 0; }));
}

TEST(NotifyCommand, TermIgnoredMeansKillAfterOneSecond) {
  NotifyOptions o;
  o.timeout_s = 0.2;
  o.argv = {"sh", "-c", "trap '' TERM; sleep 100"};
  auto notify = makeNotifyCommand(o);
  ASSERT_TRUE(notify.ok());
  const auto t0 = Clock::now();
  Status s = (*notify)->handle(makeEvent(EventKind::Started, 1));
  const auto took = Clock::now() - t0;
  ASSERT_FALSE(s.ok());
  EXPECT_GE(took, std::chrono::milliseconds(1100));
  EXPECT_LT(took, std::chrono::seconds(4));
}

TEST(NotifyCommand, ACommandThatIgnoresStdinDoesNotKillUs) {
  NotifyOptions o;
  o.argv = {"sh", "-c", "exec 0<&-; exit 0"};
  auto notify = makeNotifyCommand(o);
  ASSERT_TRUE(notify.ok());
  AttackEvent e = makeEvent(EventKind::Started, 1);
  e.attack["padding"] = std::string(1 << 20, 'x');  // far more than a pipe holds
  for (int i = 0; i < 3; ++i) {
    Status s = (*notify)->handle(e);
    EXPECT_TRUE(s.ok()) << s.message();
  }
  // And no SIGPIPE was left pending for this thread.
  sigset_t pending;
  sigemptyset(&pending);
  ASSERT_EQ(::sigpending(&pending), 0);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
}

TEST(NotifyCommand, RejectsWhatCannotRun) {
  NotifyOptions o;
  auto empty = makeNotifyCommand(o);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().message, "the notify command is empty");

  o.argv = {"bw-no-such-command-anywhere"};
  auto missing = makeNotifyCommand(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(
                "notify command bw-no-such-command-anywhere was not found in PATH"),
            std::string::npos);

  TempDir dir;
  const std::string plain = dir.file("not-executable");
  { std::ofstream(plain) << "#!/bin/sh\n"; }
  o.argv = {plain};
  auto noexec = makeNotifyCommand(o);
  ASSERT_FALSE(noexec.ok());
  EXPECT_EQ(noexec.error().message, "notify command " + plain + " is not an executable file");

  o.argv = {"true"};
  o.timeout_s = 0;
  EXPECT_FALSE(makeNotifyCommand(o).ok());
}

}  // namespace
}  // namespace bw
