// What the lane simulator sells and to whom: a small supermarket catalogue (counted and
// weighed goods at 22 %, 10 % and 0 % VAT, and goods the programme excludes: tobacco, gift
// cards, lottery tickets, deposits), baskets drawn from it, and synthetic members whose card
// numbers and phone numbers follow from their index, so that the member cache and the
// simulated lanes agree without sharing a file.
//
// Everything is drawn from one seeded generator: the same seed gives the same baskets.

#ifndef LOYALTY_AGENT_SIM_SHOP_HPP_
#define LOYALTY_AGENT_SIM_SHOP_HPP_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <string>

namespace loyalty::sim {

using nlohmann::json;
using Random = std::mt19937_64;

struct Product {
  std::string sku;  // EAN-13 with a valid check digit (in-store 2x prefix for weighed goods)
  std::string name;
  std::string category;
  std::int64_t unit_price = 0;  // kopecks, per piece or per kg
  std::int32_t vat_bp = 0;
  bool weighed = false;
  bool excluded = false;  // no points earned or redeemed on it (the example rulebook's categories)
};

std::span<const Product> catalogue();

// The card range of the synthetic members: 16 digits starting 7013, Luhn-checked.
inline constexpr const char* kCardPrefix = "7013";

// Member `index` (0-based): id "SIM-0000042", card 7013 0000 0004 2xxc, phone +7 900 000-00-42.
std::string member_id(std::int64_t index);
std::string member_card(std::int64_t index);
std::string member_phone(std::int64_t index);  // E.164
std::int64_t member_balance(std::int64_t index);
std::string member_tier(std::int64_t index);

// `digits` followed by their GS1 mod-10 check digit.
std::string with_gs1_check(const std::string& digits);

// A basket (docs/quote.md) of 1 to 12 lines drawn from the catalogue; about one in twelve has
// an excluded item. `receipt_id` and `at` are set; redeem_points is left to the caller.
json make_basket(Random& random, const std::string& receipt_id, const std::string& at);

// A return of part of a sale's basket: one or two of its lines, some or all of each.
json make_return(Random& random, const json& sale_basket);

}  // namespace loyalty::sim

#endif  // LOYALTY_AGENT_SIM_SHOP_HPP_
