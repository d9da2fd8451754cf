#include "agent/sim/members.hpp"

#include <algorithm>
#include <vector>

#include "agent/sim/shop.hpp"

namespace loyalty::sim {

void write_members(storage::MemberCache& cache, const storage::IdentifierHasher& hasher, std::int64_t count) {
  constexpr std::int64_t kBatch = 20'000;
  std::int64_t cursor = cache.cursor();
  for (std::int64_t first = 0; first < count; first += kBatch) {
    ++cursor;
    std::vector<storage::MemberDelta> deltas;
    for (std::int64_t i = first; i < std::min(count, first + kBatch); ++i) {
      storage::MemberDelta delta;
      delta.member = {member_id(i), member_balance(i), member_tier(i), storage::MemberStatus::active, cursor};
      delta.keys = {hasher.key(storage::IdentifierKind::card, member_card(i)),
                    hasher.key(storage::IdentifierKind::phone, member_phone(i))};
      deltas.push_back(std::move(delta));
    }
    cache.apply(deltas, cursor);
  }
}

}  // namespace loyalty::sim
