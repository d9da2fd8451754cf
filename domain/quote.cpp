#include "domain/quote.hpp"

#include <algorithm>
#include <map>

#include "domain/allocate.hpp"
#include "domain/earn.hpp"

namespace loyalty::domain {
namespace {

void check_rules(const Rulebook& rules) {
  const RedemptionRules& r = rules.redemption;
  if (r.point_value.num <= 0 || r.point_value.den <= 0) throw InvalidInput("point value must be positive");
  if (r.step <= 0) throw InvalidInput("redemption step must be positive");
  if (r.cap_bp < 0 || r.cap_bp > 10000) throw InvalidInput("redemption cap must be 0..10000 basis points");
  if (r.min_cash < 0 || r.unit_floor < 0) throw InvalidInput("minimum cash and unit floor must not be negative");
  if (rules.cash_increment <= 0) throw InvalidInput("cash increment must be positive");
  if (rules.earn.rate_den <= 0) throw InvalidInput("earn rate denominator must be positive");
}

std::string line_problem(std::size_t i, const char* what) { return "line " + std::to_string(i) + ": " + what; }

void check_line(const Line& line, std::size_t i) {
  if (line.qty_milli <= 0) throw InvalidInput(line_problem(i, "quantity must be positive"));
  if (line.counted && line.qty_milli % 1000 != 0) throw InvalidInput(line_problem(i, "counted quantity must be whole"));
  if (line.unit_price < 0) throw InvalidInput(line_problem(i, "unit price must not be negative"));
  if (line.prior_discount < 0) throw InvalidInput(line_problem(i, "prior discount must not be negative"));
  if (line.vat_bp && (*line.vat_bp < 0 || *line.vat_bp > 10000))
    throw InvalidInput(line_problem(i, "VAT rate must be 0..10000 basis points"));
}

// The least a line may be reduced to: the legal minimum price if the SKU has one, else the
// programme's floor per unit (per line for weighed goods). A legal minimum per kg is
// rounded up for weighed goods, since the law's minimum must not be undercut.
Minor line_floor(const Rulebook& rules, const Line& line, const SkuRule* sku) {
  if (sku != nullptr && sku->min_price) {
    if (line.counted) return checked_mul(*sku->min_price, line.units(), "legal minimum price");
    const Wide scaled = Wide{*sku->min_price} * line.qty_milli;
    return narrow((scaled + 999) / 1000, "legal minimum price");
  }
  return checked_mul(rules.redemption.unit_floor, line.units(), "unit floor");
}

// A SKU's rate overrides its category's, which overrides the base rate.
std::int64_t line_rate(const Rulebook& rules, const CategoryRule* category, const SkuRule* sku) {
  if (sku != nullptr && sku->earn_rate) return *sku->earn_rate;
  if (category != nullptr && category->earn_rate) return *category->earn_rate;
  return rules.earn.base_rate;
}

Minor line_vat(const Line& line, Minor gross) { return line.vat_bp ? vat_from_gross(gross, *line.vat_bp) : 0; }

void fill_fiscal(const Line& line, QuoteLine& q) {
  if (line.counted) {
    const std::int64_t units = line.units();
    const Minor low = q.gross_after / units;
    const std::int64_t dearer = q.gross_after % units;
    q.fiscal[0] = {units - dearer, low};
    q.fiscal[1] = {dearer, low + 1};
    q.fiscal_count = dearer > 0 ? 2 : 1;
    q.unit_price_after = low;
    return;
  }
  q.unit_price_after = narrow(rdiv(Wide{q.gross_after} * 1000, line.qty_milli), "unit price");
  q.unit_price_exact = rdiv(Wide{q.unit_price_after} * line.qty_milli, 1000) == q.gross_after;
}

void apply_vat(const Rulebook& rules, const Basket& basket, Quote& out) {
  const std::size_t n = basket.lines.size();
  if (rules.redemption.vat_mode == VatMode::per_line) {
    for (std::size_t i = 0; i < n; ++i) out.lines[i].vat = line_vat(basket.lines[i], out.lines[i].gross_after);
  } else {
    // One VAT amount per rate, then split to the lines of that rate by their gross.
    std::map<std::int64_t, std::vector<std::size_t>> by_rate;
    for (std::size_t i = 0; i < n; ++i)
      if (basket.lines[i].vat_bp) by_rate[*basket.lines[i].vat_bp].push_back(i);
    for (const auto& [rate, members] : by_rate) {
      Minor gross = 0;
      std::vector<Wide> weights;
      weights.reserve(members.size());
      for (std::size_t i : members) {
        gross = checked_add(gross, out.lines[i].gross_after, "gross per VAT rate");
        weights.push_back(out.lines[i].gross_after);
      }
      const std::vector<std::int64_t> split = apportion(vat_from_gross(gross, rate), weights);
      for (std::size_t k = 0; k < members.size(); ++k) out.lines[members[k]].vat = split[k];
    }
  }
  for (QuoteLine& q : out.lines) q.net = q.gross_after - q.vat;

  std::map<std::int64_t, RateTotal, std::greater<>> rates;
  RateTotal outside{std::nullopt, 0, 0, 0};
  for (std::size_t i = 0; i < n; ++i) {
    const QuoteLine& q = out.lines[i];
    RateTotal& total = basket.lines[i].vat_bp ? rates[*basket.lines[i].vat_bp] : outside;
    total.vat_bp = basket.lines[i].vat_bp;
    total.net += q.net;
    total.vat += q.vat;
    total.gross += q.gross_after;
  }
  for (auto& [rate, total] : rates) out.rates.push_back(total);
  if (outside.gross != 0 ||
      std::any_of(basket.lines.begin(), basket.lines.end(), [](const Line& l) { return !l.vat_bp; }))
    out.rates.push_back(outside);
}

}  // namespace

std::string_view to_string(Limit limit) {
  switch (limit) {
    case Limit::request: return "request";
    case Limit::balance: return "balance";
    case Limit::cap: return "cap";
    case Limit::min_cash: return "min_cash";
    case Limit::headroom: return "headroom";
    case Limit::blocked: return "blocked";
    case Limit::no_member: return "no_member";
  }
  return "unknown";
}

Minor line_gross(const Line& line) {
  const Minor amount = narrow(rdiv(Wide{line.unit_price} * line.qty_milli, 1000), "line amount");
  if (line.prior_discount > amount) throw InvalidInput("prior discount exceeds the line amount");
  return amount - line.prior_discount;
}

Quote quote(const Rulebook& rules, const Basket& basket, const Member* member) {
  check_rules(rules);
  if (basket.redeem < 0) throw InvalidInput("requested points must not be negative");
  const RedemptionRules& rr = rules.redemption;
  const bool discount_mode = rr.mode == RedemptionMode::discount;
  const std::size_t n = basket.lines.size();

  Quote out;
  out.lines.resize(n);
  out.requested = basket.redeem;

  // 2.1 and 2.2: line amounts, eligibility, floors and headroom.
  Minor headroom = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Line& line = basket.lines[i];
    check_line(line, i);
    QuoteLine& q = out.lines[i];
    q.gross = line_gross(line);
    out.total = checked_add(out.total, q.gross, "receipt total");
    const CategoryRule* category = rules.category(line.category);
    const SkuRule* sku = rules.sku(line.sku);
    q.redeem_ok = (category == nullptr || category->redeem) && (sku == nullptr || sku->redeem);
    q.earn_ok = (category == nullptr || category->earn) && (sku == nullptr || sku->earn);
    if (q.earn_ok) q.earn_rate = line_rate(rules, category, sku);
    if (!q.redeem_ok) continue;
    q.floor = line_floor(rules, line, sku);
    out.eligible = checked_add(out.eligible, q.gross, "eligible total");
    headroom = checked_add(headroom, std::max<Minor>(0, q.gross - q.floor), "headroom");
  }

  // 2.3: the money the points may cover, and the whole points that fit.
  const Ratio value = rr.point_value;
  LimitValues& limits = out.limits;
  // The request and the balance may be worth more than 64 bits hold (10^15 points at 100 EUR
  // each); the cap and the headroom, never above the receipt total, bound them anyway.
  limits.request = mul_div_floor_saturated(basket.redeem, value.num, value.den, "requested points");
  limits.balance =
      member ? mul_div_floor_saturated(std::max<Points>(0, member->balance), value.num, value.den, "balance") : 0;
  limits.cap = mul_div_floor(out.eligible, rr.cap_bp, 10000, "redemption cap");
  limits.min_cash = std::max<Minor>(0, out.total - rr.min_cash);
  limits.headroom = discount_mode ? headroom : out.eligible;
  const Minor all[] = {limits.request, limits.balance, limits.cap, limits.min_cash, limits.headroom};
  Minor most = *std::min_element(std::begin(all), std::end(all));
  if (member == nullptr) {
    out.binding = {Limit::no_member};
    most = 0;
  } else if (member->status == MemberStatus::blocked) {
    out.binding = {Limit::blocked};
    most = 0;
  } else {
    const Limit names[] = {Limit::request, Limit::balance, Limit::cap, Limit::min_cash, Limit::headroom};
    for (std::size_t k = 0; k < std::size(all); ++k)
      if (all[k] == most) out.binding.push_back(names[k]);
  }
  const std::int64_t smallest_whole = value.den / gcd(value.num, value.den);
  const std::int64_t unit = lcm(rr.step, smallest_whole);
  out.redeemed = mul_div_floor(most, value.den, value.num, "redeemable points") / unit * unit;
  out.discount = narrow(Wide{out.redeemed} * value.num / value.den, "points value");

  // 2.4: spread the money value across eligible lines.
  std::vector<Wide> weights(n, 0);
  std::vector<std::int64_t> caps(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const QuoteLine& q = out.lines[i];
    if (!q.redeem_ok) continue;
    weights[i] = rr.weight == AllocationWeight::gross ? q.gross : q.gross - line_vat(basket.lines[i], q.gross);
    caps[i] = discount_mode ? std::max<Minor>(0, q.gross - q.floor) : q.gross;
  }
  const Allocation allocation = allocate(out.discount, weights, caps);
  std::vector<Wide> discount_weights(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    QuoteLine& q = out.lines[i];
    q.discount = allocation.amounts[i];
    q.pinned = allocation.pinned[i];
    q.gross_after = discount_mode ? q.gross - q.discount : q.gross;
    discount_weights[i] = q.discount;
  }

  // 2.5 and 2.6: VAT after the discount, fiscal sub-lines.
  apply_vat(rules, basket, out);
  for (std::size_t i = 0; i < n; ++i) fill_fiscal(basket.lines[i], out.lines[i]);

  // 2.7: redeemed points per line, then earning on the money paid.
  const std::vector<std::int64_t> points = apportion(out.redeemed, discount_weights);
  for (std::size_t i = 0; i < n; ++i) out.lines[i].points_redeemed = points[i];
  Earning earning = compute_earning(rules, basket, member, out.lines);
  out.earned = earning.total;
  out.earned_bonus = earning.bonus;
  out.campaigns = std::move(earning.campaigns);
  if (member == nullptr) {
    // Points that no account receives are not earned: the journal, the ledger's books and the
    // receipt all say 0, and the figure is kept as what a member would have earned.
    out.would_earn = out.earned;
    out.earned = 0;
    out.earned_bonus = 0;
    for (QuoteLine& line : out.lines) line.points_earned = 0;
    for (AppliedCampaign& campaign : out.campaigns) campaign.bonus_points = 0;
  }

  // 2.8: cash rounding of the payable total only.
  out.payable = out.total - out.discount;
  out.cash_payable = out.payable;
  if (basket.tender == Tender::cash && rules.cash_increment > 1)
    out.cash_payable = narrow(rdiv(out.payable, rules.cash_increment) * rules.cash_increment, "cash payable");
  out.cash_rounding = out.cash_payable - out.payable;
  return out;
}

}  // namespace loyalty::domain
