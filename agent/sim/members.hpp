// The synthetic members of agent/sim/shop.hpp written into a member cache, as the ledger's
// deltas would: for the demo, the simulator's lanes and the memory benchmark.

#ifndef LOYALTY_AGENT_SIM_MEMBERS_HPP_
#define LOYALTY_AGENT_SIM_MEMBERS_HPP_

#include <cstdint>

#include "storage/member_cache.hpp"

namespace loyalty::sim {

// Upserts members 0..count-1 (card and phone keys by `hasher`) in batches of 20,000, each
// batch one step of the cache's cursor.
void write_members(storage::MemberCache& cache, const storage::IdentifierHasher& hasher, std::int64_t count);

}  // namespace loyalty::sim

#endif  // LOYALTY_AGENT_SIM_MEMBERS_HPP_
