// What the ledger answers when a terminal asks it to hold points for a redemption
// (POST /v1/authorize, docs/sync-protocol.md): the uplink reads it, the checkout prices with it.

#ifndef LOYALTY_SYNC_AUTHORIZATION_HPP_
#define LOYALTY_SYNC_AUTHORIZATION_HPP_

#include <cstdint>
#include <string>

namespace loyalty::sync {

// The ledger's answer to an authorization, or nothing when it did not come in time. With one, a
// commit redeems at most the points the ledger holds for it instead of the offline limits.
struct OnlineAuthorization {
  // "approved", "declined", "member_unknown", "member_blocked"; the agent's "not_asked" when a
  // commit redeems nothing and the ledger was not asked.
  std::string outcome;
  std::int64_t points = 0;
  std::int64_t available = 0;
};

}  // namespace loyalty::sync

#endif  // LOYALTY_SYNC_AUTHORIZATION_HPP_
