// AttackStore: every attack the live sensor declares, with its per-second series, in one
// SQLite file (docs/store.md). The sensor writes; `breakwater attacks` and the HTTP API read,
// also while the sensor runs.
//
// Durability: WAL journal with synchronous=NORMAL. A committed write survives a crash of the
// process; a power loss or kernel crash can lose the last commits (never corrupt the file).
// Every public write is one transaction, so readers never see half an update.
//
// Concurrency: any number of processes may open the file. Readers never block the writer and
// see a consistent snapshot per call; writers wait up to `busy_timeout_ms` for each other.
// Within a process one AttackStore may be shared by threads: calls are serialised by an
// internal mutex (the SQLite connection is not shared without it).
//
// Errors: nothing throws. Every failure (full disk, read-only file, corrupt file, lock held
// too long) comes back as an Error with one sentence naming the file and the cause, and the
// store stays usable: a failed write is rolled back and the next call may succeed, so a
// caller that cannot record an attack can keep detecting.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/prefix.h"
#include "core/result.h"
#include "detect/attack.h"

struct sqlite3;
struct sqlite3_stmt;

namespace bw {

class AsnDatabase;

// The schema this build writes (PRAGMA user_version). Files at an older version are migrated
// when opened read-write; newer files are refused.
inline constexpr int kStoreSchemaVersion = 1;

// Where `breakwater run` keeps its store unless told otherwise.
inline constexpr const char* kDefaultStorePath = "/var/lib/breakwater/attacks.db";

// One second of one attack. `t` is the EPOCH second the figures belong to.
struct SeriesPoint {
  std::int64_t t = 0;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  double pps = 0;
  double bps = 0;
  std::uint64_t reflectors = 0;

  friend bool operator==(const SeriesPoint&, const SeriesPoint&) = default;
};

// [{"t", "packets", "bytes", "pps", "bps", "reflectors"}, ...]: the series as the API,
// `attacks show --format json` and `attacks export` write it.
nlohmann::json seriesToJson(std::span<const SeriesPoint> series);

struct StoredAttack {
  std::uint64_t id = 0;             // global, assigned by the store, never reused
  std::string state;                // "active" or "ended"
  double detected_at = 0;           // wall-clock EPOCH at which the start was declared
  nlohmann::json record;            // attackToJson() with id, state, active and detected_at set
  std::vector<SeriesPoint> series;  // filled only when asked for
};

// Which attacks list() returns. Active attacks come first, then ended ones; each group by
// start, newest first.
struct ListFilter {
  bool active_only = false;
  std::optional<double> since;        // still going at or after this EPOCH: end >= since, or active
  std::optional<double> until;        // started at or before this EPOCH
  std::optional<Prefix> victim;       // victim inside this prefix (a bare address: /32, /128)
  std::optional<std::string> vector;  // vector label: "memcached", "udp:500" (any case)
  std::size_t limit = 0;              // 0: no limit
};

struct StoreOptions {
  bool read_only = false;
  int busy_timeout_ms = 5000;
  // Caps the database file (not its WAL, which adds up to a few MB); writes beyond it fail
  // like a full disk. 0: no cap.
  std::uint64_t max_size_bytes = 0;
};

class AttackStore {
 public:
  // Opens or creates the store. Read-write opens create the file, switch it to WAL and run
  // the schema migrations; read-only opens require an existing store. The error names the
  // path: missing, not an SQLite file, corrupt, some other application's database, written by
  // a newer version, unwritable.
  static Result<std::unique_ptr<AttackStore>> open(const std::string& path, bool read_only = false);
  static Result<std::unique_ptr<AttackStore>> open(const std::string& path,
                                                   const StoreOptions& options);
  ~AttackStore();
  AttackStore(const AttackStore&) = delete;
  AttackStore& operator=(const AttackStore&) = delete;

  const std::string& path() const noexcept { return path_; }

  // Records a new active attack and returns its id. `asn` (may be null) fills the ASNs of
  // the top reflectors in the stored record.
  Result<std::uint64_t> insert(const AttackRecord& attack, double detected_at,
                               const AsnDatabase* asn = nullptr);
  // The same with an id chosen by the caller (the sensor numbers attacks itself, so that
  // events never wait for the store): fails when `id` is 0 or already taken.
  Status insert(std::uint64_t id, const AttackRecord& attack, double detected_at,
                const AsnDatabase* asn = nullptr);
  // The largest id ever assigned (0 for a new store); ids above it are free.
  Result<std::uint64_t> lastId();
  // Replaces the attack's figures with `attack`'s; `ended` moves it to state "ended" (an
  // ended attack stays ended). `series` points, if any, are upserted in the same
  // transaction. Fails when `id` is unknown.
  Status update(std::uint64_t id, const AttackRecord& attack, bool ended,
                std::span<const SeriesPoint> series = {}, const AsnDatabase* asn = nullptr);
  // Upserts per-second points by (id, t): a second written again replaces the earlier one.
  Status appendSeries(std::uint64_t id, std::span<const SeriesPoint> points);

  Result<std::vector<StoredAttack>> list(const ListFilter& filter, bool with_series = false);
  // Streams the attacks list() would return, in one read snapshot, without holding them all
  // in memory. `sink` returns false to stop early.
  // REQUIRES: `sink` does not call back into this store.
  Status forEach(const ListFilter& filter, bool with_series,
                 const std::function<bool(const StoredAttack&)>& sink);
  Result<std::optional<StoredAttack>> get(std::uint64_t id, bool with_series = false);
  Result<std::vector<SeriesPoint>> series(std::uint64_t id);

  // For the sensor's start-up: attacks still "active" were left so by a crash or kill (a clean
  // stop ends them). They become "ended" with their last stored figures; the record gains
  // "interrupted": true and "closed_at": `at`. Returns how many were closed.
  Result<std::uint64_t> markAllActiveEnded(double at);

 private:
  enum class Query : int;
  AttackStore(std::string path, sqlite3* db, StoreOptions options);

  // The cached statement for `q`, reset and with bindings cleared; null on error (*rc set).
  sqlite3_stmt* statement(Query q, int* rc);
  Error failure(const std::string& doing, int rc) const;
  Status exec(const char* sql, const std::string& doing);
  Status beginWrite(const std::string& doing);
  Status commit(const std::string& doing);
  void rollbackIfOpen();
  Result<std::uint64_t> insertAs(std::uint64_t wanted, const AttackRecord& attack,
                                 double detected_at, const AsnDatabase* asn);
  Status writeRecord(std::uint64_t id, const AttackRecord& a, const char* state, double detected_at,
                     const AsnDatabase* asn, const std::string& doing);
  Status upsertSeries(std::uint64_t id, std::span<const SeriesPoint> points,
                      const std::string& doing);
  Status readSeries(std::uint64_t id, std::vector<SeriesPoint>* out, const std::string& doing);
  StoredAttack rowToAttack(sqlite3_stmt* s) const;
  Status forEachLocked(const ListFilter& filter, bool with_series,
                       const std::function<bool(const StoredAttack&)>& sink);

  std::string path_;
  sqlite3* db_;
  StoreOptions options_;
  std::mutex mu_;  // guards db_ and statements_
  std::vector<sqlite3_stmt*> statements_;
};

}  // namespace bw
