// Rulebooks, lines and formatting for the domain tests, so that test cases read like the
// tables of docs/redemption.md.
#ifndef LOYALTY_TESTS_DOMAIN_FIXTURES_HPP_
#define LOYALTY_TESTS_DOMAIN_FIXTURES_HPP_

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "domain/basket.hpp"
#include "domain/quote.hpp"
#include "domain/rulebook.hpp"

namespace loyalty::domain::testing {

// An amount written in major units with the currency's digits ("269.70" -> 26970).
inline Minor money(std::string_view text, int exponent = 2) {
  auto value = parse_minor(text, exponent);
  if (!value) throw std::invalid_argument("bad amount in a test: " + std::string(text));
  return *value;
}

inline Line counted(std::string name, std::string_view unit_price, std::int64_t units,
                    std::optional<std::int64_t> vat_bp, std::string category = "grocery", int exponent = 2) {
  Line line;
  line.name = line.sku = std::move(name);
  line.category = std::move(category);
  line.unit_price = money(unit_price, exponent);
  line.qty_milli = units * 1000;
  line.counted = true;
  line.vat_bp = vat_bp;
  return line;
}

inline Line weighed(std::string name, std::string_view price_per_kg, std::int64_t grams,
                    std::optional<std::int64_t> vat_bp, std::string category = "grocery", int exponent = 2) {
  Line line = counted(std::move(name), price_per_kg, 1, vat_bp, std::move(category), exponent);
  line.qty_milli = grams;
  line.counted = false;
  return line;
}

// RU 2026 (docs/redemption.md, E1 and E3): 1 pt = 1 RUB, 1 kopeck per unit floor, earn 5 % of
// money paid, tobacco excluded from redeeming and earning.
inline Rulebook ru_rulebook(std::int64_t cap_bp = 10000) {
  Rulebook r;
  r.id = "ru-2026";
  r.version = 1;
  r.currency = *find_currency("RUB");
  r.zone.text = "MSK-3";
  r.zone.standard_offset = 3 * 3600;
  r.redemption.point_value = {100, 1};
  r.redemption.cap_bp = cap_bp;
  r.redemption.unit_floor = 1;
  r.earn = {10000, 5, EarnBase::gross_after};
  r.categories["tobacco"] = CategoryRule{false, false, std::nullopt};
  return r;
}

// DE and UK (E6, E8): 1 pt = 1 cent or penny, earn 1 pt per major unit paid, gift cards
// excluded.
inline Rulebook cent_rulebook(std::string_view currency) {
  Rulebook r;
  r.id = "eu";
  r.version = 1;
  r.currency = *find_currency(currency);
  r.zone.text = "UTC0";
  r.redemption.point_value = {1, 1};
  r.earn = {100, 1, EarnBase::gross_after};
  r.categories["gift_card"] = CategoryRule{false, false, std::nullopt};
  return r;
}

// Seconds since the epoch of a UTC date and time.
inline UnixSeconds utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return as_epoch_seconds({y, mo, d, h, mi, s});
}

inline Member member_with(Points balance, std::string tier = "") {
  return Member{"m-1", std::move(tier), balance, MemberStatus::active};
}

// "2x74.30 + 1x74.31" for counted lines, "107.44/kg" for weighed ones.
inline std::string fiscal_text(const QuoteLine& q, const Line& line, int exponent = 2) {
  if (!line.counted) return format_minor(q.unit_price_after, exponent) + "/kg";
  std::string text;
  for (const FiscalPart& part : q.fiscal_parts()) {
    if (!text.empty()) text += " + ";
    text += std::to_string(part.units) + "x" + format_minor(part.unit_price, exponent);
  }
  return text;
}

}  // namespace loyalty::domain::testing

#endif  // LOYALTY_TESTS_DOMAIN_FIXTURES_HPP_
