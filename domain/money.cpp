#include "domain/money.hpp"

#include <algorithm>
#include <iterator>
#include <limits>

namespace loyalty::domain {
namespace {

struct CurrencyEntry {
  std::string_view code;
  int exponent;
};

// ISO 4217 active codes (list one, 2024) with their minor-unit exponents, sorted by code.
// Funds and precious metals without a minor unit (XAU, XDR...) are left out on purpose: a
// loyalty programme cannot be denominated in them.
constexpr CurrencyEntry kCurrencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2}, {"AWG", 2},
    {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2},
    {"CHF", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2},
    {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2},
    {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2},
    {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2},
    {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2},
    {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2},
    {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2},
    {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2},
    {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2},
    {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2},
    {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2},
    {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2},
    {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"UYI", 0}, {"UYU", 2},
    {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2},
    {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

constexpr bool sorted_by_code() {
  for (std::size_t i = 1; i < std::size(kCurrencies); ++i)
    if (!(kCurrencies[i - 1].code < kCurrencies[i].code)) return false;
  return true;
}
static_assert(sorted_by_code(), "find_currency relies on a sorted table");

constexpr Wide kMax64 = std::numeric_limits<std::int64_t>::max();
constexpr Wide kMin64 = std::numeric_limits<std::int64_t>::min();

Wide abs_wide(Wide v) { return v < 0 ? -v : v; }

}  // namespace

std::optional<Currency> find_currency(std::string_view code) {
  const auto* end = std::end(kCurrencies);
  const auto* it = std::lower_bound(std::begin(kCurrencies), end, code,
                                    [](const CurrencyEntry& e, std::string_view c) { return e.code < c; });
  if (it == end || it->code != code) return std::nullopt;
  return Currency{it->code, it->exponent};
}

std::int64_t narrow(Wide value, std::string_view what) {
  if (value > kMax64 || value < kMin64) throw Overflow(std::string(what));
  return static_cast<std::int64_t>(value);
}

std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view what) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) throw Overflow(std::string(what));
  return r;
}

std::int64_t checked_sub(std::int64_t a, std::int64_t b, std::string_view what) {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) throw Overflow(std::string(what));
  return r;
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view what) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) throw Overflow(std::string(what));
  return r;
}

Wide rdiv(Wide a, Wide b) {
  const Wide magnitude = (2 * abs_wide(a) + b) / (2 * b);
  return a < 0 ? -magnitude : magnitude;
}

Minor vat_from_gross(Minor gross, std::int64_t rate_bp) {
  // |gross| < 2^63 and rate_bp <= 10000, so the product stays far inside 128 bits.
  return static_cast<Minor>(rdiv(Wide{gross} * rate_bp, Wide{10000} + rate_bp));
}

std::int64_t cum_share(std::int64_t x, std::int64_t q, std::int64_t k) {
  if (q <= 0 || k < 0 || k > q) throw InvalidInput("cumulative share outside 0..q");
  // floor division: x may be negative only for refunds of negative amounts, which the
  // domain does not produce, but floor keeps the telescoping property regardless.
  const Wide num = Wide{x} * k;
  Wide quotient = num / q;
  if (num % q != 0 && num < 0) --quotient;
  return static_cast<std::int64_t>(quotient);
}

std::int64_t mul_div_floor(std::int64_t a, std::int64_t num, std::int64_t den, std::string_view what) {
  if (a < 0 || num < 0 || den <= 0) throw InvalidInput(std::string(what) + ": negative operand");
  return narrow(Wide{a} * num / den, what);
}

std::int64_t mul_div_floor_saturated(std::int64_t a, std::int64_t num, std::int64_t den, std::string_view what) {
  if (a < 0 || num < 0 || den <= 0) throw InvalidInput(std::string(what) + ": negative operand");
  const Wide value = Wide{a} * num / den;  // a, num < 2^63: the product fits in 126 bits
  return value > kMax64 ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(value);
}

std::int64_t gcd(std::int64_t a, std::int64_t b) {
  a = a < 0 ? -a : a;
  b = b < 0 ? -b : b;
  while (b != 0) {
    const std::int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

std::int64_t lcm(std::int64_t a, std::int64_t b) {
  if (a <= 0 || b <= 0) throw InvalidInput("lcm of a non-positive number");
  return narrow(Wide{a} / gcd(a, b) * b, "least common multiple");
}

std::string format_minor(Minor amount, int exponent) {
  const bool negative = amount < 0;
  // Work on the unsigned magnitude so that INT64_MIN formats correctly.
  std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(amount) : static_cast<std::uint64_t>(amount);
  std::string digits = std::to_string(magnitude);
  const auto exp = static_cast<std::size_t>(exponent);
  if (exp > 0) {
    if (digits.size() <= exp) digits.insert(0, exp + 1 - digits.size(), '0');
    digits.insert(digits.size() - exp, 1, '.');
  }
  return negative ? "-" + digits : digits;
}

std::optional<Minor> parse_minor(std::string_view text, int exponent) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && fraction.empty())) return std::nullopt;
  if (fraction.size() > static_cast<std::size_t>(exponent)) return std::nullopt;
  Wide value = 0;
  auto append = [&value](char c) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
    return value <= kMax64;
  };
  for (char c : whole)
    if (!append(c)) return std::nullopt;
  for (char c : fraction)
    if (!append(c)) return std::nullopt;
  for (auto i = fraction.size(); i < static_cast<std::size_t>(exponent); ++i)
    if (!append('0')) return std::nullopt;
  return static_cast<Minor>(negative ? -value : value);
}

}  // namespace loyalty::domain
