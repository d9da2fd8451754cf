// The JSON forms of what the POS sends: baskets and members (docs/quote.md).
#ifndef LOYALTY_SYNC_BASKET_JSON_HPP_
#define LOYALTY_SYNC_BASKET_JSON_HPP_

#include <optional>
#include <string>

#include "domain/basket.hpp"
#include "domain/rulebook.hpp"
#include "runtime/json_reader.hpp"

namespace loyalty::sync {

inline constexpr std::size_t kMaxLines = 10000;

struct BasketDocument {
  domain::Basket basket;
  std::string currency;   // as the POS wrote it, checked against the rulebook
  bool has_time = false;  // false: the caller decides when the sale happens
};

// Reads and checks a basket: types, ranges, unknown fields, quantities that must be whole,
// VAT given exactly one way, and line amounts and totals that must fit. Throws JsonError
// with a path under "basket".
BasketDocument basket_from_json(const runtime::Json& document);

// Checks that the basket belongs with the rulebook (same currency). Throws JsonError.
void check_basket_against(const BasketDocument& basket, const domain::Rulebook& rules);

// Reads a member; its tier must be one the rulebook defines. Throws JsonError under "member".
domain::Member member_from_json(const runtime::Json& document, const domain::Rulebook& rules);
// A member status at `key` by its name (domain::status_name); `fallback` when the key is absent,
// and required when there is none.
domain::MemberStatus member_status_from_json(runtime::Reader& in, std::string_view key,
                                             std::optional<domain::MemberStatus> fallback);

}  // namespace loyalty::sync

#endif  // LOYALTY_SYNC_BASKET_JSON_HPP_
