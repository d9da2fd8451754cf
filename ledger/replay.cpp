#include "ledger/replay.hpp"

#include <vector>

#include "storage/journal.hpp"
#include "storage/journal_scan.hpp"

namespace loyalty::ledger {
namespace {

struct Failure {
  std::string code;
  std::string message;
};

}  // namespace

ReplayResult replay_file(Ledger& ledger, const std::filesystem::path& file, std::int64_t now_ms,
                         const ReplayProgress& progress) {
  ReplayResult result;
  result.file = file;
  std::vector<sync::WireEntry> run;
  const auto ingest = [&] {
    const sync::Ack ack = ledger.ingest(result.terminal_id, run, now_ms);
    result.applied += ack.applied;
    result.duplicates += ack.duplicates;
    result.held_back += ack.held_back;
    result.acknowledged_through = ack.acknowledged_through;
    result.entries += static_cast<std::int64_t>(run.size());
    run.clear();
    if (progress) progress(result.entries);
  };
  try {
    if (!std::filesystem::is_regular_file(file)) throw Failure{"file_missing", "no such file"};
    auto db = storage::open_journal_database(file, storage::Creation::read_only);
    const auto identity = storage::read_identity(*db);
    if (!identity) throw Failure{"not_a_journal", "the file holds no terminal journal"};
    result.terminal_id = identity->terminal_id;
    const std::int64_t signed_through = storage::signed_through(*db);
    result.unsigned_left_out = std::max<std::int64_t>(
        0, db->query_integer("SELECT COALESCE(MAX(seq), 0) FROM journal").value_or(0) - signed_through);
    storage::scan_entries(*db, result.terminal_id, 1, signed_through, [&](storage::JournalEntry&& entry) {
      if (run.empty()) result.refused_at = entry.seq;
      run.push_back(sync::wire_entry(std::move(entry)));
      if (run.size() == kReplayRun) ingest();
      return true;
    });
    if (!run.empty()) ingest();
    result.refused_at = 0;
  } catch (const Failure& failure) {
    result.refusal = failure.code + ": " + failure.message;
  } catch (const Refusal& refusal) {
    result.refusal = refusal.code() + ": " + refusal.what();
  } catch (const storage::Error& error) {
    result.refusal = std::string(error.damaged() ? "damaged: " : "unreadable: ") + error.what();
  } catch (const runtime::JsonError& error) {
    result.refusal = std::string("entry_invalid: ") + error.what();
  }
  return result;
}

std::vector<ReplayResult> replay_files(Ledger& ledger, std::span<const std::filesystem::path> files,
                                       std::int64_t now_ms, const FilesProgress& progress, std::int64_t group_entries) {
  std::vector<ReplayResult> results;
  std::size_t next = 0;
  while (next < files.size()) {
    const std::size_t group_start = next;
    ledger.store().transaction([&] {
      // From the group's start again when the store runs the transaction again.
      next = group_start;
      results.resize(group_start);
      std::int64_t in_group = 0;
      while (next < files.size() && in_group < group_entries) {
        const std::size_t index = next++;
        results.push_back(replay_file(ledger, files[index], now_ms, [&](std::int64_t entries) {
          if (progress) progress(index, entries, false);
        }));
        if (progress) progress(index, results.back().entries, true);
        in_group += std::max<std::int64_t>(results.back().entries, 1);
      }
    });
  }
  return results;
}

}  // namespace loyalty::ledger
