#include "agent/sim/members.hpp"

#include <algorithm>
#include <ostream>
#include <vector>

#include "agent/sim/shop.hpp"
#include "runtime/json_reader.hpp"

namespace loyalty::sim {

void write_members(storage::MemberCache& cache, const storage::IdentifierHasher& hasher, std::int64_t count) {
  constexpr std::int64_t kBatch = 20'000;
  std::int64_t cursor = cache.cursor();
  for (std::int64_t first = 0; first < count; first += kBatch) {
    ++cursor;
    std::vector<storage::MemberDelta> deltas;
    for (std::int64_t i = first; i < std::min(count, first + kBatch); ++i) {
      storage::MemberDelta delta;
      delta.member = {member_id(i), member_balance(i), member_tier(i), domain::MemberStatus::active, cursor};
      delta.keys = {hasher.key(storage::IdentifierKind::card, member_card(i)),
                    hasher.key(storage::IdentifierKind::phone, member_phone(i))};
      deltas.push_back(std::move(delta));
    }
    cache.apply(deltas, cursor);
  }
}

void write_member_lines(std::ostream& out, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    nlohmann::ordered_json line;
    line["member_id"] = member_id(i);
    line["tier"] = member_tier(i);
    line["balance"] = member_balance(i);
    line["cards"] = {member_card(i)};
    line["phones"] = {member_phone(i)};
    out << line.dump() << "\n";
  }
}

}  // namespace loyalty::sim
