#include <doctest/doctest.h>

#include <limits>

#include "domain/money.hpp"

using namespace loyalty::domain;

TEST_CASE("currencies carry their ISO 4217 exponent") {
  CHECK(find_currency("JPY")->exponent == 0);
  CHECK(find_currency("RUB")->exponent == 2);
  CHECK(find_currency("BHD")->exponent == 3);
  CHECK(find_currency("CLF")->exponent == 4);
  CHECK_FALSE(find_currency("XXX").has_value());
  CHECK_FALSE(find_currency("rub").has_value());
  CHECK_FALSE(find_currency("").has_value());
}

TEST_CASE("rdiv rounds half away from zero") {
  CHECK(rdiv(5, 2) == 3);
  CHECK(rdiv(-5, 2) == -3);
  CHECK(rdiv(4, 3) == 1);
  CHECK(rdiv(-4, 3) == -1);
  CHECK(rdiv(16040766, 1000) == 16041);
  CHECK(vat_from_gross(22291, 1000) == 2026);
  CHECK(vat_from_gross(21900, 2200) == 3949);
  CHECK(vat_from_gross(100, 0) == 0);
}

TEST_CASE("checked arithmetic throws instead of wrapping") {
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  CHECK(checked_add(max - 1, 1, "x") == max);
  CHECK_THROWS_AS(checked_add(max, 1, "receipt total"), Overflow);
  CHECK_THROWS_AS(checked_sub(std::numeric_limits<std::int64_t>::min(), 1, "x"), Overflow);
  CHECK_THROWS_AS(checked_mul(max / 2 + 1, 2, "x"), Overflow);
  CHECK_THROWS_WITH(narrow(Wide{max} + 1, "line amount"), "line amount: amount overflows");
  CHECK(mul_div_floor(max, max, max, "x") == max);  // the intermediate is 126 bits
  CHECK_THROWS_AS(lcm(max, max - 1), Overflow);
}

TEST_CASE("cumulative shares telescope to the whole amount") {
  std::int64_t sum = 0;
  for (std::int64_t k = 0; k < 7; ++k) sum += cum_share(100, 7, k + 1) - cum_share(100, 7, k);
  CHECK(sum == 100);
  CHECK(cum_share(22291, 3000, 2000) == 14860);
  CHECK_THROWS_AS(cum_share(1, 3, 4), InvalidInput);
}

TEST_CASE("amounts format and parse with the currency's digits") {
  CHECK(format_minor(142911, 2) == "1429.11");
  CHECK(format_minor(-5, 2) == "-0.05");
  CHECK(format_minor(1500, 0) == "1500");
  CHECK(format_minor(7, 3) == "0.007");
  CHECK(format_minor(std::numeric_limits<std::int64_t>::min(), 2) == "-92233720368547758.08");
  CHECK(parse_minor("1429.11", 2) == 142911);
  CHECK(parse_minor("0.5", 2) == 50);
  CHECK(parse_minor("-0.05", 2) == -5);
  CHECK(parse_minor("12", 3) == 12000);
  CHECK_FALSE(parse_minor("1.234", 2).has_value());
  CHECK_FALSE(parse_minor("1.", 2).has_value());
  CHECK_FALSE(parse_minor(".5", 2).has_value());
  CHECK_FALSE(parse_minor("1e3", 2).has_value());
  CHECK_FALSE(parse_minor("92233720368547758.08", 2).has_value());
}
