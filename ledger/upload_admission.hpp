// Admission of uploads before their bodies are read: at most `slots` batches are read, checked
// and applied at once, and the others wait in arrival order with their bodies unread. Without
// it, thousands of terminals sending their batches at once share the network threads fairly,
// so every body arrives late (each takes as long as all of them) and the terminals' timeouts
// fire while the ledger still reads; first come, first served, each batch is read at full
// speed in its turn and the waiting ones cost a socket and nothing else.
//
// A terminal that asks `Expect: 100-continue` (the uplink does) sends its body only when it is
// admitted (RFC 9110, 10.1.1), so a batch that is refused or waits too long never crosses the
// network; one that does not ask is held by TCP's flow control until admitted.

#ifndef LOYALTY_LEDGER_UPLOAD_ADMISSION_HPP_
#define LOYALTY_LEDGER_UPLOAD_ADMISSION_HPP_

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

#include "runtime/asio.hpp"

namespace loyalty::ledger {

class UploadAdmission {
 public:
  enum class Outcome {
    admitted,
    busy,       // `max_waiting` uploads wait already
    timed_out,  // waited the whole `wait`
  };

  // Released when destroyed: the admitted upload's turn passes to the next in line.
  class Slot {
   public:
    Slot() = default;
    explicit Slot(UploadAdmission* admission) : admission_(admission) {}
    Slot(Slot&& other) noexcept : admission_(std::exchange(other.admission_, nullptr)) {}
    Slot& operator=(Slot&& other) noexcept;
    ~Slot() { release(); }
    void release();

   private:
    UploadAdmission* admission_ = nullptr;
  };

  UploadAdmission(std::size_t slots, std::size_t max_waiting) : slots_(slots), max_waiting_(max_waiting) {}

  // Waits, on the calling coroutine's executor, until this upload's turn or `wait` has passed.
  // `slot` holds the turn when the outcome is admitted.
  Task<Outcome> admit(std::chrono::milliseconds wait, Slot& slot);

  std::size_t waiting() const;

 private:
  struct Waiter {
    explicit Waiter(const asio::any_io_executor& executor) : timer(executor) {}
    asio::steady_timer timer;
    bool admitted = false;
  };
  void release();

  const std::size_t slots_;
  const std::size_t max_waiting_;
  mutable std::mutex mutex_;
  std::size_t in_use_ = 0;
  std::deque<std::shared_ptr<Waiter>> queue_;
};

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_UPLOAD_ADMISSION_HPP_
