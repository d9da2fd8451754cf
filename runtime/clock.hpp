// The wall clock, in the unit the journal, the APIs and the ledger use: Unix milliseconds.

#ifndef LOYALTY_RUNTIME_CLOCK_HPP_
#define LOYALTY_RUNTIME_CLOCK_HPP_

#include <chrono>
#include <cstdint>
#include <functional>

namespace loyalty::runtime {

// A source of the wall clock in Unix milliseconds, given to whatever stamps or expires
// something, so that tests can set the time. unix_now_ms is the real one.
using Clock = std::function<std::int64_t()>;

inline std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace loyalty::runtime

#endif  // LOYALTY_RUNTIME_CLOCK_HPP_
