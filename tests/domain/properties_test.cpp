// Property tests: docs/redemption.md section 3 over many seeded random baskets.
//
// Every basket is generated from its own seed (base seed + index), so a failure names the
// one seed that reproduces it: LOYALTY_SEED=<seed> LOYALTY_ITERATIONS=1. The base seed is
// printed at the start; LOYALTY_ITERATIONS raises the count for soak runs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>

#include "domain/allocate.hpp"
#include "domain/refund.hpp"
#include "tests/domain/fixtures.hpp"
#include "tests/env.hpp"

using namespace loyalty::domain;
using loyalty::testing::env_number;

namespace {

struct Case {
  Rulebook rules;
  Basket basket;
  Member member;
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  Case make() {
    Case c;
    Rulebook& r = c.rules;
    static constexpr const char* kCurrencies[] = {"JPY", "EUR", "BHD"};  // exponents 0, 2, 3
    r.currency = *find_currency(one_of(kCurrencies));
    static constexpr Ratio kValues[] = {{1, 1}, {100, 1}, {1, 2}, {10, 1}, {3, 7}, {1000, 1}, {5, 3}};
    r.redemption.point_value = one_of(kValues);
    static constexpr Points kSteps[] = {1, 1, 5, 10, 100};
    r.redemption.step = one_of(kSteps);
    r.redemption.cap_bp = chance(3) ? 10000 : pick(0, 10000);
    r.redemption.min_cash = chance(2) ? 0 : pick(0, 50000);
    r.redemption.unit_floor = chance(2) ? 0 : pick(0, 300);
    r.redemption.mode = chance(4) ? RedemptionMode::payment : RedemptionMode::discount;
    r.redemption.vat_mode = chance(2) ? VatMode::per_rate : VatMode::per_line;
    r.redemption.weight = chance(3) ? AllocationWeight::net : AllocationWeight::gross;
    r.refund.vat = chance(2) ? RefundVat::cumulative : RefundVat::recompute;
    r.cash_increment = chance(3) ? 5 : 1;
    static constexpr EarnBase kBases[] = {EarnBase::gross_after, EarnBase::net_after, EarnBase::gross_before};
    r.earn = EarnRules{10000, pick(0, 1000), one_of(kBases)};
    r.categories["tobacco"] = CategoryRule{false, false, std::nullopt};
    r.categories["deposit"] = CategoryRule{false, false, std::nullopt};
    r.categories["promo"] = CategoryRule{false, true, pick(0, 2000)};
    r.categories["coffee"] = CategoryRule{true, true, pick(0, 3000)};
    r.skus["floor-sku"] = SkuRule{true, true, std::nullopt, pick(0, 20000)};
    r.tiers = {Tier{"gold", 15000}};

    Basket& b = c.basket;
    b.tender = chance(2) ? Tender::cash : Tender::card;
    const auto lines = pick(1, 20);
    static constexpr std::int64_t kRates[] = {0, 500, 700, 810, 1000, 1900, 2000, 2200, 2500};
    static constexpr const char* kCategories[] = {"grocery", "coffee", "tobacco", "deposit", "promo", "grocery"};
    for (std::int64_t i = 0; i < lines; ++i) {
      Line line;
      line.category = one_of(kCategories);
      line.sku = chance(6) ? "floor-sku" : "sku-" + std::to_string(i);
      line.unit_price = chance(10) ? pick(0, 3) : pick(1, 500000);
      line.counted = !chance(4);
      line.qty_milli = line.counted ? 1000 * pick(1, 12) : pick(1, 5000);
      line.vat_bp = chance(12) ? std::nullopt : std::optional<std::int64_t>(one_of(kRates));
      const Minor amount = static_cast<Minor>(rdiv(Wide{line.unit_price} * line.qty_milli, 1000));
      line.prior_discount = chance(5) ? pick(0, amount) : 0;
      b.lines.push_back(line);
    }
    c.member = Member{"m", chance(3) ? "gold" : "", pick(0, 200000), MemberStatus::active};
    b.redeem = chance(4) ? c.member.balance + pick(0, 1000) : pick(0, 200000);
    return c;
  }

 private:
  std::int64_t pick(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  template <class T, std::size_t N>
  const T& one_of(const T (&items)[N]) {
    return items[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(N) - 1))];
  }
  bool chance(int one_in) { return pick(1, one_in) == 1; }

  std::mt19937_64 rng_;
};

// Independent recomputation of what the limits must be, from the basket alone.
struct Expected {
  Minor total = 0;
  Minor eligible = 0;
  Minor headroom = 0;
};

Expected expected_sums(const Case& c, const Quote& q) {
  Expected e;
  for (std::size_t i = 0; i < c.basket.lines.size(); ++i) {
    const Line& line = c.basket.lines[i];
    const Minor gross = static_cast<Minor>(rdiv(Wide{line.unit_price} * line.qty_milli, 1000)) - line.prior_discount;
    e.total += gross;
    const bool redeem = line.category != "tobacco" && line.category != "deposit" && line.category != "promo";
    CHECK(q.lines[i].redeem_ok == redeem);
    if (!redeem) continue;
    e.eligible += gross;
    e.headroom += std::max<Minor>(0, gross - q.lines[i].floor);
  }
  return e;
}

void check_quote(const Case& c, const Quote& q) {
  const Rulebook& r = c.rules;
  const RedemptionRules& rr = r.redemption;
  const Ratio v = rr.point_value;
  const bool discount_mode = rr.mode == RedemptionMode::discount;
  const Expected e = expected_sums(c, q);
  CHECK(q.total == e.total);
  CHECK(q.eligible == e.eligible);

  // 1: the money value is exact, whole points, multiples of the step, within request and balance.
  Minor allocated = 0;
  for (const QuoteLine& line : q.lines) allocated += line.discount;
  CHECK(allocated == q.discount);
  CHECK(Wide{q.discount} * v.den == Wide{q.redeemed} * v.num);
  CHECK(q.redeemed % rr.step == 0);
  CHECK(q.redeemed <= c.basket.redeem);
  CHECK(q.redeemed <= c.member.balance);
  // And the largest such amount: one more redeemable unit would break a limit.
  const Minor limit =
      std::min({mul_div_floor(c.basket.redeem, v.num, v.den, "t"), mul_div_floor(c.member.balance, v.num, v.den, "t"),
                mul_div_floor(e.eligible, rr.cap_bp, 10000, "t"), std::max<Minor>(0, e.total - rr.min_cash),
                discount_mode ? e.headroom : e.eligible});
  const std::int64_t unit = lcm(rr.step, v.den / gcd(v.num, v.den));
  CHECK(Wide{q.redeemed + unit} * v.num > Wide{limit} * v.den);

  // 2 and 3: eligibility, floors, cap and minimum cash.
  for (const QuoteLine& line : q.lines) {
    if (!line.redeem_ok) CHECK(line.discount == 0);
    if (line.redeem_ok && discount_mode) CHECK(line.gross_after >= std::min(line.floor, line.gross));
    CHECK(line.discount >= 0);
    CHECK(line.discount <= line.gross);
  }
  CHECK(Wide{q.discount} * 10000 <= Wide{e.eligible} * rr.cap_bp);
  CHECK(e.total - q.discount >= std::min(rr.min_cash, e.total));

  // 4: pinned lines sit at their cap, unpinned lines within one unit of their exact share.
  std::vector<Wide> weights(q.lines.size(), 0);
  std::vector<Minor> caps(q.lines.size(), 0);
  Minor rest = q.discount;
  Wide weight_sum = 0;
  for (std::size_t i = 0; i < q.lines.size(); ++i) {
    const QuoteLine& line = q.lines[i];
    const Line& bl = c.basket.lines[i];
    if (!line.redeem_ok) continue;
    const Minor cap = discount_mode ? std::max<Minor>(0, line.gross - line.floor) : line.gross;
    caps[i] = cap;
    weights[i] = rr.weight == AllocationWeight::gross
                     ? line.gross
                     : line.gross - (bl.vat_bp ? vat_from_gross(line.gross, *bl.vat_bp) : 0);
    if (line.pinned) {
      CHECK(line.discount == cap);
      rest -= cap;
    } else if (weights[i] > 0 && cap > 0) {
      weight_sum += weights[i];
    }
  }
  for (std::size_t i = 0; i < q.lines.size(); ++i) {
    const QuoteLine& line = q.lines[i];
    if (!line.redeem_ok || line.pinned || weights[i] == 0 || caps[i] == 0 || weight_sum == 0) continue;
    const Wide scaled = Wide{line.discount} * weight_sum - Wide{rest} * weights[i];  // (d - exact) * Wsum
    CHECK(scaled < weight_sum);
    CHECK(-scaled < weight_sum);
  }

  // 5 and 6: VAT after the discount, rate totals.
  std::map<std::int64_t, Minor> gross_by_rate, vat_by_rate;
  Minor rate_total = 0;
  for (std::size_t i = 0; i < q.lines.size(); ++i) {
    const QuoteLine& line = q.lines[i];
    const Line& bl = c.basket.lines[i];
    CHECK(line.gross_after == (discount_mode ? line.gross - line.discount : line.gross));
    CHECK(line.gross_after == line.net + line.vat);
    if (!bl.vat_bp) {
      CHECK(line.vat == 0);
      continue;
    }
    const std::int64_t rate = *bl.vat_bp;
    gross_by_rate[rate] += line.gross_after;
    vat_by_rate[rate] += line.vat;
    if (rr.vat_mode == VatMode::per_line) {
      const Wide deviation = Wide{2} * line.vat * (10000 + rate) - Wide{2} * line.gross_after * rate;
      CHECK(deviation <= 10000 + rate);
      CHECK(-deviation <= 10000 + rate);
    }
  }
  if (rr.vat_mode == VatMode::per_rate)
    for (const auto& [rate, gross] : gross_by_rate) CHECK(vat_by_rate[rate] == vat_from_gross(gross, rate));
  for (const RateTotal& rate : q.rates) {
    rate_total += rate.gross;
    CHECK(rate.gross == rate.net + rate.vat);
  }
  CHECK(rate_total == (discount_mode ? e.total - q.discount : e.total));

  // 7: fiscal sub-lines.
  for (std::size_t i = 0; i < q.lines.size(); ++i) {
    const Line& bl = c.basket.lines[i];
    if (!bl.counted) continue;
    const QuoteLine& line = q.lines[i];
    std::int64_t units = 0;
    Minor sum = 0;
    for (const FiscalPart& part : line.fiscal_parts()) {
      units += part.units;
      sum += part.units * part.unit_price;
    }
    CHECK(units == bl.units());
    CHECK(sum == line.gross_after);
    if (line.fiscal_count == 2) CHECK(line.fiscal[1].unit_price == line.fiscal[0].unit_price + 1);
  }

  // 8: points attribution.
  Points redeemed = 0, earned = 0;
  for (const QuoteLine& line : q.lines) {
    redeemed += line.points_redeemed;
    earned += line.points_earned;
    if (!line.earn_ok) CHECK(line.points_earned == 0);
  }
  CHECK(redeemed == q.redeemed);
  CHECK(earned == q.earned);

  // Cash rounding touches only the cash total.
  CHECK(q.payable == e.total - q.discount);
  if (c.basket.tender == Tender::cash && r.cash_increment > 1) {
    CHECK(q.cash_payable % r.cash_increment == 0);
    CHECK(2 * std::abs(q.cash_rounding) <= r.cash_increment);
  } else {
    CHECK(q.cash_rounding == 0);
  }
}

// 9: returning everything, in random steps, gives back exactly each line's amounts.
void check_returns(const Case& c, const Quote& q, std::mt19937_64& rng) {
  const std::vector<SoldLine> sale = sold_lines(c.basket, q);
  std::vector<std::int64_t> returned(sale.size(), 0);
  std::vector<Minor> money(sale.size(), 0), vat(sale.size(), 0), discount(sale.size(), 0);
  std::vector<Points> points(sale.size(), 0), clawed(sale.size(), 0);
  for (;;) {
    std::vector<ReturnedQuantity> request;
    for (std::size_t i = 0; i < sale.size(); ++i) {
      const std::int64_t left = sale[i].qty_milli - returned[i];
      if (left == 0 || rng() % 2 == 0) continue;
      const std::int64_t step = sale[i].counted ? 1000 : 1;
      const std::int64_t steps = left / step;
      const auto take = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(steps)) + 1;
      request.push_back({i, take * step});
    }
    if (request.empty()) {
      bool done = true;
      for (std::size_t i = 0; i < sale.size(); ++i) done = done && returned[i] == sale[i].qty_milli;
      if (done) break;
      continue;
    }
    const Refund r = refund(c.rules.refund, c.rules.redemption.point_value, sale, returned, request, std::nullopt);
    for (const LineRefund& lr : r.lines) {
      money[lr.line] += lr.money;
      vat[lr.line] += lr.vat_cumulative;
      discount[lr.line] += lr.discount_share;
      points[lr.line] += lr.points_returned;
      clawed[lr.line] += lr.points_clawed_back;
      CHECK(lr.money >= 0);
      CHECK(lr.points_returned >= 0);
    }
    returned = r.returned_after;
  }
  for (std::size_t i = 0; i < sale.size(); ++i) {
    CAPTURE(i);
    CHECK(money[i] == sale[i].gross - sale[i].discount);
    CHECK(vat[i] == sale[i].vat);
    CHECK(discount[i] == sale[i].discount);
    CHECK(points[i] == sale[i].points_redeemed);
    CHECK(clawed[i] == sale[i].points_earned);
  }
}

}  // namespace

TEST_CASE("every invariant of docs/redemption.md section 3 holds on seeded random baskets") {
  const std::uint64_t base = env_number("LOYALTY_SEED", std::random_device{}());
  const std::uint64_t iterations = env_number("LOYALTY_ITERATIONS", 10000);
  std::printf("property test: LOYALTY_SEED=%llu LOYALTY_ITERATIONS=%llu\n", static_cast<unsigned long long>(base),
              static_cast<unsigned long long>(iterations));
  std::uint64_t redeeming = 0;
  std::uint64_t pinned = 0;
  for (std::uint64_t k = 0; k < iterations; ++k) {
    const std::uint64_t seed = base + k;
    INFO("reproduce with LOYALTY_SEED=", seed, " LOYALTY_ITERATIONS=1");
    const Case c = Generator(seed).make();
    const Quote q = quote(c.rules, c.basket, &c.member);
    check_quote(c, q);
    std::mt19937_64 rng(seed);
    check_returns(c, q, rng);
    redeeming += q.redeemed > 0 ? 1U : 0U;
    pinned += std::any_of(q.lines.begin(), q.lines.end(), [](const QuoteLine& l) { return l.pinned; }) ? 1U : 0U;
  }
  // The generator must actually exercise redemption and water-filling, not just pass.
  if (iterations >= 1000) {
    CHECK(redeeming > iterations / 4);
    CHECK(pinned > iterations / 50);
  }
}
