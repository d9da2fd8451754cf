// Numbers the test suites read from the environment (seeds, iteration and kill counts).

#ifndef LOYALTY_TESTS_ENV_HPP_
#define LOYALTY_TESTS_ENV_HPP_

#include <cstdint>
#include <cstdlib>

namespace loyalty::testing {

// The value of environment variable `name` as a number, or `fallback` when it is unset or empty.
inline std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : fallback;
}

}  // namespace loyalty::testing

#endif  // LOYALTY_TESTS_ENV_HPP_
