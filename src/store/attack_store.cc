#include "store/attack_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include "report/format.h"
#include "report/json_report.h"

namespace bw {

namespace {

using nlohmann::json;

// "BWAS" in the database header, so a store is told apart from other SQLite files.
constexpr std::int32_t kApplicationId = 0x42574153;

// Migration i takes a file from schema version i to i + 1. Append only: a released step is
// never edited, since files in the field have already run it.
constexpr std::array<const char*, kStoreSchemaVersion> kMigrations = {
    // 0 -> 1: attacks and their per-second series.
    R"sql(
CREATE TABLE attacks (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  victim      TEXT    NOT NULL,
  victim_ip   BLOB    NOT NULL,
  vector      TEXT    NOT NULL,
  direction   TEXT    NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('active', 'ended')),
  start       REAL    NOT NULL,
  "end"       REAL    NOT NULL,
  detected_at REAL    NOT NULL,
  packets     INTEGER NOT NULL,
  bytes       INTEGER NOT NULL,
  peak_pps    REAL    NOT NULL,
  peak_bps    REAL    NOT NULL,
  reflectors  INTEGER NOT NULL,
  record      TEXT    NOT NULL
);
CREATE INDEX attacks_by_state_start ON attacks (state, start);
CREATE INDEX attacks_by_start ON attacks (start);
CREATE INDEX attacks_by_victim ON attacks (victim_ip, start);
CREATE TABLE attack_series (
  attack_id  INTEGER NOT NULL REFERENCES attacks (id) ON DELETE CASCADE,
  t          INTEGER NOT NULL,
  packets    INTEGER NOT NULL,
  bytes      INTEGER NOT NULL,
  pps        REAL    NOT NULL,
  bps        REAL    NOT NULL,
  reflectors INTEGER NOT NULL,
  PRIMARY KEY (attack_id, t)
) WITHOUT ROWID;
)sql",
};

// The columns every read returns, in this order (rowToAttack depends on it).
#define BW_ATTACK_COLUMNS                                                                \
  "id, state, detected_at, record, victim, vector, direction, start, \"end\", packets, " \
  "bytes, peak_pps, peak_bps, reflectors"

constexpr std::int64_t toInt64(std::uint64_t v) noexcept {
  return v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
             ? std::numeric_limits<std::int64_t>::max()
             : static_cast<std::int64_t>(v);
}
std::uint64_t toUint64(std::int64_t v) noexcept {
  return v < 0 ? 0 : static_cast<std::uint64_t>(v);
}
double finite(double v) noexcept { return std::isfinite(v) ? v : 0.0; }

std::string columnText(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p),
                                    static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
}

// Resets a cached statement when the scope ends, so no statement keeps a read transaction
// (and the WAL) pinned between calls.
class StatementScope {
 public:
  explicit StatementScope(sqlite3_stmt* s) : s_(s) {}
  ~StatementScope() {
    if (s_ != nullptr) sqlite3_reset(s_);
  }
  StatementScope(const StatementScope&) = delete;
  StatementScope& operator=(const StatementScope&) = delete;

 private:
  sqlite3_stmt* s_;
};

// Runs a statement that returns at most one integer (a PRAGMA); *out is left alone when it
// returns no row.
int queryInt(sqlite3* db, const char* sql, std::int64_t* out) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(s, 0);
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  return rc;
}

// The cause of a failed call, as the end of a sentence.
std::string describeFailure(sqlite3* db, int rc, const StoreOptions& options) {
  int primary = rc & 0xff;
  int sys = db != nullptr ? sqlite3_system_errno(db) : 0;
  std::string os = sys != 0 ? std::string(" (") + std::strerror(sys) + ")" : std::string();
  switch (primary) {
    case SQLITE_FULL:
      if (options.max_size_bytes > 0) {
        return "the disk is full or the store reached its size limit of " +
               std::to_string(options.max_size_bytes) + " bytes";
      }
      return "the disk is full";
    case SQLITE_READONLY:
      if (rc == SQLITE_READONLY_DIRECTORY || rc == SQLITE_READONLY_CANTINIT) {
        return "this user cannot create its -shm file in the directory (readers need the "
               "sensor running, or write access to the directory)";
      }
      return options.read_only ? "it was opened read-only"
                               : "the file or its directory is read-only" + os;
    case SQLITE_CORRUPT:
      return "the file is corrupt (database disk image is malformed)";
    case SQLITE_NOTADB:
      return "the file is not an SQLite database (corrupt, or some other file)";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "another process kept it locked for more than " +
             std::to_string(options.busy_timeout_ms) + " ms";
    case SQLITE_CANTOPEN:
      return "the file cannot be opened" + (os.empty() ? std::string(" (missing directory?)") : os);
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return "permission denied" + os;
    case SQLITE_IOERR:
      return "an I/O error occurred" + os;
    case SQLITE_NOMEM:
      return "out of memory";
    default: {
      const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      return std::string("SQLite error: ") + (msg != nullptr ? msg : sqlite3_errstr(rc));
    }
  }
}

// "file:/var/lib/x.db?immutable=1" with the characters URIs reserve escaped.
std::string immutableUri(const std::string& path) {
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f) {
      uri += fmt::format("%{:02X}", c);
    } else {
      uri += static_cast<char>(c);
    }
  }
  return uri + "?immutable=1";
}

Error openFailure(const std::string& path, const std::string& cause) {
  return Error{"cannot open attack store " + path + ": " + cause};
}

json recordFor(const AttackRecord& a, std::uint64_t id, const std::string& state,
               double detected_at, const AsnDatabase* asn) {
  json r = attackToJson(a, asn);
  r["id"] = id;
  r["state"] = state;
  r["active"] = state == "active";
  r["detected_at"] = detected_at;
  return r;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The last address inside `p`: the network with every host bit set.
IpAddress lastAddress(const Prefix& p) {
  std::array<std::uint8_t, 16> b = p.network().bytes();
  for (int bit = p.length128(); bit < 128; ++bit) {
    b[static_cast<std::size_t>(bit / 8)] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
  }
  return IpAddress::fromV6Bytes(b.data());
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

enum class AttackStore::Query : int {
  BeginRead,
  BeginWrite,
  Commit,
  Rollback,
  Insert,
  WriteRecord,
  StateOf,
  UpsertSeries,
  Series,
  Get,
  List,
  Active,
  CloseActive,
  kCount
};

namespace {

constexpr int kQueryCount = 13;

// The statement behind each AttackStore::Query, in its order.
const char* sqlFor(int q) {
  static constexpr std::array<const char*, kQueryCount> kSql = {
      "BEGIN",
      "BEGIN IMMEDIATE",
      "COMMIT",
      "ROLLBACK",
      // Placeholder figures; writeRecord fills them (and the record, which needs the id) in
      // the same transaction.
      // ?1 NULL lets SQLite pick the next id.
      "INSERT INTO attacks (id, victim, victim_ip, vector, direction, state, start, \"end\", "
      "detected_at, packets, bytes, peak_pps, peak_bps, reflectors, record) "
      "VALUES (?1, '', x'', '', '', 'active', 0, 0, 0, 0, 0, 0, 0, 0, '{}')",
      "UPDATE attacks SET victim = ?2, victim_ip = ?3, vector = ?4, direction = ?5, state = ?6, "
      "start = ?7, \"end\" = ?8, detected_at = ?9, packets = ?10, bytes = ?11, peak_pps = ?12, "
      "peak_bps = ?13, reflectors = ?14, record = ?15 WHERE id = ?1",
      "SELECT state, detected_at FROM attacks WHERE id = ?1",
      "INSERT INTO attack_series (attack_id, t, packets, bytes, pps, bps, reflectors) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (attack_id, t) DO UPDATE SET "
      "packets = excluded.packets, bytes = excluded.bytes, pps = excluded.pps, "
      "bps = excluded.bps, reflectors = excluded.reflectors",
      "SELECT t, packets, bytes, pps, bps, reflectors FROM attack_series WHERE attack_id = ?1 "
      "ORDER BY t",
      "SELECT " BW_ATTACK_COLUMNS " FROM attacks WHERE id = ?1",
      // One state at a time, so each half walks the (state, start) index newest first.
      "SELECT " BW_ATTACK_COLUMNS
      " FROM attacks WHERE state = ?1 "
      "AND (?2 IS NULL OR \"end\" >= ?2 OR state = 'active') "
      "AND (?3 IS NULL OR start <= ?3) "
      "AND (?4 IS NULL OR victim_ip BETWEEN ?4 AND ?5) "
      "AND (?6 IS NULL OR vector = ?6) "
      "ORDER BY start DESC, id DESC LIMIT ?7",
      "SELECT " BW_ATTACK_COLUMNS " FROM attacks WHERE state = 'active'",
      "UPDATE attacks SET state = 'ended', record = ?2 WHERE id = ?1",
  };
#undef BW_ATTACK_COLUMNS
  return kSql[static_cast<std::size_t>(q)];
}

}  // namespace

Result<std::unique_ptr<AttackStore>> AttackStore::open(const std::string& path, bool read_only) {
  StoreOptions options;
  options.read_only = read_only;
  return open(path, options);
}

Result<std::unique_ptr<AttackStore>> AttackStore::open(const std::string& path,
                                                       const StoreOptions& options) {
  std::error_code ec;
  if (options.read_only && !std::filesystem::exists(path, ec)) {
    return Error{"there is no attack store at " + path +
                 " (the sensor creates it when it starts with this store path)"};
  }
  if (std::filesystem::is_directory(path, ec)) {
    return openFailure(path, "it is a directory");
  }
  int flags =
      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  // From here every early return must close `db`; the store object owns it once built.
  auto fail = [&](const std::string& cause) {
    sqlite3_close_v2(db);
    return openFailure(path, cause);
  };
  if (rc != SQLITE_OK) return fail(describeFailure(db, rc, options));
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  if (!options.read_only && sqlite3_db_readonly(db, "main") == 1) {
    return fail("the file is read-only for this user; the sensor needs to write it");
  }

  // Reading the header is where a file that is not SQLite (or has a damaged first page) shows.
  std::int64_t app_id = 0, version = 0, objects = 0;
  rc = queryInt(db, "PRAGMA application_id", &app_id);
  if (options.read_only && (rc == SQLITE_READONLY_DIRECTORY || rc == SQLITE_READONLY_CANTINIT) &&
      !std::filesystem::exists(path + "-wal", ec)) {
    // A WAL reader needs the -shm file, which this user cannot create beside a store whose
    // sensor is stopped (no -wal, so no writer). The file cannot change under us then, so
    // read it as immutable rather than ask for write access to the directory.
    sqlite3_close_v2(db);
    db = nullptr;
    rc = sqlite3_open_v2(immutableUri(path).c_str(), &db, flags | SQLITE_OPEN_URI, nullptr);
    if (rc != SQLITE_OK) return fail(describeFailure(db, rc, options));
    sqlite3_busy_timeout(db, options.busy_timeout_ms);
    rc = queryInt(db, "PRAGMA application_id", &app_id);
  }
  if (rc == SQLITE_OK) rc = queryInt(db, "PRAGMA user_version", &version);
  if (rc == SQLITE_OK) rc = queryInt(db, "SELECT count(*) FROM sqlite_schema", &objects);
  if (rc != SQLITE_OK) return fail(describeFailure(db, rc, options));
  bool ours = app_id == kApplicationId;
  if (!ours && (app_id != 0 || version != 0 || objects != 0)) {
    return fail("it is an SQLite database of some other application, not an attack store");
  }
  if (version > kStoreSchemaVersion) {
    return fail("it was written by a newer breakwater (schema version " + std::to_string(version) +
                "; this one reads up to " + std::to_string(kStoreSchemaVersion) + ")");
  }
  if (options.read_only && version < kStoreSchemaVersion) {
    return fail(version == 0 ? std::string("it is empty, not an attack store yet")
                             : "it has schema version " + std::to_string(version) +
                                   "; open it read-write once (start the sensor) to upgrade it");
  }

  auto exec = [&](const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); };
  if (!options.read_only) {
    // WAL: readers never block the writer. NORMAL: commits are not fsynced one by one; a
    // process crash loses nothing committed, a power loss at most the last commits.
    sqlite3_stmt* s = nullptr;
    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, nullptr);
    std::string mode;
    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) mode = columnText(s, 0);
    if (rc == SQLITE_OK) rc = sqlite3_finalize(s);
    if (rc != SQLITE_OK) return fail(describeFailure(db, rc, options));
    if (lowercase(mode) != "wal") {
      return fail("its file system does not support SQLite's write-ahead log (journal mode is " +
                  mode + ")");
    }
    rc = exec("PRAGMA synchronous = NORMAL");
    if (rc != SQLITE_OK) return fail(describeFailure(db, rc, options));
  }
  rc = exec("PRAGMA foreign_keys = ON");
  if (rc != SQLITE_OK) return fail(describeFailure(db, rc, options));

  if (!options.read_only && version < kStoreSchemaVersion) {
    // Under the write lock, so two processes opening a new file do not both migrate it.
    rc = exec("BEGIN IMMEDIATE");
    if (rc == SQLITE_OK) rc = queryInt(db, "PRAGMA user_version", &version);
    for (std::int64_t v = version; rc == SQLITE_OK && v < kStoreSchemaVersion; ++v) {
      rc = exec(kMigrations[static_cast<std::size_t>(v)]);
    }
    if (rc == SQLITE_OK) {
      std::string stamp = "PRAGMA application_id = " + std::to_string(kApplicationId) +
                          "; PRAGMA user_version = " + std::to_string(kStoreSchemaVersion);
      rc = exec(stamp.c_str());
    }
    if (rc == SQLITE_OK) rc = exec("COMMIT");
    if (rc != SQLITE_OK) {
      std::string cause = describeFailure(db, rc, options);
      if (sqlite3_get_autocommit(db) == 0) exec("ROLLBACK");
      return fail(cause + " while creating its tables");
    }
  }
  if (options.max_size_bytes > 0) {
    std::int64_t page_size = 4096;
    rc = queryInt(db, "PRAGMA page_size", &page_size);
    std::int64_t pages = std::max<std::int64_t>(
        1, toInt64(options.max_size_bytes) / std::max<std::int64_t>(page_size, 512));
    std::string sql = "PRAGMA max_page_count = " + std::to_string(pages);
    std::int64_t ignored = 0;
    if (rc == SQLITE_OK) rc = queryInt(db, sql.c_str(), &ignored);
    if (rc != SQLITE_OK) return fail(describeFailure(db, rc, options));
  }
  return std::unique_ptr<AttackStore>(new AttackStore(path, db, options));
}

AttackStore::AttackStore(std::string path, sqlite3* db, StoreOptions options)
    : path_(std::move(path)),
      db_(db),
      options_(options),
      statements_(static_cast<std::size_t>(Query::kCount), nullptr) {
  static_assert(static_cast<int>(Query::kCount) == kQueryCount, "one statement per Query");
}

AttackStore::~AttackStore() {
  for (sqlite3_stmt* s : statements_) sqlite3_finalize(s);
  // The last connection to close checkpoints the WAL into the main file and removes it.
  sqlite3_close_v2(db_);
}

sqlite3_stmt* AttackStore::statement(Query q, int* rc) {
  sqlite3_stmt*& s = statements_[static_cast<std::size_t>(q)];
  if (s == nullptr) {
    *rc = sqlite3_prepare_v3(db_, sqlFor(static_cast<int>(q)), -1, SQLITE_PREPARE_PERSISTENT, &s,
                             nullptr);
    if (*rc != SQLITE_OK) {
      sqlite3_finalize(s);
      s = nullptr;
    }
    return s;
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  *rc = SQLITE_OK;
  return s;
}

Error AttackStore::failure(const std::string& doing, int rc) const {
  return Error{"attack store " + path_ + ": cannot " + doing + ": " +
               describeFailure(db_, rc, options_)};
}

Status AttackStore::exec(const char* sql, const std::string& doing) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return failure(doing, rc);
  return {};
}

Status AttackStore::beginWrite(const std::string& doing) {
  int rc = SQLITE_OK;
  sqlite3_stmt* s = statement(Query::BeginWrite, &rc);
  if (s != nullptr) {
    rc = sqlite3_step(s);
    sqlite3_reset(s);
  }
  if (rc != SQLITE_DONE && rc != SQLITE_OK) return failure(doing, rc);
  return {};
}

Status AttackStore::commit(const std::string& doing) {
  int rc = SQLITE_OK;
  sqlite3_stmt* s = statement(Query::Commit, &rc);
  if (s != nullptr) {
    rc = sqlite3_step(s);
    sqlite3_reset(s);
  }
  if (rc != SQLITE_DONE && rc != SQLITE_OK) {
    Error e = failure(doing, rc);
    rollbackIfOpen();
    return e;
  }
  return {};
}

void AttackStore::rollbackIfOpen() {
  if (sqlite3_get_autocommit(db_) != 0) return;  // SQLite already rolled back (or never began)
  int rc = SQLITE_OK;
  sqlite3_stmt* s = statement(Query::Rollback, &rc);
  if (s == nullptr) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return;
  }
  sqlite3_step(s);
  sqlite3_reset(s);
}

Status AttackStore::writeRecord(std::uint64_t id, const AttackRecord& a, const char* state,
                                double detected_at, const AsnDatabase* asn,
                                const std::string& doing) {
  int rc = SQLITE_OK;
  sqlite3_stmt* s = statement(Query::WriteRecord, &rc);
  if (s == nullptr) return failure(doing, rc);
  StatementScope scope(s);
  std::string victim = a.victim.toString();
  std::string vector = a.vectorLabel();
  std::string record = dump(recordFor(a, id, state, detected_at, asn));
  sqlite3_bind_int64(s, 1, toInt64(id));
  sqlite3_bind_text(s, 2, victim.data(), static_cast<int>(victim.size()), SQLITE_STATIC);
  sqlite3_bind_blob(s, 3, a.victim.bytes().data(), 16, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, vector.data(), static_cast<int>(vector.size()), SQLITE_STATIC);
  sqlite3_bind_text(s, 5, directionName(a.direction), -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 6, state, -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 7, report::epochSeconds(a.start_ns));
  sqlite3_bind_double(s, 8, report::epochSeconds(a.end_ns));
  sqlite3_bind_double(s, 9, finite(detected_at));
  sqlite3_bind_int64(s, 10, toInt64(a.packets));
  sqlite3_bind_int64(s, 11, toInt64(a.bytes));
  sqlite3_bind_double(s, 12, finite(a.peak_pps));
  sqlite3_bind_double(s, 13, finite(a.peak_bps));
  sqlite3_bind_int64(s, 14, toInt64(a.reflectors));
  sqlite3_bind_text(s, 15, record.data(), static_cast<int>(record.size()), SQLITE_STATIC);
  rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) return failure(doing, rc);
  return {};
}

Status AttackStore::upsertSeries(std::uint64_t id, std::span<const SeriesPoint> points,
                                 const std::string& doing) {
  int rc = SQLITE_OK;
  sqlite3_stmt* s = statement(Query::UpsertSeries, &rc);
  if (s == nullptr) return failure(doing, rc);
  StatementScope scope(s);
  for (const SeriesPoint& p : points) {
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, toInt64(id));
    sqlite3_bind_int64(s, 2, p.t);
    sqlite3_bind_int64(s, 3, toInt64(p.packets));
    sqlite3_bind_int64(s, 4, toInt64(p.bytes));
    sqlite3_bind_double(s, 5, finite(p.pps));
    sqlite3_bind_double(s, 6, finite(p.bps));
    sqlite3_bind_int64(s, 7, toInt64(p.reflectors));
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return failure(doing, rc);
  }
  return {};
}

nlohmann::json seriesToJson(std::span<const SeriesPoint> series) {
  nlohmann::json out = nlohmann::json::array();
  for (const SeriesPoint& p : series) {
    out.push_back(nlohmann::json{{"t", p.t},
                                 {"packets", p.packets},
                                 {"bytes", p.bytes},
                                 {"pps", p.pps},
                                 {"bps", p.bps},
                                 {"reflectors", p.reflectors}});
  }
  return out;
}

Result<std::uint64_t> AttackStore::insert(const AttackRecord& attack, double detected_at,
                                          const AsnDatabase* asn) {
  return insertAs(0, attack, detected_at, asn);
}

Status AttackStore::insert(std::uint64_t id, const AttackRecord& attack, double detected_at,
                           const AsnDatabase* asn) {
  if (id == 0) return Error{"attack store " + path_ + ": attack id 0 is not valid"};
  Result<std::uint64_t> r = insertAs(id, attack, detected_at, asn);
  if (!r) return Error{r.error().message};
  return {};
}

Result<std::uint64_t> AttackStore::lastId() {
  std::lock_guard<std::mutex> lock(mu_);
  // AUTOINCREMENT keeps the largest id ever used in sqlite_sequence, also after deletions.
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(
      db_,
      "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'attacks'), 0), "
      "coalesce((SELECT max(id) FROM attacks), 0))",
      -1, &s, nullptr);
  std::uint64_t id = 0;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      id = toUint64(sqlite3_column_int64(s, 0));
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_OK) return failure("read the last attack id", rc);
  return id;
}

Result<std::uint64_t> AttackStore::insertAs(std::uint64_t wanted, const AttackRecord& attack,
                                            double detected_at, const AsnDatabase* asn) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string doing =
      "record a new " + attack.vectorLabel() + " attack on " + attack.victim.toString();
  if (Status st = beginWrite(doing); !st) return Error{st.message()};
  int rc = SQLITE_OK;
  std::uint64_t id = 0;
  {
    sqlite3_stmt* s = statement(Query::Insert, &rc);
    if (s != nullptr) {
      StatementScope scope(s);
      if (wanted != 0) sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(wanted));
      rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) id = toUint64(sqlite3_last_insert_rowid(db_));
    }
  }
  if (rc != SQLITE_DONE) {
    Error e = failure(doing, rc);
    rollbackIfOpen();
    return e;
  }
  Status st = writeRecord(id, attack, "active", detected_at, asn, doing);
  if (st) st = commit(doing);
  if (!st) {
    rollbackIfOpen();
    return Error{st.message()};
  }
  return id;
}

Status AttackStore::update(std::uint64_t id, const AttackRecord& attack, bool ended,
                           std::span<const SeriesPoint> series, const AsnDatabase* asn) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string doing = "update attack " + std::to_string(id);
  if (Status st = beginWrite(doing); !st) return st;
  int rc = SQLITE_OK;
  std::string state;
  double detected_at = 0;
  {
    sqlite3_stmt* s = statement(Query::StateOf, &rc);
    if (s != nullptr) {
      StatementScope scope(s);
      sqlite3_bind_int64(s, 1, toInt64(id));
      rc = sqlite3_step(s);
      if (rc == SQLITE_ROW) {
        state = columnText(s, 0);
        detected_at = sqlite3_column_double(s, 1);
      }
    }
  }
  if (rc == SQLITE_DONE) {
    rollbackIfOpen();
    return Error{"attack store " + path_ + ": cannot " + doing + ": there is no attack " +
                 std::to_string(id)};
  }
  if (rc != SQLITE_ROW) {
    Error e = failure(doing, rc);
    rollbackIfOpen();
    return e;
  }
  const char* next = ended || state == "ended" ? "ended" : "active";
  Status st = writeRecord(id, attack, next, detected_at, asn, doing);
  if (st && !series.empty()) st = upsertSeries(id, series, doing);
  if (st) st = commit(doing);
  if (!st) rollbackIfOpen();
  return st;
}

Status AttackStore::appendSeries(std::uint64_t id, std::span<const SeriesPoint> points) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string doing = "append the series of attack " + std::to_string(id);
  if (points.empty()) return {};
  if (Status st = beginWrite(doing); !st) return st;
  int rc = SQLITE_OK;
  {
    sqlite3_stmt* s = statement(Query::StateOf, &rc);
    if (s != nullptr) {
      StatementScope scope(s);
      sqlite3_bind_int64(s, 1, toInt64(id));
      rc = sqlite3_step(s);
    }
  }
  if (rc != SQLITE_ROW) {
    Error e = rc == SQLITE_DONE ? Error{"attack store " + path_ + ": cannot " + doing +
                                        ": there is no attack " + std::to_string(id)}
                                : failure(doing, rc);
    rollbackIfOpen();
    return e;
  }
  Status st = upsertSeries(id, points, doing);
  if (st) st = commit(doing);
  if (!st) rollbackIfOpen();
  return st;
}

StoredAttack AttackStore::rowToAttack(sqlite3_stmt* s) const {
  StoredAttack a;
  a.id = toUint64(sqlite3_column_int64(s, 0));
  a.state = columnText(s, 1);
  a.detected_at = sqlite3_column_double(s, 2);
  std::string text = columnText(s, 3);
  a.record = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!a.record.is_object()) {
    // Someone edited the file by hand: fall back to the columns rather than lose the row.
    a.record = json{{"victim", columnText(s, 4)},
                    {"vector", columnText(s, 5)},
                    {"direction", columnText(s, 6)},
                    {"start", sqlite3_column_double(s, 7)},
                    {"end", sqlite3_column_double(s, 8)},
                    {"packets", toUint64(sqlite3_column_int64(s, 9))},
                    {"bytes", toUint64(sqlite3_column_int64(s, 10))},
                    {"peak_pps", sqlite3_column_double(s, 11)},
                    {"peak_bps", sqlite3_column_double(s, 12)},
                    {"reflectors", toUint64(sqlite3_column_int64(s, 13))},
                    {"record_unreadable", true}};
  }
  // The columns are authoritative for what the store itself manages.
  a.record["id"] = a.id;
  a.record["state"] = a.state;
  a.record["active"] = a.state == "active";
  a.record["detected_at"] = a.detected_at;
  return a;
}

Status AttackStore::readSeries(std::uint64_t id, std::vector<SeriesPoint>* out,
                               const std::string& doing) {
  int rc = SQLITE_OK;
  sqlite3_stmt* s = statement(Query::Series, &rc);
  if (s == nullptr) return failure(doing, rc);
  StatementScope scope(s);
  sqlite3_bind_int64(s, 1, toInt64(id));
  out->clear();
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    SeriesPoint p;
    p.t = sqlite3_column_int64(s, 0);
    p.packets = toUint64(sqlite3_column_int64(s, 1));
    p.bytes = toUint64(sqlite3_column_int64(s, 2));
    p.pps = sqlite3_column_double(s, 3);
    p.bps = sqlite3_column_double(s, 4);
    p.reflectors = toUint64(sqlite3_column_int64(s, 5));
    out->push_back(p);
  }
  if (rc != SQLITE_DONE) return failure(doing, rc);
  return {};
}

Status AttackStore::forEachLocked(const ListFilter& filter, bool with_series,
                                  const std::function<bool(const StoredAttack&)>& sink) {
  const std::string doing = "list attacks";
  int rc = SQLITE_OK;
  sqlite3_stmt* begin = statement(Query::BeginRead, &rc);
  if (begin != nullptr) {
    rc = sqlite3_step(begin);
    sqlite3_reset(begin);
  }
  if (rc != SQLITE_DONE && rc != SQLITE_OK) return failure(doing, rc);

  std::string vector = filter.vector ? lowercase(*filter.vector) : std::string();
  IpAddress hi = filter.victim ? lastAddress(*filter.victim) : IpAddress();
  std::size_t emitted = 0;
  bool stop = false;
  Status st;
  for (const char* state : {"active", "ended"}) {
    if (stop || (filter.active_only && std::strcmp(state, "ended") == 0)) break;
    sqlite3_stmt* s = statement(Query::List, &rc);
    if (s == nullptr) {
      st = failure(doing, rc);
      break;
    }
    StatementScope scope(s);
    sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
    if (filter.since) sqlite3_bind_double(s, 2, *filter.since);
    if (filter.until) sqlite3_bind_double(s, 3, *filter.until);
    if (filter.victim) {
      sqlite3_bind_blob(s, 4, filter.victim->network().bytes().data(), 16, SQLITE_STATIC);
      sqlite3_bind_blob(s, 5, hi.bytes().data(), 16, SQLITE_STATIC);
    }
    if (filter.vector) {
      sqlite3_bind_text(s, 6, vector.data(), static_cast<int>(vector.size()), SQLITE_STATIC);
    }
    sqlite3_bind_int64(s, 7,
                       filter.limit == 0 ? -1 : static_cast<std::int64_t>(filter.limit - emitted));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      StoredAttack a = rowToAttack(s);
      if (with_series) {
        st = readSeries(a.id, &a.series, doing);
        if (!st) break;
      }
      ++emitted;
      if (!sink(a) || (filter.limit != 0 && emitted >= filter.limit)) {
        stop = true;
        break;
      }
    }
    if (!st) break;
    if (!stop && rc != SQLITE_DONE) {
      st = failure(doing, rc);
      break;
    }
  }
  if (st) {
    st = commit(doing);
  } else {
    rollbackIfOpen();
  }
  return st;
}

Status AttackStore::forEach(const ListFilter& filter, bool with_series,
                            const std::function<bool(const StoredAttack&)>& sink) {
  std::lock_guard<std::mutex> lock(mu_);
  return forEachLocked(filter, with_series, sink);
}

Result<std::vector<StoredAttack>> AttackStore::list(const ListFilter& filter, bool with_series) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<StoredAttack> out;
  Status st = forEachLocked(filter, with_series, [&](const StoredAttack& a) {
    out.push_back(a);
    return true;
  });
  if (!st) return Error{st.message()};
  return out;
}

Result<std::optional<StoredAttack>> AttackStore::get(std::uint64_t id, bool with_series) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string doing = "read attack " + std::to_string(id);
  int rc = SQLITE_OK;
  sqlite3_stmt* begin = statement(Query::BeginRead, &rc);
  if (begin != nullptr) {
    rc = sqlite3_step(begin);
    sqlite3_reset(begin);
  }
  if (rc != SQLITE_DONE && rc != SQLITE_OK) return failure(doing, rc);
  std::optional<StoredAttack> found;
  Status st;
  {
    sqlite3_stmt* s = statement(Query::Get, &rc);
    if (s == nullptr) {
      st = failure(doing, rc);
    } else {
      StatementScope scope(s);
      sqlite3_bind_int64(s, 1, toInt64(id));
      rc = sqlite3_step(s);
      if (rc == SQLITE_ROW) {
        found = rowToAttack(s);
      } else if (rc != SQLITE_DONE) {
        st = failure(doing, rc);
      }
    }
  }
  if (st && found && with_series) st = readSeries(id, &found->series, doing);
  if (st) st = commit(doing);
  if (!st) {
    rollbackIfOpen();
    return Error{st.message()};
  }
  return found;
}

Result<std::vector<SeriesPoint>> AttackStore::series(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SeriesPoint> out;
  Status st = readSeries(id, &out, "read the series of attack " + std::to_string(id));
  if (!st) return Error{st.message()};
  return out;
}

Result<std::uint64_t> AttackStore::markAllActiveEnded(double at) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string doing = "close the attacks left active";
  if (Status st = beginWrite(doing); !st) return Error{st.message()};
  std::vector<StoredAttack> open;
  int rc = SQLITE_OK;
  {
    sqlite3_stmt* s = statement(Query::Active, &rc);
    if (s != nullptr) {
      StatementScope scope(s);
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) open.push_back(rowToAttack(s));
    }
  }
  if (rc != SQLITE_DONE) {
    Error e = failure(doing, rc);
    rollbackIfOpen();
    return e;
  }
  for (StoredAttack& a : open) {
    a.record["state"] = "ended";
    a.record["active"] = false;
    a.record["interrupted"] = true;
    a.record["closed_at"] = finite(at);
    std::string text = dump(a.record);
    sqlite3_stmt* s = statement(Query::CloseActive, &rc);
    if (s != nullptr) {
      StatementScope scope(s);
      sqlite3_bind_int64(s, 1, toInt64(a.id));
      sqlite3_bind_text(s, 2, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
      rc = sqlite3_step(s);
    }
    if (rc != SQLITE_DONE) {
      Error e = failure(doing, rc);
      rollbackIfOpen();
      return e;
    }
  }
  if (Status st = commit(doing); !st) return Error{st.message()};
  return static_cast<std::uint64_t>(open.size());
}

}  // namespace bw
