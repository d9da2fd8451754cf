#include "storage/journal_check.hpp"

#include <filesystem>
#include <limits>

#include "storage/journal_scan.hpp"

namespace loyalty::storage {

VerifyReport verify_journal(Database& db, const std::optional<PublicKey>& key, SignatureCheck check) {
  VerifyReport report;
  report.integrity_problems = db.check(true);
  const auto identity = read_identity(db);
  if (!identity) return report;  // never written: nothing to verify
  const PublicKey public_key = key ? *key : PublicKey(identity->public_key);
  const ChainAnchor anchor = read_anchor(db);

  std::int64_t expected = anchor.first_seq;
  Digest prev = anchor.prev_hash;
  std::optional<JournalEntry> last_signed;
  std::optional<std::int64_t> first_unsigned;
  auto fail = [&](std::int64_t seq, std::string problem) {
    report.first_bad_seq = seq;
    report.problem = std::move(problem);
    return false;
  };
  scan_entries(
      db, identity->terminal_id, anchor.first_seq, std::numeric_limits<std::int64_t>::max(), [&](JournalEntry&& entry) {
        const std::string seq = std::to_string(entry.seq);
        if (entry.seq != expected) {
          return fail(expected, "entry " + std::to_string(expected) + " is missing (the next one is " + seq + ")");
        }
        const Digest hash = entry_hash(entry.terminal_id, entry.seq, prev, entry.draft);
        if (hash != entry.hash) {
          return fail(entry.seq, "entry " + seq +
                                     " does not match its hash: it, or the hash of the entry before it, "
                                     "was changed after it was written");
        }
        if (!entry.signature) {
          if (!first_unsigned) first_unsigned = entry.seq;
          ++report.unsigned_entries;
        } else if (first_unsigned) {
          return fail(*first_unsigned, "entry " + std::to_string(*first_unsigned) + " has no signature, yet entry " +
                                           seq + " after it is signed: a signature was removed");
        } else if (check == SignatureCheck::every && !public_key.verify(entry.hash, *entry.signature)) {
          return fail(entry.seq, "entry " + seq + " has a signature that does not verify with the terminal key");
        }
        if (report.entries == 0) report.first_seq = entry.seq;
        ++report.entries;
        report.last_seq = entry.seq;
        report.head_hash = entry.hash;
        prev = entry.hash;
        ++expected;
        if (entry.signature) last_signed = std::move(entry);
        return true;
      });
  if (!report.first_bad_seq && check == SignatureCheck::last && last_signed &&
      !public_key.verify(last_signed->hash, *last_signed->signature)) {
    report.first_bad_seq = last_signed->seq;
    report.problem = "entry " + std::to_string(last_signed->seq) +
                     " has a signature that does not verify with the terminal key (the chain before it may have "
                     "been rewritten)";
  }
  return report;
}

JournalStats journal_stats(Database& db) {
  JournalStats stats;
  if (auto identity = read_identity(db)) stats.terminal_id = identity->terminal_id;
  const std::int64_t through = acknowledged_through(db);
  {
    StatementUse totals(
        db.cached("SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0), coalesce(sum(seq > ?), 0), "
                  "coalesce(sum(points_earned), 0), coalesce(sum(points_redeemed), 0) FROM journal"));
    totals->bind(1, through);
    totals->step();
    stats.entries = totals->integer(0);
    stats.first_seq = totals->integer(1);
    stats.last_seq = totals->integer(2);
    stats.pending = totals->integer(3);
    stats.acknowledged = stats.entries - stats.pending;
    stats.unsigned_entries = stats.entries > 0 ? stats.last_seq - signed_through(db) : 0;
    stats.points_earned = totals->integer(4);
    stats.points_redeemed = totals->integer(5);
  }
  {
    StatementUse oldest(db.cached("SELECT journaled_at FROM journal WHERE seq > ? ORDER BY seq LIMIT 1"));
    oldest->bind(1, through);
    if (oldest->step()) stats.oldest_pending_journaled_at_ms = oldest->integer(0);
  }
  {
    StatementUse active(db.cached("SELECT version FROM rulebooks WHERE slot = 'active'"));
    if (active->step()) stats.active_rulebook_version = active->integer(0);
  }
  if (stats.entries > 0) stats.head_hash = to_hex(read_head(db).hash);
  stats.schema_version = db.query_integer("PRAGMA user_version").value_or(0);
  if (db.has_table("releases")) {
    StatementUse releases(
        db.cached("SELECT release, first_started_at, first_seq FROM releases ORDER BY first_seq, first_started_at"));
    while (releases->step()) stats.releases.push_back({releases->text(0), releases->integer(1), releases->integer(2)});
  }
  const std::int64_t pages = db.query_integer("PRAGMA page_count").value_or(0);
  const std::int64_t free_pages = db.query_integer("PRAGMA freelist_count").value_or(0);
  stats.database_bytes = (pages - free_pages) * db.query_integer("PRAGMA page_size").value_or(0);
  std::error_code error;
  const auto wal_size = std::filesystem::file_size(db.path().string() + "-wal", error);
  stats.wal_bytes = error ? 0 : static_cast<std::int64_t>(wal_size);
  return stats;
}

}  // namespace loyalty::storage
