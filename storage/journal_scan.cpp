#include "storage/journal_scan.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>

#include "storage/journal.hpp"

namespace loyalty::storage {
void copy_stored(std::span<const std::uint8_t> bytes, std::span<std::uint8_t> out, std::string_view what) {
  if (bytes.size() != out.size()) {
    throw Error(SQLITE_CORRUPT, "read " + std::string(what),
                "it is " + std::to_string(bytes.size()) + " bytes, not " + std::to_string(out.size()));
  }
  std::memcpy(out.data(), bytes.data(), out.size());
}

void scan_entries(Database& db, const std::string& terminal_id, std::int64_t first, std::int64_t last,
                  const std::function<bool(JournalEntry&&)>& visit) {
  const ChainAnchor anchor = read_anchor(db);
  first = std::max(first, anchor.first_seq);
  if (first > last) return;
  Digest prev = anchor.prev_hash;
  const std::int64_t through = acknowledged_through(db);
  if (first > anchor.first_seq) {
    StatementUse before(db.cached("SELECT hash FROM journal WHERE seq = ?"));
    before->bind(1, first - 1);
    if (before->step())
      prev = stored_bytes<32>(before->blob_view(0), "hash of journal entry " + std::to_string(first - 1));
  }
  StatementUse rows(db.cached(
      "SELECT seq, kind, receipt_id, member_id, recorded_at, rulebook_version, points_earned, points_redeemed, "
      "payload, hash, signature, journaled_at FROM journal WHERE seq BETWEEN ? AND ? ORDER BY seq"));
  rows->bind(1, first).bind(2, last);
  while (rows->step()) {
    JournalEntry entry;
    entry.terminal_id = terminal_id;
    entry.seq = rows->integer(0);
    entry.prev_hash = prev;
    entry.draft.kind = static_cast<EntryKind>(rows->integer(1));
    entry.draft.receipt_id = rows->text(2);
    entry.draft.member_id = rows->text(3);
    entry.draft.recorded_at_ms = rows->integer(4);
    entry.draft.rulebook_version = rows->integer(5);
    entry.draft.points_earned = rows->integer(6);
    entry.draft.points_redeemed = rows->integer(7);
    entry.draft.payload = rows->blob_string(8);
    entry.hash = stored_bytes<32>(rows->blob_view(9), "hash of journal entry " + std::to_string(entry.seq));
    if (!rows->is_null(10)) {
      entry.signature =
          stored_bytes<64>(rows->blob_view(10), "signature of journal entry " + std::to_string(entry.seq));
    }
    entry.state = entry.seq <= through ? EntryState::acknowledged : EntryState::pending;
    entry.journaled_at_ms = rows->integer(11);
    prev = entry.hash;
    if (!visit(std::move(entry))) return;
  }
}

void insert_entry(Database& db, const JournalEntry& entry) {
  const EntryDraft& draft = entry.draft;
  StatementUse insert(db.cached(
      "INSERT INTO journal (seq, kind, receipt_id, member_id, recorded_at, rulebook_version, points_earned, "
      "points_redeemed, payload, hash, signature, journaled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  insert->bind(1, entry.seq)
      .bind(2, static_cast<std::int64_t>(draft.kind))
      .bind(3, draft.receipt_id)
      .bind(4, draft.member_id)
      .bind(5, draft.recorded_at_ms)
      .bind(6, draft.rulebook_version)
      .bind(7, draft.points_earned)
      .bind(8, draft.points_redeemed)
      .bind_blob(9, as_bytes(draft.payload))
      .bind_blob(10, entry.hash)
      .bind(12, entry.journaled_at_ms);
  if (entry.signature) {
    insert->bind_blob(11, *entry.signature);
  } else {
    insert->bind_null(11);
  }
  insert->run();
}

}  // namespace loyalty::storage
