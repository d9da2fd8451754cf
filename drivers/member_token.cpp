#include "drivers/member_token.hpp"

#include <algorithm>
#include <array>

#include "runtime/json_reader.hpp"

namespace loyalty::drivers {
namespace {

constexpr std::size_t kMaxToken = 1024;
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(storage::Bytes data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  std::uint32_t bits = 0;
  int count = 0;
  for (const std::uint8_t byte : data) {
    bits = (bits << 8) | byte;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 0x3F];
    }
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 0x3F];
  return out;
}

// nullopt for a character outside the alphabet, a length no encoding has, or stray low bits.
std::optional<std::string> from_base64url(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    const std::size_t value = kAlphabet.find(c);
    if (value == std::string_view::npos) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  if ((bits & ((1u << count) - 1)) != 0) return std::nullopt;  // canonical encodings only
  return out;
}

TokenResult bad_token(std::string problem) { return {std::nullopt, std::move(problem)}; }

}  // namespace

TokenResult verify_member_token(std::string_view text, std::span<const IssuerKey> issuers, std::int64_t now_s,
                                std::int64_t skew_s) {
  if (!text.starts_with(kMemberTokenPrefix)) return bad_token("not a member token");
  if (text.size() > kMaxToken) return bad_token("the member token is too long");
  const std::size_t dot = text.find('.', kMemberTokenPrefix.size());
  if (dot == std::string_view::npos) return bad_token("the member token has no signature");
  const auto payload = from_base64url(text.substr(kMemberTokenPrefix.size(), dot - kMemberTokenPrefix.size()));
  const auto signature = from_base64url(text.substr(dot + 1));
  if (!payload || !signature || signature->size() != 64) return bad_token("the member token is damaged");

  runtime::Json fields;
  try {
    fields = runtime::parse_json(*payload, "member token");  // refuses a key given twice
  } catch (const runtime::JsonError&) {
    return bad_token("the member token's content is not a member token's");
  }
  if (!fields.is_object() || fields.size() != 3 || !fields.contains("member") || !fields["member"].is_string() ||
      !fields.contains("exp") || !fields["exp"].is_number_integer() || !fields.contains("kid") ||
      !fields["kid"].is_string()) {
    return bad_token("the member token's content is not a member token's");
  }
  MemberToken token{fields["member"].get<std::string>(), fields["exp"].get<std::int64_t>(),
                    fields["kid"].get<std::string>()};
  if (token.member_id.empty() || token.member_id.size() > 64) return bad_token("the member token's member id is bad");

  const auto issuer =
      std::find_if(issuers.begin(), issuers.end(), [&](const IssuerKey& k) { return k.id == token.key_id; });
  if (issuer == issuers.end()) return bad_token("the member token is signed with a key this terminal does not know");
  storage::Signature sig;
  std::copy(signature->begin(), signature->end(), sig.begin());
  if (!issuer->key.verify(storage::as_bytes(text.substr(0, dot)), sig)) {
    return bad_token("the member token's signature is not valid");
  }
  if (now_s > token.expires_at + skew_s) return bad_token("the app's code has expired: ask the customer to refresh it");
  return {std::move(token), {}};
}

std::string issue_member_token(const MemberToken& token, const storage::PrivateKey& key) {
  const std::string payload =
      nlohmann::json{{"member", token.member_id}, {"exp", token.expires_at}, {"kid", token.key_id}}.dump();
  const std::string signed_part = std::string(kMemberTokenPrefix) + base64url(storage::as_bytes(payload));
  const storage::Signature sig = key.sign(storage::as_bytes(signed_part));
  return signed_part + "." + base64url(sig);
}

}  // namespace loyalty::drivers
