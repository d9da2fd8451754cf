// The wall clock, in the unit the journal, the APIs and the ledger use: Unix milliseconds.

#ifndef LOYALTY_RUNTIME_CLOCK_HPP_
#define LOYALTY_RUNTIME_CLOCK_HPP_

#include <chrono>
#include <cstdint>

namespace loyalty::runtime {

inline std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace loyalty::runtime

#endif  // LOYALTY_RUNTIME_CLOCK_HPP_
