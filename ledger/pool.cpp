#include "ledger/pool.hpp"

namespace loyalty::ledger {

LedgerPool::Seat* LedgerPool::take(Priority priority) {
  std::unique_lock lock(mutex_);
  ++waiting_;
  if (priority == Priority::quick) {
    ++quick_waiting_;
    freed_.wait(lock, [&] { return !free_.empty(); });
    --quick_waiting_;
    // Bulk waiters held back for this one may take what is left.
    if (quick_waiting_ == 0 && free_.size() > 1) freed_.notify_all();
  } else {
    freed_.wait(lock, [&] { return !free_.empty() && quick_waiting_ == 0; });
  }
  --waiting_;
  Seat* seat = free_.back();
  free_.pop_back();
  return seat;
}

void LedgerPool::give_back(Seat* seat) {
  {
    const std::lock_guard lock(mutex_);
    free_.push_back(seat);
  }
  // All: a bulk waiter woken alone may have to let a quick one go first.
  freed_.notify_all();
}

std::size_t LedgerPool::waiting() const {
  const std::lock_guard lock(mutex_);
  return waiting_;
}

std::int64_t LedgerPool::retries() const {
  std::int64_t total = 0;
  const std::lock_guard lock(mutex_);
  for (const auto& seat : seats_) total += seat->store->retries();
  return total;
}

}  // namespace loyalty::ledger
