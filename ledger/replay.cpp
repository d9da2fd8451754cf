#include "ledger/replay.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "storage/journal.hpp"
#include "storage/journal_scan.hpp"

namespace loyalty::ledger {
namespace {

struct Failure {
  std::string code;
  std::string message;
};

// The journal file's terminal, its signed entries' range and its unsigned tail (Failure when it
// holds no journal).
struct Opened {
  std::unique_ptr<storage::Database> db;
  std::string terminal_id;
  std::int64_t signed_through = 0;
  std::int64_t unsigned_left_out = 0;
};

Opened open_file(const std::filesystem::path& file) {
  if (!std::filesystem::is_regular_file(file)) throw Failure{"file_missing", "no such file"};
  Opened opened;
  opened.db = storage::open_journal_database(file, storage::Creation::read_only);
  const auto identity = storage::read_identity(*opened.db);
  if (!identity) throw Failure{"not_a_journal", "the file holds no terminal journal"};
  opened.terminal_id = identity->terminal_id;
  opened.signed_through = storage::signed_through(*opened.db);
  opened.unsigned_left_out = std::max<std::int64_t>(
      0, opened.db->query_integer("SELECT COALESCE(MAX(seq), 0) FROM journal").value_or(0) - opened.signed_through);
  return opened;
}

// Why reading a file stopped, as a refusal; rethrows what is not about the file.
std::string reading_refusal(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const Failure& failure) {
    return failure.code + ": " + failure.message;
  } catch (const storage::Error& e) {
    return std::string(e.damaged() ? "damaged: " : "unreadable: ") + e.what();
  } catch (const runtime::JsonError& e) {
    return std::string("entry_invalid: ") + e.what();
  }
}

// A piece of a file as the reader hands it over.
struct FilePart {
  std::size_t index = 0;
  std::string terminal_id;
  std::vector<sync::WireEntry> entries;
  std::size_t bytes = 0;  // of the entries' canonical bytes
  bool first = false;     // the file's first part: unsigned_left_out is set
  bool last = false;      // its last part: refusal is set if reading stopped early
  std::int64_t unsigned_left_out = 0;
  std::string refusal;
  std::int64_t refused_at = 0;  // the first entry not read, when reading stopped early
};

// Reads the files in order on a thread of its own, in parts of at most `part_entries` entries,
// while the caller applies the parts read before: reading, decoding and hashing use another
// core than the store's writes. At most one part's worth (`part_entries`, kReplayGroupBytes)
// waits to be taken.
class Reader {
 public:
  Reader(std::span<const std::filesystem::path> files, std::size_t part_entries)
      : files_(files), part_entries_(part_entries), thread_([this] { run(); }) {}
  ~Reader() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The next part in file order; nullopt after the last. Rethrows what failed the reader.
  std::optional<FilePart> next() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !parts_.empty() || done_; });
    if (parts_.empty()) {
      if (error_) std::rethrow_exception(error_);
      return std::nullopt;
    }
    FilePart part = std::move(parts_.front());
    parts_.pop_front();
    waiting_ -= part.entries.size();
    waiting_bytes_ -= part.bytes;
    changed_.notify_all();
    return part;
  }

 private:
  void run() {
    try {
      for (std::size_t index = 0; index < files_.size(); ++index) {
        if (!read(index)) break;
      }
    } catch (...) {
      const std::lock_guard lock(mutex_);
      error_ = std::current_exception();
    }
    const std::lock_guard lock(mutex_);
    done_ = true;
    changed_.notify_all();
  }

  // False when stopping.
  bool hand_over(FilePart&& part) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] {
      return stopping_ || waiting_ == 0 ||
             (waiting_ + part.entries.size() <= part_entries_ && waiting_bytes_ + part.bytes <= kReplayGroupBytes);
    });
    if (stopping_) return false;
    waiting_ += part.entries.size();
    waiting_bytes_ += part.bytes;
    parts_.push_back(std::move(part));
    changed_.notify_all();
    return true;
  }

  bool read(std::size_t index) {
    FilePart part;
    part.index = index;
    part.first = true;
    std::int64_t next_seq = 0;  // after the last entry read
    try {
      Opened opened = open_file(files_[index]);
      part.terminal_id = opened.terminal_id;
      part.unsigned_left_out = opened.unsigned_left_out;
      bool stopped = false;
      storage::scan_entries(*opened.db, opened.terminal_id, 1, opened.signed_through,
                            [&](storage::JournalEntry&& entry) {
                              next_seq = entry.seq + 1;
                              part.entries.push_back(sync::wire_entry(std::move(entry)));
                              // The canonical bytes hold the payload, and they are what is stored.
                              std::string().swap(part.entries.back().entry.draft.payload);
                              part.bytes += part.entries.back().bytes.size();
                              if (part.entries.size() % kReplayRun != 0 ||
                                  (part.entries.size() < part_entries_ && part.bytes < kReplayGroupBytes)) {
                                return true;
                              }
                              FilePart full = std::move(part);
                              part = FilePart{};
                              part.index = index;
                              part.terminal_id = full.terminal_id;
                              stopped = !hand_over(std::move(full));
                              return !stopped;
                            });
      if (stopped) return false;
    } catch (...) {
      part.refusal = reading_refusal(std::current_exception());
      // As a replay one run at a time: the runs read whole are applied, not the one cut short.
      const std::size_t whole = part.entries.size() / kReplayRun * kReplayRun;
      part.refused_at = whole < part.entries.size() ? part.entries[whole].entry.seq : next_seq;
      part.entries.resize(whole);
    }
    part.last = true;
    return hand_over(std::move(part));
  }

  std::span<const std::filesystem::path> files_;
  std::size_t part_entries_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<FilePart> parts_;
  std::size_t waiting_ = 0;  // entries in parts_
  std::size_t waiting_bytes_ = 0;
  bool done_ = false;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace

ReplayResult replay_file(Ledger& ledger, const std::filesystem::path& file, std::int64_t now_ms,
                         const ReplayProgress& progress) {
  ReplayResult result;
  result.file = file;
  std::vector<sync::WireEntry> run;
  const auto ingest = [&] {
    result.refused_at = run.front().entry.seq;
    const sync::Ack ack = ledger.ingest(result.terminal_id, run, now_ms);
    result.applied += ack.applied;
    result.duplicates += ack.duplicates;
    result.held_back += ack.held_back;
    result.acknowledged_through = ack.acknowledged_through;
    result.entries += static_cast<std::int64_t>(run.size());
    result.refused_at = 0;
    if (progress) progress(result.entries);
    run.clear();
  };
  try {
    Opened opened = open_file(file);
    result.terminal_id = opened.terminal_id;
    result.unsigned_left_out = opened.unsigned_left_out;
    storage::scan_entries(*opened.db, result.terminal_id, 1, opened.signed_through, [&](storage::JournalEntry&& entry) {
      run.push_back(sync::wire_entry(std::move(entry)));
      if (run.size() == kReplayRun) ingest();
      return true;
    });
    if (!run.empty()) ingest();
  } catch (const Refusal& refusal) {
    result.refusal = refusal.code() + ": " + refusal.what();
  } catch (...) {
    if (!run.empty()) result.refused_at = run.front().entry.seq;
    result.refusal = reading_refusal(std::current_exception());
  }
  return result;
}

std::vector<ReplayResult> replay_files(Ledger& ledger, std::span<const std::filesystem::path> files,
                                       std::int64_t now_ms, const FilesProgress& progress, std::int64_t group_entries) {
  std::vector<ReplayResult> results(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) results[i].file = files[i];
  // Parts end on run boundaries, so that a file's runs are the same however it is cut.
  const std::size_t part_entries =
      (static_cast<std::size_t>(std::max<std::int64_t>(group_entries, 1)) + kReplayRun - 1) / kReplayRun * kReplayRun;
  Reader reader(files, part_entries);
  std::vector<FilePart> group;
  std::size_t group_bytes = 0;
  const auto apply = [&] {
    std::vector<ReplayPart> parts;
    for (const FilePart& part : group) {
      const bool refused = !results[part.index].refusal.empty();
      parts.push_back({part.index, part.terminal_id,
                       refused ? std::span<const sync::WireEntry>() : std::span<const sync::WireEntry>(part.entries)});
    }
    const std::vector<PartOutcome> outcomes = ledger.ingest_parts(parts, kReplayRun, now_ms);
    for (std::size_t i = 0; i < group.size(); ++i) {
      const FilePart& part = group[i];
      const PartOutcome& outcome = outcomes[i];
      ReplayResult& result = results[part.index];
      if (part.first) {
        result.terminal_id = part.terminal_id;
        result.unsigned_left_out = part.unsigned_left_out;
      }
      if (result.refusal.empty()) {
        result.entries += outcome.accepted;
        result.applied += outcome.applied;
        result.duplicates += outcome.duplicates;
        result.held_back += outcome.held_back;
        if (outcome.accepted > 0) result.acknowledged_through = outcome.acknowledged_through;
        if (outcome.refusal) {
          result.refusal = outcome.refusal->code() + ": " + outcome.refusal->what();
          result.refused_at = outcome.refused_at;
        } else if (part.last && !part.refusal.empty()) {
          result.refusal = part.refusal;
          result.refused_at = part.refused_at;
        }
      }
      if (progress) progress(part.index, result.entries, part.last);
    }
    group.clear();
  };
  std::size_t in_group = 0;
  while (std::optional<FilePart> part = reader.next()) {
    in_group += std::max<std::size_t>(part->entries.size(), 1);
    group_bytes += part->bytes;
    group.push_back(std::move(*part));
    if (in_group >= part_entries || group_bytes >= kReplayGroupBytes) {
      apply();
      in_group = 0;
      group_bytes = 0;
    }
  }
  if (!group.empty()) apply();
  return results;
}

}  // namespace loyalty::ledger
