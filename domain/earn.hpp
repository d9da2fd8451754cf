// Earning: how many points a receipt earns and which lines they belong to.
//
// A line's rate is its SKU's rate, else its category's, else the base rate (all over the
// rulebook's rate_den); excluded lines earn nothing. The rate is scaled by the member's tier
// multiplier and by the highest multiplier of the campaigns that qualify for the line
// (multipliers never compound with each other). The receipt earns
// floor(sum of base x rate x multipliers) once, so that no per-line rounding is lost, plus
// the points of every qualifying bonus campaign. Points are attributed to lines in
// proportion to what each line contributed, for clawback on returns.
#ifndef LOYALTY_DOMAIN_EARN_HPP_
#define LOYALTY_DOMAIN_EARN_HPP_

#include <span>
#include <vector>

#include "domain/quote.hpp"

namespace loyalty::domain {

// The campaign's window as instants, from its local-time bounds in the rulebook's zone.
struct Window {
  UnixSeconds starts = 0;  // inclusive
  UnixSeconds ends = 0;    // exclusive
};
Window campaign_window(const Rulebook& rules, const Campaign& campaign);

// Whether `campaign` runs at `at` for `member` (nullptr: a customer without a card). The
// scope and the minimum spend are checked by compute_earning.
bool campaign_runs(const Rulebook& rules, const Campaign& campaign, UnixSeconds at, const Member* member);

struct Earning {
  Points total = 0;
  Points bonus = 0;
  std::vector<AppliedCampaign> campaigns;
};

// Fills points_earned and earn_multiplier_bp of `lines` (which must already hold gross,
// discount, net, earn_ok and earn_rate) and returns the receipt's earning.
Earning compute_earning(const Rulebook& rules, const Basket& basket, const Member* member, std::span<QuoteLine> lines);

}  // namespace loyalty::domain

#endif  // LOYALTY_DOMAIN_EARN_HPP_
