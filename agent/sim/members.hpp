// The synthetic members of agent/sim/shop.hpp, written into a member cache as the ledger's
// deltas would (the memory benchmark, an agent without a ledger), or as a file for the
// ledger's member import (the demo with a ledger).

#ifndef LOYALTY_AGENT_SIM_MEMBERS_HPP_
#define LOYALTY_AGENT_SIM_MEMBERS_HPP_

#include <cstdint>
#include <iosfwd>

#include "storage/member_cache.hpp"

namespace loyalty::sim {

// Upserts members 0..count-1 (card and phone keys by `hasher`) in batches of 20,000, each
// batch one step of the cache's cursor.
void write_members(storage::MemberCache& cache, const storage::IdentifierHasher& hasher, std::int64_t count);

// Writes members 0..count-1 as the ledger's member import reads them (ledger/members.hpp): one
// JSON object per line with the raw card and phone, for `loyalty-ledger members import`.
void write_member_lines(std::ostream& out, std::int64_t count);

}  // namespace loyalty::sim

#endif  // LOYALTY_AGENT_SIM_MEMBERS_HPP_
