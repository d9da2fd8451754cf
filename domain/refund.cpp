#include "domain/refund.hpp"

#include <string>

namespace loyalty::domain {
namespace {

// The part of x that the units from `before` to `after` (milli-units of q) carry.
std::int64_t step_share(std::int64_t x, std::int64_t q, std::int64_t before, std::int64_t after) {
  return cum_share(x, q, after) - cum_share(x, q, before);
}

}  // namespace

std::vector<SoldLine> sold_lines(const Basket& basket, const Quote& quote) {
  std::vector<SoldLine> sale;
  sale.reserve(basket.lines.size());
  for (std::size_t i = 0; i < basket.lines.size(); ++i) {
    const Line& line = basket.lines[i];
    const QuoteLine& q = quote.lines[i];
    sale.push_back({line.qty_milli, line.counted, line.vat_bp, q.gross, q.discount, q.gross_after, q.vat,
                    q.points_redeemed, q.points_earned});
  }
  return sale;
}

Refund refund(const RefundRules& rules, Ratio point_value, std::span<const SoldLine> sale,
              std::span<const std::int64_t> returned_before, std::span<const ReturnedQuantity> request,
              std::optional<Points> member_balance) {
  if (returned_before.size() != sale.size()) throw InvalidInput("one returned quantity per sold line");
  if (point_value.num <= 0 || point_value.den <= 0) throw InvalidInput("point value must be positive");
  Refund out;
  out.returned_after.assign(returned_before.begin(), returned_before.end());

  for (const ReturnedQuantity& r : request) {
    const std::string where = "line " + std::to_string(r.line);
    if (r.line >= sale.size()) throw InvalidInput(where + ": the sale has no such line");
    const SoldLine& s = sale[r.line];
    if (r.qty_milli <= 0) throw InvalidInput(where + ": returned quantity must be positive");
    if (s.counted && r.qty_milli % 1000 != 0) throw InvalidInput(where + ": counted goods are returned in whole units");
    const std::int64_t before = out.returned_after[r.line];
    if (r.qty_milli > s.qty_milli - before)
      throw InvalidInput(where + ": returning " + std::to_string(r.qty_milli) + " milli-units but only " +
                         std::to_string(s.qty_milli - before) + " are left to return");
    const std::int64_t after = before + r.qty_milli;
    const std::int64_t q = s.qty_milli;

    LineRefund lr;
    lr.line = r.line;
    lr.qty_milli = r.qty_milli;
    lr.money = step_share(s.gross - s.discount, q, before, after);
    lr.gross = step_share(s.gross_after, q, before, after);
    lr.vat_recomputed = s.vat_bp ? vat_from_gross(lr.gross, *s.vat_bp) : 0;
    lr.vat_cumulative = step_share(s.vat, q, before, after);
    lr.vat = rules.vat == RefundVat::recompute ? lr.vat_recomputed : lr.vat_cumulative;
    lr.discount_share = step_share(s.discount, q, before, after);
    lr.points_returned = step_share(s.points_redeemed, q, before, after);
    lr.points_clawed_back = step_share(s.points_earned, q, before, after);
    out.returned_after[r.line] = after;

    out.money = checked_add(out.money, lr.money, "refund");
    out.vat = checked_add(out.vat, lr.vat, "refund VAT");
    out.points_returned = checked_add(out.points_returned, lr.points_returned, "returned points");
    out.points_clawed_back = checked_add(out.points_clawed_back, lr.points_clawed_back, "clawed back points");
    out.lines.push_back(lr);
  }

  out.balance_change = out.points_returned - out.points_clawed_back;
  out.money_paid = out.money;
  if (rules.shortfall == ClawbackShortfall::deduct_from_refund && member_balance) {
    const Points after = checked_add(*member_balance, out.balance_change, "balance");
    if (after < 0) {
      // Keep back the money value of the missing points, rounded up to a whole minor unit,
      // but never more than the refund; points the money cannot cover stay owed.
      const Points missing = -after;
      const Minor value =
          narrow((Wide{missing} * point_value.num + point_value.den - 1) / point_value.den, "shortfall");
      out.shortfall_deduction = std::min(value, out.money);
      out.shortfall_points =
          out.shortfall_deduction == value
              ? missing
              : narrow(Wide{out.shortfall_deduction} * point_value.den / point_value.num, "shortfall");
      out.money_paid = out.money - out.shortfall_deduction;
      out.balance_change += out.shortfall_points;
    }
  }
  return out;
}

}  // namespace loyalty::domain
