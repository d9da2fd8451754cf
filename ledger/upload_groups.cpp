#include "ledger/upload_groups.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <vector>

namespace loyalty::ledger {

UploadOutcome UploadGroups::apply(std::string_view terminal_id, std::span<const sync::WireEntry> entries,
                                  std::int64_t now_ms) {
  if (entries.empty()) {  // nothing to group: the terminal asks where the ledger stands
    try {
      return {pool_.with([&](Ledger& ledger) { return ledger.ingest(terminal_id, entries, now_ms); }), std::nullopt};
    } catch (const Refusal& refusal) {
      return {std::nullopt, refusal};
    }
  }
  Waiting self;
  self.terminal_id = terminal_id;
  self.entries = entries;
  self.now_ms = now_ms;
  std::unique_lock lock(mutex_);
  queue_.push_back(&self);
  ++queued_;
  changed_.wait(lock, [&] { return self.done || (queue_.front() == &self && leaders_ < pool_.size()); });
  if (!self.done) {
    // This batch leads a group: it and the batches behind it, up to the bound.
    std::vector<Waiting*> group;
    std::size_t held = 0;
    while (!queue_.empty()) {
      Waiting* next = queue_.front();
      if (!group.empty() && held + next->entries.size() > max_entries_) break;
      held += next->entries.size();
      group.push_back(next);
      queue_.pop_front();
    }
    ++leaders_;
    ++stats_.groups;
    stats_.batches += static_cast<std::int64_t>(group.size());
    stats_.largest = std::max(stats_.largest, static_cast<std::int64_t>(group.size()));
    lock.unlock();
    changed_.notify_all();  // the next in line may lead a group of its own on another connection
    const auto began = std::chrono::steady_clock::now();
    apply_group(group);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    lock.lock();
    stats_.applying_s += took;
    --leaders_;
    queued_ -= group.size();
    for (Waiting* waiting : group) waiting->done = true;
    lock.unlock();
    changed_.notify_all();
  }
  if (self.error) std::rethrow_exception(self.error);
  return std::move(self.outcome);
}

void UploadGroups::apply_group(std::span<Waiting* const> group) {
  std::vector<ReplayPart> parts;
  parts.reserve(group.size());
  std::int64_t now_ms = 0;
  for (std::size_t i = 0; i < group.size(); ++i) {
    parts.push_back({i, std::string(group[i]->terminal_id), group[i]->entries});
    now_ms = std::max(now_ms, group[i]->now_ms);
  }
  try {
    std::vector<PartOutcome> outcomes;
    std::int64_t cursor = 0;
    pool_.with([&](Ledger& ledger) {
      // Each batch one run, checked as a whole as ingest() checks it.
      outcomes = ledger.ingest_parts(parts, std::numeric_limits<std::size_t>::max(), now_ms);
      cursor = ledger.store().member_cursor();
    });
    for (std::size_t i = 0; i < group.size(); ++i) {
      PartOutcome& outcome = outcomes[i];
      if (outcome.refusal) {
        group[i]->outcome.refusal = std::move(outcome.refusal);
        continue;
      }
      sync::Ack ack;
      ack.terminal_id = parts[i].terminal_id;
      ack.acknowledged_through = outcome.acknowledged_through;
      ack.applied = outcome.applied;
      ack.duplicates = outcome.duplicates;
      ack.held_back = outcome.held_back;
      ack.member_cursor = cursor;
      group[i]->outcome.ack = std::move(ack);
    }
  } catch (...) {
    for (Waiting* waiting : group) waiting->error = std::current_exception();
  }
}

UploadGroupStats UploadGroups::stats() const {
  const std::lock_guard lock(mutex_);
  UploadGroupStats now = stats_;
  now.queued = queued_;
  return now;
}

}  // namespace loyalty::ledger
