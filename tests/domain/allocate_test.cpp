#include <doctest/doctest.h>

#include <vector>

#include "domain/allocate.hpp"

using namespace loyalty::domain;

TEST_CASE("largest remainder hands out the rounding units deterministically") {
  const std::vector<Wide> weights = {290, 450, 799};
  CHECK(apportion(350, weights) == std::vector<std::int64_t>{66, 102, 182});
  // Equal remainders: the heavier line first, then the earlier one.
  CHECK(apportion(1, std::vector<Wide>{1, 1, 1}) == std::vector<std::int64_t>{1, 0, 0});
  CHECK(apportion(2, std::vector<Wide>{1, 2, 1}) == std::vector<std::int64_t>{1, 1, 0});
  CHECK(apportion(2, std::vector<Wide>{1, 1, 4}) == std::vector<std::int64_t>{0, 0, 2});  // weight before index
  CHECK(apportion(2, std::vector<Wide>{3, 3, 3}) == std::vector<std::int64_t>{1, 1, 0});
}

TEST_CASE("water-filling pins lines at their caps and spreads the rest") {
  const std::vector<Wide> weights = {39900, 9000};
  const std::vector<std::int64_t> caps = {5000, 8998};
  const Allocation a = allocate(13900, weights, caps);
  CHECK(a.amounts == std::vector<std::int64_t>{5000, 8900});
  CHECK(a.pinned == std::vector<bool>{true, false});
}

TEST_CASE("parts with no weight or no cap get nothing") {
  const std::vector<Wide> weights = {0, 10, 10};
  const std::vector<std::int64_t> caps = {100, 0, 100};
  CHECK(allocate(50, weights, caps).amounts == std::vector<std::int64_t>{0, 0, 50});
}

TEST_CASE("a total beyond what the parts can take is refused") {
  const std::vector<Wide> weights = {1, 1};
  const std::vector<std::int64_t> caps = {3, 4};
  CHECK(allocate(7, weights, caps).amounts == std::vector<std::int64_t>{3, 4});
  CHECK_THROWS_AS(allocate(8, weights, caps), InvalidInput);
  CHECK_THROWS_AS(allocate(-1, weights, caps), InvalidInput);
}

TEST_CASE("shares of products wider than 128 bits are exact") {
  const Wide w = (Wide{1} << 120) + 12345;
  const Wide total = (Wide{1} << 121) + 99;
  const Share s = share_of(std::int64_t{1} << 62, w, total);
  // 2^62 x (2^120 + 12345) needs 183 bits; the figures come from exact big-integer arithmetic.
  CHECK(s.quotient == std::int64_t{1} << 61);
  CHECK(s.remainder == Wide{0xc01e} << 60);
}
