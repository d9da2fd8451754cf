// Money and points as integers, with overflow-checked arithmetic.
//
// Every amount is an integer count of minor units of one currency (kopecks, cents, fils);
// points are integers. Nothing here uses floating point. Products that can exceed 2^63
// (amount x weight in the allocator, amount x rate in earning) are formed in 128-bit
// intermediates (Wide, domain/wide.hpp) and narrowed back with a check, so an overflow
// is an error, never a wrong number.
#ifndef LOYALTY_DOMAIN_MONEY_HPP_
#define LOYALTY_DOMAIN_MONEY_HPP_

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "domain/wide.hpp"

namespace loyalty::domain {

using Minor = std::int64_t;   // an amount in minor units of the rulebook's currency
using Points = std::int64_t;  // loyalty points, always whole

// Thrown when an amount or a product leaves the range that can be represented exactly.
class Overflow : public std::overflow_error {
 public:
  explicit Overflow(const std::string& what) : std::overflow_error(what + ": amount overflows") {}
};

// Thrown when the domain is handed values that break its preconditions (a zero denominator,
// a negative quantity). The JSON layer rejects such input earlier with the path that is
// wrong; this is the last line of defence.
class InvalidInput : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// An ISO 4217 currency: its alphabetic code and its minor-unit exponent.
struct Currency {
  std::string_view code;
  int exponent = 2;
  friend bool operator==(const Currency&, const Currency&) = default;
};

// The currency with ISO 4217 code `code` (upper case), or nullopt for an unknown code.
std::optional<Currency> find_currency(std::string_view code);

// A positive rational number, such as the money value of one point (num/den minor units).
struct Ratio {
  std::int64_t num = 1;
  std::int64_t den = 1;
  friend bool operator==(const Ratio&, const Ratio&) = default;
};

// Narrows a 128-bit intermediate to 64 bits; throws Overflow naming `what` if it does not fit.
std::int64_t narrow(Wide value, std::string_view what);

// a + b, a - b and a * b; each throws Overflow naming `what` if the result does not fit.
std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view what);
std::int64_t checked_sub(std::int64_t a, std::int64_t b, std::string_view what);
std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view what);

// a / b rounded half away from zero; b > 0.
Wide rdiv(Wide a, Wide b);

// The VAT contained in the tax-inclusive amount `gross` at `rate_bp` basis points.
Minor vat_from_gross(Minor gross, std::int64_t rate_bp);

// The share of x that belongs to the first k of q parts: floor(x * k / q). Differences of
// successive cumulative shares add up to exactly x when k reaches q, whatever the steps.
std::int64_t cum_share(std::int64_t x, std::int64_t q, std::int64_t k);

// floor(a * num / den) for a >= 0, num >= 0, den > 0, checked.
std::int64_t mul_div_floor(std::int64_t a, std::int64_t num, std::int64_t den, std::string_view what);
// The same, held at the largest 64-bit value instead of overflowing: for an upper limit that
// other, smaller limits bound anyway (a balance worth more than any receipt).
std::int64_t mul_div_floor_saturated(std::int64_t a, std::int64_t num, std::int64_t den, std::string_view what);

std::int64_t gcd(std::int64_t a, std::int64_t b);
// Least common multiple of positive a and b; throws Overflow if it does not fit.
std::int64_t lcm(std::int64_t a, std::int64_t b);

// "1429.11" for 142911 with exponent 2; "-0.05" for -5; "1500" for 1500 with exponent 0.
std::string format_minor(Minor amount, int exponent);

// The inverse of format_minor: a plain decimal with at most `exponent` fraction digits.
// Returns nullopt for anything else (signs other than a leading '-', exponents, too many
// digits, values out of range).
std::optional<Minor> parse_minor(std::string_view text, int exponent);

}  // namespace loyalty::domain

#endif  // LOYALTY_DOMAIN_MONEY_HPP_
