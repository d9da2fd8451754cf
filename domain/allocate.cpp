// Water-filling with largest remainder (docs/redemption.md section 2.4).
//
// Each round takes the proportional share of what is left, R * W_i / Wsum, for every line
// still active. Lines whose share reaches their cap are pinned at the cap all at once:
// removing capped lines can only raise the common factor for the rest, so pinning every
// over-cap line in one round is correct and the loop ends within n rounds. What remains is
// split by floor shares, and the units lost to flooring go one each to the lines with the
// largest remainders. An unpinned line's share is strictly below its cap, so the extra unit
// never pushes it over.
//
// Weights are 128-bit because earn attribution weights are amount x rate x multipliers.
// R * W then may need more than 128 bits; share_of keeps a 64-bit fast path and falls back
// to an exact 192-by-128-bit long division only when the product would overflow.
#include "domain/allocate.hpp"

#include <algorithm>
#include <limits>

namespace loyalty::domain {
namespace {

Wide sum_of(std::span<const Wide> weights, std::span<const std::size_t> active) {
  Wide sum = 0;
  for (std::size_t i : active)
    if (add_overflow(sum, weights[i], &sum)) throw Overflow("sum of allocation weights");
  return sum;
}

}  // namespace

Share share_of(std::int64_t r, Wide w, Wide divisor) {
  // Most shares are small: one 64-bit division gives quotient and remainder.
  const auto ur = static_cast<std::uint64_t>(r);
  const auto w_high = static_cast<std::uint64_t>(w >> 64);
  const Product64 low = multiply_64(ur, static_cast<std::uint64_t>(w));
  if (w_high == 0 && low.high == 0 && (divisor >> 64) == 0) {
    const auto d64 = static_cast<std::uint64_t>(divisor);
    return Share{static_cast<std::int64_t>(low.low / d64), Wide{low.low % d64}};
  }
  Wide product = 0;
  if (!mul_overflow(Wide{r}, w, &product))
    return Share{static_cast<std::int64_t>(product / divisor), product % divisor};
  // Slow path: the 191-bit product as three 64-bit limbs, divided bit by bit.
  const Product64 high = multiply_64(ur, w_high);
  const std::uint64_t middle = high.low + low.high;
  const std::uint64_t limbs[3] = {high.high + (middle < high.low ? 1U : 0U), middle, low.low};
  Wide remainder = 0;
  Wide quotient = 0;  // at most r, because w <= divisor
  for (std::uint64_t limb : limbs) {
    for (int bit = 63; bit >= 0; --bit) {
      // The next remainder is 2 * remainder + b. It is compared with the divisor through their
      // gap, so that nothing above the divisor (< 2^127) is ever formed.
      const Wide b = (limb >> bit) & 1U;
      const Wide gap = divisor - remainder - b;
      quotient <<= 1;
      if (remainder >= gap) {
        remainder -= gap;
        ++quotient;
      } else {
        remainder = 2 * remainder + b;
      }
    }
  }
  return Share{static_cast<std::int64_t>(quotient), remainder};
}

Allocation allocate(std::int64_t total, std::span<const Wide> weights, std::span<const std::int64_t> caps) {
  const std::size_t n = weights.size();
  if (caps.size() != n) throw InvalidInput("allocate: one cap per weight");
  if (total < 0) throw InvalidInput("allocate: negative total");
  Allocation result{std::vector<std::int64_t>(n, 0), std::vector<bool>(n, false)};

  std::vector<std::size_t> active;
  active.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (weights[i] < 0 || caps[i] < 0) throw InvalidInput("allocate: negative weight or cap");
    if (weights[i] > 0 && caps[i] > 0) active.push_back(i);
  }

  std::int64_t rest = total;
  Wide weight_sum = sum_of(weights, active);
  while (rest > 0 && !active.empty()) {
    // Decide the whole round against the same `rest` and `weight_sum`, then apply it.
    std::int64_t pinned_total = 0;
    Wide pinned_weight = 0;
    auto keep = std::remove_if(active.begin(), active.end(), [&](std::size_t i) {
      if (share_of(rest, weights[i], weight_sum).quotient < caps[i]) return false;
      result.amounts[i] = caps[i];
      result.pinned[i] = true;
      pinned_total += caps[i];
      pinned_weight += weights[i];
      return true;
    });
    if (keep == active.end()) break;
    active.erase(keep, active.end());
    rest -= pinned_total;
    weight_sum -= pinned_weight;
  }
  if (rest == 0) return result;
  if (active.empty()) throw InvalidInput("allocate: total exceeds what the parts can take");

  struct Part {
    std::size_t index;
    Wide remainder;
  };
  std::vector<Part> parts;
  parts.reserve(active.size());
  std::int64_t handed_out = 0;
  for (std::size_t i : active) {
    const Share s = share_of(rest, weights[i], weight_sum);
    result.amounts[i] = s.quotient;
    handed_out += s.quotient;
    parts.push_back({i, s.remainder});
  }
  const auto extra = static_cast<std::size_t>(rest - handed_out);  // < active.size()
  // Only which parts get a unit matters, not their order: select the first `extra` of the
  // total order (remainder desc, weight desc, index asc) in linear time.
  if (extra > 0 && extra < parts.size())
    std::nth_element(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(extra - 1), parts.end(),
                     [&weights](const Part& a, const Part& b) {
                       if (a.remainder != b.remainder) return a.remainder > b.remainder;
                       if (weights[a.index] != weights[b.index]) return weights[a.index] > weights[b.index];
                       return a.index < b.index;
                     });
  for (std::size_t k = 0; k < extra; ++k) ++result.amounts[parts[k].index];
  return result;
}

std::vector<std::int64_t> apportion(std::int64_t total, std::span<const Wide> weights) {
  const std::vector<std::int64_t> unlimited(weights.size(), std::numeric_limits<std::int64_t>::max());
  return allocate(total, weights, unlimited).amounts;
}

}  // namespace loyalty::domain
