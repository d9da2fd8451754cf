// Earn rules: rates, tiers, campaigns at the edges of their windows, exclusions, stacking.
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>

#include "domain/earn.hpp"
#include "domain/refund.hpp"
#include "tests/domain/fixtures.hpp"

using namespace loyalty::domain;
using namespace loyalty::domain::testing;

namespace {

// 1 point per 1.00 paid (rate 1 over 100 minor units), no redemption.
Rulebook plain_rules() {
  Rulebook r = cent_rulebook("EUR");
  r.tiers = {Tier{"silver", 10000}, Tier{"gold", 15000}};
  return r;
}

Campaign multiplier(std::string id, std::int64_t bp, LocalDateTime starts, LocalDateTime ends) {
  Campaign c;
  c.id = std::move(id);
  c.kind = Campaign::Kind::multiplier;
  c.multiplier_bp = bp;
  c.starts = starts;
  c.ends = ends;
  return c;
}

Campaign bonus(std::string id, Points points, Minor min_spend) {
  Campaign c;
  c.id = std::move(id);
  c.kind = Campaign::Kind::bonus_points;
  c.bonus_points = points;
  c.min_spend = min_spend;
  c.starts = {2026, 1, 1, 0, 0, 0};
  c.ends = {2027, 1, 1, 0, 0, 0};
  return c;
}

Basket basket_at(UnixSeconds at, std::vector<Line> lines) {
  Basket b;
  b.at = at;
  b.lines = std::move(lines);
  return b;
}

Points earned(const Rulebook& rules, const Basket& basket, const Member* member) {
  return quote(rules, basket, member).earned;
}

}  // namespace

TEST_CASE("a SKU rate overrides its category's rate, which overrides the base rate") {
  Rulebook rules = plain_rules();
  rules.categories["coffee"] = CategoryRule{true, true, 3};
  rules.skus["espresso-1kg"] = SkuRule{true, true, 5, std::nullopt};
  const Member m = member_with(0);
  CHECK(earned(rules, basket_at(0, {counted("milk", "10.00", 1, 700)}), &m) == 10);
  CHECK(earned(rules, basket_at(0, {counted("arabica", "10.00", 1, 700, "coffee")}), &m) == 30);
  CHECK(earned(rules, basket_at(0, {counted("espresso-1kg", "10.00", 1, 700, "coffee")}), &m) == 50);
}

TEST_CASE("earning is one floor over the whole receipt, not per line") {
  const Rulebook rules = plain_rules();
  const Member m = member_with(0);
  // Three lines of 0.99 each: per line that would be 0 points, over the receipt 2.97 -> 2.
  const Quote q = quote(
      rules, basket_at(0, {counted("a", "0.99", 1, 700), counted("b", "0.99", 1, 700), counted("c", "0.99", 1, 700)}),
      &m);
  CHECK(q.earned == 2);
  CHECK(q.lines[0].points_earned + q.lines[1].points_earned + q.lines[2].points_earned == 2);
}

TEST_CASE("a tier multiplier scales every earning line") {
  const Rulebook rules = plain_rules();
  const Basket b = basket_at(0, {counted("milk", "33.33", 1, 700)});
  const Member gold = member_with(0, "gold");
  const Member silver = member_with(0, "silver");
  CHECK(earned(rules, b, &silver) == 33);
  CHECK(earned(rules, b, &gold) == 49);  // floor(33.33 x 1.5)
  const Quote anonymous = quote(rules, b, nullptr);
  CHECK(anonymous.earned == 0);  // nobody's account would receive them
  CHECK(anonymous.would_earn == 33);
  for (const QuoteLine& line : anonymous.lines) CHECK(line.points_earned == 0);
  CHECK(quote(rules, b, &silver).would_earn == 0);
}

TEST_CASE("excluded categories earn nothing, even inside a campaign that covers every line") {
  Rulebook rules = plain_rules();
  rules.categories["tobacco"] = CategoryRule{false, false, std::nullopt};
  rules.categories["lottery"] = CategoryRule{false, false, std::nullopt};
  rules.campaigns = {multiplier("double", 20000, {2026, 1, 1, 0, 0, 0}, {2027, 1, 1, 0, 0, 0})};
  const Member m = member_with(1000);
  Basket b = basket_at(utc(2026, 6, 1, 12, 0),
                       {counted("cigarettes", "8.00", 1, 1900, "tobacco"),
                        counted("ticket", "2.00", 1, std::nullopt, "lottery"), counted("bread", "3.00", 1, 700)});
  const Quote q = quote(rules, b, &m);
  CHECK(q.earned == 6);  // only the bread, doubled
  CHECK(q.lines[0].points_earned == 0);
  CHECK(q.lines[1].points_earned == 0);

  b.redeem = 1000;
  const Quote redeeming = quote(rules, b, &m);
  CHECK(redeeming.redeemed == 300);  // only the bread can take points
  CHECK(redeeming.lines[0].discount == 0);
  CHECK(redeeming.lines[1].discount == 0);
  CHECK(redeeming.earned == 0);  // and then nothing is paid in money on an earning line
}

TEST_CASE("a campaign window is inclusive at its start and exclusive at its end, in store local time") {
  Rulebook rules = plain_rules();
  rules.zone = *parse_posix_tz("MSK-3", nullptr);
  rules.campaigns = {multiplier("black-friday", 30000, {2026, 11, 27, 0, 0, 0}, {2026, 11, 28, 0, 0, 0})};
  const Member m = member_with(0);
  const auto at = [&](UnixSeconds t) { return earned(rules, basket_at(t, {counted("tv", "100.00", 1, 2000)}), &m); };
  CHECK(at(utc(2026, 11, 26, 20, 59, 59)) == 100);  // 23:59:59 local on Thursday
  CHECK(at(utc(2026, 11, 26, 21, 0, 0)) == 300);    // 00:00:00 local on Friday
  CHECK(at(utc(2026, 11, 27, 20, 59, 59)) == 300);
  CHECK(at(utc(2026, 11, 27, 21, 0, 0)) == 100);
}

TEST_CASE("campaign windows across daylight-saving changes follow the wall clock") {
  Rulebook rules = plain_rules();
  rules.zone = *parse_posix_tz("CET-1CEST,M3.5.0,M10.5.0/3", nullptr);
  const Member m = member_with(0);
  const auto at = [&](UnixSeconds t) { return earned(rules, basket_at(t, {counted("tv", "100.00", 1, 1900)}), &m); };

  SUBCASE("a night window over the spring change is one hour shorter") {
    // 22:00 CET on the 28th is 21:00 UTC; 04:00 CEST on the 29th is 02:00 UTC.
    rules.campaigns = {multiplier("night", 20000, {2026, 3, 28, 22, 0, 0}, {2026, 3, 29, 4, 0, 0})};
    CHECK(at(utc(2026, 3, 28, 20, 59, 59)) == 100);
    CHECK(at(utc(2026, 3, 28, 21, 0, 0)) == 200);
    CHECK(at(utc(2026, 3, 29, 1, 59, 59)) == 200);
    CHECK(at(utc(2026, 3, 29, 2, 0, 0)) == 100);
  }
  SUBCASE("a window starting in the skipped hour starts when the clock reads past it") {
    rules.campaigns = {multiplier("gap", 20000, {2026, 3, 29, 2, 30, 0}, {2026, 3, 29, 12, 0, 0})};
    CHECK(at(utc(2026, 3, 29, 1, 29, 59)) == 100);  // 03:29:59 CEST
    CHECK(at(utc(2026, 3, 29, 1, 30, 0)) == 200);   // 03:30:00 CEST
  }
  SUBCASE("a window ending in the repeated hour ends at its first occurrence and does not reopen") {
    rules.campaigns = {multiplier("fold", 20000, {2026, 10, 24, 12, 0, 0}, {2026, 10, 25, 2, 30, 0})};
    CHECK(at(utc(2026, 10, 25, 0, 29, 59)) == 200);  // 02:29:59 CEST
    CHECK(at(utc(2026, 10, 25, 0, 30, 0)) == 100);   // 02:30:00 CEST
    CHECK(at(utc(2026, 10, 25, 1, 15, 0)) == 100);   // 02:15:00 CET, the second time round
  }
}

TEST_CASE("campaign multipliers do not compound: the highest applies, times the tier") {
  Rulebook rules = plain_rules();
  Campaign all = multiplier("double-everything", 20000, {2026, 1, 1, 0, 0, 0}, {2027, 1, 1, 0, 0, 0});
  Campaign coffee = multiplier("triple-coffee", 30000, {2026, 1, 1, 0, 0, 0}, {2027, 1, 1, 0, 0, 0});
  coffee.categories = {"coffee"};
  rules.campaigns = {all, coffee};
  const Basket b =
      basket_at(utc(2026, 6, 1, 0, 0), {counted("beans", "10.00", 1, 700, "coffee"), counted("milk", "10.00", 1, 700)});
  const Member plain = member_with(0);
  const Quote q = quote(rules, b, &plain);
  CHECK(q.lines[0].points_earned == 30);  // x3, not x6
  CHECK(q.lines[1].points_earned == 20);
  CHECK(q.earned == 50);
  REQUIRE(q.campaigns.size() == 2);
  CHECK(q.campaigns[0].id == "double-everything");
  CHECK(q.campaigns[0].lines == std::vector<std::size_t>{1});
  CHECK(q.campaigns[1].id == "triple-coffee");
  CHECK(q.campaigns[1].lines == std::vector<std::size_t>{0});

  const Member gold = member_with(0, "gold");
  CHECK(earned(rules, b, &gold) == 75);  // 1.5 x (30 + 20)
}

TEST_CASE("a tier-only campaign reaches only members of that tier") {
  Rulebook rules = plain_rules();
  Campaign c = multiplier("gold-week", 20000, {2026, 1, 1, 0, 0, 0}, {2027, 1, 1, 0, 0, 0});
  c.tiers = {"gold"};
  rules.campaigns = {c};
  const Basket b = basket_at(utc(2026, 6, 1, 0, 0), {counted("milk", "10.00", 1, 700)});
  const Member gold = member_with(0, "gold");
  const Member silver = member_with(0, "silver");
  CHECK(earned(rules, b, &gold) == 30);  // 10 x 1.5 x 2
  CHECK(earned(rules, b, &silver) == 10);
  CHECK(quote(rules, b, nullptr).would_earn == 10);
}

TEST_CASE("bonus campaigns add up, each needing its minimum spend after points") {
  Rulebook rules = plain_rules();
  Campaign coffee = bonus("coffee-100", 100, money("20.00"));
  coffee.categories = {"coffee"};
  Campaign any = bonus("visit-25", 25, 0);
  rules.campaigns = {coffee, any};
  const Member m = member_with(1000);
  Basket b =
      basket_at(utc(2026, 6, 1, 0, 0), {counted("beans", "12.00", 2, 700, "coffee"), counted("milk", "6.00", 1, 700)});

  SUBCASE("both qualify") {
    const Quote q = quote(rules, b, &m);
    CHECK(q.earned == 30 + 100 + 25);
    CHECK(q.earned_bonus == 125);
    CHECK(q.lines[0].points_earned + q.lines[1].points_earned == q.earned);
  }
  SUBCASE("points spent on the coffee bring its paid amount below the minimum") {
    b.redeem = 1000;  // 10.00 off, spread in proportion: coffee pays 24.00 - 8.00 = 16.00
    const Quote q = quote(rules, b, &m);
    CHECK(q.redeemed == 1000);
    CHECK(q.earned == 20 + 25);
    CHECK(q.earned_bonus == 25);
  }
}

TEST_CASE("returning every unit claws back exactly the points earned, bonuses included") {
  Rulebook rules = plain_rules();
  rules.campaigns = {bonus("visit-25", 25, 0),
                     multiplier("double", 20000, {2026, 1, 1, 0, 0, 0}, {2027, 1, 1, 0, 0, 0})};
  const Member m = member_with(0, "gold");
  const Basket b = basket_at(utc(2026, 6, 1, 0, 0),
                             {counted("beans", "12.99", 3, 700, "coffee"), weighed("cheese", "21.90", 437, 700)});
  const Quote q = quote(rules, b, &m);
  const std::vector<SoldLine> sale = sold_lines(b, q);
  std::vector<std::int64_t> returned(2, 0);
  Points clawed = 0;
  for (const ReturnedQuantity step :
       {ReturnedQuantity{0, 1000}, ReturnedQuantity{1, 100}, ReturnedQuantity{0, 2000}, ReturnedQuantity{1, 337}}) {
    const ReturnedQuantity request[] = {step};
    const Refund r = refund(rules.refund, rules.redemption.point_value, sale, returned, request, std::nullopt);
    clawed += r.points_clawed_back;
    returned = r.returned_after;
  }
  CHECK(clawed == q.earned);
}

TEST_CASE("a blocked member neither redeems nor earns, and the quote says why") {
  const Rulebook rules = plain_rules();
  Member m = member_with(5000);
  m.status = MemberStatus::blocked;
  Basket b = basket_at(0, {counted("milk", "10.00", 1, 700)});
  b.redeem = 500;
  const Quote q = quote(rules, b, &m);
  CHECK(q.redeemed == 0);
  CHECK(q.earned == 0);
  CHECK(q.binding == std::vector<Limit>{Limit::blocked});
  const Quote anonymous = quote(rules, b, nullptr);
  CHECK(anonymous.redeemed == 0);
  CHECK(anonymous.binding == std::vector<Limit>{Limit::no_member});
}

TEST_CASE("a balance or a request worth more than 64 bits of money still quotes, bounded by the receipt") {
  Rulebook rules = cent_rulebook("EUR");
  rules.redemption.point_value = {10000, 1};               // 100.00 EUR a point
  const Member rich = member_with(1'000'000'000'000'000);  // 10^15 points: 10^19 cents
  Basket b = basket_at(0, {counted("car", "1000000.00", 1, 1900)});
  const Quote none = quote(rules, b, &rich);  // redeeming nothing
  CHECK(none.redeemed == 0);
  CHECK(none.limits.balance == std::numeric_limits<std::int64_t>::max());
  b.redeem = 1'000'000'000'000'000;
  const Quote most = quote(rules, b, &rich);
  CHECK(most.limits.request == std::numeric_limits<std::int64_t>::max());
  CHECK(most.redeemed > 0);
  CHECK(most.redeemed * 10000 <= most.limits.cap);  // the cap binds, as it would for any large balance
  CHECK(std::find(most.binding.begin(), most.binding.end(), Limit::balance) == most.binding.end());
}

TEST_CASE("earning survives weights whose products need more than 128 bits") {
  Rulebook rules = plain_rules();
  rules.earn = EarnRules{1000000, 999999, EarnBase::gross_before};
  rules.tiers = {Tier{"top", 1000000}};
  rules.campaigns = {multiplier("huge", 1000000, {2026, 1, 1, 0, 0, 0}, {2027, 1, 1, 0, 0, 0})};
  const Member m = member_with(0, "top");
  Line big = counted("yacht", "90000000000.00", 1, 2000);  // 9e12 minor units
  const Basket b = basket_at(utc(2026, 6, 1, 0, 0), {big, counted("rope", "1.00", 1, 2000)});
  const Quote q = quote(rules, b, &m);
  // floor(9000000000100 x 0.999999 x 100 x 100): the attribution's products reach 2^156.
  CHECK(q.earned == 89999910000999999);
  CHECK(q.lines[0].points_earned + q.lines[1].points_earned == q.earned);
}
