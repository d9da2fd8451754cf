// Replaying journals collected from terminals (a terminal's journal.db, or a file written by
// `loyalty-agent journal export`) into the ledger, through the same exactly-once path as an
// upload: entries are checked in runs as Ledger::ingest checks a batch, so each run's hash links
// and last signature are checked against the key the terminal enrolled, duplicates are
// recognized, and a file replayed twice changes nothing the second time.

#ifndef LOYALTY_LEDGER_REPLAY_HPP_
#define LOYALTY_LEDGER_REPLAY_HPP_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "ledger/ledger.hpp"
#include "ledger/sqlite_store.hpp"

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
inline constexpr std::int64_t kReplayGroupEntries = 1'000'000;

// Called with a file's index and its entries accepted so far, after each group that holds a
// part of it, and (finished) once the file is done.
using FilesProgress = std::function<void(std::size_t index, std::int64_t entries_read, bool finished)>;

// A replay's group holds at most this many bytes of entries: a group is in memory while it is
// applied, and the next one while it is read.
inline constexpr std::size_t kReplayGroupBytes = std::size_t{512} << 20;

// How a replay opens a SQLite ledger: commits with synchronous=NORMAL and checkpoints rarely (a
// replay answers nobody, and a crash loses at most the group being applied, which running the
// files again applies), with a 1 GiB page cache, so that the members' balances and lots stay in
// memory. With the groups (below) a replay uses about 2.5 GiB at most.
inline SqliteStore::Options replay_store_options() {
  SqliteStore::Options options;
  options.durability = storage::Durability::normal;
  options.cache_kib = 1 << 20;
  options.checkpoint_pages = 20000;
  return options;
}

// Replays `files` in order, in groups of about `group_entries` entries (at most
// kReplayGroupBytes): a thread reads, decodes and hashes the next files while the store applies
// a group as one transaction and one working set (Ledger::ingest_parts), each member's account
// and lots read and written once per group, and every run of every file checked as an upload.
// The outcome is the one replay_file() of each file in turn gives. A crash loses at most the
// group being applied, which running the same files again applies.
std::vector<ReplayResult> replay_files(Ledger& ledger, std::span<const std::filesystem::path> files,
                                       std::int64_t now_ms, const FilesProgress& progress = {},
                                       std::int64_t group_entries = kReplayGroupEntries);

// Replays one journal file run by run, each run an upload of its own (Ledger::ingest): the
// reference the grouped replay is tested against, and what one small file needs. Never throws
// for a bad file: the result's refusal says what is wrong (not a journal, damaged, unknown
// terminal, bad chain or signature).
ReplayResult replay_file(Ledger& ledger, const std::filesystem::path& file, std::int64_t now_ms,
                         const ReplayProgress& progress = {});

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_REPLAY_HPP_
