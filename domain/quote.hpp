// The quote: what a basket earns and what a redemption does to it, line by line.
//
// quote() is a pure function of the rulebook, the basket and the member. It implements
// docs/redemption.md section 2 in its normative order: line amounts, eligibility and floors, the
// limits on the money the points may cover, whole points, water-filling allocation, VAT
// after the discount, fiscal sub-lines, cash rounding, earning.
#ifndef LOYALTY_DOMAIN_QUOTE_HPP_
#define LOYALTY_DOMAIN_QUOTE_HPP_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "domain/basket.hpp"
#include "domain/rulebook.hpp"

namespace loyalty::domain {

// The limits on the money a redemption may cover (docs/redemption.md 2.3), in the order the
// quote reports them. `blocked` applies to a blocked member, `no_member` without a card.
enum class Limit { request, balance, cap, min_cash, headroom, blocked, no_member };

std::string_view to_string(Limit limit);

// A fiscal sub-line: `units` units at `unit_price` each (docs/redemption.md 2.6).
struct FiscalPart {
  std::int64_t units = 0;
  Minor unit_price = 0;
  friend bool operator==(const FiscalPart&, const FiscalPart&) = default;
};

struct QuoteLine {
  Minor gross = 0;  // G: price x quantity - prior discount
  Minor floor = 0;  // F: the least this line may be reduced to
  bool redeem_ok = false;
  bool earn_ok = false;
  Minor discount = 0;                       // d: the line's share of the points' money value
  bool pinned = false;                      // d was held at the line's headroom (or its gross in payment mode)
  Minor gross_after = 0;                    // G': the VAT base after points (G - d in discount mode, G in payment mode)
  Minor net = 0;                            // N = G' - V
  Minor vat = 0;                            // V
  Points points_redeemed = 0;               // p: the line's share of the redeemed points
  Points points_earned = 0;                 // e: the line's share of the earned points
  std::int64_t earn_rate = 0;               // effective base rate, over the rulebook's rate_den
  std::int64_t earn_multiplier_bp = 10000;  // tier x best campaign multiplier
  // Counted lines: one or two fiscal sub-lines (fiscal_parts()). Weighed lines: the
  // displayed price per kg and whether price x quantity reproduces the amount.
  std::array<FiscalPart, 2> fiscal{};
  std::size_t fiscal_count = 0;
  Minor unit_price_after = 0;
  bool unit_price_exact = true;

  std::span<const FiscalPart> fiscal_parts() const { return {fiscal.data(), fiscal_count}; }
};

struct RateTotal {
  std::optional<std::int64_t> vat_bp;  // nullopt: outside the scope of VAT
  Minor net = 0;
  Minor vat = 0;
  Minor gross = 0;
};

struct LimitValues {
  Minor request = 0;
  Minor balance = 0;
  Minor cap = 0;
  Minor min_cash = 0;
  Minor headroom = 0;
};

struct AppliedCampaign {
  std::string id;
  Campaign::Kind kind = Campaign::Kind::multiplier;
  Points bonus_points = 0;         // bonus campaigns
  std::vector<std::size_t> lines;  // the receipt lines it applied to
};

struct Quote {
  std::vector<QuoteLine> lines;
  std::vector<RateTotal> rates;  // by descending rate, out of scope last
  Minor total = 0;               // T
  Minor eligible = 0;            // B
  LimitValues limits;
  std::vector<Limit> binding;  // every limit equal to the smallest one
  Points requested = 0;
  Points redeemed = 0;      // P
  Minor discount = 0;       // D = P x point value
  Minor payable = 0;        // T - D
  Minor cash_payable = 0;   // payable rounded to the cash increment when paying cash
  Minor cash_rounding = 0;  // cash_payable - payable
  Points earned = 0;        // E, all of it (0 without a member: nobody's account would receive it)
  Points earned_bonus = 0;  // the part of E from bonus campaigns
  // Without a member: what the basket would have earned a member of no tier (what the POS may
  // offer a customer who joins). 0 with a member.
  Points would_earn = 0;
  std::vector<AppliedCampaign> campaigns;
};

// Computes the quote. `member` is nullptr for a customer without a card. Throws
// InvalidInput for values outside the domain's preconditions and Overflow when an amount
// cannot be represented.
Quote quote(const Rulebook& rules, const Basket& basket, const Member* member);

// The gross amount of a line before points: rdiv(unit_price x qty_milli, 1000) - prior discount.
Minor line_gross(const Line& line);

}  // namespace loyalty::domain

#endif  // LOYALTY_DOMAIN_QUOTE_HPP_
