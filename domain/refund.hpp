// Returns: partial and full, in any number of steps (docs/redemption.md section 4).
//
// Every amount of a sold line (money paid, VAT, discount, points redeemed, points earned) is
// returned by cumulative apportionment: after k of q milli-units are back, exactly
// floor(x * k / q) of x has been returned. Each step returns the difference of two such
// shares, so returning the whole line in any steps gives back exactly x.
#ifndef LOYALTY_DOMAIN_REFUND_HPP_
#define LOYALTY_DOMAIN_REFUND_HPP_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "domain/basket.hpp"
#include "domain/quote.hpp"
#include "domain/rulebook.hpp"

namespace loyalty::domain {

// What a sale keeps of each line for its returns.
struct SoldLine {
  std::int64_t qty_milli = 1000;
  bool counted = true;
  std::optional<std::int64_t> vat_bp;
  Minor gross = 0;             // G
  Minor discount = 0;          // d
  Minor gross_after = 0;       // G' (the VAT base)
  Minor vat = 0;               // V
  Points points_redeemed = 0;  // p
  Points points_earned = 0;    // e
};

// The sold lines of a quote, in receipt order.
std::vector<SoldLine> sold_lines(const Basket& basket, const Quote& quote);

struct ReturnedQuantity {
  std::size_t line = 0;
  std::int64_t qty_milli = 0;
};

struct LineRefund {
  std::size_t line = 0;
  std::int64_t qty_milli = 0;
  Minor money = 0;           // money back for these units (never the points' share)
  Minor gross = 0;           // the return receipt's amount (money in discount mode, original price in payment mode)
  Minor vat = 0;             // by the rulebook's refund VAT mode
  Minor vat_recomputed = 0;  // both ways, for the receipt and for audit
  Minor vat_cumulative = 0;
  Minor discount_share = 0;  // the part of the points' money value these units carried
  Points points_returned = 0;
  Points points_clawed_back = 0;
};

struct Refund {
  std::vector<LineRefund> lines;
  Minor money = 0;  // before any shortfall deduction
  Minor vat = 0;
  Points points_returned = 0;
  Points points_clawed_back = 0;
  // Clawback beyond the balance, in deduct_from_refund mode: the points it covers and the
  // money kept back for them (money_paid = money - shortfall_deduction).
  Points shortfall_points = 0;
  Minor shortfall_deduction = 0;
  Minor money_paid = 0;
  Points balance_change = 0;                 // points_returned - points_clawed_back + shortfall_points
  std::vector<std::int64_t> returned_after;  // cumulative milli-units returned, per sold line
};

// Computes one return step. `returned_before` holds, per sold line, the milli-units
// returned by earlier steps. `member_balance` is the member's balance now, if known; it
// matters only in deduct_from_refund mode. Throws InvalidInput for an unknown line, a
// fractional return of a counted line, or more than is left to return.
Refund refund(const RefundRules& rules, Ratio point_value, std::span<const SoldLine> sale,
              std::span<const std::int64_t> returned_before, std::span<const ReturnedQuantity> request,
              std::optional<Points> member_balance);

}  // namespace loyalty::domain

#endif  // LOYALTY_DOMAIN_REFUND_HPP_
