#include "domain/earn.hpp"

#include <algorithm>

#include "domain/allocate.hpp"

namespace loyalty::domain {
namespace {

constexpr std::int64_t kOne = 10000;  // multipliers are in basis points

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool in_scope(const Campaign& campaign, const Line& line) {
  if (campaign.categories.empty() && campaign.skus.empty()) return true;
  return contains(campaign.categories, line.category) || contains(campaign.skus, line.sku);
}

// The money a line's earning is computed on (docs/redemption.md 2.7).
Minor earn_base(const Rulebook& rules, const Line& line, const QuoteLine& q) {
  const Minor paid = q.gross - q.discount;
  switch (rules.earn.base) {
    case EarnBase::gross_before: return q.gross;
    case EarnBase::gross_after: return paid;
    case EarnBase::net_after:
      // In discount mode the line's VAT is already on the money paid; in payment mode the
      // VAT base is the full price, so the VAT on the money part is taken on its own.
      if (rules.redemption.mode == RedemptionMode::discount) return q.net;
      return paid - (line.vat_bp ? vat_from_gross(paid, *line.vat_bp) : 0);
  }
  return paid;
}

Wide checked_product(Wide a, Wide b) {
  Wide r = 0;
  if (mul_overflow(a, b, &r)) throw Overflow("earned points");
  return r;
}

}  // namespace

Window campaign_window(const Rulebook& rules, const Campaign& campaign) {
  return Window{to_instant(rules.zone, campaign.starts), to_instant(rules.zone, campaign.ends)};
}

bool campaign_runs(const Rulebook& rules, const Campaign& campaign, UnixSeconds at, const Member* member) {
  const Window window = campaign_window(rules, campaign);
  if (at < window.starts || at >= window.ends) return false;
  if (campaign.tiers.empty()) return true;
  return member != nullptr && contains(campaign.tiers, member->tier);
}

Earning compute_earning(const Rulebook& rules, const Basket& basket, const Member* member, std::span<QuoteLine> lines) {
  Earning earning;
  for (QuoteLine& q : lines) q.points_earned = 0;
  if (member != nullptr && member->status == MemberStatus::blocked) return earning;

  const std::size_t n = lines.size();
  std::vector<Minor> base(n, 0);
  for (std::size_t i = 0; i < n; ++i)
    if (lines[i].earn_ok) base[i] = earn_base(rules, basket.lines[i], lines[i]);

  std::int64_t tier_bp = kOne;
  if (member != nullptr && !member->tier.empty())
    if (const Tier* tier = rules.tier(member->tier)) tier_bp = tier->multiplier_bp;

  // Campaigns that run now, with the lines they reach and the money spent on those lines.
  std::vector<std::int64_t> best_bp(n, kOne);
  std::vector<std::size_t> best_campaign(n, rules.campaigns.size());
  struct Bonus {
    std::size_t campaign;
    std::vector<std::size_t> lines;
  };
  std::vector<Bonus> bonuses;
  for (std::size_t c = 0; c < rules.campaigns.size(); ++c) {
    const Campaign& campaign = rules.campaigns[c];
    if (!campaign_runs(rules, campaign, basket.at, member)) continue;
    std::vector<std::size_t> reached;
    Minor spend = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!lines[i].earn_ok || !in_scope(campaign, basket.lines[i])) continue;
      reached.push_back(i);
      spend = checked_add(spend, lines[i].gross - lines[i].discount, "campaign spend");
    }
    if (reached.empty() || spend < campaign.min_spend) continue;
    if (campaign.kind == Campaign::Kind::multiplier) {
      for (std::size_t i : reached) {
        if (campaign.multiplier_bp > best_bp[i]) {
          best_bp[i] = campaign.multiplier_bp;
          best_campaign[i] = c;
        }
      }
    } else if (spend > 0) {
      // A bonus is attributed to the money spent in its scope, so it needs some.
      bonuses.push_back({c, std::move(reached)});
    }
  }

  // The receipt's points from rates, as one exact sum, then attributed to lines.
  std::vector<Wide> weight(n, 0);
  Wide sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    lines[i].earn_multiplier_bp = lines[i].earn_ok ? tier_bp * best_bp[i] / kOne : 0;
    if (base[i] <= 0) continue;
    weight[i] = checked_product(checked_product(checked_product(base[i], lines[i].earn_rate), tier_bp), best_bp[i]);
    if (add_overflow(sum, weight[i], &sum)) throw Overflow("earned points");
  }
  const Wide denominator = Wide{rules.earn.rate_den} * kOne * kOne;
  const Points from_rates = narrow(sum / denominator, "earned points");
  const std::vector<std::int64_t> share = apportion(from_rates, weight);
  for (std::size_t i = 0; i < n; ++i) lines[i].points_earned = share[i];
  earning.total = from_rates;

  // Which multiplier campaign won where, for the receipt and for audit.
  for (std::size_t c = 0; c < rules.campaigns.size(); ++c) {
    AppliedCampaign applied{rules.campaigns[c].id, Campaign::Kind::multiplier, 0, {}};
    for (std::size_t i = 0; i < n; ++i)
      if (best_campaign[i] == c) applied.lines.push_back(i);
    if (!applied.lines.empty()) earning.campaigns.push_back(std::move(applied));
  }

  for (Bonus& bonus : bonuses) {
    const Campaign& campaign = rules.campaigns[bonus.campaign];
    std::vector<Wide> paid;
    paid.reserve(bonus.lines.size());
    for (std::size_t i : bonus.lines) paid.push_back(lines[i].gross - lines[i].discount);
    const std::vector<std::int64_t> parts = apportion(campaign.bonus_points, paid);
    for (std::size_t k = 0; k < bonus.lines.size(); ++k)
      lines[bonus.lines[k]].points_earned = checked_add(lines[bonus.lines[k]].points_earned, parts[k], "earned points");
    earning.bonus = checked_add(earning.bonus, campaign.bonus_points, "bonus points");
    earning.campaigns.push_back(
        {campaign.id, Campaign::Kind::bonus_points, campaign.bonus_points, std::move(bonus.lines)});
  }
  earning.total = checked_add(earning.total, earning.bonus, "earned points");
  return earning;
}

}  // namespace loyalty::domain
