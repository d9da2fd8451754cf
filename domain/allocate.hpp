// Apportioning an integer total across parts in proportion to weights.
//
// This is how a redemption's money value is spread across the receipt's lines, how the
// redeemed and earned points are attributed to lines for later refunds, and how a per-rate
// VAT total is split to lines. The result is exact (the parts sum to the total), respects
// per-part caps by water-filling, and rounds by largest remainder with a deterministic
// tie-break (remainder descending, weight descending, index ascending).
#ifndef LOYALTY_DOMAIN_ALLOCATE_HPP_
#define LOYALTY_DOMAIN_ALLOCATE_HPP_

#include <cstdint>
#include <span>
#include <vector>

#include "domain/money.hpp"

namespace loyalty::domain {

struct Allocation {
  std::vector<std::int64_t> amounts;  // one per weight, summing to the total
  std::vector<bool> pinned;           // true where the part was held at its cap by water-filling
};

// Spreads `total` over the parts in proportion to `weights`, no part above its cap.
// Parts with a zero weight or a zero cap get nothing. Requires total >= 0, weights >= 0,
// caps >= 0 and total <= the sum of the caps of parts with a positive weight; throws
// InvalidInput otherwise. `caps` must have one entry per weight.
Allocation allocate(std::int64_t total, std::span<const Wide> weights, std::span<const std::int64_t> caps);

// The same without caps: every part with a positive weight may take any amount.
std::vector<std::int64_t> apportion(std::int64_t total, std::span<const Wide> weights);

// floor(r * w / divisor) and the remainder, exact for any r >= 0 and 0 <= w <= divisor < 2^127
// (the product may need up to 191 bits).
struct Share {
  std::int64_t quotient = 0;
  Wide remainder = 0;
};
Share share_of(std::int64_t r, Wide w, Wide divisor);

}  // namespace loyalty::domain

#endif  // LOYALTY_DOMAIN_ALLOCATE_HPP_
