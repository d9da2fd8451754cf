#include "sync/quote_json.hpp"

#include "sync/basket_json.hpp"
#include "sync/datetime.hpp"
#include "sync/rulebook_json.hpp"

namespace loyalty::sync {

using runtime::fail;
using runtime::index_path;
using runtime::Json;
using runtime::OrderedJson;
using runtime::Reader;
namespace {

using namespace domain;

using Ordered = OrderedJson;

// A VAT rate as "vat_bp", or "out_of_scope": true for lines outside VAT.
void put_rate(Ordered& j, const std::optional<std::int64_t>& vat_bp) {
  if (vat_bp)
    j["vat_bp"] = *vat_bp;
  else
    j["out_of_scope"] = true;
}

Ordered line_json(const Line& line, const QuoteLine& q, std::size_t index) {
  Ordered j;
  j["index"] = index;
  j["sku"] = line.sku;
  if (!line.name.empty()) j["name"] = line.name;
  if (!line.category.empty()) j["category"] = line.category;
  j["qty_milli"] = line.qty_milli;
  j["counted"] = line.counted;
  put_rate(j, line.vat_bp);
  j["gross"] = q.gross;
  j["redeem_ok"] = q.redeem_ok;
  j["earn_ok"] = q.earn_ok;
  if (q.redeem_ok) j["floor"] = q.floor;
  j["discount"] = q.discount;
  j["pinned"] = q.pinned;
  j["gross_after"] = q.gross_after;
  j["net"] = q.net;
  j["vat"] = q.vat;
  j["points_redeemed"] = q.points_redeemed;
  j["points_earned"] = q.points_earned;
  if (q.earn_ok) {
    j["earn_rate"] = q.earn_rate;
    j["earn_multiplier_bp"] = q.earn_multiplier_bp;
  }
  if (line.counted) {
    Ordered parts = Ordered::array();
    for (const FiscalPart& p : q.fiscal_parts()) parts.push_back({{"units", p.units}, {"unit_price", p.unit_price}});
    j["fiscal"] = parts;
  } else {
    j["unit_price_after"] = q.unit_price_after;
    j["unit_price_exact"] = q.unit_price_exact;
  }
  return j;
}

}  // namespace

OrderedJson quote_to_json(const Rulebook& rules, const Basket& basket, const Quote& q) {
  const int exponent = rules.currency.exponent;
  Ordered out;
  out["rulebook"] = {{"id", rules.id}, {"version", rules.version}};
  if (!basket.receipt_id.empty()) out["receipt_id"] = basket.receipt_id;
  out["at"] = format_rfc3339_utc(basket.at);
  out["currency"] = std::string(rules.currency.code);
  out["exponent"] = exponent;
  out["mode"] = rules.redemption.mode == RedemptionMode::discount ? "discount" : "payment";
  out["tender"] = basket.tender == Tender::cash ? "cash" : "card";

  Ordered lines = Ordered::array();
  for (std::size_t i = 0; i < q.lines.size(); ++i) lines.push_back(line_json(basket.lines[i], q.lines[i], i));
  out["lines"] = lines;

  Ordered rates = Ordered::array();
  for (const RateTotal& r : q.rates) {
    Ordered j;
    put_rate(j, r.vat_bp);
    j["net"] = r.net;
    j["vat"] = r.vat;
    j["gross"] = r.gross;
    rates.push_back(j);
  }
  out["vat"] = rates;

  Ordered limits;
  limits["request"] = q.limits.request;
  limits["balance"] = q.limits.balance;
  limits["cap"] = q.limits.cap;
  limits["min_cash"] = q.limits.min_cash;
  limits["headroom"] = q.limits.headroom;
  out["limits"] = limits;
  Ordered binding = Ordered::array();
  for (Limit l : q.binding) binding.push_back(std::string(to_string(l)));
  out["binding"] = binding;

  Ordered points;
  points["requested"] = q.requested;
  points["redeemed"] = q.redeemed;
  points["earned"] = q.earned;
  points["earned_bonus"] = q.earned_bonus;
  if (q.binding == std::vector<Limit>{Limit::no_member}) points["would_earn"] = q.would_earn;
  out["points"] = points;

  Ordered campaigns = Ordered::array();
  for (const AppliedCampaign& c : q.campaigns) {
    Ordered j;
    j["id"] = c.id;
    j["kind"] = c.kind == Campaign::Kind::multiplier ? "multiplier" : "bonus_points";
    if (c.kind == Campaign::Kind::bonus_points) j["bonus_points"] = c.bonus_points;
    j["lines"] = c.lines;
    campaigns.push_back(j);
  }
  out["campaigns"] = campaigns;

  Ordered totals;
  totals["total"] = q.total;
  totals["eligible"] = q.eligible;
  totals["discount"] = q.discount;
  totals["payable"] = q.payable;
  totals["cash_payable"] = q.cash_payable;
  totals["cash_rounding"] = q.cash_rounding;
  out["totals"] = totals;
  // The same totals as decimal text, for people reading the output.
  out["display"] = {{"total", format_minor(q.total, exponent)},
                    {"discount", format_minor(q.discount, exponent)},
                    {"payable", format_minor(q.payable, exponent)},
                    {"cash_payable", format_minor(q.cash_payable, exponent)}};
  return out;
}

SaleDocument sale_from_json(const Json& document) {
  Reader in(document, "sale", Reader::Unknown::ignore);
  SaleDocument sale;
  sale.currency = in.string("currency", 8);
  sale.receipt_id = in.string_or("receipt_id", "", 64);
  const bool discount_mode =
      in.choice("mode", {std::pair{std::string_view("discount"), true}, std::pair{std::string_view("payment"), false}});
  const Json& lines = in.array("lines", kMaxLines);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Reader l(lines[i], index_path(in.path_of("lines"), i), Reader::Unknown::ignore);
    SoldLine s;
    s.counted = l.boolean_or("counted", true);
    s.qty_milli = l.integer("qty_milli", 1, 1'000'000'000);
    if (s.counted && s.qty_milli % 1000 != 0) fail(l.path_of("qty_milli"), "a counted line must hold whole units");
    if (!l.boolean_or("out_of_scope", false)) s.vat_bp = l.integer("vat_bp", 0, 10000);
    s.gross = l.integer("gross", 0, kMaxAmount);
    s.discount = l.integer("discount", 0, s.gross);
    s.gross_after = l.integer("gross_after", 0, s.gross);
    s.vat = l.integer("vat", 0, s.gross_after);
    s.points_redeemed = l.integer("points_redeemed", 0, kMaxPoints);
    s.points_earned = l.integer("points_earned", 0, kMaxPoints);
    const Minor expected_after = discount_mode ? s.gross - s.discount : s.gross;
    if (s.gross_after != expected_after)
      fail(l.path_of("gross_after"), "must be " + std::to_string(expected_after) + " (gross less the discount in " +
                                         (discount_mode ? "discount" : "payment") + " mode)");
    sale.lines.push_back(s);
  }
  return sale;
}

std::vector<ReturnedQuantity> returned_lines_from_json(Reader& in, std::string_view key) {
  const Json& lines = in.array(key, kMaxLines);
  if (lines.empty()) fail(in.path_of(key), "must have at least one line");
  std::vector<ReturnedQuantity> request;
  request.reserve(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Reader l(lines[i], index_path(in.path_of(key), i));
    ReturnedQuantity r;
    r.line = static_cast<std::size_t>(l.integer("line", 0, static_cast<std::int64_t>(kMaxLines) - 1));
    const bool has_qty = l.has("qty");
    if (has_qty == l.has("qty_milli"))
      fail(l.path_of("qty"), "give either qty (counted goods) or qty_milli (weighed goods)");
    r.qty_milli = has_qty ? l.integer("qty", 1, 1'000'000) * 1000 : l.integer("qty_milli", 1, 1'000'000'000);
    l.finish();
    request.push_back(r);
  }
  return request;
}

ReturnDocument return_from_json(const Json& document) {
  Reader in(document, "return");
  ReturnDocument out;
  out.member_balance = in.optional_integer("member_balance", -kMaxPoints, kMaxPoints);
  const Json& steps = in.array("steps", 1000);
  if (steps.empty()) fail(in.path_of("steps"), "must have at least one step");
  for (std::size_t s = 0; s < steps.size(); ++s) {
    Reader step(steps[s], index_path(in.path_of("steps"), s));
    std::vector<ReturnedQuantity> request = returned_lines_from_json(step, "lines");
    step.finish();
    out.steps.push_back(std::move(request));
  }
  in.finish();
  return out;
}

OrderedJson refund_to_json(const Refund& r) {
  Ordered lines = Ordered::array();
  for (const LineRefund& l : r.lines) {
    Ordered j;
    j["line"] = l.line;
    j["qty_milli"] = l.qty_milli;
    j["money"] = l.money;
    j["gross"] = l.gross;
    j["vat"] = l.vat;
    j["vat_recomputed"] = l.vat_recomputed;
    j["vat_cumulative"] = l.vat_cumulative;
    j["discount_share"] = l.discount_share;
    j["points_returned"] = l.points_returned;
    j["points_clawed_back"] = l.points_clawed_back;
    lines.push_back(j);
  }
  Ordered out;
  out["lines"] = lines;
  out["money"] = r.money;
  out["vat"] = r.vat;
  out["points_returned"] = r.points_returned;
  out["points_clawed_back"] = r.points_clawed_back;
  out["shortfall_points"] = r.shortfall_points;
  out["shortfall_deduction"] = r.shortfall_deduction;
  out["money_paid"] = r.money_paid;
  out["balance_change"] = r.balance_change;
  out["returned_after"] = r.returned_after;
  return out;
}

}  // namespace loyalty::sync
