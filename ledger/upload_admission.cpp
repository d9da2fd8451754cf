#include "ledger/upload_admission.hpp"

#include <algorithm>

namespace loyalty::ledger {

UploadAdmission::Slot& UploadAdmission::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    admission_ = std::exchange(other.admission_, nullptr);
  }
  return *this;
}

void UploadAdmission::Slot::release() {
  if (admission_ != nullptr) std::exchange(admission_, nullptr)->release();
}

Task<UploadAdmission::Outcome> UploadAdmission::admit(std::chrono::milliseconds wait, Slot& slot) {
  std::shared_ptr<Waiter> waiter;
  {
    const std::lock_guard lock(mutex_);
    if (in_use_ < slots_ && queue_.empty()) {
      ++in_use_;
      slot = Slot(this);
      co_return Outcome::admitted;
    }
    if (queue_.size() >= max_waiting_) co_return Outcome::busy;
    waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
    waiter->timer.expires_after(wait);
    queue_.push_back(waiter);
  }
  // Ends when release() hands this waiter the turn (it cancels the timer), or at the deadline.
  co_await waiter->timer.async_wait(use_tuple);
  const std::lock_guard lock(mutex_);
  if (waiter->admitted) {  // also when the deadline and the turn came together
    slot = Slot(this);
    co_return Outcome::admitted;
  }
  queue_.erase(std::find(queue_.begin(), queue_.end(), waiter));
  co_return Outcome::timed_out;
}

void UploadAdmission::release() {
  std::shared_ptr<Waiter> next;
  {
    const std::lock_guard lock(mutex_);
    if (queue_.empty()) {
      --in_use_;
      return;
    }
    // The turn passes straight to the first in line: in_use_ stays.
    next = std::move(queue_.front());
    queue_.pop_front();
    next->admitted = true;
  }
  // The timer is used on its connection's strand only.
  asio::post(next->timer.get_executor(), [next] { next->timer.cancel(); });
}

std::size_t UploadAdmission::waiting() const {
  const std::lock_guard lock(mutex_);
  return queue_.size();
}

}  // namespace loyalty::ledger
