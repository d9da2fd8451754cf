// Exporting journal entries to a standalone SQLite file for the ledger's replay: the file has
// the journal schema, the terminal's identity, and a chain anchor at the first exported entry,
// so it verifies on its own (journal_check.hpp) and replays through the same path as a
// terminal's journal.db. The file appears complete under its name or not at all. Only signed
// entries are exported: the selection stops before the first unsigned one.

#ifndef LOYALTY_STORAGE_JOURNAL_EXPORT_HPP_
#define LOYALTY_STORAGE_JOURNAL_EXPORT_HPP_

#include <cstdint>
#include <filesystem>

#include "storage/sqlite.hpp"

namespace loyalty::storage {

struct ExportSelection {
  // Entries first..last; or, when `pending_only`, every entry from the oldest pending one to
  // the head (acknowledged entries in between are included, so the chain stays whole).
  std::int64_t first = 1;
  std::int64_t last = INT64_MAX;
  bool pending_only = false;

  static ExportSelection range(std::int64_t first, std::int64_t last) { return {first, last, false}; }
  static ExportSelection pending() { return {1, INT64_MAX, true}; }
};

struct ExportSummary {
  std::int64_t entries = 0;
  std::int64_t first_seq = 0;
  std::int64_t last_seq = 0;
  // Selected entries at the end left out because they are not signed yet (journal.hpp).
  std::int64_t unsigned_left_out = 0;
};

// Writes the selected entries of `source` to a new file `destination`. Refuses (throws
// FileError with EEXIST) to replace an existing file, and throws std::runtime_error when the
// source journal has no identity. `now_ms` is recorded as the export time.
ExportSummary export_journal(Database& source, const std::filesystem::path& destination,
                             const ExportSelection& selection, std::int64_t now_ms);

}  // namespace loyalty::storage

#endif  // LOYALTY_STORAGE_JOURNAL_EXPORT_HPP_
