// Replaying journals collected from terminals (a terminal's journal.db, or a file written by
// `loyalty-agent journal export`) into the ledger, through the same exactly-once path as an
// upload: entries go to Ledger::ingest in runs, so each run's hash links and last signature
// are checked against the key the terminal enrolled, duplicates are recognized, and a file
// replayed twice changes nothing the second time.

#ifndef LOYALTY_LEDGER_REPLAY_HPP_
#define LOYALTY_LEDGER_REPLAY_HPP_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "ledger/ledger.hpp"

namespace loyalty::ledger {

struct ReplayResult {
  std::filesystem::path file;
  std::string terminal_id;
  std::int64_t entries = 0;  // signed entries read
  std::int64_t applied = 0;
  std::int64_t duplicates = 0;
  std::int64_t held_back = 0;
  // Entries at the end of the file that were never signed (the terminal stopped between the
  // append and the signature): hash-linked but not authenticated, so not replayed. Signing
  // them with the terminal's key (`loyalty-agent journal sign`) makes them replayable.
  std::int64_t unsigned_left_out = 0;
  std::int64_t acknowledged_through = 0;  // the terminal's head at the ledger afterwards
  // Why the file, or the part of it from `refused_at`, was not replayed; empty when it was.
  // Runs applied before a refusal stay applied: they were verified on their own.
  std::string refusal;
  std::int64_t refused_at = 0;
};

// Called after each run with the entries of this file read so far.
using ReplayProgress = std::function<void(std::int64_t entries_read)>;

inline constexpr std::size_t kReplayRun = 1000;

// Called with a file's index and its entries read so far, after each run and (finished) once
// the file is done.
using FilesProgress = std::function<void(std::size_t index, std::int64_t entries_read, bool finished)>;

// Replays `files` in order, with several files to a transaction of about `group_entries`
// entries (each run nested in it, so a refused run undoes only itself): large transactions
// write each hot page (a member's balance, lots) once for many entries. A crash loses at most
// the group being replayed, which running the same files again applies.
std::vector<ReplayResult> replay_files(Ledger& ledger, std::span<const std::filesystem::path> files,
                                       std::int64_t now_ms, const FilesProgress& progress = {},
                                       std::int64_t group_entries = 100'000);

// Replays one journal file. Never throws for a bad file: the result's refusal says what is wrong
// (not a journal, damaged, unknown terminal, bad chain or signature).
ReplayResult replay_file(Ledger& ledger, const std::filesystem::path& file, std::int64_t now_ms,
                         const ReplayProgress& progress = {});

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_REPLAY_HPP_
