#include <doctest/doctest.h>

#include <vector>

#include "drivers/member_token.hpp"

using namespace loyalty::drivers;
using loyalty::storage::PrivateKey;

namespace {

constexpr std::int64_t kTokenNow = 1'795'000'000;

struct Issuer {
  PrivateKey key = PrivateKey::generate();
  std::vector<IssuerKey> keys{{"app-1", key.public_key()}};
};

}  // namespace

TEST_CASE("a member token from the issuer verifies until it expires") {
  Issuer issuer;
  const std::string token = issue_member_token({"M-1001", kTokenNow + 300, "app-1"}, issuer.key);
  CHECK(token.starts_with("LT1."));
  const TokenResult read = verify_member_token(token, issuer.keys, kTokenNow, 60);
  REQUIRE_MESSAGE(read.token, read.problem);
  CHECK(read.token->member_id == "M-1001");
  CHECK(read.token->expires_at == kTokenNow + 300);
  CHECK(verify_member_token(token, issuer.keys, kTokenNow + 360, 60).token);  // within the clock skew
  CHECK(verify_member_token(token, issuer.keys, kTokenNow + 361, 60).problem ==
        "the app's code has expired: ask the customer to refresh it");
}

TEST_CASE("forged, altered and foreign tokens are refused") {
  Issuer issuer;
  const std::string token = issue_member_token({"M-1001", kTokenNow + 300, "app-1"}, issuer.key);

  // Another key under the same name.
  const PrivateKey forger = PrivateKey::generate();
  CHECK(
      verify_member_token(issue_member_token({"M-1001", kTokenNow + 300, "app-1"}, forger), issuer.keys, kTokenNow, 60)
          .problem == "the member token's signature is not valid");
  // A key the terminal does not hold.
  CHECK(verify_member_token(issue_member_token({"M-1001", kTokenNow + 300, "app-9"}, issuer.key), issuer.keys,
                            kTokenNow, 60)
            .problem == "the member token is signed with a key this terminal does not know");
  // Every single character changed in the payload or the signature.
  for (std::size_t i = kMemberTokenPrefix.size(); i < token.size(); ++i) {
    if (token[i] == '.') continue;
    std::string altered = token;
    altered[i] = token[i] == 'A' ? 'B' : 'A';
    CAPTURE(i);
    CHECK_FALSE(verify_member_token(altered, issuer.keys, kTokenNow, 60).token);
  }
  const std::string hostile[] = {"LT1.",        "LT1..",  "LT1.e30.", "LT1.!!!.AAAA", "LT1." + std::string(2000, 'A'),
                                 "LT2.abc.def", "LT1.abc"};
  for (const std::string& text : hostile) {
    CAPTURE(text.substr(0, 40));
    const TokenResult read = verify_member_token(text, issuer.keys, kTokenNow, 60);
    CHECK_FALSE(read.token);
    CHECK_FALSE(read.problem.empty());
  }
}
