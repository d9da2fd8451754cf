#include "ledger/postgres_store.hpp"

#include <map>
#include <thread>

namespace loyalty::ledger {
namespace {

using pg::Param;
using pg::Result;

// Identifiers compare byte by byte (COLLATE "C"), as in the SQLite store, whatever the
// database's locale.
constexpr PostgresMigration kMigrations[] = {
    {1, R"sql(
CREATE TABLE terminals (
  terminal_id text COLLATE "C" PRIMARY KEY,
  store_id text COLLATE "C" NOT NULL,
  public_key bytea NOT NULL CHECK (length(public_key) = 32),
  enrolled_at bigint NOT NULL,
  revoked_at bigint,
  head_seq bigint NOT NULL,
  head_hash bytea NOT NULL CHECK (length(head_hash) = 32),
  audited_through bigint NOT NULL,
  last_upload bigint NOT NULL
);

CREATE TABLE entries (
  terminal_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  kind smallint NOT NULL,
  member_id text COLLATE "C" NOT NULL,
  receipt_id text COLLATE "C" NOT NULL,
  recorded_at bigint NOT NULL,
  rulebook_version bigint NOT NULL,
  points_earned bigint NOT NULL,
  points_redeemed bigint NOT NULL,
  hash bytea NOT NULL,
  signature bytea,
  bytes bytea NOT NULL,
  applied_at bigint NOT NULL,
  PRIMARY KEY (terminal_id, seq)
);

CREATE TABLE held (
  terminal_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  hash bytea NOT NULL,
  signature bytea,
  bytes bytea NOT NULL,
  PRIMARY KEY (terminal_id, seq)
);

CREATE TABLE accounts (
  member_id text COLLATE "C" PRIMARY KEY,
  balance bigint NOT NULL,
  tier text NOT NULL,
  status smallint NOT NULL CHECK (status IN (1, 2)),
  cursor bigint UNIQUE,  -- NULL only inside the transaction that creates the account
  last_redeem_terminal text COLLATE "C" NOT NULL,
  last_redeem_seq bigint NOT NULL
);

-- The member feed's last cursor: one row, updated by every transaction that changes accounts.
CREATE TABLE member_feed (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  cursor bigint NOT NULL
);
INSERT INTO member_feed VALUES (true, 0);

CREATE TABLE member_keys (
  key bytea PRIMARY KEY CHECK (length(key) = 32),
  member_id text COLLATE "C" NOT NULL
);
CREATE INDEX member_keys_by_member ON member_keys (member_id);

CREATE TABLE lots (
  member_id text COLLATE "C" NOT NULL,
  expires_at bigint NOT NULL,
  terminal_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  points bigint NOT NULL,
  remaining bigint NOT NULL,
  expired bigint NOT NULL,
  earned_at bigint NOT NULL,
  PRIMARY KEY (member_id, expires_at, terminal_id, seq)
);
CREATE INDEX lots_expiring ON lots (expires_at) WHERE remaining > 0;

CREATE TABLE conflicts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  member_id text COLLATE "C" NOT NULL,
  terminal_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  receipt_id text COLLATE "C" NOT NULL,
  redeemed bigint NOT NULL,
  available bigint NOT NULL,
  other_terminal text COLLATE "C" NOT NULL,
  other_seq bigint NOT NULL,
  recorded_at bigint NOT NULL,
  UNIQUE (terminal_id, seq)
);

CREATE TABLE mismatches (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  terminal_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  receipt_id text COLLATE "C" NOT NULL,
  rulebook_version bigint NOT NULL,
  problem text NOT NULL,
  UNIQUE (terminal_id, seq)
);

CREATE TABLE holds (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  member_id text COLLATE "C" NOT NULL,
  terminal_id text COLLATE "C" NOT NULL,
  receipt_id text COLLATE "C" NOT NULL,
  points bigint NOT NULL,
  expires_at bigint NOT NULL,
  UNIQUE (terminal_id, receipt_id)
);
CREATE INDEX holds_by_member ON holds (member_id);

CREATE TABLE rulebooks (
  version bigint PRIMARY KEY,
  envelope bytea NOT NULL,
  document bytea NOT NULL,
  key_id text NOT NULL,
  expires_at bigint NOT NULL,
  published_at bigint NOT NULL
);

)sql"},
    // Read-only views for the finance team's BI tools, in their own schema so that one grant
    // (docs/operations.md) gives a reporting role all of them and none of the tables. Times are
    // timestamps with time zone, points and balances as stored.
    {2, R"sql(
CREATE SCHEMA finance;

CREATE VIEW finance.entries AS
SELECT t.store_id, e.terminal_id, e.seq,
       CASE e.kind WHEN 1 THEN 'sale' WHEN 2 THEN 'refund' WHEN 3 THEN 'void' WHEN 4 THEN 'adjustment' END AS kind,
       e.receipt_id, NULLIF(e.member_id, '') AS member_id,
       to_timestamp(e.recorded_at / 1000.0) AS recorded_at, e.rulebook_version,
       CASE e.member_id WHEN '' THEN 0 ELSE e.points_earned END AS points_earned,
       CASE e.member_id WHEN '' THEN 0 ELSE e.points_redeemed END AS points_redeemed,
       to_timestamp(e.applied_at / 1000.0) AS applied_at
FROM entries e JOIN terminals t USING (terminal_id);

CREATE VIEW finance.balances AS
SELECT member_id, balance, tier, CASE status WHEN 2 THEN 'blocked' ELSE 'active' END AS status
FROM accounts WHERE cursor IS NOT NULL;

CREATE VIEW finance.lots AS
SELECT member_id, NULLIF(terminal_id, '') AS terminal_id, seq, points, remaining, expired,
       to_timestamp(earned_at / 1000.0) AS earned_at, to_timestamp(expires_at / 1000.0) AS expires_at
FROM lots;

CREATE VIEW finance.conflicts AS
SELECT member_id, terminal_id, seq, receipt_id, redeemed, available, NULLIF(other_terminal, '') AS other_terminal,
       NULLIF(other_seq, 0) AS other_seq, to_timestamp(recorded_at / 1000.0) AS recorded_at
FROM conflicts;

CREATE VIEW finance.mismatches AS
SELECT terminal_id, seq, receipt_id, rulebook_version, problem FROM mismatches;

-- Per store: points issued and redeemed by its entries, and expired from lots earned there.
-- Outstanding is what is left (imported opening balances belong to no store).
CREATE VIEW finance.store_totals AS
SELECT s.store_id, s.entries, s.points_earned, s.points_redeemed, COALESCE(x.points_expired, 0) AS points_expired,
       s.points_earned - s.points_redeemed - COALESCE(x.points_expired, 0) AS points_outstanding
FROM (SELECT store_id, count(*) AS entries, sum(points_earned) AS points_earned,
             sum(points_redeemed) AS points_redeemed
      FROM finance.entries GROUP BY store_id) s
LEFT JOIN (SELECT t.store_id, sum(l.expired) AS points_expired
           FROM lots l JOIN terminals t USING (terminal_id) GROUP BY t.store_id) x USING (store_id);
)sql",
     true},
};

// Advisory locks: (7142, 1) for migrations, (7142, 2 and up) for housekeeping jobs (run_alone).
constexpr std::string_view kMigrationLock = "SELECT pg_advisory_xact_lock(7142, 1)";
constexpr int kAttempts = 8;

std::string number(std::int64_t value) { return std::to_string(value); }

std::string int_array(const std::vector<std::int64_t>& values) {
  std::string out = "{";
  for (const std::int64_t value : values) {
    if (out.size() > 1) out.push_back(',');
    out += std::to_string(value);
  }
  out.push_back('}');
  return out;
}

// Builds the columns of an INSERT ... SELECT FROM unnest(...) as array literals.
class Columns {
 public:
  explicit Columns(std::size_t count) : text_(count), ints_(count), is_int_(count, false) {}
  void text(std::size_t column, std::string value) { text_[column].push_back(std::move(value)); }
  void integer(std::size_t column, std::int64_t value) {
    is_int_[column] = true;
    ints_[column].push_back(value);
  }
  std::vector<Param> params() const {
    std::vector<Param> out;
    for (std::size_t i = 0; i < text_.size(); ++i)
      out.emplace_back(is_int_[i] ? int_array(ints_[i]) : pg::text_array(text_[i]));
    return out;
  }

 private:
  std::vector<std::vector<std::string>> text_;
  std::vector<std::vector<std::int64_t>> ints_;
  std::vector<bool> is_int_;
};

template <std::size_t N>
std::array<std::uint8_t, N> fixed_bytes(const Result& rows, int row, int column, std::string_view what) {
  const std::string value = rows.bytes(row, column);
  if (value.size() != N) {
    throw pg::Error("XX001", "read " + std::string(what),
                    "it is " + std::to_string(value.size()) + " bytes, not " + std::to_string(N));
  }
  std::array<std::uint8_t, N> out{};
  std::copy(value.begin(), value.end(), out.begin());
  return out;
}

constexpr std::string_view kTerminalColumns =
    "terminal_id, store_id, public_key, enrolled_at, revoked_at, head_seq, head_hash, audited_through, last_upload";

Terminal read_terminal(const Result& rows, int row) {
  Terminal t;
  t.terminal_id = rows.text(row, 0);
  t.store_id = rows.text(row, 1);
  t.public_key = fixed_bytes<32>(rows, row, 2, "public key of terminal " + t.terminal_id);
  t.enrolled_at_ms = rows.integer(row, 3);
  if (!rows.is_null(row, 4)) t.revoked_at_ms = rows.integer(row, 4);
  t.head_seq = rows.integer(row, 5);
  t.head_hash = fixed_bytes<32>(rows, row, 6, "head hash of terminal " + t.terminal_id);
  t.audited_through = rows.integer(row, 7);
  t.last_upload_ms = rows.integer(row, 8);
  return t;
}

constexpr std::string_view kAccountColumns =
    "member_id, balance, tier, status, COALESCE(cursor, 0), last_redeem_terminal, last_redeem_seq";

Account read_account(const Result& rows, int row) {
  Account a;
  a.member_id = rows.text(row, 0);
  a.balance = rows.integer(row, 1);
  a.tier = rows.text(row, 2);
  a.status = rows.integer(row, 3) == 2 ? domain::MemberStatus::blocked : domain::MemberStatus::active;
  a.cursor = rows.integer(row, 4);
  a.last_redeem_terminal = rows.text(row, 5);
  a.last_redeem_seq = rows.integer(row, 6);
  return a;
}

std::vector<Account> read_accounts(const Result& rows) {
  std::vector<Account> out;
  for (int i = 0; i < rows.rows(); ++i) out.push_back(read_account(rows, i));
  return out;
}

constexpr std::string_view kLotColumns =
    "SELECT member_id, expires_at, terminal_id, seq, points, remaining, expired, earned_at FROM lots ";

std::vector<Lot> read_lots(const Result& rows) {
  std::vector<Lot> out;
  for (int i = 0; i < rows.rows(); ++i) {
    Lot lot;
    lot.member_id = rows.text(i, 0);
    lot.expires_at_ms = rows.integer(i, 1);
    lot.terminal_id = rows.text(i, 2);
    lot.seq = rows.integer(i, 3);
    lot.points = rows.integer(i, 4);
    lot.remaining = rows.integer(i, 5);
    lot.expired = rows.integer(i, 6);
    lot.earned_at_ms = rows.integer(i, 7);
    out.push_back(std::move(lot));
  }
  return out;
}

std::optional<PublishedRulebook> read_rulebook(const Result& rows) {
  if (rows.rows() == 0) return std::nullopt;
  return PublishedRulebook{rows.integer(0, 0),           rows.bytes(0, 1),   rows.bytes(0, 2),
                           std::string(rows.text(0, 3)), rows.integer(0, 4), rows.integer(0, 5)};
}

// Brings the database to `target` (every step when 0).
void migrate(pg::Connection& db, int target) {
  const int latest = target > 0 ? target : static_cast<int>(std::size(kMigrations));
  for (;;) {
    db.exec("migrate the ledger schema", "BEGIN");
    try {
      db.exec("migrate the ledger schema", std::string(kMigrationLock));
      db.exec("migrate the ledger schema",
              "CREATE TABLE IF NOT EXISTS loyalty_schema (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), "
              "version integer NOT NULL, oldest_schema integer NOT NULL)");
      const Result found =
          db.exec("read the ledger schema version", "SELECT version, oldest_schema FROM loyalty_schema");
      const int version = found.rows() == 0 ? 0 : static_cast<int>(found.integer(0, 0));
      const int oldest = found.rows() == 0 ? 0 : static_cast<int>(found.integer(0, 1));
      if (version >= latest) {
        const int known = static_cast<int>(std::size(kMigrations));
        if (version > known && oldest > known) {
          throw pg::Error("", "open the ledger database",
                          "ledger schema version " + std::to_string(version) +
                              " was written by a newer release and needs a release that knows version " +
                              std::to_string(oldest) + " (this one knows up to " + std::to_string(known) +
                              "); refusing to use it: install that release again");
        }
        db.exec("migrate the ledger schema", "COMMIT");
        return;
      }
      const PostgresMigration& step = kMigrations[version];
      const std::string operation = "migrate the ledger schema to version " + std::to_string(step.version);
      db.exec(operation, std::string(step.sql));
      const int now_oldest = step.additive ? oldest : step.version;
      db.exec(operation, "DELETE FROM loyalty_schema");
      db.exec(operation, "INSERT INTO loyalty_schema (version, oldest_schema) VALUES ($1, $2)",
              {number(step.version), number(now_oldest)});
      db.exec(operation, "COMMIT");
    } catch (...) {
      if (db.ok()) db.exec("roll back a migration", "ROLLBACK");
      throw;
    }
  }
}

}  // namespace

std::span<const PostgresMigration> postgres_schema() { return kMigrations; }

PostgresStore::PostgresStore(Options options) : options_(std::move(options)) {
  connect();
  if (options_.migrate) {
    migrate(*conn_, options_.schema_version);
  } else if (schema_version() < static_cast<int>(std::size(kMigrations))) {
    throw pg::Error("", "open the ledger database",
                    "the ledger schema is at version " + std::to_string(schema_version()) + ", this release needs " +
                        std::to_string(std::size(kMigrations)) + ": run a command that migrates it first");
  }
}

PostgresStore::~PostgresStore() = default;

void PostgresStore::connect() {
  conn_ = std::make_unique<pg::Connection>(options_.conninfo);
  // Text results: bytea in hex, whatever the server's default.
  conn_->exec("configure the connection", "SET bytea_output = 'hex'");
}

pg::Connection& PostgresStore::db() {
  if (!conn_->ok() && depth_ == 0) connect();
  return *conn_;
}

pg::Result PostgresStore::read(std::string_view operation, const std::string& sql,
                               std::initializer_list<Param> params) {
  try {
    return db().exec(operation, sql, std::span<const Param>(params.begin(), params.size()));
  } catch (const pg::Error& error) {
    // Outside a transaction a read may run again on a new connection: the server restarted,
    // or a connection kept idle was closed.
    if (depth_ > 0 || !error.connection_lost() || conn_->ok()) throw;
    return db().exec(operation, sql, std::span<const Param>(params.begin(), params.size()));
  }
}

int PostgresStore::schema_version() {
  // Two statements: a query naming a table that does not exist fails as a whole, whatever its
  // WHERE says.
  if (read("read the ledger schema version", "SELECT to_regclass('loyalty_schema') IS NOT NULL").text(0, 0) != "t") {
    return 0;
  }
  const Result found = read("read the ledger schema version", "SELECT version FROM loyalty_schema");
  return found.rows() == 0 ? 0 : static_cast<int>(found.integer(0, 0));
}

void PostgresStore::transaction(const std::function<void()>& work) {
  struct Depth {
    int& depth;
    explicit Depth(int& d) : depth(++d) {}
    ~Depth() { --depth; }
  };
  if (depth_ > 0) {
    const std::string name = "ledger_" + std::to_string(depth_);
    db().exec("open a savepoint", "SAVEPOINT " + name);
    try {
      const Depth depth(depth_);
      work();
    } catch (...) {
      if (conn_->ok()) db().exec("roll back a savepoint", "ROLLBACK TO SAVEPOINT " + name + "; RELEASE " + name);
      throw;
    }
    db().exec("release a savepoint", "RELEASE " + name);
    return;
  }
  for (int attempt = 1;; ++attempt) {
    try {
      db().exec("begin a ledger transaction", "BEGIN");
    } catch (const pg::Error& error) {
      // Nothing was done yet: on a connection that broke while idle, begin again on a new one.
      if (!error.connection_lost() || conn_->ok()) throw;
      db().exec("begin a ledger transaction", "BEGIN");
    }
    try {
      {
        const Depth depth(depth_);
        work();
      }
      db().exec("commit a ledger transaction", "COMMIT");
      return;
    } catch (const pg::Error& error) {
      if (conn_->ok()) conn_->exec("roll back a ledger transaction", "ROLLBACK");
      if (!error.transient() || attempt == kAttempts) throw;
      ++retries_;
      // Apart a little, so that two retried transactions do not meet again at once.
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt * 2));
    } catch (...) {
      if (conn_->ok()) conn_->exec("roll back a ledger transaction", "ROLLBACK");
      throw;
    }
  }
}

bool PostgresStore::run_alone(Job job, const std::function<void()>& work) {
  const std::string key = "7142, " + std::to_string(static_cast<int>(job) + 1);
  const Result taken = db().exec("take a housekeeping lock", "SELECT pg_try_advisory_lock(" + key + ")");
  if (taken.text(0, 0) != "t") return false;
  try {
    work();
  } catch (...) {
    if (conn_->ok()) conn_->exec("release a housekeeping lock", "SELECT pg_advisory_unlock(" + key + ")");
    throw;
  }
  db().exec("release a housekeeping lock", "SELECT pg_advisory_unlock(" + key + ")");
  return true;
}

void PostgresStore::write(const StoreChanges& changes) {
  pg::Connection& c = db();
  if (!changes.entries.empty()) {
    pg::CopyRows rows;
    for (const sync::WireEntry* wire : changes.entries) {
      const storage::JournalEntry& e = wire->entry;
      rows.text(e.terminal_id).integer(e.seq).integer(static_cast<std::int64_t>(e.draft.kind));
      rows.text(e.draft.member_id).text(e.draft.receipt_id).integer(e.draft.recorded_at_ms);
      rows.integer(e.draft.rulebook_version).integer(e.draft.points_earned).integer(e.draft.points_redeemed);
      rows.bytes(e.hash);
      if (e.signature) {
        rows.bytes(*e.signature);
      } else {
        rows.null();
      }
      rows.bytes(wire->bytes).integer(changes.applied_at_ms);
      rows.end_row();
    }
    c.copy_in("insert the batch's entries",
              "COPY entries (terminal_id, seq, kind, member_id, receipt_id, recorded_at, rulebook_version, "
              "points_earned, points_redeemed, hash, signature, bytes, applied_at) FROM STDIN",
              rows);
  }
  if (!changes.held.empty()) {
    Columns columns(5);
    for (const sync::WireEntry* wire : changes.held) {
      columns.text(0, wire->entry.terminal_id);
      columns.integer(1, wire->entry.seq);
      columns.text(2, pg::bytea(wire->entry.hash));
      // An unsigned entry's signature: the empty bytea, NULL again below.
      columns.text(3, wire->entry.signature ? pg::bytea(*wire->entry.signature) : std::string("\\x"));
      columns.text(4, pg::bytea(wire->bytes));
    }
    c.exec("hold back entries after a gap",
           "INSERT INTO held (terminal_id, seq, hash, signature, bytes) "
           "SELECT t, s, h, NULLIF(g, '\\x'::bytea), b FROM unnest($1::text[], $2::bigint[], $3::bytea[], "
           "$4::bytea[], $5::bytea[]) AS u(t, s, h, g, b) "
           "ON CONFLICT (terminal_id, seq) DO UPDATE SET hash = excluded.hash, signature = excluded.signature, "
           "bytes = excluded.bytes",
           columns.params());
  }
  if (!changes.drop_held.empty()) {
    Columns columns(2);
    for (const auto& [terminal_id, through] : changes.drop_held) {
      columns.text(0, terminal_id);
      columns.integer(1, through);
    }
    c.exec("drop held entries",
           "DELETE FROM held h USING unnest($1::text[], $2::bigint[]) AS u(t, s) "
           "WHERE h.terminal_id = u.t AND h.seq <= u.s",
           columns.params());
  }
  if (!changes.consumed_holds.empty()) {
    Columns columns(2);
    for (const auto& [terminal_id, receipt_id] : changes.consumed_holds) {
      columns.text(0, terminal_id);
      columns.text(1, receipt_id);
    }
    c.exec("consume holds",
           "DELETE FROM holds h USING unnest($1::text[], $2::text[]) AS u(t, r) "
           "WHERE h.terminal_id = u.t AND h.receipt_id = u.r",
           columns.params());
  }
  if (!changes.member_keys.empty()) {
    Columns members(1);
    Columns keys(2);
    for (const auto& [member_id, member_keys] : changes.member_keys) {
      members.text(0, member_id);
      for (const storage::Digest& key : member_keys) {
        keys.text(0, pg::bytea(key));
        keys.text(1, member_id);
      }
    }
    c.exec("replace member keys", "DELETE FROM member_keys WHERE member_id = ANY($1::text[])", members.params());
    c.exec("replace member keys",
           "INSERT INTO member_keys (key, member_id) SELECT k, m FROM unnest($1::bytea[], $2::text[]) AS u(k, m) "
           "ON CONFLICT (key) DO UPDATE SET member_id = excluded.member_id",
           keys.params());
  }
  if (!changes.lots.empty()) {
    Columns columns(8);
    for (const Lot& lot : changes.lots) {
      columns.text(0, lot.member_id);
      columns.integer(1, lot.expires_at_ms);
      columns.text(2, lot.terminal_id);
      columns.integer(3, lot.seq);
      columns.integer(4, lot.points);
      columns.integer(5, lot.remaining);
      columns.integer(6, lot.expired);
      columns.integer(7, lot.earned_at_ms);
    }
    c.exec("save lots",
           "INSERT INTO lots (member_id, expires_at, terminal_id, seq, points, remaining, expired, earned_at) "
           "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], "
           "$7::bigint[], $8::bigint[]) "
           "ON CONFLICT (member_id, expires_at, terminal_id, seq) DO UPDATE SET remaining = excluded.remaining, "
           "expired = excluded.expired",
           columns.params());
  }
  if (!changes.conflicts.empty()) {
    Columns columns(9);
    for (const Conflict& k : changes.conflicts) {
      columns.text(0, k.member_id);
      columns.text(1, k.terminal_id);
      columns.integer(2, k.seq);
      columns.text(3, k.receipt_id);
      columns.integer(4, k.redeemed);
      columns.integer(5, k.available);
      columns.text(6, k.other_terminal);
      columns.integer(7, k.other_seq);
      columns.integer(8, k.recorded_at_ms);
    }
    c.exec("record conflicts",
           "INSERT INTO conflicts (member_id, terminal_id, seq, receipt_id, redeemed, available, other_terminal, "
           "other_seq, recorded_at) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], "
           "$5::bigint[], $6::bigint[], $7::text[], $8::bigint[], $9::bigint[]) ON CONFLICT DO NOTHING",
           columns.params());
  }
  for (const Terminal& terminal : changes.terminals) save_terminal(terminal);
  if (!changes.accounts.empty()) {
    // Last: the feed's counter row stays locked until the commit, which orders the feed.
    const Result top = c.exec("move accounts to the end of the member feed",
                              "UPDATE member_feed SET cursor = cursor + $1 RETURNING cursor",
                              {number(static_cast<std::int64_t>(changes.accounts.size()))});
    std::int64_t cursor = top.integer(0, 0) - static_cast<std::int64_t>(changes.accounts.size());
    Columns columns(7);
    for (const Account& a : changes.accounts) {
      columns.text(0, a.member_id);
      columns.integer(1, a.balance);
      columns.text(2, a.tier);
      columns.integer(3, static_cast<std::int64_t>(a.status));
      columns.integer(4, ++cursor);
      columns.text(5, a.last_redeem_terminal);
      columns.integer(6, a.last_redeem_seq);
    }
    c.exec("save accounts",
           "INSERT INTO accounts (member_id, balance, tier, status, cursor, last_redeem_terminal, last_redeem_seq) "
           "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::smallint[], $5::bigint[], "
           "$6::text[], $7::bigint[]) ON CONFLICT (member_id) DO UPDATE SET balance = excluded.balance, "
           "tier = excluded.tier, status = excluded.status, cursor = excluded.cursor, "
           "last_redeem_terminal = excluded.last_redeem_terminal, last_redeem_seq = excluded.last_redeem_seq",
           columns.params());
  }
}

std::optional<Terminal> PostgresStore::terminal(std::string_view terminal_id) {
  const Result rows =
      read("read a terminal", "SELECT " + std::string(kTerminalColumns) + " FROM terminals WHERE terminal_id = $1",
           {std::string(terminal_id)});
  if (rows.rows() == 0) return std::nullopt;
  return read_terminal(rows, 0);
}

std::optional<Terminal> PostgresStore::lock_terminal(std::string_view terminal_id) {
  const Result rows =
      db().exec("lock a terminal",
                "SELECT " + std::string(kTerminalColumns) + " FROM terminals WHERE terminal_id = $1 FOR UPDATE",
                {std::string(terminal_id)});
  if (rows.rows() == 0) return std::nullopt;
  return read_terminal(rows, 0);
}

void PostgresStore::save_terminal(const Terminal& t) {
  db().exec("save a terminal",
            "INSERT INTO terminals (" + std::string(kTerminalColumns) +
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (terminal_id) DO UPDATE SET "
                "store_id = excluded.store_id, public_key = excluded.public_key, enrolled_at = excluded.enrolled_at, "
                "revoked_at = excluded.revoked_at, head_seq = excluded.head_seq, head_hash = excluded.head_hash, "
                "audited_through = excluded.audited_through, last_upload = excluded.last_upload",
            {t.terminal_id, t.store_id, pg::bytea(t.public_key), number(t.enrolled_at_ms),
             t.revoked_at_ms ? Param(number(*t.revoked_at_ms)) : std::nullopt, number(t.head_seq),
             pg::bytea(t.head_hash), number(t.audited_through), number(t.last_upload_ms)});
}

std::vector<Terminal> PostgresStore::terminals() {
  const Result rows =
      read("read the terminals", "SELECT " + std::string(kTerminalColumns) + " FROM terminals ORDER BY terminal_id");
  std::vector<Terminal> out;
  for (int i = 0; i < rows.rows(); ++i) out.push_back(read_terminal(rows, i));
  return out;
}

std::vector<std::pair<std::int64_t, storage::Digest>> PostgresStore::entry_hashes(std::string_view terminal_id,
                                                                                  std::int64_t first,
                                                                                  std::int64_t last) {
  const Result rows =
      read("read entry hashes",
           "SELECT seq, hash FROM entries WHERE terminal_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq",
           {std::string(terminal_id), number(first), number(last)});
  std::vector<std::pair<std::int64_t, storage::Digest>> out;
  for (int i = 0; i < rows.rows(); ++i) out.emplace_back(rows.integer(i, 0), fixed_bytes<32>(rows, i, 1, "entry hash"));
  return out;
}

std::vector<sync::WireEntry> PostgresStore::read_wire(const Result& rows, std::string_view terminal_id) {
  std::vector<sync::WireEntry> out;
  for (int i = 0; i < rows.rows(); ++i) {
    const std::int64_t seq = rows.integer(i, 0);
    const std::string where = "ledger entry " + std::string(terminal_id) + "#" + std::to_string(seq);
    sync::WireEntry wire = sync::decode_entry(rows.bytes(i, 2), seq, terminal_id, where);
    if (fixed_bytes<32>(rows, i, 1, where + " hash") != wire.entry.hash) {
      throw pg::Error("XX001", "read " + where, "its bytes do not match its hash");
    }
    if (!rows.is_null(i, 3)) wire.entry.signature = fixed_bytes<64>(rows, i, 3, where + " signature");
    out.push_back(std::move(wire));
  }
  return out;
}

std::vector<sync::WireEntry> PostgresStore::entries(std::string_view terminal_id, std::int64_t first,
                                                    std::size_t limit) {
  const Result rows =
      read("read entries",
           "SELECT seq, hash, bytes, signature FROM entries WHERE terminal_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
           {std::string(terminal_id), number(first), number(static_cast<std::int64_t>(limit))});
  return read_wire(rows, terminal_id);
}

std::int64_t PostgresStore::entry_count() {
  return read("count entries", "SELECT count(*) FROM entries").integer(0, 0);
}

std::vector<sync::WireEntry> PostgresStore::held_run(std::string_view terminal_id, std::int64_t first) {
  const Result rows =
      read("read held entries",
           "SELECT seq, hash, bytes, signature FROM held WHERE terminal_id = $1 AND seq >= $2 ORDER BY seq",
           {std::string(terminal_id), number(first)});
  std::vector<sync::WireEntry> all = read_wire(rows, terminal_id);
  std::size_t run = 0;
  while (run < all.size() && all[run].entry.seq == first + static_cast<std::int64_t>(run)) ++run;
  all.resize(run);
  return all;
}

std::optional<Account> PostgresStore::account(std::string_view member_id) {
  const Result rows =
      read("read an account",
           "SELECT " + std::string(kAccountColumns) + " FROM accounts WHERE member_id = $1 AND cursor IS NOT NULL",
           {std::string(member_id)});
  if (rows.rows() == 0) return std::nullopt;
  return read_account(rows, 0);
}

std::vector<Account> PostgresStore::lock_accounts(std::span<const std::string> member_ids) {
  if (member_ids.empty()) return {};
  const Param ids = pg::text_array(member_ids);
  // A member without an account gets a row now (cursor NULL: the batch writes the account
  // before it commits), so that every member is locked as a row: row locks live in the rows,
  // not in the server's lock table, so a replay group of 100,000 members takes them too. The
  // inserts go in member order (two batches creating the same members wait in that order),
  // then the rows are locked in member order.
  db().exec("lock members",
            "INSERT INTO accounts (member_id, balance, tier, status, cursor, last_redeem_terminal, last_redeem_seq) "
            "SELECT m, 0, 'standard', 1, NULL, '', 0 FROM unnest($1::text[]) AS m ORDER BY m ON CONFLICT DO NOTHING",
            {ids});
  std::vector<Account> locked =
      read_accounts(db().exec("lock members",
                              "SELECT " + std::string(kAccountColumns) +
                                  " FROM accounts WHERE member_id = ANY($1::text[]) ORDER BY member_id FOR UPDATE",
                              {ids}));
  // The rows made just now are no accounts yet.
  std::erase_if(locked, [](const Account& account) { return account.cursor == 0; });
  return locked;
}

std::vector<MemberChange> PostgresStore::member_changes(std::int64_t cursor, std::size_t limit) {
  const Result rows =
      read("read the member feed",
           "SELECT " + std::string(kAccountColumns) + " FROM accounts WHERE cursor > $1 ORDER BY cursor LIMIT $2",
           {number(cursor), number(static_cast<std::int64_t>(limit))});
  std::vector<MemberChange> out;
  std::map<std::string, std::size_t, std::less<>> index;
  std::vector<std::string> ids;
  for (int i = 0; i < rows.rows(); ++i) {
    out.push_back({read_account(rows, i), {}});
    index.emplace(out.back().account.member_id, out.size() - 1);
    ids.push_back(out.back().account.member_id);
  }
  if (ids.empty()) return out;
  const Result keys =
      read("read member keys", "SELECT member_id, key FROM member_keys WHERE member_id = ANY($1::text[])",
           {pg::text_array(ids)});
  for (int i = 0; i < keys.rows(); ++i) {
    const auto found = index.find(keys.text(i, 0));
    if (found != index.end()) out[found->second].keys.push_back(fixed_bytes<32>(keys, i, 1, "member key"));
  }
  return out;
}

std::int64_t PostgresStore::member_cursor() {
  return read("read the member feed's cursor", "SELECT cursor FROM member_feed").integer(0, 0);
}

std::vector<Account> PostgresStore::accounts() {
  return read_accounts(read("read accounts", "SELECT " + std::string(kAccountColumns) +
                                                 " FROM accounts WHERE cursor IS NOT NULL ORDER BY member_id"));
}

std::vector<Lot> PostgresStore::open_lots(std::span<const std::string> member_ids) {
  if (member_ids.empty()) return {};
  return read_lots(read("read open lots",
                        std::string(kLotColumns) + "WHERE member_id = ANY($1::text[]) AND remaining > 0 "
                                                   "ORDER BY member_id, expires_at, terminal_id, seq",
                        {pg::text_array(member_ids)}));
}

std::vector<Lot> PostgresStore::expiring_lots(std::int64_t now_ms, std::size_t limit) {
  return read_lots(read("read expiring lots",
                        std::string(kLotColumns) + "WHERE expires_at <= $1 AND remaining > 0 ORDER BY expires_at "
                                                   "LIMIT $2",
                        {number(now_ms), number(static_cast<std::int64_t>(limit))}));
}

std::vector<Lot> PostgresStore::lots(std::string_view member_id) {
  return read_lots(read("read lots",
                        std::string(kLotColumns) + "WHERE member_id = $1 ORDER BY expires_at, terminal_id, seq",
                        {std::string(member_id)}));
}

std::vector<Conflict> PostgresStore::conflicts() {
  const Result rows = read("read conflicts",
                           "SELECT member_id, terminal_id, seq, receipt_id, redeemed, available, other_terminal, "
                           "other_seq, recorded_at FROM conflicts ORDER BY id");
  std::vector<Conflict> out;
  for (int i = 0; i < rows.rows(); ++i) {
    out.push_back({std::string(rows.text(i, 0)), std::string(rows.text(i, 1)), rows.integer(i, 2),
                   std::string(rows.text(i, 3)), rows.integer(i, 4), rows.integer(i, 5), std::string(rows.text(i, 6)),
                   rows.integer(i, 7), rows.integer(i, 8)});
  }
  return out;
}

void PostgresStore::add_mismatch(const Mismatch& m) {
  db().exec("record a mismatch",
            "INSERT INTO mismatches (terminal_id, seq, receipt_id, rulebook_version, problem) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            {m.terminal_id, number(m.seq), m.receipt_id, number(m.rulebook_version), m.problem});
}

std::vector<Mismatch> PostgresStore::mismatches() {
  const Result rows = read(
      "read mismatches", "SELECT terminal_id, seq, receipt_id, rulebook_version, problem FROM mismatches ORDER BY id");
  std::vector<Mismatch> out;
  for (int i = 0; i < rows.rows(); ++i) {
    out.push_back({std::string(rows.text(i, 0)), rows.integer(i, 1), std::string(rows.text(i, 2)), rows.integer(i, 3),
                   std::string(rows.text(i, 4))});
  }
  return out;
}

void PostgresStore::add_hold(Hold& hold) {
  const Result id = db().exec(
      "place a hold",
      "INSERT INTO holds (member_id, terminal_id, receipt_id, points, expires_at) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (terminal_id, receipt_id) DO UPDATE SET member_id = excluded.member_id, points = excluded.points, "
      "expires_at = excluded.expires_at RETURNING id",
      {hold.member_id, hold.terminal_id, hold.receipt_id, number(hold.points), number(hold.expires_at_ms)});
  hold.id = id.integer(0, 0);
}

std::int64_t PostgresStore::held_points(std::string_view member_id, std::int64_t now_ms) {
  return read("sum a member's holds",
              "SELECT COALESCE(SUM(points), 0) FROM holds WHERE member_id = $1 AND expires_at > $2",
              {std::string(member_id), number(now_ms)})
      .integer(0, 0);
}

bool PostgresStore::consume_hold(std::string_view terminal_id, std::string_view receipt_id) {
  return db().exec("consume a hold", "DELETE FROM holds WHERE terminal_id = $1 AND receipt_id = $2",
                   {std::string(terminal_id), std::string(receipt_id)})
             .changed() > 0;
}

std::int64_t PostgresStore::drop_expired_holds(std::int64_t now_ms) {
  return db().exec("drop expired holds", "DELETE FROM holds WHERE expires_at <= $1", {number(now_ms)}).changed();
}

void PostgresStore::publish_rulebook(const PublishedRulebook& r) {
  db().exec("publish a rulebook",
            "INSERT INTO rulebooks (version, envelope, document, key_id, expires_at, published_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            {number(r.version), pg::bytea(r.envelope), pg::bytea(r.document), r.key_id, number(r.expires_at_s),
             number(r.published_at_ms)});
}

std::optional<PublishedRulebook> PostgresStore::rulebook(std::int64_t version) {
  return read_rulebook(
      read("read a rulebook",
           "SELECT version, envelope, document, key_id, expires_at, published_at FROM rulebooks WHERE version = $1",
           {number(version)}));
}

std::optional<PublishedRulebook> PostgresStore::latest_rulebook() {
  return read_rulebook(read("read the latest rulebook",
                            "SELECT version, envelope, document, key_id, expires_at, published_at FROM rulebooks "
                            "ORDER BY version DESC LIMIT 1"));
}

std::vector<ReportRow> PostgresStore::report_rows() {
  const Result rows =
      read("sum the entries for the report",
           "SELECT t.store_id, e.terminal_id, e.rulebook_version, count(*), "
           // An entry without a member moves no account (Ledger::apply).
           "SUM(CASE e.member_id WHEN '' THEN 0 ELSE e.points_earned END), "
           "SUM(CASE e.member_id WHEN '' THEN 0 ELSE e.points_redeemed END) FROM entries e JOIN terminals t "
           "USING (terminal_id) GROUP BY t.store_id, e.terminal_id, e.rulebook_version "
           "ORDER BY t.store_id, e.terminal_id, e.rulebook_version");
  std::vector<ReportRow> out;
  for (int i = 0; i < rows.rows(); ++i) {
    out.push_back({std::string(rows.text(i, 0)), std::string(rows.text(i, 1)), rows.integer(i, 2), rows.integer(i, 3),
                   rows.integer(i, 4), rows.integer(i, 5)});
  }
  return out;
}

std::vector<TerminalTotals> PostgresStore::terminal_totals() {
  const Result rows =
      read("sum the terminals' totals",
           "SELECT t.store_id, t.terminal_id, t.head_seq, "
           "COALESCE((SELECT count(*) FROM held h WHERE h.terminal_id = t.terminal_id), 0), "
           "COALESCE(x.expired, 0), "
           "COALESCE((SELECT count(*) FROM conflicts c WHERE c.terminal_id = t.terminal_id), 0), "
           "COALESCE((SELECT count(*) FROM mismatches m WHERE m.terminal_id = t.terminal_id), 0) "
           "FROM terminals t LEFT JOIN (SELECT terminal_id, SUM(expired) AS expired FROM lots WHERE expired > 0 "
           "GROUP BY terminal_id) x USING (terminal_id) ORDER BY t.terminal_id");
  std::vector<TerminalTotals> out;
  for (int i = 0; i < rows.rows(); ++i) {
    out.push_back({std::string(rows.text(i, 0)), std::string(rows.text(i, 1)), rows.integer(i, 2), rows.integer(i, 3),
                   rows.integer(i, 4), rows.integer(i, 5), rows.integer(i, 6)});
  }
  return out;
}

}  // namespace loyalty::ledger
