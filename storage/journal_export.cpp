#include "storage/journal_export.hpp"

#include <algorithm>
#include <cerrno>

#include "storage/files.hpp"
#include "storage/journal.hpp"
#include "storage/journal_scan.hpp"

namespace loyalty::storage {

ExportSummary export_journal(Database& source, const std::filesystem::path& destination,
                             const ExportSelection& selection, std::int64_t now_ms) {
  if (std::filesystem::exists(destination)) throw FileError("export to", destination, EEXIST);
  const auto identity = read_identity(source);
  if (!identity) throw std::runtime_error("journal " + source.path().string() + " has no entries and no identity");

  std::int64_t first = selection.first;
  if (selection.pending_only) {
    first = acknowledged_through(source) + 1;
  }

  std::filesystem::path temporary = destination;
  temporary += ".tmp";
  std::filesystem::remove(temporary);
  std::filesystem::remove(temporary.string() + "-wal");
  std::filesystem::remove(temporary.string() + "-shm");
  ExportSummary summary;
  {
    auto out = open_journal_database(temporary, Creation::create_if_missing, Durability::normal);
    Transaction transaction(*out, "write journal export " + temporary.string());
    StatementUse meta(out->cached("INSERT INTO journal_meta (key, value) VALUES (?, ?)"));
    auto put = [&](std::string_view key, auto&& bind_value) {
      meta->bind(1, key);
      bind_value(*meta);
      meta->run();
      meta->reset();
    };
    put("terminal_id", [&](Statement& s) { s.bind(2, identity->terminal_id); });
    put("public_key", [&](Statement& s) { s.bind_blob(2, identity->public_key); });
    put("exported_at", [&](Statement& s) { s.bind(2, now_ms); });
    bool anchored = false;
    scan_entries(source, identity->terminal_id, first, selection.last, [&](JournalEntry&& entry) {
      // The chain must end on a signed entry for the ledger to authenticate it.
      if (!entry.signature || summary.unsigned_left_out > 0) {
        ++summary.unsigned_left_out;
        return true;
      }
      if (!anchored) {
        put("anchor_seq", [&](Statement& s) { s.bind(2, entry.seq); });
        put("anchor_hash", [&](Statement& s) { s.bind_blob(2, entry.prev_hash); });
        summary.first_seq = entry.seq;
        anchored = true;
      }
      insert_entry(*out, entry);
      summary.last_seq = entry.seq;
      ++summary.entries;
      return true;
    });
    // Carry the acknowledgement watermark, as far as the exported entries go.
    const std::int64_t through = std::min(acknowledged_through(source), summary.last_seq);
    if (summary.entries > 0 && through >= summary.first_seq) {
      StatementUse ack(out->cached("INSERT INTO journal_acks (last_seq, ledger_cursor) VALUES (?, 0)"));
      ack->bind(1, through).run();
    }
    transaction.commit();
    // A standalone file: fold the write-ahead log into it.
    out->exec("PRAGMA journal_mode=DELETE", "finish journal export " + temporary.string());
  }
  publish_file(temporary, destination, Replace::never);
  return summary;
}

}  // namespace loyalty::storage
