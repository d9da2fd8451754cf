// The worked examples of docs/redemption.md section 6, to the minor unit.
#include <doctest/doctest.h>

#include <vector>

#include "domain/refund.hpp"
#include "tests/domain/fixtures.hpp"

using namespace loyalty::domain;
using namespace loyalty::domain::testing;

namespace {

// One row of a docs/redemption.md table, amounts as printed there.
struct Row {
  const char* gross;
  const char* floor;
  const char* discount;
  const char* gross_after;
  const char* net;
  const char* vat;
  Points points_redeemed;
  Points points_earned;
  const char* fiscal;
};

void check_rows(const Basket& basket, const Quote& q, const std::vector<Row>& rows) {
  REQUIRE(q.lines.size() == rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    const QuoteLine& line = q.lines[i];
    const Row& row = rows[i];
    CHECK(format_minor(line.gross, 2) == row.gross);
    if (line.redeem_ok) CHECK(format_minor(line.floor, 2) == row.floor);
    CHECK(format_minor(line.discount, 2) == row.discount);
    CHECK(format_minor(line.gross_after, 2) == row.gross_after);
    CHECK(format_minor(line.net, 2) == row.net);
    CHECK(format_minor(line.vat, 2) == row.vat);
    CHECK(line.points_redeemed == row.points_redeemed);
    CHECK(line.points_earned == row.points_earned);
    CHECK(fiscal_text(line, basket.lines[i]) == row.fiscal);
  }
}

void check_rate(const RateTotal& rate, std::optional<std::int64_t> vat_bp, const char* net, const char* vat,
                const char* gross) {
  CAPTURE(vat_bp.value_or(-1));
  CHECK(rate.vat_bp == vat_bp);
  CHECK(format_minor(rate.net, 2) == net);
  CHECK(format_minor(rate.vat, 2) == vat);
  CHECK(format_minor(rate.gross, 2) == gross);
}

// The limits line of an example: "Limits (money): request ..., balance ..., cap ...".
void check_limits(const Quote& q, const char* request, const char* balance, const char* cap, const char* min_cash,
                  const char* headroom) {
  CHECK(format_minor(q.limits.request, 2) == request);
  CHECK(format_minor(q.limits.balance, 2) == balance);
  CHECK(format_minor(q.limits.cap, 2) == cap);
  CHECK(format_minor(q.limits.min_cash, 2) == min_cash);
  CHECK(format_minor(q.limits.headroom, 2) == headroom);
}

Basket e1_basket() {
  Basket b;
  b.redeem = 300;
  b.lines = {counted("Milk 1 l", "89.90", 3, 1000), counted("Coffee beans 1 kg", "1299.00", 1, 2200),
             weighed("Apples", "129.99", 1234, 1000)};
  return b;
}

}  // namespace

TEST_CASE("E1: RU 2026, 22 % and 10 %, 300 points requested under a 30 % cap") {
  const Rulebook rules = ru_rulebook(3000);
  const Basket basket = e1_basket();
  const Member member = member_with(1000);
  const Quote q = quote(rules, basket, &member);

  check_rows(basket, q,
             {
                 {"269.70", "0.03", "46.79", "222.91", "202.65", "20.26", 47, 11, "2x74.30 + 1x74.31"},
                 {"1299.00", "0.01", "225.38", "1073.62", "880.02", "193.60", 225, 53, "1x1073.62"},
                 {"160.41", "0.01", "27.83", "132.58", "120.53", "12.05", 28, 7, "107.44/kg"},
             });
  CHECK(q.lines[2].unit_price_exact);
  REQUIRE(q.rates.size() == 2);
  check_rate(q.rates[0], 2200, "880.02", "193.60", "1073.62");
  check_rate(q.rates[1], 1000, "323.18", "32.31", "355.49");
  check_limits(q, "300.00", "1000.00", "518.73", "1729.11", "1729.06");
  CHECK(q.binding == std::vector<Limit>{Limit::request});
  CHECK(q.redeemed == 300);
  CHECK(format_minor(q.discount, 2) == "300.00");
  CHECK(format_minor(q.total, 2) == "1729.11");
  CHECK(format_minor(q.payable, 2) == "1429.11");
  CHECK(q.earned == 71);
}

TEST_CASE("E1 earn-base variants: net after points earns 60, gross before points earns 86") {
  const Basket basket = e1_basket();
  const Member member = member_with(1000);

  Rulebook net = ru_rulebook(3000);
  net.earn.base = EarnBase::net_after;
  const Quote qn = quote(net, basket, &member);
  CHECK(qn.redeemed == 300);
  CHECK(qn.earned == 60);
  CHECK(qn.lines[0].points_earned == 10);
  CHECK(qn.lines[1].points_earned == 44);
  CHECK(qn.lines[2].points_earned == 6);

  Rulebook before = ru_rulebook(3000);
  before.earn.base = EarnBase::gross_before;
  const Quote qb = quote(before, basket, &member);
  CHECK(qb.redeemed == 300);
  CHECK(qb.earned == 86);
  CHECK(qb.lines[0].points_earned == 13);
  CHECK(qb.lines[1].points_earned == 65);
  CHECK(qb.lines[2].points_earned == 8);
}

TEST_CASE("E3: tobacco is excluded and vodka is held at its legal minimum retail price") {
  Rulebook rules = ru_rulebook();
  rules.skus["vodka-05"] = SkuRule{true, true, std::nullopt, money("349.00")};
  Basket basket;
  basket.redeem = 10000;
  basket.lines = {counted("cigarettes", "219.00", 1, 2200, "tobacco"),
                  counted("vodka-05", "399.00", 1, 2200, "alcohol"), counted("bread", "45.00", 2, 1000)};
  const Member member = member_with(10000);
  const Quote q = quote(rules, basket, &member);

  check_rows(basket, q,
             {
                 {"219.00", "-", "0.00", "219.00", "179.51", "39.49", 0, 0, "1x219.00"},
                 {"399.00", "349.00", "50.00", "349.00", "286.07", "62.93", 50, 17, "1x349.00"},
                 {"90.00", "0.02", "89.00", "1.00", "0.91", "0.09", 89, 0, "2x0.50"},
             });
  CHECK_FALSE(q.lines[0].redeem_ok);
  CHECK_FALSE(q.lines[0].earn_ok);
  CHECK(q.lines[1].pinned);
  CHECK_FALSE(q.lines[2].pinned);
  REQUIRE(q.rates.size() == 2);
  check_rate(q.rates[0], 2200, "465.58", "102.42", "568.00");
  check_rate(q.rates[1], 1000, "0.91", "0.09", "1.00");
  check_limits(q, "10000.00", "10000.00", "489.00", "708.00", "139.98");
  CHECK(q.binding == std::vector<Limit>{Limit::headroom});
  CHECK(q.redeemed == 139);
  CHECK(format_minor(q.payable, 2) == "569.00");
  CHECK(q.earned == 17);
}

TEST_CASE("E6: DE, 19 % and 7 %, 500 points spread in proportion to gross") {
  const Rulebook rules = cent_rulebook("EUR");
  Basket basket;
  basket.redeem = 500;
  basket.lines = {counted("coffee", "8.99", 1, 1900), counted("bread", "3.49", 1, 700), counted("milk", "1.19", 2, 700),
                  counted("wine", "6.99", 1, 1900)};
  const Member member = member_with(800);
  const Quote q = quote(rules, basket, &member);

  check_rows(basket, q,
             {
                 {"8.99", "0.00", "2.06", "6.93", "5.82", "1.11", 206, 7, "1x6.93"},
                 {"3.49", "0.00", "0.80", "2.69", "2.51", "0.18", 80, 2, "1x2.69"},
                 {"2.38", "0.00", "0.54", "1.84", "1.72", "0.12", 54, 2, "2x0.92"},
                 {"6.99", "0.00", "1.60", "5.39", "4.53", "0.86", 160, 5, "1x5.39"},
             });
  REQUIRE(q.rates.size() == 2);
  check_rate(q.rates[0], 1900, "10.35", "1.97", "12.32");
  check_rate(q.rates[1], 700, "4.23", "0.30", "4.53");
  check_limits(q, "5.00", "8.00", "21.85", "21.85", "21.85");
  CHECK(q.binding == std::vector<Limit>{Limit::request});
  CHECK(q.redeemed == 500);
  CHECK(format_minor(q.payable, 2) == "16.85");
  CHECK(q.earned == 16);
}

TEST_CASE("E8: UK, zero-rated food takes its share and the gift card stays out of scope") {
  const Rulebook rules = cent_rulebook("GBP");
  Basket basket;
  basket.redeem = 350;
  basket.lines = {counted("bread", "1.45", 2, 0), counted("shampoo", "4.50", 1, 2000), counted("wine", "7.99", 1, 2000),
                  counted("gift card", "20.00", 1, std::nullopt, "gift_card")};
  const Member member = member_with(350);
  const Quote q = quote(rules, basket, &member);

  check_rows(basket, q,
             {
                 {"2.90", "0.00", "0.66", "2.24", "2.24", "0.00", 66, 2, "2x1.12"},
                 {"4.50", "0.00", "1.02", "3.48", "2.90", "0.58", 102, 3, "1x3.48"},
                 {"7.99", "0.00", "1.82", "6.17", "5.14", "1.03", 182, 6, "1x6.17"},
                 {"20.00", "-", "0.00", "20.00", "20.00", "0.00", 0, 0, "1x20.00"},
             });
  REQUIRE(q.rates.size() == 3);
  check_rate(q.rates[0], 2000, "8.04", "1.61", "9.65");
  check_rate(q.rates[1], 0, "2.24", "0.00", "2.24");
  check_rate(q.rates[2], std::nullopt, "20.00", "0.00", "20.00");
  check_limits(q, "3.50", "3.50", "15.39", "35.39", "15.39");
  CHECK(q.binding == std::vector<Limit>{Limit::request, Limit::balance});
  CHECK(q.redeemed == 350);
  CHECK(format_minor(q.total, 2) == "35.39");
  CHECK(format_minor(q.payable, 2) == "31.89");
  CHECK(q.earned == 11);
}

TEST_CASE("E15: returning E1 in three steps gives back exactly the milk's money, points and VAT") {
  const Rulebook rules = ru_rulebook(3000);
  const Basket basket = e1_basket();
  const Member member = member_with(1000);
  const Quote q = quote(rules, basket, &member);
  const std::vector<SoldLine> sale = sold_lines(basket, q);

  struct Step {
    std::size_t line;
    std::int64_t qty_milli;
    const char* money;
    const char* vat_recomputed;
    const char* vat_cumulative;
    const char* discount_share;
    Points points_returned;
    Points clawed_back;
  };
  const Step steps[] = {
      {0, 2000, "148.60", "13.51", "13.50", "31.19", 31, 7},
      {2, 1234, "132.58", "12.05", "12.05", "27.83", 28, 7},
      {0, 1000, "74.31", "6.76", "6.76", "15.60", 16, 4},
  };
  std::vector<std::int64_t> returned(sale.size(), 0);
  for (const Step& step : steps) {
    CAPTURE(step.line);
    const ReturnedQuantity request[] = {{step.line, step.qty_milli}};
    const Refund r = refund(rules.refund, rules.redemption.point_value, sale, returned, request, std::nullopt);
    REQUIRE(r.lines.size() == 1);
    CHECK(format_minor(r.lines[0].money, 2) == step.money);
    CHECK(format_minor(r.lines[0].vat_recomputed, 2) == step.vat_recomputed);
    CHECK(format_minor(r.lines[0].vat_cumulative, 2) == step.vat_cumulative);
    CHECK(format_minor(r.lines[0].discount_share, 2) == step.discount_share);
    CHECK(r.lines[0].points_returned == step.points_returned);
    CHECK(r.lines[0].points_clawed_back == step.clawed_back);
    CHECK(r.vat == r.lines[0].vat_recomputed);  // RU default: recompute
    returned = r.returned_after;
  }
  CHECK(returned == std::vector<std::int64_t>{3000, 0, 1234});
  // Nothing is left of the milk: a further return is refused.
  const ReturnedQuantity more[] = {{0, 1000}};
  CHECK_THROWS_AS(refund(rules.refund, rules.redemption.point_value, sale, returned, more, std::nullopt), InvalidInput);
}
