// The wall clock, in the unit the journal and the API use: Unix milliseconds.

#ifndef LOYALTY_AGENT_CLOCK_HPP_
#define LOYALTY_AGENT_CLOCK_HPP_

#include <chrono>
#include <cstdint>

namespace loyalty::agent {

inline std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace loyalty::agent

#endif  // LOYALTY_AGENT_CLOCK_HPP_
