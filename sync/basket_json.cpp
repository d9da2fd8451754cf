#include "sync/basket_json.hpp"

#include "sync/datetime.hpp"
#include "sync/rulebook_json.hpp"

namespace loyalty::sync {

using runtime::as_string;
using runtime::fail;
using runtime::index_path;
using runtime::Json;
using runtime::Reader;
using runtime::Where;
namespace {

using namespace domain;

constexpr std::int64_t kMaxUnits = 1'000'000;
constexpr std::int64_t kMaxMilli = 1'000'000'000;

// Reads one line; *gross receives its amount less prior promotions.
Line read_line(Reader in, Minor* gross) {
  Line line;
  line.sku = in.string("sku", 64);
  if (line.sku.empty()) fail(in.path_of("sku"), "must not be empty");
  line.name = in.string_or("name", "", 256);
  line.category = in.string_or("category", "", 64);
  line.unit_price = in.integer("unit_price", 0, kMaxAmount);

  const bool has_qty = in.has("qty");
  const bool has_milli = in.has("qty_milli");
  if (has_qty == has_milli)
    fail(in.path_of("qty"), has_qty ? "give either qty (counted goods) or qty_milli (weighed goods), not both"
                                    : "is required (or qty_milli for weighed goods)");
  if (has_qty) {
    line.counted = true;
    line.qty_milli = in.integer("qty", 1, kMaxUnits) * 1000;
  } else {
    line.counted = false;
    line.qty_milli = in.integer("qty_milli", 1, kMaxMilli);
  }

  const bool outside = in.boolean_or("out_of_scope", false);
  const auto rate = in.optional_integer("vat_bp", 0, 10000);
  if (outside && rate) fail(in.path_of("vat_bp"), "contradicts \"out_of_scope\": true");
  if (!outside && !rate) fail(in.path_of("vat_bp"), "is required (or \"out_of_scope\": true for lines outside VAT)");
  line.vat_bp = rate;
  line.prior_discount = in.integer_or("prior_discount", 0, 0, kMaxAmount);
  in.finish();

  Minor amount = 0;
  try {
    amount = narrow(rdiv(Wide{line.unit_price} * line.qty_milli, 1000), "line amount");
  } catch (const Overflow&) {
    fail(in.path(), "unit_price x quantity overflows");
  }
  if (amount > kMaxAmount)
    fail(in.path(), "unit_price x quantity exceeds " + std::to_string(kMaxAmount) + " minor units");
  if (line.prior_discount > amount)
    fail(in.path_of("prior_discount"), "exceeds the line amount " + std::to_string(amount));
  *gross = amount - line.prior_discount;
  return line;
}

}  // namespace

BasketDocument basket_from_json(const Json& document) {
  Reader in(document, "basket");
  BasketDocument out;
  Basket& b = out.basket;
  b.receipt_id = in.string_or("receipt_id", "", 64);
  out.currency = in.string("currency", 8);
  if (const Json* at = in.value("at")) {
    const std::string text = as_string(*at, Where(in.path(), "at"), 64);
    auto instant = parse_rfc3339(text);
    if (!instant)
      fail(in.path_of("at"),
           "must be an RFC 3339 time with offset like 2026-11-27T10:15:00+03:00, got \"" + text + "\"");
    b.at = *instant;
    out.has_time = true;
  }
  b.tender = in.choice(
      "tender", {std::pair{std::string_view("card"), Tender::card}, std::pair{std::string_view("cash"), Tender::cash}},
      Tender::card);
  b.redeem = in.integer_or("redeem_points", 0, 0, kMaxPoints);
  const Json& lines = in.array("lines", kMaxLines);
  if (lines.empty()) fail(in.path_of("lines"), "must have at least one line");
  Minor total = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Minor gross = 0;
    Line line = read_line(Reader(lines[i], index_path(in.path_of("lines"), i)), &gross);
    total += gross;  // each line is at most kMaxAmount, so 10,000 of them cannot overflow
    b.lines.push_back(std::move(line));
  }
  if (total > kMaxAmount)
    fail(in.path_of("lines"), "the receipt total exceeds " + std::to_string(kMaxAmount) + " minor units");
  in.finish();
  return out;
}

void check_basket_against(const BasketDocument& basket, const Rulebook& rules) {
  if (basket.currency != rules.currency.code)
    fail("basket.currency", "\"" + basket.currency + "\" does not match the rulebook's currency \"" +
                                std::string(rules.currency.code) + "\"");
}

Member member_from_json(const Json& document, const Rulebook& rules) {
  Reader in(document, "member");
  Member m;
  m.id = in.string("id", 64);
  if (m.id.empty()) fail(in.path_of("id"), "must not be empty");
  m.tier = in.string_or("tier", "", 64);
  if (!m.tier.empty() && rules.tier(m.tier) == nullptr)
    fail(in.path_of("tier"),
         "\"" + m.tier + "\" is not a tier of rulebook " + rules.id + " v" + std::to_string(rules.version));
  m.balance = in.integer("balance", -kMaxPoints, kMaxPoints);
  m.status = member_status_from_json(in, "status", domain::MemberStatus::active);
  in.finish();
  return m;
}

domain::MemberStatus member_status_from_json(Reader& in, std::string_view key,
                                             std::optional<domain::MemberStatus> fallback) {
  using domain::MemberStatus;
  return in.choice(key,
                   {std::pair{domain::status_name(MemberStatus::active), MemberStatus::active},
                    std::pair{domain::status_name(MemberStatus::blocked), MemberStatus::blocked}},
                   fallback);
}

}  // namespace loyalty::sync
