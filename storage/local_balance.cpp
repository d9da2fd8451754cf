#include "storage/local_balance.hpp"

namespace loyalty::storage {

MemberView local_view(const CachedMember& member, MemberCache& cache, Journal& journal) {
  MemberView view;
  view.member = member;
  view.unsettled_points = journal.unsettled_points(member.member_id, cache.cursor());
  view.local_balance = member.balance + view.unsettled_points;
  return view;
}

std::optional<MemberView> local_view(const Digest& key, MemberCache& cache, Journal& journal) {
  auto member = cache.find(key);
  if (!member) return std::nullopt;
  return local_view(*member, cache, journal);
}

}  // namespace loyalty::storage
