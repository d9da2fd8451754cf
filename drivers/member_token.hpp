// Signed member tokens: the QR code the mobile app shows at the till.
//
//   LT1.<payload>.<signature>
//
// <payload> is base64url (no padding) of {"member": "M-1001", "exp": 1795000000, "kid": "app-1"}:
// the member id, the expiry in Unix seconds and the id of the issuer key. <signature> is
// base64url of the Ed25519 signature by that issuer key over the ASCII bytes "LT1.<payload>".
// The central issuer signs; a terminal holds only the public keys, so a token cannot be made
// at a till. Tokens are short-lived (the app renews them), which keeps a screenshot from
// being useful for long.

#ifndef LOYALTY_DRIVERS_MEMBER_TOKEN_HPP_
#define LOYALTY_DRIVERS_MEMBER_TOKEN_HPP_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "storage/crypto.hpp"

namespace loyalty::drivers {

inline constexpr std::string_view kMemberTokenPrefix = "LT1.";

struct IssuerKey {
  std::string id;
  storage::PublicKey key;
};

struct MemberToken {
  std::string member_id;
  std::int64_t expires_at = 0;  // Unix seconds
  std::string key_id;
};

struct TokenResult {
  std::optional<MemberToken> token;
  std::string problem;  // empty when the token verified
};

// Verifies the signature with the issuer key the token names, then the expiry against
// `now_s`, allowing `skew_s` seconds for the phone's and the terminal's clocks.
TokenResult verify_member_token(std::string_view text, std::span<const IssuerKey> issuers, std::int64_t now_s,
                                std::int64_t skew_s);

// Makes a token (the issuer's side; the lane simulator and the tests use it too).
std::string issue_member_token(const MemberToken& token, const storage::PrivateKey& key);

}  // namespace loyalty::drivers

#endif  // LOYALTY_DRIVERS_MEMBER_TOKEN_HPP_
