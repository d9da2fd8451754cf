// Three cases for the Unity reporter's test, one of each outcome: never part of a suite.
#include <doctest/doctest.h>

TEST_CASE("a passing case: one plus one") { CHECK(1 + 1 == 2); }

TEST_CASE("a failing case") {
  const int four = 2 + 2;
  CHECK(four == 5);
  CHECK(four == 6);  // Unity reports the first failure only
}

TEST_CASE("a skipped case" * doctest::skip() * doctest::description("waits for\nthe scale driver")) { CHECK(false); }
