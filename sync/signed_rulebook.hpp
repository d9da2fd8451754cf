// A rulebook as the central team publishes it: the rulebook document (docs/rulebook.md) in an
// envelope with an expiry and the central team's Ed25519 signature.
//
//   {"format": "loyalty-signed-rulebook/1", "key_id": "central-2026",
//    "expires": "2027-01-31T00:00:00Z", "signature": "<base64>", "document": "<rulebook JSON text>"}
//
// The signature covers "loyalty-signed-rulebook/1\n" + key_id + "\n" + expires + "\n" +
// document, byte for byte: the document travels as the exact text that was signed, and the
// expiry cannot be moved without breaking the signature. Terminals hold the public keys of the
// signing keys they accept, by key id, so the central team can roll its key over.

#ifndef LOYALTY_SYNC_SIGNED_RULEBOOK_HPP_
#define LOYALTY_SYNC_SIGNED_RULEBOOK_HPP_

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "domain/rulebook.hpp"
#include "storage/crypto.hpp"

namespace loyalty::sync {

inline constexpr std::string_view kSignedRulebookFormat = "loyalty-signed-rulebook/1";

// A rulebook that must not be used; code() is one of "not_signed", "unknown_key",
// "bad_signature", "expired", "invalid"; what() says what is wrong.
class RulebookRefused : public std::runtime_error {
 public:
  RulebookRefused(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

struct RulebookKey {
  std::string id;
  storage::PublicKey key;
};

struct SignedRulebook {
  std::string envelope;  // as received, for storing and serving again
  std::string document;
  std::string key_id;
  std::string signature;  // base64
  std::int64_t expires_at_s = 0;
  domain::Rulebook rules;
};

// Signs a rulebook document (checked first: an invalid one throws RulebookRefused "invalid")
// and returns the envelope text.
std::string sign_rulebook(std::string_view document, const storage::PrivateKey& key, std::string_view key_id,
                          std::int64_t expires_at_s);

// The rulebook document inside `text` when `text` is a signed envelope (not verified: for
// rulebooks that were verified when they were installed), nullopt when it is not an envelope.
std::optional<std::string> envelope_document(std::string_view text);

// Reads and verifies an envelope against `keys` at time `now_s`. Throws RulebookRefused.
SignedRulebook verify_rulebook(std::string_view envelope, std::span<const RulebookKey> keys, std::int64_t now_s);

}  // namespace loyalty::sync

#endif  // LOYALTY_SYNC_SIGNED_RULEBOOK_HPP_
