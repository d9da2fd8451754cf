#include "ledger/pool.hpp"

namespace loyalty::ledger {

LedgerPool::Seat* LedgerPool::take() {
  std::unique_lock lock(mutex_);
  freed_.wait(lock, [&] { return !free_.empty(); });
  Seat* seat = free_.back();
  free_.pop_back();
  return seat;
}

void LedgerPool::give_back(Seat* seat) {
  {
    const std::lock_guard lock(mutex_);
    free_.push_back(seat);
  }
  freed_.notify_one();
}

std::int64_t LedgerPool::retries() const {
  std::int64_t total = 0;
  const std::lock_guard lock(mutex_);
  for (const auto& seat : seats_) total += seat->store->retries();
  return total;
}

}  // namespace loyalty::ledger
