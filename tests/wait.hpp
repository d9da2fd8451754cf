// Waiting in tests for what another process shows only when asked (a metric, a status field):
// ask until it holds or a deadline passes, and let the test fail on the deadline.

#ifndef LOYALTY_TESTS_WAIT_HPP_
#define LOYALTY_TESTS_WAIT_HPP_

#include <chrono>
#include <thread>

namespace loyalty::testing {

// Calls `holds` until it returns true (true) or `deadline` passes (false). Each call is a
// round trip to the process under test, which paces the loop; nothing sleeps.
template <class Holds>
bool ask_until(Holds holds, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (holds()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
  }
}

// The same for what other threads of this process change: yields to them between asks.
template <class Holds>
bool ask_in_process_until(Holds holds, std::chrono::steady_clock::time_point deadline) {
  return ask_until(
      [&] {
        std::this_thread::yield();
        return holds();
      },
      deadline);
}

}  // namespace loyalty::testing

#endif  // LOYALTY_TESTS_WAIT_HPP_
