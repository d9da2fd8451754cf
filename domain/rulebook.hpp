// The rulebook: everything the central team decides about earning and redeeming points,
// as the terminal needs it to quote a basket without asking anyone. A rulebook is a value;
// the agent caches a signed copy and replaces it atomically.
//
// Field meanings follow docs/redemption.md section 1; docs/rulebook.md documents the JSON form.
#ifndef LOYALTY_DOMAIN_RULEBOOK_HPP_
#define LOYALTY_DOMAIN_RULEBOOK_HPP_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/local_time.hpp"
#include "domain/money.hpp"

namespace loyalty::domain {

// DISCOUNT: own-scheme points reduce the price and the VAT base. PAYMENT: points are a
// tender (gift card, e-wallet, coalition points); line prices and VAT are unchanged.
enum class RedemptionMode { discount, payment };
// VAT after the discount: rounded per line, or once per rate and then apportioned to lines.
enum class VatMode { per_line, per_rate };
// The weights the points are spread by: tax-inclusive or tax-exclusive line amounts.
enum class AllocationWeight { gross, net };
// What points are earned on: money paid, money paid without VAT, or the price before points.
enum class EarnBase { gross_after, net_after, gross_before };
// VAT of a return: recomputed from the money refunded (fiscal return receipt), or the
// cumulative share of the sale's VAT (credit notes that must reverse exactly).
enum class RefundVat { recompute, cumulative };
// When a clawback exceeds the member's balance: let the balance go negative, or keep the
// shortfall's money value back from the refund.
enum class ClawbackShortfall { negative_balance, deduct_from_refund };

struct RedemptionRules {
  Ratio point_value{1, 1};      // minor units per point
  Points step = 1;              // points are redeemable in multiples of this
  std::int64_t cap_bp = 10000;  // at most this share of the eligible gross
  Minor min_cash = 0;           // at least this much of the receipt is paid in money
  Minor unit_floor = 0;         // every unit (every weighed line) keeps at least this gross
  RedemptionMode mode = RedemptionMode::discount;
  VatMode vat_mode = VatMode::per_line;
  AllocationWeight weight = AllocationWeight::gross;
};

// Earn rates are points per minor unit, written as rate / EarnRules::rate_den; every rate
// of a rulebook shares that denominator so that a receipt's points are one exact sum.
struct EarnRules {
  std::int64_t rate_den = 1;
  std::int64_t base_rate = 0;
  EarnBase base = EarnBase::gross_after;
};

// What a category of goods allows. Excluded categories (tobacco, gift cards, deposits,
// lottery) have redeem or earn switched off.
struct CategoryRule {
  bool redeem = true;
  bool earn = true;
  std::optional<std::int64_t> earn_rate;  // overrides the base rate
};

// What one article (SKU) needs beyond its category.
struct SkuRule {
  bool redeem = true;
  bool earn = true;
  std::optional<std::int64_t> earn_rate;  // overrides category and base rates
  std::optional<Minor> min_price;         // legal minimum price per unit (per kg for weighed goods)
};

struct Tier {
  std::string name;
  std::int64_t multiplier_bp = 10000;  // 15000 = earn 1.5 times
};

// A time-limited offer. Multipliers scale the earn rate of the lines in scope; bonus points
// are added once per receipt. Stacking: on each line only the highest multiplier of all
// qualifying multiplier campaigns applies (multipliers never compound with each other),
// times the member's tier multiplier; every qualifying bonus campaign adds its points.
struct Campaign {
  enum class Kind { multiplier, bonus_points };
  std::string id;
  Kind kind = Kind::multiplier;
  std::int64_t multiplier_bp = 10000;   // Kind::multiplier
  Points bonus_points = 0;              // Kind::bonus_points
  LocalDateTime starts;                 // inclusive, store local time
  LocalDateTime ends;                   // exclusive, store local time
  std::vector<std::string> categories;  // lines in any of these categories...
  std::vector<std::string> skus;        // ...or with any of these SKUs; both empty: every line
  std::vector<std::string> tiers;       // empty: every member (and anonymous customers)
  Minor min_spend = 0;                  // on the lines in scope, money paid after points
};

// Redemption allowed while the ledger cannot be reached (docs/design.md, "Offline").
struct OfflineLimits {
  Points per_receipt = 0;
  Points per_member_per_outage = 0;
  Points per_terminal_total = 0;
};

struct RefundRules {
  RefundVat vat = RefundVat::recompute;
  ClawbackShortfall shortfall = ClawbackShortfall::negative_balance;
};

struct Rulebook {
  std::string id;
  std::int64_t version = 0;
  Currency currency;
  TimeZoneRule zone;
  RedemptionRules redemption;
  Minor cash_increment = 1;  // cash rounding (CHF 5, SEK 100); 1 = none
  EarnRules earn;
  std::map<std::string, CategoryRule, std::less<>> categories;
  std::map<std::string, SkuRule, std::less<>> skus;
  std::vector<Tier> tiers;
  std::vector<Campaign> campaigns;
  OfflineLimits offline;
  RefundRules refund;

  const CategoryRule* category(std::string_view name) const;
  const SkuRule* sku(std::string_view code) const;
  const Tier* tier(std::string_view name) const;
};

}  // namespace loyalty::domain

#endif  // LOYALTY_DOMAIN_RULEBOOK_HPP_
