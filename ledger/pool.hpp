// The ledgers a `loyalty-ledger serve` process answers with: one store connection and Ledger
// per worker thread, so that requests run beside each other on PostgreSQL (each on its own
// connection) while the network thread goes on accepting, handshaking and reading. On SQLite
// the pool has one seat: the file has one writer at a time.

#ifndef LOYALTY_LEDGER_POOL_HPP_
#define LOYALTY_LEDGER_POOL_HPP_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ledger/ledger.hpp"
#include "ledger/store.hpp"

namespace loyalty::ledger {

class LedgerPool {
 public:
  // Opens `seats` stores with `open` and a Ledger over each.
  template <class Open>
  LedgerPool(std::size_t seats, Open open, const LedgerSettings& settings) {
    for (std::size_t i = 0; i < seats; ++i) {
      auto seat = std::make_unique<Seat>();
      seat->store = open();
      seat->ledger = std::make_unique<Ledger>(*seat->store, settings);
      free_.push_back(seat.get());
      seats_.push_back(std::move(seat));
    }
  }

  // Who waits for a ledger first: an online authorization at a till (quick) before an upload
  // batch or a member page (bulk), which can wait a little longer.
  enum class Priority { bulk, quick };

  // Runs `work` with a ledger no other thread is using, waiting for one to be free.
  template <class Work>
  auto with(Work&& work, Priority priority = Priority::bulk) {
    Seat* seat = take(priority);
    struct Return {
      LedgerPool& pool;
      Seat* seat;
      ~Return() { pool.give_back(seat); }
    } returned{*this, seat};
    return work(*seat->ledger);
  }

  std::size_t size() const { return seats_.size(); }
  // Threads waiting for a ledger now.
  std::size_t waiting() const;
  // Transactions the stores ran again (LedgerStore::retries), over all seats.
  std::int64_t retries() const;

 private:
  struct Seat {
    std::unique_ptr<LedgerStore> store;
    std::unique_ptr<Ledger> ledger;
  };
  Seat* take(Priority priority);
  void give_back(Seat* seat);

  std::vector<std::unique_ptr<Seat>> seats_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<Seat*> free_;
  std::size_t quick_waiting_ = 0;
  std::size_t waiting_ = 0;
};

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_POOL_HPP_
