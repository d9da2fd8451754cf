#include "sync/rulebook_json.hpp"

#include <set>

#include "sync/datetime.hpp"

namespace loyalty::sync {

using runtime::fail;
using runtime::index_path;
using runtime::Json;
using runtime::key_path;
using runtime::Reader;
namespace {

using namespace domain;

const std::initializer_list<std::pair<std::string_view, RedemptionMode>> kModes = {
    {"discount", RedemptionMode::discount}, {"payment", RedemptionMode::payment}};
const std::initializer_list<std::pair<std::string_view, VatMode>> kVatModes = {{"per_line", VatMode::per_line},
                                                                               {"per_rate", VatMode::per_rate}};
const std::initializer_list<std::pair<std::string_view, AllocationWeight>> kWeights = {
    {"gross", AllocationWeight::gross}, {"net", AllocationWeight::net}};
const std::initializer_list<std::pair<std::string_view, EarnBase>> kEarnBases = {
    {"gross_after", EarnBase::gross_after},
    {"net_after", EarnBase::net_after},
    {"gross_before", EarnBase::gross_before}};
const std::initializer_list<std::pair<std::string_view, RefundVat>> kRefundVat = {
    {"recompute", RefundVat::recompute}, {"cumulative", RefundVat::cumulative}};
const std::initializer_list<std::pair<std::string_view, ClawbackShortfall>> kShortfall = {
    {"negative_balance", ClawbackShortfall::negative_balance},
    {"deduct_from_refund", ClawbackShortfall::deduct_from_refund}};
const std::initializer_list<std::pair<std::string_view, Campaign::Kind>> kKinds = {
    {"multiplier", Campaign::Kind::multiplier}, {"bonus_points", Campaign::Kind::bonus_points}};

template <class T>
std::string_view name_of(std::initializer_list<std::pair<std::string_view, T>> options, T value) {
  for (const auto& [name, v] : options)
    if (v == value) return name;
  return "";
}

void check_name(const std::string& name, const std::string& path) {
  if (name.empty() || name.size() > 64) fail(path, "names must have 1 to 64 characters");
}

void read_redemption(Reader in, RedemptionRules& r) {
  r.step = in.integer_or("step", 1, 1, kMaxRatio);
  r.cap_bp = in.integer_or("cap_bp", 10000, 0, 10000);
  r.min_cash = in.integer_or("min_cash", 0, 0, kMaxAmount);
  r.unit_floor = in.integer_or("unit_floor", 0, 0, kMaxAmount);
  r.mode = in.choice("mode", kModes, RedemptionMode::discount);
  r.vat_mode = in.choice("vat", kVatModes, VatMode::per_line);
  r.weight = in.choice("weight", kWeights, AllocationWeight::gross);
  in.finish();
}

void read_earn(Reader in, EarnRules& e) {
  e.rate_den = in.integer("rate_den", 1, kMaxRatio);
  e.base_rate = in.integer("base_rate", 0, e.rate_den);
  e.base = in.choice("base", kEarnBases, EarnBase::gross_after);
  in.finish();
}

void read_refund(Reader in, RefundRules& r) {
  r.vat = in.choice("vat", kRefundVat, RefundVat::recompute);
  r.shortfall = in.choice("clawback_shortfall", kShortfall, ClawbackShortfall::negative_balance);
  in.finish();
}

// The switches categories and SKUs share; an earn rate on something that earns nothing is
// a contradiction.
template <class Rule>
void read_switches(Reader& in, const EarnRules& earn, const char* what, Rule& rule) {
  rule.redeem = in.boolean_or("redeem", true);
  rule.earn = in.boolean_or("earn", true);
  rule.earn_rate = in.optional_integer("earn_rate", 0, earn.rate_den);
  if (rule.earn_rate && !rule.earn)
    fail(in.path_of("earn_rate"), std::string("contradicts \"earn\": false (the ") + what + " earns nothing)");
}

// Reads an object keyed by name ("categories", "skus", "tiers"): each key is checked as a
// name and each value read by `read(name, reader)`, then checked for unknown fields.
template <class F>
void for_each_named(const Json& value, const std::string& path, const char* keyed_by, F read) {
  if (!value.is_object()) fail(path, std::string("must be an object keyed by ") + keyed_by);
  for (const auto& [name, item] : value.items()) {
    const std::string where = key_path(path, name);
    check_name(name, where);
    Reader in(item, where);
    read(name, in);
    in.finish();
  }
}

void read_categories(const Json& value, const std::string& path, const EarnRules& earn, Rulebook& rules) {
  for_each_named(value, path, "category name", [&](const std::string& name, Reader& in) {
    CategoryRule rule;
    read_switches(in, earn, "category", rule);
    rules.categories.emplace(name, rule);
  });
}

void read_skus(const Json& value, const std::string& path, const EarnRules& earn, Rulebook& rules) {
  for_each_named(value, path, "SKU", [&](const std::string& code, Reader& in) {
    SkuRule rule;
    read_switches(in, earn, "SKU", rule);
    rule.min_price = in.optional_integer("min_price", 0, kMaxAmount);
    rules.skus.emplace(code, rule);
  });
}

void read_tiers(const Json& value, const std::string& path, Rulebook& rules) {
  for_each_named(value, path, "tier name", [&](const std::string& name, Reader& in) {
    rules.tiers.push_back(Tier{name, in.integer("multiplier_bp", 1, kMaxMultiplierBp)});
  });
}

LocalDateTime read_local(Reader& in, std::string_view key) {
  const std::string text = in.string(key, 32);
  auto t = parse_local_datetime(text);
  if (!t) fail(in.path_of(key), "must be a local date and time like 2026-11-27T00:00:00, got \"" + text + "\"");
  return *t;
}

Campaign read_campaign(Reader in, const Rulebook& rules) {
  Campaign c;
  c.id = in.string("id", 64);
  check_name(c.id, in.path_of("id"));
  c.kind = in.choice<Campaign::Kind>("kind", kKinds);
  if (c.kind == Campaign::Kind::multiplier) {
    c.multiplier_bp = in.integer("multiplier_bp", 10001, kMaxMultiplierBp);
    if (in.has("bonus_points")) fail(in.path_of("bonus_points"), "a multiplier campaign has no bonus points");
  } else {
    c.bonus_points = in.integer("bonus_points", 1, kMaxPoints);
    if (in.has("multiplier_bp")) fail(in.path_of("multiplier_bp"), "a bonus campaign has no multiplier");
  }
  c.starts = read_local(in, "starts");
  c.ends = read_local(in, "ends");
  if (!(c.starts < c.ends)) fail(in.path_of("ends"), "must be after \"starts\"");
  c.categories = in.strings_or_empty("categories", 64);
  c.skus = in.strings_or_empty("skus", 64);
  c.tiers = in.strings_or_empty("tiers", 64);
  c.min_spend = in.integer_or("min_spend", 0, 0, kMaxAmount);
  in.finish();
  for (std::size_t i = 0; i < c.categories.size(); ++i) {
    const CategoryRule* category = rules.category(c.categories[i]);
    if (category != nullptr && !category->earn)
      fail(index_path(in.path_of("categories"), i),
           "category \"" + c.categories[i] + "\" earns nothing, so a campaign on it contradicts that rule");
  }
  for (std::size_t i = 0; i < c.skus.size(); ++i) {
    const SkuRule* sku = rules.sku(c.skus[i]);
    if (sku != nullptr && !sku->earn)
      fail(index_path(in.path_of("skus"), i),
           "SKU \"" + c.skus[i] + "\" earns nothing, so a campaign on it contradicts that rule");
  }
  for (std::size_t i = 0; i < c.tiers.size(); ++i)
    if (rules.tier(c.tiers[i]) == nullptr)
      fail(index_path(in.path_of("tiers"), i), "tier \"" + c.tiers[i] + "\" is not defined in \"tiers\"");
  return c;
}

void read_offline(Reader in, OfflineLimits& o) {
  o.per_receipt = in.integer("per_receipt", 0, kMaxPoints);
  o.per_member_per_outage = in.integer("per_member_per_outage", 0, kMaxPoints);
  o.per_terminal_total = in.integer("per_terminal_total", 0, kMaxPoints);
  in.finish();
  if (o.per_receipt > o.per_member_per_outage)
    fail(in.path_of("per_receipt"), "exceeds per_member_per_outage, which would always bind first");
  if (o.per_member_per_outage > o.per_terminal_total)
    fail(in.path_of("per_member_per_outage"), "exceeds per_terminal_total, which would always bind first");
}

Json ratio_json(const Ratio& r) { return Json{{"num", r.num}, {"den", r.den}}; }

}  // namespace

Rulebook rulebook_from_json(const Json& document) {
  Reader in(document, "rulebook");
  Rulebook rules;
  in.integer("format", 1, 1);
  rules.id = in.string("id", 64);
  check_name(rules.id, in.path_of("id"));
  rules.version = in.integer("version", 1, kMaxPoints);

  const std::string currency = in.string("currency", 8);
  auto found = find_currency(currency);
  if (!found) fail(in.path_of("currency"), "\"" + currency + "\" is not an ISO 4217 currency code");
  rules.currency = *found;

  const std::string zone = in.string("timezone", 128);
  std::string problem;
  auto parsed_zone = parse_posix_tz(zone, &problem);
  if (!parsed_zone) fail(in.path_of("timezone"), "\"" + zone + "\" is not a POSIX TZ rule: " + problem);
  rules.zone = *parsed_zone;

  Reader value = in.object("point_value");
  rules.redemption.point_value = {value.integer("num", 1, kMaxRatio), value.integer("den", 1, kMaxRatio)};
  value.finish();
  if (in.has("redemption")) read_redemption(in.object("redemption"), rules.redemption);
  rules.cash_increment = in.integer_or("cash_rounding", 1, 1, 1'000'000);
  read_earn(in.object("earn"), rules.earn);
  if (const Json* v = in.value("categories")) read_categories(*v, in.path_of("categories"), rules.earn, rules);
  if (const Json* v = in.value("skus")) read_skus(*v, in.path_of("skus"), rules.earn, rules);
  if (const Json* v = in.value("tiers")) read_tiers(*v, in.path_of("tiers"), rules);
  if (in.has("campaigns")) {
    const Json& list = in.array("campaigns", 1000);
    std::set<std::string> ids;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string where = index_path(in.path_of("campaigns"), i);
      Campaign c = read_campaign(Reader(list[i], where), rules);
      if (!ids.insert(c.id).second) fail(key_path(where, "id"), "campaign \"" + c.id + "\" is defined twice");
      rules.campaigns.push_back(std::move(c));
    }
  }
  read_offline(in.object("offline"), rules.offline);
  if (in.has("refund")) read_refund(in.object("refund"), rules.refund);
  in.finish();
  return rules;
}

Json refund_terms_to_json(const Rulebook& rules) {
  return Json{{"vat", name_of(kRefundVat, rules.refund.vat)},
              {"clawback_shortfall", name_of(kShortfall, rules.refund.shortfall)},
              {"point_value", ratio_json(rules.redemption.point_value)}};
}

RefundTerms refund_terms_from_json(const Json& document) {
  Reader in(document, "refund_terms");
  RefundTerms terms;
  Reader value = in.object("point_value");
  terms.point_value = {value.integer("num", 1, kMaxRatio), value.integer("den", 1, kMaxRatio)};
  value.finish();
  read_refund(in, terms.rules);
  return terms;
}

Json rulebook_to_json(const Rulebook& rules) {
  const RedemptionRules& r = rules.redemption;
  Json out{{"format", 1},
           {"id", rules.id},
           {"version", rules.version},
           {"currency", std::string(rules.currency.code)},
           {"timezone", rules.zone.text},
           {"point_value", ratio_json(r.point_value)},
           {"redemption",
            {{"step", r.step},
             {"cap_bp", r.cap_bp},
             {"min_cash", r.min_cash},
             {"unit_floor", r.unit_floor},
             {"mode", name_of(kModes, r.mode)},
             {"vat", name_of(kVatModes, r.vat_mode)},
             {"weight", name_of(kWeights, r.weight)}}},
           {"cash_rounding", rules.cash_increment},
           {"earn",
            {{"rate_den", rules.earn.rate_den},
             {"base_rate", rules.earn.base_rate},
             {"base", name_of(kEarnBases, rules.earn.base)}}},
           {"offline",
            {{"per_receipt", rules.offline.per_receipt},
             {"per_member_per_outage", rules.offline.per_member_per_outage},
             {"per_terminal_total", rules.offline.per_terminal_total}}},
           {"refund",
            {{"vat", name_of(kRefundVat, rules.refund.vat)},
             {"clawback_shortfall", name_of(kShortfall, rules.refund.shortfall)}}}};
  Json categories = Json::object();
  for (const auto& [name, c] : rules.categories) {
    Json rule{{"redeem", c.redeem}, {"earn", c.earn}};
    if (c.earn_rate) rule["earn_rate"] = *c.earn_rate;
    categories[name] = rule;
  }
  out["categories"] = categories;
  Json skus = Json::object();
  for (const auto& [code, s] : rules.skus) {
    Json rule{{"redeem", s.redeem}, {"earn", s.earn}};
    if (s.earn_rate) rule["earn_rate"] = *s.earn_rate;
    if (s.min_price) rule["min_price"] = *s.min_price;
    skus[code] = rule;
  }
  out["skus"] = skus;
  Json tiers = Json::object();
  for (const Tier& t : rules.tiers) tiers[t.name] = {{"multiplier_bp", t.multiplier_bp}};
  out["tiers"] = tiers;
  Json campaigns = Json::array();
  for (const Campaign& c : rules.campaigns) {
    Json j{{"id", c.id},
           {"kind", name_of(kKinds, c.kind)},
           {"starts", format_local_datetime(c.starts)},
           {"ends", format_local_datetime(c.ends)},
           {"categories", c.categories},
           {"skus", c.skus},
           {"tiers", c.tiers},
           {"min_spend", c.min_spend}};
    if (c.kind == Campaign::Kind::multiplier)
      j["multiplier_bp"] = c.multiplier_bp;
    else
      j["bonus_points"] = c.bonus_points;
    campaigns.push_back(j);
  }
  out["campaigns"] = campaigns;
  return out;
}

}  // namespace loyalty::sync
