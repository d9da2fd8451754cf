#include <doctest/doctest.h>

#include "drivers/scanned_code.hpp"

using namespace loyalty::drivers;
using loyalty::storage::PrivateKey;

namespace {

constexpr std::int64_t kScanNow = 1'795'000'000;  // 2026-11-18

CodeRules rules_with(std::vector<CardRange> cards = {}) {
  CodeRules rules;
  rules.cards = std::move(cards);
  return rules;
}

}  // namespace

TEST_CASE("card numbers arrive as Code 128, magnetic stripe or bare digits") {
  const CodeRules rules = rules_with({{"4000", 16, CardCheck::luhn}, {"2700", 13, CardCheck::gs1}});
  const ScannedCode code128 = classify_code("]C04000000000000002", rules, kScanNow);
  CHECK(code128.kind == CodeKind::card);
  CHECK(code128.symbology == "code128");
  CHECK(code128.value == "4000000000000002");
  const ScannedCode stripe = classify_code(";4000000000000002=2812101?\r\n", rules, kScanNow);
  CHECK(stripe.kind == CodeKind::card);
  CHECK(stripe.symbology == "track2");
  CHECK(stripe.value == "4000000000000002");
  CHECK(classify_code("%B4000000000000002^MEMBER/A^2812101?;4000000000000002=2812101?", rules, kScanNow).value ==
        "4000000000000002");
  CHECK(classify_code("4000000000000002", rules, kScanNow).kind == CodeKind::card);
  // An EAN-13 in a GS1 card range is a card; the same symbology elsewhere is a product.
  const ScannedCode ean_card = classify_code("]E02700000000014", rules, kScanNow);
  CHECK(ean_card.kind == CodeKind::card);
  CHECK(ean_card.symbology == "ean13");
  const ScannedCode milk = classify_code("4600000000015", rules, kScanNow);
  CHECK(milk.kind == CodeKind::product);
  CHECK(milk.problem == "a product barcode, not a loyalty card");
  CHECK(classify_code("036000291452", rules, kScanNow).symbology == "upca");
  CHECK(classify_code("96385074", rules, kScanNow).symbology == "ean8");
}

TEST_CASE("misreads are damaged, foreign and expired cards are refused, nothing is guessed") {
  const CodeRules rules = rules_with({{"4000", 16, CardCheck::luhn}});
  struct Case {
    std::string raw;
    CodeKind kind;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {"4600000000016", CodeKind::damaged, "the barcode's check digit is wrong: scan again"},
      {"]C04000000000000003", CodeKind::damaged, "the card number's check digit is wrong: mistyped or misread?"},
      {"]C05555555555554444", CodeKind::refused,
       "not a card of this programme (no card range has this prefix and length)"},
      {";4000000000000002=2510101?", CodeKind::refused, "this card expired in 10/25"},
      {";4000000000000002=2812", CodeKind::damaged, "the track has no end sentinel '?': swipe again"},
      {"%B4000^NAME?", CodeKind::damaged, "the stripe has no track 2: swipe again"},
      {"]C1010460000000001117261231", CodeKind::refused,
       "not a card of this programme (no card range has this prefix and length)"},
      {"]C1\x1D"
       "0104600000000011",
       CodeKind::product, "a GS1 product or logistics code, not a loyalty card"},
      {"HELLO WORLD", CodeKind::unknown, "not a loyalty card or app code: scan the member's card or app"},
      {"", CodeKind::damaged, "the scan is empty"},
      {"]E0", CodeKind::damaged, "the scan is empty"},
      {std::string("4000\0"
                   "000",
                   8),
       CodeKind::damaged, "the scan holds characters no code has: scan again"},
      {"\x1b[2J4000000000000002", CodeKind::damaged, "the scan holds characters no code has: scan again"},
      {std::string(5000, '4'), CodeKind::damaged, "the scan is too long to be a code"},
      {"LT1.garbage.garbage", CodeKind::refused, "the member token is damaged"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.raw.substr(0, 40));
    const ScannedCode code = classify_code(c.raw, rules, kScanNow);
    CHECK(to_string(code.kind) == to_string(c.kind));
    CHECK(code.problem == c.problem);
    CHECK(code.value.empty() == (c.kind != CodeKind::product || code.symbology == "gs1-128"));
    CHECK_FALSE(code.identifies_member());
  }
}

TEST_CASE("the app's QR token identifies its member when the issuer signed it") {
  const PrivateKey issuer = PrivateKey::generate();
  CodeRules rules = rules_with();
  rules.issuers.push_back({"app-1", issuer.public_key()});
  const std::string token = issue_member_token({"M-1001", kScanNow + 120, "app-1"}, issuer);
  const ScannedCode qr = classify_code("]Q1" + token, rules, kScanNow);
  CHECK(qr.kind == CodeKind::member_token);
  CHECK(qr.value == "M-1001");
  CHECK(qr.symbology == "qr");
  CHECK(qr.identifies_member());
  const ScannedCode expired = classify_code(token, rules, kScanNow + 1000);
  CHECK(expired.kind == CodeKind::refused);
  CHECK(expired.problem == "the app's code has expired: ask the customer to refresh it");
}
