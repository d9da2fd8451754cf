// The member change feed from the ledger to terminals (docs/sync-protocol.md): a page of
// members changed after a cursor, each with its balance, tier, status and the keyed hashes of
// its identifiers (storage/member_cache.hpp), never a raw card or phone number.
//
//   {"format": "loyalty-members/1", "cursor": 1042, "more": false,
//    "members": [{"member_id": "M-1", "balance": 1250, "tier": "gold", "status": "active",
//                 "cursor": 1042, "keys": ["9f2c...", ...]}]}

#ifndef LOYALTY_SYNC_MEMBER_FEED_HPP_
#define LOYALTY_SYNC_MEMBER_FEED_HPP_

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/json_reader.hpp"
#include "storage/member_cache.hpp"

namespace loyalty::sync {

inline constexpr std::string_view kMemberFeedFormat = "loyalty-members/1";
inline constexpr std::size_t kMaxMemberPage = 5000;

struct MemberPage {
  std::int64_t cursor = 0;  // the cursor to ask after next
  bool more = false;        // more changes wait after `cursor`
  std::vector<storage::MemberDelta> members;
};

runtime::OrderedJson member_page_to_json(const MemberPage& page);
// Reads a page. Throws JsonError naming the member and field that is wrong.
MemberPage member_page_from_json(const runtime::Json& document);

}  // namespace loyalty::sync

#endif  // LOYALTY_SYNC_MEMBER_FEED_HPP_
