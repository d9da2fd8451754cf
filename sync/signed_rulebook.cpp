#include "sync/signed_rulebook.hpp"

#include "runtime/json_reader.hpp"
#include "sync/datetime.hpp"
#include "sync/rulebook_json.hpp"

namespace loyalty::sync {

using runtime::fail;
using runtime::Json;
using runtime::JsonError;
using runtime::OrderedJson;
using runtime::parse_json;
using runtime::Reader;
namespace {

std::string signed_message(std::string_view key_id, std::string_view expires, std::string_view document) {
  std::string message(kSignedRulebookFormat);
  message += '\n';
  message += key_id;
  message += '\n';
  message += expires;
  message += '\n';
  message += document;
  return message;
}

domain::Rulebook parse_document(std::string_view document) {
  try {
    return rulebook_from_json(parse_json(document, "rulebook"));
  } catch (const JsonError& error) {
    throw RulebookRefused("invalid", std::string("the signed document is not a valid rulebook: ") + error.what());
  }
}

}  // namespace

std::string sign_rulebook(std::string_view document, const storage::PrivateKey& key, std::string_view key_id,
                          std::int64_t expires_at_s) {
  parse_document(document);
  if (key_id.empty() || key_id.size() > 64) throw RulebookRefused("invalid", "a key id is 1 to 64 characters");
  const std::string expires = format_rfc3339_utc(expires_at_s);
  const storage::Signature signature = key.sign(storage::as_bytes(signed_message(key_id, expires, document)));
  OrderedJson envelope;
  envelope["format"] = kSignedRulebookFormat;
  envelope["key_id"] = key_id;
  envelope["expires"] = expires;
  envelope["signature"] = storage::to_base64(signature);
  envelope["document"] = document;
  return envelope.dump(2) + "\n";
}

std::optional<std::string> envelope_document(std::string_view text) {
  const Json parsed = Json::parse(text, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("format") || parsed["format"] != kSignedRulebookFormat ||
      !parsed.contains("document") || !parsed["document"].is_string()) {
    return std::nullopt;
  }
  return parsed["document"].get<std::string>();
}

SignedRulebook verify_rulebook(std::string_view envelope, std::span<const RulebookKey> keys, std::int64_t now_s) {
  SignedRulebook result;
  result.envelope = envelope;
  storage::Signature signature{};
  std::string expires;
  try {
    const Json parsed = parse_json(envelope, "signed rulebook");
    if (!parsed.is_object() || !parsed.contains("format") || parsed["format"] != kSignedRulebookFormat) {
      throw RulebookRefused("not_signed", "the rulebook is not in a signed envelope (" +
                                              std::string(kSignedRulebookFormat) +
                                              "): sign it with loyalty-ledger rulebook sign");
    }
    Reader in(parsed, "signed_rulebook");
    in.string("format", 64);
    result.key_id = in.string("key_id", 64);
    expires = in.string("expires", 64);
    result.signature = in.string("signature", 128);
    result.document = in.multiline_string("document", 4 * 1024 * 1024);
    in.finish();
    const auto at = parse_rfc3339(expires);
    if (!at) fail(in.path_of("expires"), "must be an RFC 3339 time, got \"" + expires + "\"");
    result.expires_at_s = *at;
    std::string raw;
    try {
      raw = storage::from_base64(result.signature);
    } catch (const std::invalid_argument& error) {
      fail(in.path_of("signature"), error.what());
    }
    if (raw.size() != signature.size()) fail(in.path_of("signature"), "must be a 64-byte Ed25519 signature");
    std::copy(raw.begin(), raw.end(), signature.begin());
  } catch (const JsonError& error) {
    throw RulebookRefused("not_signed", std::string("the signed rulebook cannot be read: ") + error.what());
  }
  const RulebookKey* key = nullptr;
  for (const RulebookKey& candidate : keys) {
    if (candidate.id == result.key_id) key = &candidate;
  }
  if (key == nullptr) {
    throw RulebookRefused("unknown_key",
                          "the rulebook is signed with key \"" + result.key_id + "\", which this side does not accept");
  }
  if (!key->key.verify(storage::as_bytes(signed_message(result.key_id, expires, result.document)), signature)) {
    throw RulebookRefused("bad_signature", "the rulebook's signature does not verify with key \"" + result.key_id +
                                               "\": the document or its expiry was changed");
  }
  if (result.expires_at_s <= now_s) {
    throw RulebookRefused("expired", "the rulebook expired at " + expires + ": the central team must sign it again");
  }
  result.rules = parse_document(result.document);
  return result;
}

}  // namespace loyalty::sync
