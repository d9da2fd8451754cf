#include <doctest/doctest.h>

#include "domain/refund.hpp"
#include "sync/basket_json.hpp"
#include "sync/datetime.hpp"
#include "sync/quote_json.hpp"
#include "sync/rulebook_json.hpp"
#include "tests/sync/examples.hpp"

using namespace loyalty;
using runtime::Json;
using sync::testing::load_example;

TEST_CASE("a rulebook written out and read back is the same rulebook") {
  const domain::Rulebook rules = sync::rulebook_from_json(load_example("rulebook-ru.json"));
  const Json written = sync::rulebook_to_json(rules);
  const domain::Rulebook again = sync::rulebook_from_json(written);
  CHECK(sync::rulebook_to_json(again) == written);
  CHECK(again.zone == rules.zone);
  CHECK(again.campaigns.size() == rules.campaigns.size());
}

TEST_CASE("a quote document carries what its refunds need") {
  const domain::Rulebook rules = sync::rulebook_from_json(load_example("rulebook-ru.json"));
  const sync::BasketDocument basket = sync::basket_from_json(load_example("basket-ru.json"));
  const domain::Member member = sync::member_from_json(load_example("member-ru.json"), rules);
  const domain::Quote q = domain::quote(rules, basket.basket, &member);
  const runtime::OrderedJson document = sync::quote_to_json(rules, basket.basket, q);
  CHECK(document["points"]["redeemed"] == 300);
  CHECK(document["points"]["earned"] == 71);
  CHECK(document["display"]["payable"] == "1429.11");
  CHECK(document["binding"] == runtime::OrderedJson::array({"request"}));

  const sync::SaleDocument sale = sync::sale_from_json(Json::parse(document.dump()));
  const std::vector<domain::SoldLine> expected = domain::sold_lines(basket.basket, q);
  REQUIRE(sale.lines.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(sale.lines[i].qty_milli == expected[i].qty_milli);
    CHECK(sale.lines[i].gross_after == expected[i].gross_after);
    CHECK(sale.lines[i].vat == expected[i].vat);
    CHECK(sale.lines[i].points_redeemed == expected[i].points_redeemed);
    CHECK(sale.lines[i].points_earned == expected[i].points_earned);
  }
}

TEST_CASE("a sale document whose lines disagree with themselves is rejected") {
  const domain::Rulebook rules = sync::rulebook_from_json(load_example("rulebook-ru.json"));
  const sync::BasketDocument basket = sync::basket_from_json(load_example("basket-ru.json"));
  const domain::Member member = sync::member_from_json(load_example("member-ru.json"), rules);
  Json document =
      Json::parse(sync::quote_to_json(rules, basket.basket, domain::quote(rules, basket.basket, &member)).dump());
  document["lines"][1]["gross_after"] = 129900;  // as if no discount had been given
  CHECK_THROWS_WITH_AS(sync::sale_from_json(document),
                       "sale.lines[1].gross_after: must be 107362 (gross less the discount in discount mode)",
                       runtime::JsonError);
}

TEST_CASE("RFC 3339 instants and local date-times parse strictly") {
  CHECK(sync::parse_rfc3339("2026-11-27T10:15:00+03:00") == sync::parse_rfc3339("2026-11-27T07:15:00Z"));
  CHECK(sync::parse_rfc3339("2026-11-27T07:15:00.123Z") == sync::parse_rfc3339("2026-11-27T07:15:00Z"));
  CHECK(sync::parse_rfc3339("1970-01-01T00:00:00-00:30") == 1800);
  CHECK(sync::format_rfc3339_utc(1795737600) == "2026-11-27T00:00:00Z");
  for (const char* bad : {"2026-11-27T10:15+03:00", "2026-11-27T10:15:00", "2026-13-01T00:00:00Z",
                          "2026-11-27T10:15:00+3:00", "2026-11-27 10:15:00Z", "2026-11-27T10:15:00Zjunk", ""}) {
    INFO(bad);
    CHECK_FALSE(sync::parse_rfc3339(bad).has_value());
  }
  CHECK(sync::parse_local_datetime("2026-11-27T00:00") == domain::LocalDateTime{2026, 11, 27, 0, 0, 0});
  CHECK_FALSE(sync::parse_local_datetime("2026-11-27").has_value());
  CHECK_FALSE(sync::parse_local_datetime("2026-11-27T24:00:00").has_value());
}
