// The member view a checkout uses while the ledger may be out of reach: the cached balance
// adjusted by this terminal's own entries that the cache does not reflect yet. Without the
// adjustment a member could spend the same points twice at one lane during an outage.

#ifndef LOYALTY_STORAGE_LOCAL_BALANCE_HPP_
#define LOYALTY_STORAGE_LOCAL_BALANCE_HPP_

#include <cstdint>
#include <optional>

#include "storage/journal.hpp"
#include "storage/member_cache.hpp"

namespace loyalty::storage {

struct MemberView {
  CachedMember member;
  std::int64_t unsettled_points = 0;  // earned minus redeemed in entries the cache does not reflect
  std::int64_t local_balance = 0;     // member.balance + unsettled_points
};

MemberView local_view(const CachedMember& member, MemberCache& cache, Journal& journal);
// Finds the member by identifier key; nullopt for an unknown identifier.
std::optional<MemberView> local_view(const Digest& key, MemberCache& cache, Journal& journal);

}  // namespace loyalty::storage

#endif  // LOYALTY_STORAGE_LOCAL_BALANCE_HPP_
