// Every class of bad rulebook, basket, member and return input is rejected with an error
// that names the JSON path and the problem.
#include <doctest/doctest.h>

#include <string>

#include "sync/basket_json.hpp"
#include "sync/quote_json.hpp"
#include "sync/rulebook_json.hpp"
#include "tests/sync/examples.hpp"

using namespace loyalty;
using runtime::Json;
using sync::testing::load_example;

namespace {

// A JSON pointer edit: set `pointer` to `value`, or remove it when `value` is discarded.
Json edited(Json doc, const char* pointer, const Json& value) {
  const Json::json_pointer p(pointer);
  if (value.is_discarded())
    doc[p.parent_pointer()].erase(p.back());
  else
    doc[p] = value;
  return doc;
}

const Json kRemove = Json(Json::value_t::discarded);

struct Case {
  const char* pointer;
  Json value;
  const char* path;     // expected JsonError::path()
  const char* problem;  // a fragment of JsonError::problem()
};

template <class F>
void expect_rejection(const Json& base, const Case& c, F read) {
  const Json doc = edited(base, c.pointer, c.value);
  INFO("edit ", std::string(c.pointer), " = ", c.value.is_discarded() ? std::string("(removed)") : c.value.dump());
  try {
    read(doc);
    FAIL("accepted");
  } catch (const runtime::JsonError& e) {
    CHECK(e.path() == c.path);
    CHECK_MESSAGE(e.problem().find(c.problem) != std::string::npos, e.what());
  }
}

}  // namespace

TEST_CASE("the example rulebook, basket and member are accepted") {
  const domain::Rulebook rules = sync::rulebook_from_json(load_example("rulebook-ru.json"));
  CHECK(rules.id == "ru-2026");
  CHECK(rules.redemption.cap_bp == 3000);
  CHECK(rules.campaigns.size() == 2);
  const sync::BasketDocument basket = sync::basket_from_json(load_example("basket-ru.json"));
  CHECK(basket.basket.lines.size() == 3);
  CHECK_NOTHROW(sync::check_basket_against(basket, rules));
  CHECK(sync::member_from_json(load_example("member-ru.json"), rules).balance == 1000);
}

TEST_CASE("bad rulebooks are rejected with the path and the reason") {
  const Json base = load_example("rulebook-ru.json");
  const Case cases[] = {
      {"/cap_pb", 1, "rulebook.cap_pb", "unknown field"},
      {"/redemption/cap_pb", 1, "rulebook.redemption.cap_pb", "unknown field"},
      {"/format", 2, "rulebook.format", "between 1 and 1"},
      {"/id", kRemove, "rulebook.id", "is required"},
      {"/id", "", "rulebook.id", "1 to 64 characters"},
      {"/version", "7", "rulebook.version", "must be a whole number, got a string"},
      {"/version", 0, "rulebook.version", "between 1 and"},
      {"/currency", "XYZ", "rulebook.currency", "not an ISO 4217"},
      {"/timezone", "Mars/Olympus", "rulebook.timezone", "not a POSIX TZ rule"},
      {"/timezone", "CET-1CEST", "rulebook.timezone", "transition rules"},
      {"/point_value/den", 0, "rulebook.point_value.den", "between 1 and"},
      {"/point_value", Json::array({100, 1}), "rulebook.point_value", "must be an object"},
      {"/redemption/cap_bp", 12000, "rulebook.redemption.cap_bp", "between 0 and 10000"},
      {"/redemption/cap_bp", 30.5, "rulebook.redemption.cap_bp", "must be a whole number, got 30.5"},
      {"/redemption/cap_bp", 3e3, "rulebook.redemption.cap_bp", "without a fraction or exponent"},
      {"/redemption/step", 0, "rulebook.redemption.step", "between 1 and"},
      {"/redemption/min_cash", -1, "rulebook.redemption.min_cash", "between 0 and"},
      {"/redemption/min_cash", 1e30, "rulebook.redemption.min_cash", "overflows"},
      {"/redemption/min_cash", 9223372036854775808ULL, "rulebook.redemption.min_cash", "between 0 and"},
      {"/redemption/mode", "coupon", "rulebook.redemption.mode", "one of discount, payment"},
      {"/redemption/vat", true, "rulebook.redemption.vat", "must be a string"},
      {"/cash_rounding", 0, "rulebook.cash_rounding", "between 1 and"},
      {"/earn/base_rate", 10001, "rulebook.earn.base_rate", "between 0 and 10000"},
      {"/earn/rate_den", kRemove, "rulebook.earn.rate_den", "is required"},
      {"/earn/base", "net_before", "rulebook.earn.base", "one of gross_after, net_after, gross_before"},
      {"/categories/tobacco/earn_rate", 5, "rulebook.categories.tobacco.earn_rate", "contradicts"},
      {"/categories/coffee/earn_rate", -1, "rulebook.categories.coffee.earn_rate", "between 0 and"},
      {"/categories/coffee/redeem", "no", "rulebook.categories.coffee.redeem", "true or false"},
      {"/skus/4601234567893/price", 1, "rulebook.skus[\"4601234567893\"].price", "unknown field"},
      {"/skus/4601234567893/min_price", -5, "rulebook.skus[\"4601234567893\"].min_price", "between 0 and"},
      {"/tiers/gold/multiplier_bp", 0, "rulebook.tiers.gold.multiplier_bp", "between 1 and"},
      {"/campaigns/0/ends", "2026-11-26T00:00:00", "rulebook.campaigns[0].ends", "after \"starts\""},
      {"/campaigns/0/starts", "2026-02-30T00:00:00", "rulebook.campaigns[0].starts", "local date and time"},
      {"/campaigns/0/starts", "2026-11-27T00:00:00+03:00", "rulebook.campaigns[0].starts", "local date and time"},
      {"/campaigns/0/multiplier_bp", 10000, "rulebook.campaigns[0].multiplier_bp", "between 10001 and"},
      {"/campaigns/0/bonus_points", 5, "rulebook.campaigns[0].bonus_points", "no bonus points"},
      {"/campaigns/0/kind", kRemove, "rulebook.campaigns[0].kind", "is required"},
      {"/campaigns/0/categories", Json::array({"tobacco"}), "rulebook.campaigns[0].categories[0]", "earns nothing"},
      {"/campaigns/0/categories", Json::array({"a", "a"}), "rulebook.campaigns[0].categories[1]", "listed twice"},
      {"/campaigns/1/tiers", Json::array({"platinum"}), "rulebook.campaigns[1].tiers[0]", "not defined"},
      {"/campaigns/1/id", "black-friday-x2", "rulebook.campaigns[1].id", "defined twice"},
      {"/campaigns/1/bonus_points", 0, "rulebook.campaigns[1].bonus_points", "between 1 and"},
      {"/offline", kRemove, "rulebook.offline", "is required"},
      {"/offline/per_receipt", 5000, "rulebook.offline.per_receipt", "exceeds per_member_per_outage"},
      {"/offline/per_member_per_outage", 60000, "rulebook.offline.per_member_per_outage", "exceeds per_terminal_total"},
      {"/refund/vat", "exact", "rulebook.refund.vat", "one of recompute, cumulative"},
  };
  for (const Case& c : cases) expect_rejection(base, c, [](const Json& d) { sync::rulebook_from_json(d); });
}

TEST_CASE("a SKU rule that earns nothing cannot carry an earn rate") {
  Json doc = load_example("rulebook-ru.json");
  doc["skus"]["lottery-1"] = {{"earn", false}, {"earn_rate", 3}};
  CHECK_THROWS_WITH_AS(sync::rulebook_from_json(doc),
                       "rulebook.skus.lottery-1.earn_rate: contradicts \"earn\": false (the SKU earns nothing)",
                       runtime::JsonError);
}

TEST_CASE("bad baskets are rejected with the path and the reason") {
  const Json base = load_example("basket-ru.json");
  const Case cases[] = {
      {"/lines/0/qty", 1.5, "basket.lines[0].qty", "whole number, got 1.5"},
      {"/lines/0/qty", -1, "basket.lines[0].qty", "between 1 and"},
      {"/lines/0/qty", 0, "basket.lines[0].qty", "between 1 and"},
      {"/lines/0/qty_milli", 3000, "basket.lines[0].qty", "not both"},
      {"/lines/0/qty", kRemove, "basket.lines[0].qty", "is required"},
      {"/lines/2/qty_milli", 12.5, "basket.lines[2].qty_milli", "whole number"},
      {"/lines/0/unit_price", -8990, "basket.lines[0].unit_price", "between 0 and"},
      {"/lines/0/unit_price", 1e19, "basket.lines[0].unit_price", "overflows"},
      {"/lines/0/unit_price", "89.90", "basket.lines[0].unit_price", "got a string"},
      {"/lines/0/unit_price", 1000000000000000, "basket.lines[0]", "unit_price x quantity exceeds"},
      {"/lines/0/vat_bp", 12000, "basket.lines[0].vat_bp", "between 0 and 10000"},
      {"/lines/0/vat_bp", kRemove, "basket.lines[0].vat_bp", "is required"},
      {"/lines/0/out_of_scope", true, "basket.lines[0].vat_bp", "contradicts"},
      {"/lines/0/prior_discount", 30000, "basket.lines[0].prior_discount", "exceeds the line amount"},
      {"/lines/0/price", 1, "basket.lines[0].price", "unknown field"},
      {"/lines/0/sku", "", "basket.lines[0].sku", "must not be empty"},
      {"/lines/0", "milk", "basket.lines[0]", "must be an object"},
      {"/lines", Json::array(), "basket.lines", "at least one line"},
      {"/lines", Json::object(), "basket.lines", "must be an array"},
      {"/at", "2026-11-26 18:30", "basket.at", "RFC 3339"},
      {"/at", "2026-11-26T18:30:00", "basket.at", "RFC 3339"},
      {"/tender", "crypto", "basket.tender", "one of card, cash"},
      {"/redeem_points", -300, "basket.redeem_points", "between 0 and"},
      {"/currency", kRemove, "basket.currency", "is required"},
      {"/extra", Json::object(), "basket.extra", "unknown field"},
      {"/lines/0/sku", std::string("46000\0", 6), "basket.lines[0].sku", "control characters, got \\x00 at byte 5"},
      {"/lines/0/name", "Milk\n1 l", "basket.lines[0].name", "control characters, got \\x0a at byte 4"},
      {"/lines/0/category", "dairy\x1b[31m", "basket.lines[0].category", "control characters"},
      {"/lines/0/name", "Milk\x7f", "basket.lines[0].name", "control characters"},
  };
  for (const Case& c : cases) expect_rejection(base, c, [](const Json& d) { sync::basket_from_json(d); });
}

TEST_CASE("a basket longer than the line limit is rejected before it is read") {
  Json doc = load_example("basket-ru.json");
  const Json line = doc["lines"][0];
  doc["lines"] = Json::array();
  for (std::size_t i = 0; i <= sync::kMaxLines; ++i) doc["lines"].push_back(line);
  CHECK_THROWS_WITH_AS(sync::basket_from_json(doc), "basket.lines: must have at most 10000 items", runtime::JsonError);
}

TEST_CASE("a basket in another currency than the rulebook's is rejected") {
  const domain::Rulebook rules = sync::rulebook_from_json(load_example("rulebook-ru.json"));
  const sync::BasketDocument basket =
      sync::basket_from_json(edited(load_example("basket-ru.json"), "/currency", "EUR"));
  CHECK_THROWS_WITH_AS(sync::check_basket_against(basket, rules),
                       "basket.currency: \"EUR\" does not match the rulebook's currency \"RUB\"", runtime::JsonError);
}

TEST_CASE("bad members are rejected with the path and the reason") {
  const domain::Rulebook rules = sync::rulebook_from_json(load_example("rulebook-ru.json"));
  const Json base = load_example("member-ru.json");
  const Case cases[] = {
      {"/tier", "platinum", "member.tier", "not a tier of rulebook ru-2026 v1"},
      {"/balance", 10.5, "member.balance", "whole number"},
      {"/balance", kRemove, "member.balance", "is required"},
      {"/status", "frozen", "member.status", "one of active, blocked"},
      {"/id", kRemove, "member.id", "is required"},
      {"/card_number", "4111111111111111", "member.card_number", "unknown field"},
  };
  for (const Case& c : cases) expect_rejection(base, c, [&rules](const Json& d) { sync::member_from_json(d, rules); });
}

TEST_CASE("bad return documents are rejected with the path and the reason") {
  const Json base = load_example("return-ru.json");
  const Case cases[] = {
      {"/steps", Json::array(), "return.steps", "at least one step"},
      {"/steps/0/lines/0/qty", 0.5, "return.steps[0].lines[0].qty", "whole number"},
      {"/steps/0/lines/0/qty_milli", 5, "return.steps[0].lines[0].qty", "either qty"},
      {"/steps/0/lines/0/line", -1, "return.steps[0].lines[0].line", "between 0 and"},
      {"/steps/1/note", "x", "return.steps[1].note", "unknown field"},
  };
  for (const Case& c : cases) expect_rejection(base, c, [](const Json& d) { sync::return_from_json(d); });
}

TEST_CASE("malformed JSON is reported with its line and column") {
  try {
    runtime::parse_json("{\n  \"id\": \"x\",\n  \"version\": 1,,\n}", "rulebook");
    FAIL("accepted");
  } catch (const runtime::JsonError& e) {
    CHECK(e.path() == "rulebook");
    CHECK_MESSAGE(e.problem().find("malformed JSON at line 3, column 16") != std::string::npos, e.what());
  }
  CHECK_THROWS_AS(runtime::parse_json("", "basket"), runtime::JsonError);
}

// What a parse error says for `text`, or "accepted".
std::string parse_error(const std::string& text) {
  try {
    runtime::parse_json(text, "request");
    return "accepted";
  } catch (const runtime::JsonError& e) {
    return e.what();
  }
}

TEST_CASE("a key given twice is refused with its path, at any depth") {
  CHECK(parse_error(R"({"receipt_id": "DUP-A", "receipt_id": "DUP-B"})") ==
        "request.receipt_id: is given twice (each key may appear once)");
  CHECK(parse_error(R"({"basket": {"lines": [{"qty": 1}, {"qty": 1, "sku": "a", "qty": 2}]}})") ==
        "request.basket.lines[1].qty: is given twice (each key may appear once)");
  CHECK(parse_error(R"({"a": [[1, 2], {"b": {"c": 1}}, {"x": 1, "x": 1}]})") ==
        "request.a[2].x: is given twice (each key may appear once)");
  // The same key in sibling objects, and in an object and its parent, is not a duplicate.
  CHECK(parse_error(R"({"a": {"a": 1}, "b": [{"a": 1}, {"a": 1}], "c": {"b": 2}})") == "accepted");
  // An object with many keys (searched by a set beyond the first few) still finds the repeat.
  std::string many = "{";
  for (int i = 0; i < 100; ++i) many += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ", ";
  CHECK(parse_error(many + "\"k99\": 0}") == "request.k99: is given twice (each key may appear once)");
  CHECK(parse_error(many + "\"k100\": 0}") == "accepted");
  // Keys that are not plain names are quoted in the path, control characters escaped.
  CHECK(parse_error(R"({"a b": 1, "a b": 2})") == R"(request["a b"]: is given twice (each key may appear once))");
}

TEST_CASE("a document nested deeper than 64 levels is refused before it takes memory") {
  CHECK(parse_error(std::string(64, '[') + std::string(64, ']')) == "accepted");
  const std::string deep = std::string(65, '[') + std::string(65, ']');
  CHECK(parse_error(deep).find(": nests deeper than 64 levels") != std::string::npos);
  CHECK(parse_error(std::string(1'000'000, '[')).find("nests deeper than 64 levels") != std::string::npos);
  // The path says where: inside request.a.b, 62 arrays down.
  CHECK(parse_error(R"({"a": {"b": )" + std::string(70, '[')).starts_with("request.a.b[0][0]"));
}

TEST_CASE("a number too large for a double is refused with its path, not as an internal error") {
  CHECK(parse_error(R"({"basket": {"lines": [{"qty": 1}, {"qty": 1e400}]}})") ==
        "request.basket.lines[1].qty: is a number too large to represent");
  CHECK(parse_error(R"([1, 2, -1e99999])") == "request[2]: is a number too large to represent");
  CHECK(parse_error("1e400") == "request: is a number too large to represent");
  // Large integers are the readers' business (range errors), not the parser's.
  CHECK(parse_error(R"({"points": 99999999999999999999999})") == "accepted");
}

TEST_CASE("invalid UTF-8 is refused at the parser, and no message quotes it raw") {
  for (const std::string& bad :
       {std::string("{\"card\": \"\xff\"}"), std::string("{\"card\": \"\xc0\x80\"}"),
        std::string("{\"card\": \"\xed\xa0\x80\"}"), std::string("{\"\xfe\": 1}"),
        std::string("{\"card\": \"\\ud800\"}"), std::string("{\"card\": \"\xf4\x90\x80\x80\"}")}) {
    const std::string error = parse_error(bad);
    INFO(runtime::printable(bad));
    CHECK(error.find("malformed JSON") != std::string::npos);
    CHECK(runtime::printable(error) == error);  // valid UTF-8 without control characters
    CHECK_NOTHROW(static_cast<void>(Json(error).dump()));
  }
  CHECK(parse_error("{\"name\": \"\xd0\x9c\xd0\xbe\xd0\xbb\xd0\xbe\xd0\xba\"}") == "accepted");  // Cyrillic
}

TEST_CASE("printable keeps valid UTF-8 and writes everything else as \\xNN") {
  CHECK(runtime::printable("Молоко 1 л") == "Молоко 1 л");
  CHECK(runtime::printable("a\xff"
                           "b") == "a\\xffb");
  CHECK(runtime::printable(std::string("a\0b\n", 4)) == "a\\x00b\\x0a");
  CHECK(runtime::printable("\xe2\x82") == "\\xe2\\x82");  // a sequence cut short
  CHECK(runtime::printable("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");
  CHECK(runtime::JsonError("a\xff", "b\xfe").what() == std::string("a\\xff: b\\xfe"));
}
