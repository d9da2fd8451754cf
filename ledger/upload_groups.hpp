// Uploads applied in groups: batches from many terminals that arrive while the store is busy
// wait in a queue, and the first of them to reach the front with a store connection free
// applies the waiting batches (up to a bound of entries) in one transaction with one durable
// commit, then answers them all, as LevelDB's writers and PostgreSQL's group commit do. On a
// 2-core machine a commit's fsync and the per-transaction reads of accounts cost as much as a
// few hundred entries; 2,000 terminals uploading a few entries each would otherwise spend the
// store on commits.
//
// Each batch is checked and applied exactly as Ledger::ingest would apply it alone, in the
// order the batches arrived (Ledger::ingest_parts, each batch a part of its own): a refused
// batch refuses only itself. A store failure fails every batch of its group, and none of them
// is applied.

#ifndef LOYALTY_LEDGER_UPLOAD_GROUPS_HPP_
#define LOYALTY_LEDGER_UPLOAD_GROUPS_HPP_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "ledger/pool.hpp"
#include "sync/journal_wire.hpp"

namespace loyalty::ledger {

// Entries a group may hold, and so what an authorization waiting for the store connection may
// have to wait for: under a 2,000-terminal upload on a 2-core machine a group of about 1,000
// realistic entries held the SQLite writer about 60 ms (docs/performance.md).
inline constexpr std::size_t kDefaultGroupEntries = 1000;

struct UploadOutcome {
  std::optional<sync::Ack> ack;  // or
  std::optional<Refusal> refusal;
};

struct UploadGroupStats {
  std::int64_t groups = 0;
  std::int64_t batches = 0;
  std::int64_t largest = 0;  // batches in the largest group
  std::size_t queued = 0;    // batches waiting now, their leader's among them
  double applying_s = 0;     // time spent applying groups (the store's busy time for uploads)
};

class UploadGroups {
 public:
  // A group takes batches while it holds at most `max_group_entries` (its first batch is
  // taken whatever its size). `pool` must outlive this.
  UploadGroups(LedgerPool& pool, std::size_t max_group_entries) : pool_(pool), max_entries_(max_group_entries) {}

  // Applies the terminal's batch with the others waiting; returns when its group committed.
  // Throws what the store threw for the group.
  UploadOutcome apply(std::string_view terminal_id, std::span<const sync::WireEntry> entries, std::int64_t now_ms);

  UploadGroupStats stats() const;

 private:
  struct Waiting {
    std::string_view terminal_id;
    std::span<const sync::WireEntry> entries;
    std::int64_t now_ms = 0;
    bool done = false;
    UploadOutcome outcome;
    std::exception_ptr error;
  };
  // Applies `group` (taken off the queue) and fills in each one's outcome.
  void apply_group(std::span<Waiting* const> group);

  LedgerPool& pool_;
  std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Waiting*> queue_;
  std::size_t leaders_ = 0;  // groups being applied
  std::size_t queued_ = 0;   // batches not answered yet
  UploadGroupStats stats_;
};

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_UPLOAD_GROUPS_HPP_
