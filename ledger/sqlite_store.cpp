#include "ledger/sqlite_store.hpp"

#include <map>

#include "storage/journal_scan.hpp"

namespace loyalty::ledger {
namespace {

using storage::Database;
using storage::Statement;
using storage::StatementUse;

constexpr storage::Migration kLedgerMigrations[] = {
    {1, R"sql(
CREATE TABLE terminals (
  terminal_id TEXT PRIMARY KEY NOT NULL,
  store_id TEXT NOT NULL,
  public_key BLOB NOT NULL CHECK (length(public_key) = 32),
  enrolled_at INTEGER NOT NULL,
  revoked_at INTEGER,
  head_seq INTEGER NOT NULL,
  head_hash BLOB NOT NULL CHECK (length(head_hash) = 32),
  audited_through INTEGER NOT NULL,
  last_upload INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  terminal_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  member_id TEXT NOT NULL,
  receipt_id TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  rulebook_version INTEGER NOT NULL,
  points_earned INTEGER NOT NULL,
  points_redeemed INTEGER NOT NULL,
  hash BLOB NOT NULL,
  signature BLOB,
  bytes BLOB NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX entries_by_terminal ON entries (terminal_id, seq);

CREATE TABLE held (
  terminal_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  hash BLOB NOT NULL,
  signature BLOB,
  bytes BLOB NOT NULL,
  PRIMARY KEY (terminal_id, seq)
) STRICT;

CREATE TABLE accounts (
  member_id TEXT PRIMARY KEY NOT NULL,
  balance INTEGER NOT NULL,
  tier TEXT NOT NULL,
  status INTEGER NOT NULL CHECK (status IN (1, 2)),
  cursor INTEGER NOT NULL,
  last_redeem_terminal TEXT NOT NULL,
  last_redeem_seq INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX accounts_by_cursor ON accounts (cursor);

CREATE TABLE member_keys (
  key BLOB PRIMARY KEY NOT NULL CHECK (length(key) = 32),
  member_id TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX member_keys_by_member ON member_keys (member_id);

CREATE TABLE lots (
  member_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  terminal_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  points INTEGER NOT NULL,
  remaining INTEGER NOT NULL,
  expired INTEGER NOT NULL,
  earned_at INTEGER NOT NULL,
  PRIMARY KEY (member_id, expires_at, terminal_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX lots_expiring ON lots (expires_at) WHERE remaining > 0;

CREATE TABLE conflicts (
  id INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL,
  terminal_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  receipt_id TEXT NOT NULL,
  redeemed INTEGER NOT NULL,
  available INTEGER NOT NULL,
  other_terminal TEXT NOT NULL,
  other_seq INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL,
  UNIQUE (terminal_id, seq)
) STRICT;

CREATE TABLE mismatches (
  id INTEGER PRIMARY KEY,
  terminal_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  receipt_id TEXT NOT NULL,
  rulebook_version INTEGER NOT NULL,
  problem TEXT NOT NULL,
  UNIQUE (terminal_id, seq)
) STRICT;

CREATE TABLE holds (
  id INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL,
  terminal_id TEXT NOT NULL,
  receipt_id TEXT NOT NULL,
  points INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  UNIQUE (terminal_id, receipt_id)
) STRICT;
CREATE INDEX holds_by_member ON holds (member_id);

CREATE TABLE rulebooks (
  version INTEGER PRIMARY KEY,
  envelope BLOB NOT NULL,
  document BLOB NOT NULL,
  key_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  published_at INTEGER NOT NULL
) STRICT;
)sql"},
};

storage::Bytes blob(std::string_view text) { return storage::as_bytes(text); }

Terminal read_terminal(Statement& row) {
  Terminal t;
  t.terminal_id = row.text(0);
  t.store_id = row.text(1);
  t.public_key = storage::stored_bytes<32>(row.blob_view(2), "public key of terminal " + t.terminal_id);
  t.enrolled_at_ms = row.integer(3);
  if (!row.is_null(4)) t.revoked_at_ms = row.integer(4);
  t.head_seq = row.integer(5);
  t.head_hash = storage::stored_bytes<32>(row.blob_view(6), "head hash of terminal " + t.terminal_id);
  t.audited_through = row.integer(7);
  t.last_upload_ms = row.integer(8);
  return t;
}

constexpr std::string_view kTerminalColumns =
    "terminal_id, store_id, public_key, enrolled_at, revoked_at, head_seq, head_hash, audited_through, last_upload";

Account read_account(Statement& row) {
  Account a;
  a.member_id = row.text(0);
  a.balance = row.integer(1);
  a.tier = row.text(2);
  a.status = row.integer(3) == 2 ? domain::MemberStatus::blocked : domain::MemberStatus::active;
  a.cursor = row.integer(4);
  a.last_redeem_terminal = row.text(5);
  a.last_redeem_seq = row.integer(6);
  return a;
}

Lot read_lot(Statement& row) {
  Lot lot;
  lot.member_id = row.text(0);
  lot.expires_at_ms = row.integer(1);
  lot.terminal_id = row.text(2);
  lot.seq = row.integer(3);
  lot.points = row.integer(4);
  lot.remaining = row.integer(5);
  lot.expired = row.integer(6);
  lot.earned_at_ms = row.integer(7);
  return lot;
}

std::vector<Lot> read_lots(Statement& rows) {
  std::vector<Lot> out;
  while (rows.step()) out.push_back(read_lot(rows));
  return out;
}

std::optional<PublishedRulebook> read_rulebook(Statement& row) {
  if (!row.step()) return std::nullopt;
  return PublishedRulebook{row.integer(0), row.blob_string(1), row.blob_string(2),
                           row.text(3),    row.integer(4),     row.integer(5)};
}

}  // namespace

std::span<const storage::Migration> ledger_schema() { return kLedgerMigrations; }

SqliteStore::SqliteStore(const std::filesystem::path& path, const Options& options) {
  storage::OpenOptions open;
  open.creation = options.creation;
  open.cache_kib = options.cache_kib;
  open.durability = options.durability;
  db_ = std::make_unique<Database>(path, open);
  if (storage::writable(options.creation)) storage::migrate(*db_, kLedgerMigrations, "ledger");
  if (options.checkpoint_pages != 1000) {
    db_->exec("PRAGMA wal_autocheckpoint=" + std::to_string(options.checkpoint_pages), "set the checkpoint size");
  }
}

void SqliteStore::transaction(const std::function<void()>& work) {
  struct Depth {
    int& depth;
    explicit Depth(int& d) : depth(++d) {}
    ~Depth() { --depth; }
  };
  if (depth_ == 0) {
    storage::Transaction transaction(*db_, "ledger transaction");
    {
      const Depth depth(depth_);
      work();
    }
    transaction.commit();
    return;
  }
  const std::string name = "ledger_" + std::to_string(depth_);
  db_->exec("SAVEPOINT " + name, "open a savepoint");
  try {
    const Depth depth(depth_);
    work();
  } catch (...) {
    db_->exec("ROLLBACK TO " + name + "; RELEASE " + name, "roll back a savepoint");
    throw;
  }
  db_->exec("RELEASE " + name, "release a savepoint");
}

void SqliteStore::write(const StoreChanges& changes) {
  for (const sync::WireEntry* wire : changes.entries) insert_entry(*wire, changes.applied_at_ms);
  for (const sync::WireEntry* wire : changes.held) hold_back(*wire);
  if (!changes.drop_held.empty()) {
    StatementUse drop(db_->cached("DELETE FROM held WHERE terminal_id = ? AND seq <= ?"));
    for (const auto& [terminal_id, through] : changes.drop_held) {
      drop->bind(1, terminal_id).bind(2, through);
      drop->run();
      drop->reset();
    }
  }
  if (!changes.consumed_holds.empty()) {
    StatementUse drop(db_->cached("DELETE FROM holds WHERE terminal_id = ? AND receipt_id = ?"));
    for (const auto& [terminal_id, receipt_id] : changes.consumed_holds) {
      drop->bind(1, terminal_id).bind(2, receipt_id);
      drop->run();
      drop->reset();
    }
  }
  std::int64_t cursor = changes.accounts.empty() ? 0 : member_cursor();
  for (Account account : changes.accounts) save_account(account, ++cursor);
  for (const auto& [member_id, keys] : changes.member_keys) set_member_keys(member_id, keys);
  for (const Lot& lot : changes.lots) save_lot(lot);
  for (const Conflict& conflict : changes.conflicts) add_conflict(conflict);
  for (const Terminal& terminal : changes.terminals) save_terminal(terminal);
}

std::optional<Terminal> SqliteStore::terminal(std::string_view terminal_id) {
  static const std::string sql = "SELECT " + std::string(kTerminalColumns) + " FROM terminals WHERE terminal_id = ?";
  StatementUse row(db_->cached(sql));
  row->bind(1, terminal_id);
  if (!row->step()) return std::nullopt;
  return read_terminal(*row);
}

void SqliteStore::save_terminal(const Terminal& t) {
  static const std::string sql =
      "INSERT OR REPLACE INTO terminals (" + std::string(kTerminalColumns) + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
  StatementUse put(db_->cached(sql));
  put->bind(1, t.terminal_id).bind(2, t.store_id).bind_blob(3, t.public_key).bind(4, t.enrolled_at_ms);
  if (t.revoked_at_ms) {
    put->bind(5, *t.revoked_at_ms);
  } else {
    put->bind_null(5);
  }
  put->bind(6, t.head_seq).bind_blob(7, t.head_hash).bind(8, t.audited_through).bind(9, t.last_upload_ms);
  put->run();
}

std::vector<Terminal> SqliteStore::terminals() {
  static const std::string sql = "SELECT " + std::string(kTerminalColumns) + " FROM terminals ORDER BY terminal_id";
  StatementUse rows(db_->cached(sql));
  std::vector<Terminal> out;
  while (rows->step()) out.push_back(read_terminal(*rows));
  return out;
}

std::vector<std::pair<std::int64_t, storage::Digest>> SqliteStore::entry_hashes(std::string_view terminal_id,
                                                                                std::int64_t first, std::int64_t last) {
  StatementUse rows(
      db_->cached("SELECT seq, hash FROM entries WHERE terminal_id = ? AND seq BETWEEN ? AND ? ORDER BY seq"));
  rows->bind(1, terminal_id).bind(2, first).bind(3, last);
  std::vector<std::pair<std::int64_t, storage::Digest>> out;
  while (rows->step()) {
    out.emplace_back(rows->integer(0), storage::stored_bytes<32>(rows->blob_view(1), "ledger entry hash"));
  }
  return out;
}

void SqliteStore::insert_entry(const sync::WireEntry& wire, std::int64_t applied_at_ms) {
  StatementUse put(
      db_->cached("INSERT INTO entries (terminal_id, seq, kind, member_id, receipt_id, recorded_at, rulebook_version, "
                  "points_earned, points_redeemed, hash, signature, bytes, applied_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  const storage::JournalEntry& e = wire.entry;
  put->bind(1, e.terminal_id).bind(2, e.seq).bind(3, static_cast<std::int64_t>(e.draft.kind));
  put->bind(4, e.draft.member_id).bind(5, e.draft.receipt_id).bind(6, e.draft.recorded_at_ms);
  put->bind(7, e.draft.rulebook_version).bind(8, e.draft.points_earned).bind(9, e.draft.points_redeemed);
  put->bind_blob(10, e.hash);
  if (e.signature) {
    put->bind_blob(11, *e.signature);
  } else {
    put->bind_null(11);
  }
  put->bind_blob(12, blob(wire.bytes)).bind(13, applied_at_ms);
  put->run();
}

std::vector<sync::WireEntry> SqliteStore::read_wire(Statement& rows, std::string_view terminal_id) {
  std::vector<sync::WireEntry> out;
  while (rows.step()) {
    const std::int64_t seq = rows.integer(0);
    const std::string where = "ledger entry " + std::string(terminal_id) + "#" + std::to_string(seq);
    sync::WireEntry wire = sync::decode_entry(rows.blob_string(2), seq, terminal_id, where);
    const auto stored = storage::stored_bytes<32>(rows.blob_view(1), where + " hash");
    if (stored != wire.entry.hash) {
      throw storage::Error(11 /* SQLITE_CORRUPT */, "read " + where, "its bytes do not match its hash");
    }
    if (!rows.is_null(3)) wire.entry.signature = storage::stored_bytes<64>(rows.blob_view(3), where + " signature");
    out.push_back(std::move(wire));
  }
  return out;
}

std::vector<sync::WireEntry> SqliteStore::entries(std::string_view terminal_id, std::int64_t first, std::size_t limit) {
  StatementUse rows(db_->cached(
      "SELECT seq, hash, bytes, signature FROM entries WHERE terminal_id = ? AND seq >= ? ORDER BY seq LIMIT ?"));
  rows->bind(1, terminal_id).bind(2, first).bind(3, static_cast<std::int64_t>(limit));
  return read_wire(*rows, terminal_id);
}

std::int64_t SqliteStore::entry_count() { return db_->query_integer("SELECT count(*) FROM entries").value_or(0); }

void SqliteStore::hold_back(const sync::WireEntry& wire) {
  StatementUse put(
      db_->cached("INSERT OR REPLACE INTO held (terminal_id, seq, hash, signature, bytes) VALUES (?, ?, ?, ?, ?)"));
  put->bind(1, wire.entry.terminal_id).bind(2, wire.entry.seq).bind_blob(3, wire.entry.hash);
  if (wire.entry.signature) {
    put->bind_blob(4, *wire.entry.signature);
  } else {
    put->bind_null(4);
  }
  put->bind_blob(5, blob(wire.bytes));
  put->run();
}

std::vector<sync::WireEntry> SqliteStore::held_run(std::string_view terminal_id, std::int64_t first) {
  StatementUse rows(
      db_->cached("SELECT seq, hash, bytes, signature FROM held WHERE terminal_id = ? AND seq >= ? ORDER BY seq"));
  rows->bind(1, terminal_id).bind(2, first);
  std::vector<sync::WireEntry> all = read_wire(*rows, terminal_id);
  std::size_t run = 0;
  while (run < all.size() && all[run].entry.seq == first + static_cast<std::int64_t>(run)) ++run;
  all.resize(run);
  return all;
}

std::optional<Account> SqliteStore::account(std::string_view member_id) {
  StatementUse row(db_->cached(
      "SELECT member_id, balance, tier, status, cursor, last_redeem_terminal, last_redeem_seq FROM accounts "
      "WHERE member_id = ?"));
  row->bind(1, member_id);
  if (!row->step()) return std::nullopt;
  return read_account(*row);
}

std::vector<Account> SqliteStore::lock_accounts(std::span<const std::string> member_ids) {
  std::vector<Account> out;
  for (const std::string& id : member_ids) {
    if (auto found = account(id)) out.push_back(std::move(*found));
  }
  return out;
}

void SqliteStore::save_account(Account& a, std::int64_t cursor) {
  a.cursor = cursor;
  StatementUse put(db_->cached(
      "INSERT INTO accounts (member_id, balance, tier, status, cursor, last_redeem_terminal, last_redeem_seq) "
      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (member_id) DO UPDATE SET balance = excluded.balance, "
      "tier = excluded.tier, status = excluded.status, cursor = excluded.cursor, "
      "last_redeem_terminal = excluded.last_redeem_terminal, last_redeem_seq = excluded.last_redeem_seq"));
  put->bind(1, a.member_id).bind(2, a.balance).bind(3, a.tier).bind(4, static_cast<std::int64_t>(a.status));
  put->bind(5, a.cursor).bind(6, a.last_redeem_terminal).bind(7, a.last_redeem_seq);
  put->run();
}

void SqliteStore::set_member_keys(std::string_view member_id, const std::vector<storage::Digest>& keys) {
  StatementUse drop(db_->cached("DELETE FROM member_keys WHERE member_id = ?"));
  drop->bind(1, member_id);
  drop->run();
  StatementUse put(db_->cached("INSERT OR REPLACE INTO member_keys (key, member_id) VALUES (?, ?)"));
  for (const storage::Digest& key : keys) {
    put->bind_blob(1, key).bind(2, member_id);
    put->run();
    put->reset();
  }
}

std::vector<MemberChange> SqliteStore::member_changes(std::int64_t cursor, std::size_t limit) {
  // One statement (one read transaction, one lock): a page of 1,000 members with their keys
  // looked up one by one took 2,000 statements, each taking and dropping the file's locks.
  StatementUse rows(db_->cached(
      "SELECT a.member_id, a.balance, a.tier, a.status, a.cursor, a.last_redeem_terminal, a.last_redeem_seq, k.key "
      "FROM (SELECT * FROM accounts WHERE cursor > ? ORDER BY cursor LIMIT ?) AS a "
      "LEFT JOIN member_keys AS k ON k.member_id = a.member_id ORDER BY a.cursor, k.key"));
  rows->bind(1, cursor).bind(2, static_cast<std::int64_t>(limit));
  std::vector<MemberChange> out;
  while (rows->step()) {
    const std::int64_t at = rows->integer(4);
    if (out.empty() || out.back().account.cursor != at) out.push_back({read_account(*rows), {}});
    if (!rows->is_null(7)) out.back().keys.push_back(storage::stored_bytes<32>(rows->blob_view(7), "member key"));
  }
  return out;
}

std::int64_t SqliteStore::member_cursor() {
  StatementUse row(db_->cached("SELECT COALESCE(MAX(cursor), 0) FROM accounts"));
  row->step();
  return row->integer(0);
}

std::vector<Account> SqliteStore::accounts() {
  StatementUse rows(db_->cached(
      "SELECT member_id, balance, tier, status, cursor, last_redeem_terminal, last_redeem_seq FROM accounts "
      "ORDER BY member_id"));
  std::vector<Account> out;
  while (rows->step()) out.push_back(read_account(*rows));
  return out;
}

namespace {
constexpr std::string_view kLotColumns =
    "SELECT member_id, expires_at, terminal_id, seq, points, remaining, expired, earned_at FROM lots ";
}

std::vector<Lot> SqliteStore::open_lots(std::span<const std::string> member_ids) {
  static const std::string sql =
      std::string(kLotColumns) + "WHERE member_id = ? AND remaining > 0 ORDER BY expires_at, terminal_id, seq";
  StatementUse rows(db_->cached(sql));
  std::vector<Lot> out;
  for (const std::string& id : member_ids) {
    rows->bind(1, id);
    while (rows->step()) out.push_back(read_lot(*rows));
    rows->reset();
  }
  return out;
}

std::vector<Lot> SqliteStore::expiring_lots(std::int64_t now_ms, std::size_t limit) {
  static const std::string sql =
      std::string(kLotColumns) + "WHERE expires_at <= ? AND remaining > 0 ORDER BY expires_at LIMIT ?";
  StatementUse rows(db_->cached(sql));
  rows->bind(1, now_ms).bind(2, static_cast<std::int64_t>(limit));
  return read_lots(*rows);
}

std::vector<Lot> SqliteStore::lots(std::string_view member_id) {
  static const std::string sql = std::string(kLotColumns) + "WHERE member_id = ? ORDER BY expires_at, terminal_id, seq";
  StatementUse rows(db_->cached(sql));
  rows->bind(1, member_id);
  return read_lots(*rows);
}

void SqliteStore::save_lot(const Lot& lot) {
  StatementUse put(
      db_->cached("INSERT INTO lots (member_id, expires_at, terminal_id, seq, points, remaining, expired, earned_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET remaining = excluded.remaining, "
                  "expired = excluded.expired"));
  put->bind(1, lot.member_id).bind(2, lot.expires_at_ms).bind(3, lot.terminal_id).bind(4, lot.seq);
  put->bind(5, lot.points).bind(6, lot.remaining).bind(7, lot.expired).bind(8, lot.earned_at_ms);
  put->run();
}

void SqliteStore::add_conflict(const Conflict& c) {
  StatementUse put(
      db_->cached("INSERT OR IGNORE INTO conflicts (member_id, terminal_id, seq, receipt_id, redeemed, available, "
                  "other_terminal, other_seq, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  put->bind(1, c.member_id).bind(2, c.terminal_id).bind(3, c.seq).bind(4, c.receipt_id).bind(5, c.redeemed);
  put->bind(6, c.available).bind(7, c.other_terminal).bind(8, c.other_seq).bind(9, c.recorded_at_ms);
  put->run();
}

std::vector<Conflict> SqliteStore::conflicts() {
  StatementUse rows(
      db_->cached("SELECT member_id, terminal_id, seq, receipt_id, redeemed, available, other_terminal, other_seq, "
                  "recorded_at FROM conflicts ORDER BY id"));
  std::vector<Conflict> out;
  while (rows->step()) {
    out.push_back({rows->text(0), rows->text(1), rows->integer(2), rows->text(3), rows->integer(4), rows->integer(5),
                   rows->text(6), rows->integer(7), rows->integer(8)});
  }
  return out;
}

void SqliteStore::add_mismatch(const Mismatch& m) {
  StatementUse put(
      db_->cached("INSERT OR IGNORE INTO mismatches (terminal_id, seq, receipt_id, rulebook_version, problem) "
                  "VALUES (?, ?, ?, ?, ?)"));
  put->bind(1, m.terminal_id).bind(2, m.seq).bind(3, m.receipt_id).bind(4, m.rulebook_version).bind(5, m.problem);
  put->run();
}

std::vector<Mismatch> SqliteStore::mismatches() {
  StatementUse rows(
      db_->cached("SELECT terminal_id, seq, receipt_id, rulebook_version, problem FROM mismatches ORDER BY id"));
  std::vector<Mismatch> out;
  while (rows->step()) {
    out.push_back({rows->text(0), rows->integer(1), rows->text(2), rows->integer(3), rows->text(4)});
  }
  return out;
}

void SqliteStore::add_hold(Hold& hold) {
  StatementUse put(db_->cached(
      "INSERT OR REPLACE INTO holds (member_id, terminal_id, receipt_id, points, expires_at) VALUES (?, ?, ?, ?, ?)"));
  put->bind(1, hold.member_id).bind(2, hold.terminal_id).bind(3, hold.receipt_id).bind(4, hold.points);
  put->bind(5, hold.expires_at_ms);
  put->run();
  hold.id = db_->last_insert_rowid();
}

std::int64_t SqliteStore::held_points(std::string_view member_id, std::int64_t now_ms) {
  StatementUse row(db_->cached("SELECT COALESCE(SUM(points), 0) FROM holds WHERE member_id = ? AND expires_at > ?"));
  row->bind(1, member_id).bind(2, now_ms);
  row->step();
  return row->integer(0);
}

bool SqliteStore::consume_hold(std::string_view terminal_id, std::string_view receipt_id) {
  StatementUse drop(db_->cached("DELETE FROM holds WHERE terminal_id = ? AND receipt_id = ?"));
  drop->bind(1, terminal_id).bind(2, receipt_id);
  drop->run();
  return db_->changes() > 0;
}

std::int64_t SqliteStore::drop_expired_holds(std::int64_t now_ms) {
  StatementUse drop(db_->cached("DELETE FROM holds WHERE expires_at <= ?"));
  drop->bind(1, now_ms);
  drop->run();
  return db_->changes();
}

void SqliteStore::publish_rulebook(const PublishedRulebook& r) {
  StatementUse put(
      db_->cached("INSERT INTO rulebooks (version, envelope, document, key_id, expires_at, published_at) "
                  "VALUES (?, ?, ?, ?, ?, ?)"));
  put->bind(1, r.version).bind_blob(2, blob(r.envelope)).bind_blob(3, blob(r.document)).bind(4, r.key_id);
  put->bind(5, r.expires_at_s).bind(6, r.published_at_ms);
  put->run();
}

std::optional<PublishedRulebook> SqliteStore::rulebook(std::int64_t version) {
  StatementUse row(db_->cached(
      "SELECT version, envelope, document, key_id, expires_at, published_at FROM rulebooks WHERE version = ?"));
  row->bind(1, version);
  return read_rulebook(*row);
}

std::optional<PublishedRulebook> SqliteStore::latest_rulebook() {
  StatementUse row(db_->cached(
      "SELECT version, envelope, document, key_id, expires_at, published_at FROM rulebooks ORDER BY version DESC "
      "LIMIT 1"));
  return read_rulebook(*row);
}

std::vector<ReportRow> SqliteStore::report_rows() {
  StatementUse rows(
      db_->cached("SELECT t.store_id, e.terminal_id, e.rulebook_version, count(*), "
                  // An entry without a member moves no account (Ledger::apply): journals written
                  // before anonymous sales earned 0 may still carry points for one.
                  "SUM(CASE e.member_id WHEN '' THEN 0 ELSE e.points_earned END), "
                  "SUM(CASE e.member_id WHEN '' THEN 0 ELSE e.points_redeemed END) FROM entries e JOIN terminals t "
                  "USING (terminal_id) "
                  "GROUP BY e.terminal_id, e.rulebook_version ORDER BY t.store_id, e.terminal_id, e.rulebook_version"));
  std::vector<ReportRow> out;
  while (rows->step()) {
    out.push_back(
        {rows->text(0), rows->text(1), rows->integer(2), rows->integer(3), rows->integer(4), rows->integer(5)});
  }
  return out;
}

std::vector<TerminalTotals> SqliteStore::terminal_totals() {
  std::vector<TerminalTotals> out;
  std::map<std::string, std::size_t, std::less<>> index;
  for (const Terminal& t : terminals()) {
    index.emplace(t.terminal_id, out.size());
    out.push_back({t.store_id, t.terminal_id, t.head_seq, 0, 0, 0, 0});
  }
  // One grouped scan per table: per-terminal subqueries would scan the lots once per terminal.
  const auto add = [&](std::string_view sql, std::int64_t TerminalTotals::*field) {
    StatementUse rows(db_->cached(sql));
    while (rows->step()) {
      const auto found = index.find(rows->text(0));
      if (found != index.end()) out[found->second].*field += rows->integer(1);
    }
  };
  add("SELECT terminal_id, count(*) FROM held GROUP BY terminal_id", &TerminalTotals::held);
  add("SELECT terminal_id, SUM(expired) FROM lots WHERE expired > 0 GROUP BY terminal_id", &TerminalTotals::expired);
  add("SELECT terminal_id, count(*) FROM conflicts GROUP BY terminal_id", &TerminalTotals::conflicts);
  add("SELECT terminal_id, count(*) FROM mismatches GROUP BY terminal_id", &TerminalTotals::mismatches);
  return out;
}

}  // namespace loyalty::ledger
