// What the POS hands the agent: a basket of lines and, when a card was presented, the
// member it belongs to.
#ifndef LOYALTY_DOMAIN_BASKET_HPP_
#define LOYALTY_DOMAIN_BASKET_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/local_time.hpp"
#include "domain/money.hpp"

namespace loyalty::domain {

enum class Tender { card, cash };

struct Line {
  std::string sku;
  std::string category;
  std::string name;
  Minor unit_price = 0;                // tax-inclusive, per piece or per kg/l, before any discount
  std::int64_t qty_milli = 1000;       // quantity x 1000: pieces x 1000, or grams, millilitres
  bool counted = true;                 // counted pieces (qty_milli a multiple of 1000) or weighed
  std::optional<std::int64_t> vat_bp;  // VAT rate in basis points; nullopt: outside the scope of VAT
  Minor prior_discount = 0;            // promotions applied before points

  std::int64_t units() const { return counted ? qty_milli / 1000 : 1; }
};

struct Basket {
  std::string receipt_id;
  UnixSeconds at = 0;  // when the sale happens; campaign windows are checked against it
  Tender tender = Tender::card;
  Points redeem = 0;  // points the member asks to redeem
  std::vector<Line> lines;
};

// A member's standing, as the ledger keeps it and every terminal caches it: a blocked member
// neither earns nor redeems. The numbers are the codes both databases store (the member cache's
// and the ledger's status columns), and "active" / "blocked" the names in every document.
enum class MemberStatus { active = 1, blocked = 2 };

constexpr std::string_view status_name(MemberStatus status) {
  return status == MemberStatus::blocked ? "blocked" : "active";
}

struct Member {
  std::string id;
  std::string tier;  // empty: no tier
  Points balance = 0;
  MemberStatus status = MemberStatus::active;
};

}  // namespace loyalty::domain

#endif  // LOYALTY_DOMAIN_BASKET_HPP_
