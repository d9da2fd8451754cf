// The journal's write path. An append runs, inside one BEGIN IMMEDIATE transaction:
//   1. look up the receipt id: a retried commit returns the entry it already made;
//   2. read the chain head (the last row, or the anchor when the journal is empty);
//   3. build the canonical bytes with seq = head + 1 and the head's hash, and hash them;
//   4. insert the row and commit, which with WAL and synchronous=FULL fsyncs the log.
// Reading the head inside the transaction, rather than trusting a copy in memory, keeps the
// sequence gapless even if another process appended in between; the lookup is one b-tree
// descent. bench/journal_bench measures the whole against a bare insert.
//
// Signing runs afterwards, in its own transactions of up to kSignBatch entries, with
// synchronous=NORMAL: a signature is a deterministic function of the key and the stored hash,
// so one lost to a power cut costs only the work of making it again.

#include "storage/journal.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "storage/journal_scan.hpp"

namespace loyalty::storage {
namespace {

constexpr std::size_t kSignBatch = 256;

constexpr Migration kJournalMigrations[] = {
    {1, R"sql(
CREATE TABLE journal_meta (
  key TEXT PRIMARY KEY NOT NULL,
  value ANY
) STRICT, WITHOUT ROWID;

CREATE TABLE journal (
  seq INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 4),
  receipt_id TEXT NOT NULL UNIQUE,
  member_id TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  rulebook_version INTEGER NOT NULL,
  points_earned INTEGER NOT NULL,
  points_redeemed INTEGER NOT NULL,
  payload BLOB NOT NULL,
  hash BLOB NOT NULL CHECK (length(hash) = 32),
  signature BLOB CHECK (signature IS NULL OR length(signature) = 64),
  journaled_at INTEGER NOT NULL
) STRICT;

CREATE INDEX journal_member ON journal (member_id) WHERE member_id <> '';

CREATE TABLE journal_acks (
  last_seq INTEGER PRIMARY KEY,
  ledger_cursor INTEGER NOT NULL
) STRICT;
)sql"},
    {2, R"sql(
CREATE TABLE rulebooks (
  slot TEXT PRIMARY KEY NOT NULL CHECK (slot IN ('active', 'previous')),
  version INTEGER NOT NULL,
  document BLOB NOT NULL,
  signature BLOB NOT NULL,
  key_id TEXT NOT NULL,
  installed_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
)sql"},
    // Which releases of the agent have written the journal, and from which entry on. Older
    // releases neither read nor write it: additive, so a rollback keeps the journal usable.
    {3, R"sql(
CREATE TABLE releases (
  release TEXT PRIMARY KEY NOT NULL,
  first_started_at INTEGER NOT NULL,
  first_seq INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
)sql",
     Compatibility::additive},
};

}  // namespace

std::span<const Migration> journal_schema() { return kJournalMigrations; }

std::unique_ptr<Database> open_journal_database(const std::filesystem::path& path, Creation creation,
                                                Durability durability) {
  OpenOptions options;
  options.creation = creation;
  options.durability = durability;
  auto db = std::make_unique<Database>(path, options);
  // A damaged page deep in the file would otherwise surface only when a read reaches it,
  // perhaps in the middle of a checkout. quick_check reads every page once; see
  // docs/performance.md for what it costs at open.
  const auto problems = db->check(false);
  if (!problems.empty()) {
    throw Error(SQLITE_CORRUPT, "open journal " + path.string(),
                "the file is damaged (" + problems.front() +
                    "); it was left untouched: keep it, it still holds the terminal's entries");
  }
  if (writable(creation)) migrate(*db, journal_schema(), "journal");
  return db;
}

std::int64_t acknowledged_through(Database& db) {
  StatementUse through(db.cached("SELECT coalesce(max(last_seq), 0) FROM journal_acks"));
  through->step();
  return through->integer(0);
}

std::int64_t signed_through(Database& db) {
  // A backward scan that stops at the first signed row: it reads only the unsigned tail.
  StatementUse last(db.cached("SELECT seq FROM journal WHERE signature IS NOT NULL ORDER BY seq DESC LIMIT 1"));
  if (last->step()) return last->integer(0);
  return read_anchor(db).first_seq - 1;
}

std::optional<JournalIdentity> read_identity(Database& db) {
  StatementUse terminal(db.cached("SELECT value FROM journal_meta WHERE key = 'terminal_id'"));
  if (!terminal->step()) return std::nullopt;
  JournalIdentity identity;
  identity.terminal_id = terminal->text(0);
  StatementUse key(db.cached("SELECT value FROM journal_meta WHERE key = 'public_key'"));
  if (!key->step()) {
    throw Error(SQLITE_CORRUPT, "read journal identity of " + db.path().string(),
                "the terminal's public key is missing");
  }
  identity.public_key = stored_bytes<32>(key->blob_view(0), "terminal public key of " + db.path().string());
  return identity;
}

ChainAnchor read_anchor(Database& db) {
  ChainAnchor anchor;
  StatementUse seq(db.cached("SELECT value FROM journal_meta WHERE key = 'anchor_seq'"));
  if (seq->step()) anchor.first_seq = seq->integer(0);
  StatementUse hash(db.cached("SELECT value FROM journal_meta WHERE key = 'anchor_hash'"));
  if (hash->step()) anchor.prev_hash = stored_bytes<32>(hash->blob_view(0), "journal anchor hash");
  return anchor;
}

ReceiptConflict::ReceiptConflict(const std::string& receipt_id, std::int64_t seq)
    : std::runtime_error("receipt '" + receipt_id + "' was already journaled as entry " + std::to_string(seq) +
                         " with a different transaction; nothing was written"),
      seq_(seq) {}

Journal::Journal(const std::filesystem::path& path, std::string terminal_id, PrivateKey key, Creation creation,
                 Durability durability)
    : terminal_id_(std::move(terminal_id)), key_(std::move(key)), durability_(durability) {
  validate_terminal_id(terminal_id_);  // before the file is created: a bad id changes nothing
  db_ = open_journal_database(path, creation, durability);
  const PublicKeyBytes public_key = key_.public_key().raw();
  if (auto identity = read_identity(*db_)) {
    if (identity->terminal_id != terminal_id_) {
      throw std::runtime_error("journal " + path.string() + " belongs to terminal '" + identity->terminal_id +
                               "', not '" + terminal_id_ + "'; refusing to mix two terminals in one chain");
    }
    if (identity->public_key != public_key) {
      throw std::runtime_error("journal " + path.string() + " was signed with another key (public key " +
                               to_hex(identity->public_key) + "); the terminal key file does not belong to it");
    }
    return;
  }
  if (!writable(creation)) {
    throw Error(SQLITE_READONLY, "open journal " + path.string(),
                "it has no terminal identity yet, and may not be written");
  }
  Transaction transaction(*db_, "record journal identity");
  StatementUse insert(db_->cached("INSERT INTO journal_meta (key, value) VALUES (?, ?)"));
  insert->bind(1, std::string_view("terminal_id")).bind(2, terminal_id_).run();
  insert->reset();
  insert->bind(1, std::string_view("public_key")).bind_blob(2, public_key).run();
  transaction.commit();
}

AppendResult Journal::append(const EntryDraft& draft, std::int64_t now_ms) {
  validate(draft);
  try {
    return append_validated(draft, now_ms);
  } catch (const Error& error) {
    throw Error(error, "append journal entry for receipt '" + draft.receipt_id + "'");
  }
}

AppendResult Journal::append_validated(const EntryDraft& draft, std::int64_t now_ms) {
  set_relaxed(false);
  Transaction transaction(*db_, "journal transaction");
  if (auto existing = find_receipt(draft.receipt_id)) {
    if (!same_transaction(existing->draft, draft)) throw ReceiptConflict(draft.receipt_id, existing->seq);
    return {Appended::already_journaled, std::move(*existing)};
  }
  const ChainHead last = head();
  JournalEntry entry;
  entry.terminal_id = terminal_id_;
  entry.seq = last.seq + 1;
  entry.prev_hash = last.hash;
  entry.draft = draft;
  entry.journaled_at_ms = now_ms;
  entry.hash = entry_hash(terminal_id_, entry.seq, entry.prev_hash, draft);

  insert_entry(*db_, entry);
  transaction.commit();
  return {Appended::new_entry, std::move(entry)};
}

std::int64_t Journal::sign_pending() {
  std::int64_t signed_count = 0;
  set_relaxed(true);
  try {
    for (;;) {
      const std::size_t batch = sign_batch();
      signed_count += static_cast<std::int64_t>(batch);
      if (batch < kSignBatch) break;
    }
  } catch (...) {
    try {
      set_relaxed(false);
    } catch (...) {  // still flagged: the next append restores FULL before it writes
    }
    throw;
  }
  set_relaxed(false);
  return signed_count;
}

std::size_t Journal::sign_batch() {
  Transaction transaction(*db_, "sign journal entries");
  std::vector<std::pair<std::int64_t, Digest>> batch;
  scan_entries(*db_, terminal_id_, signed_through(*db_) + 1, std::numeric_limits<std::int64_t>::max(),
               [&](JournalEntry&& entry) {
                 // The stored prev_hash is the row before: this checks the entry and its link.
                 if (entry_hash(terminal_id_, entry.seq, entry.prev_hash, entry.draft) != entry.hash) {
                   throw Error(SQLITE_CORRUPT, "sign journal entry " + std::to_string(entry.seq),
                               "it does not match its hash, or the entry before it changed, since it was "
                               "appended; it was not signed (run `loyalty-agent journal verify`)");
                 }
                 batch.emplace_back(entry.seq, entry.hash);
                 return batch.size() < kSignBatch;
               });
  StatementUse update(db_->cached("UPDATE journal SET signature = ? WHERE seq = ? AND signature IS NULL"));
  for (const auto& [seq, hash] : batch) {
    update->bind_blob(1, key_.sign(hash)).bind(2, seq).run();
    update->reset();
  }
  transaction.commit();
  return batch.size();
}

void Journal::set_relaxed(bool relaxed) {
  if (relaxed == relaxed_ || durability_ == Durability::normal) return;
  // Counted as relaxed until FULL is confirmed: if restoring throws, the next append retries it
  // before it writes.
  relaxed_ = true;
  db_->set_durability(relaxed ? Durability::normal : Durability::full);
  relaxed_ = relaxed;
}

std::optional<JournalEntry> Journal::find(std::int64_t seq) {
  auto entries = read(seq, seq, 1);
  if (entries.empty()) return std::nullopt;
  return std::move(entries.front());
}

std::optional<JournalEntry> Journal::find_receipt(std::string_view receipt_id) {
  std::int64_t seq = 0;
  {
    StatementUse lookup(db_->cached("SELECT seq FROM journal WHERE receipt_id = ?"));
    lookup->bind(1, receipt_id);
    if (!lookup->step()) return std::nullopt;
    seq = lookup->integer(0);
  }
  return find(seq);
}

std::vector<JournalEntry> Journal::read(std::int64_t first, std::int64_t last, std::size_t limit) {
  std::vector<JournalEntry> entries;
  scan_entries(*db_, terminal_id_, first, last, [&](JournalEntry&& entry) {
    entries.push_back(std::move(entry));
    return entries.size() < limit;
  });
  return entries;
}

std::vector<JournalEntry> Journal::member_entries(std::string_view member_id, std::int64_t after, std::size_t limit) {
  std::vector<std::int64_t> seqs;
  {
    StatementUse lookup(db_->cached(
        "SELECT seq FROM journal WHERE member_id = ? AND member_id <> '' AND seq > ? ORDER BY seq LIMIT ?"));
    lookup->bind(1, member_id).bind(2, after).bind(3, static_cast<std::int64_t>(limit));
    while (lookup->step()) seqs.push_back(lookup->integer(0));
  }
  std::vector<JournalEntry> entries;
  entries.reserve(seqs.size());
  for (const std::int64_t seq : seqs) {
    if (auto entry = find(seq)) entries.push_back(std::move(*entry));
  }
  return entries;
}

std::vector<JournalEntry> Journal::pending(std::size_t limit) {
  return read(acknowledged_through(*db_) + 1, std::numeric_limits<std::int64_t>::max(), limit);
}

ChainHead read_head(Database& db) {
  StatementUse last(db.cached("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1"));
  if (last->step()) return {last->integer(0), stored_bytes<32>(last->blob_view(1), "journal head hash")};
  const ChainAnchor anchor = read_anchor(db);
  return {anchor.first_seq - 1, anchor.prev_hash};
}

ChainHead Journal::head() { return read_head(*db_); }

void Journal::record_release(std::string_view release, std::int64_t now_ms) {
  const std::int64_t next = head().seq + 1;
  StatementUse insert(
      db_->cached("INSERT OR IGNORE INTO releases (release, first_started_at, first_seq) VALUES (?, ?, ?)"));
  insert->bind(1, release).bind(2, now_ms).bind(3, next);
  insert->run();
}

std::int64_t Journal::pending_count() {
  const std::int64_t first_pending = std::max(acknowledged_through(*db_) + 1, read_anchor(*db_).first_seq);
  return std::max<std::int64_t>(0, head().seq - first_pending + 1);
}

std::int64_t Journal::acknowledge(std::int64_t first, std::int64_t last, std::int64_t ledger_cursor) {
  if (first > last) {
    throw std::invalid_argument("acknowledged range " + std::to_string(first) + ".." + std::to_string(last) +
                                " is empty");
  }
  Transaction transaction(*db_, "acknowledge journal entries");
  const std::int64_t top = head().seq;
  if (last > top) {
    throw std::invalid_argument("the ledger acknowledged entries up to " + std::to_string(last) +
                                " but this journal ends at " + std::to_string(top));
  }
  const std::int64_t through = acknowledged_through(*db_);
  if (first > through + 1) {
    throw std::invalid_argument("acknowledging " + std::to_string(first) + ".." + std::to_string(last) +
                                " would leave " + std::to_string(through + 1) + ".." + std::to_string(first - 1) +
                                " behind: the ledger acknowledges a contiguous prefix");
  }
  if (last <= through) return 0;
  StatementUse mark(db_->cached("INSERT INTO journal_acks (last_seq, ledger_cursor) VALUES (?, ?)"));
  mark->bind(1, last).bind(2, ledger_cursor).run();
  transaction.commit();
  return last - through;
}

std::int64_t Journal::prune(std::int64_t cutoff_ms) {
  Transaction transaction(*db_, "prune journal");
  const ChainHead top = head();
  // The oldest entry that must stay: the first pending or young one, or the head itself.
  std::int64_t keep_from = std::min(top.seq, acknowledged_through(*db_) + 1);
  {
    StatementUse young(db_->cached("SELECT seq FROM journal WHERE journaled_at >= ? ORDER BY seq LIMIT 1"));
    young->bind(1, cutoff_ms);
    if (young->step()) keep_from = std::min(keep_from, young->integer(0));
  }
  const ChainAnchor anchor = read_anchor(*db_);
  if (keep_from <= anchor.first_seq) return 0;
  Digest prev_hash;
  {
    StatementUse hash(db_->cached("SELECT hash FROM journal WHERE seq = ?"));
    hash->bind(1, keep_from - 1);
    if (!hash->step()) throw Error(SQLITE_CORRUPT, "prune journal", "an entry before the kept one is missing");
    prev_hash = stored_bytes<32>(hash->blob_view(0), "hash of journal entry " + std::to_string(keep_from - 1));
  }
  StatementUse erase(db_->cached("DELETE FROM journal WHERE seq < ?"));
  erase->bind(1, keep_from).run();
  const std::int64_t deleted = db_->changes();
  StatementUse set(db_->cached("INSERT OR REPLACE INTO journal_meta (key, value) VALUES (?, ?)"));
  set->bind(1, std::string_view("anchor_seq")).bind(2, keep_from).run();
  set->reset();
  set->bind(1, std::string_view("anchor_hash")).bind_blob(2, prev_hash).run();
  // Acknowledgements of deleted entries no longer matter, except the newest, which holds
  // the watermark.
  StatementUse forget(db_->cached(
      "DELETE FROM journal_acks WHERE last_seq < ? AND last_seq <> (SELECT max(last_seq) FROM journal_acks)"));
  forget->bind(1, keep_from).run();
  transaction.commit();
  return deleted;
}

Journal::PendingRedemptions Journal::pending_redemptions(std::string_view member_id) {
  const std::int64_t through = acknowledged_through(*db_);
  std::int64_t head = 0;
  {
    StatementUse last(db_->cached("SELECT coalesce(max(seq), 0) FROM journal"));
    last->step();
    head = last->integer(0);
  }
  // Journaled entries never change and only acknowledged ones are pruned, so the sum up to the
  // last head stays right while the acknowledgement stands.
  if (through != pending_sum_.through || head < pending_sum_.head) pending_sum_ = {through, through, 0};
  if (head > pending_sum_.head) {
    StatementUse total(db_->cached("SELECT coalesce(sum(points_redeemed), 0) FROM journal WHERE seq > ? AND seq <= ?"));
    total->bind(1, pending_sum_.head).bind(2, head);
    total->step();
    pending_sum_.redeemed += total->integer(0);
    pending_sum_.head = head;
  }
  PendingRedemptions sums;
  sums.terminal = pending_sum_.redeemed;
  if (!member_id.empty()) {
    StatementUse member(db_->cached(
        "SELECT coalesce(sum(points_redeemed), 0) FROM journal WHERE member_id = ? AND member_id <> '' AND seq > ?"));
    member->bind(1, member_id).bind(2, through);
    member->step();
    sums.member = member->integer(0);
  }
  return sums;
}

std::int64_t Journal::unsettled_points(std::string_view member_id, std::int64_t member_cursor) {
  // Entries up to `settled` were acknowledged at feed positions the cache has applied.
  std::int64_t settled = 0;
  {
    StatementUse reflected(db_->cached("SELECT coalesce(max(last_seq), 0) FROM journal_acks WHERE ledger_cursor <= ?"));
    reflected->bind(1, member_cursor);
    reflected->step();
    settled = reflected->integer(0);
  }
  StatementUse sum(
      db_->cached("SELECT coalesce(sum(points_earned - points_redeemed), 0) FROM journal "
                  "WHERE member_id = ? AND member_id <> '' AND seq > ?"));
  sum->bind(1, member_id).bind(2, settled);
  sum->step();
  return sum->integer(0);
}

}  // namespace loyalty::storage
