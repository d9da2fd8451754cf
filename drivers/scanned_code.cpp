#include "drivers/scanned_code.hpp"

#include <algorithm>
#include <ctime>

#include "drivers/track2.hpp"

namespace loyalty::drivers {
namespace {

bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_digit); }

ScannedCode result(CodeKind kind, std::string symbology, std::string value, std::string problem = {}) {
  return {kind, std::move(symbology), std::move(value), std::move(problem)};
}

// The symbology an AIM identifier names; empty for one loyalty does not tell apart.
std::string aim_symbology(char code, char modifier) {
  switch (code) {
    case 'E': return modifier == '4' ? "ean8" : "ean13";
    case 'C': return modifier == '1' ? "gs1-128" : "code128";
    case 'Q': return "qr";
    default: return "text";
  }
}

// The year and month of Unix time `now_s`, as YYMM compares: 2611 for November 2026.
int year_month(std::int64_t now_s) {
  const std::time_t t = static_cast<std::time_t>(now_s);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  return (utc.tm_year % 100) * 100 + utc.tm_mon + 1;
}

ScannedCode card_or_refusal(std::string symbology, std::string_view digits, const CodeRules& rules) {
  CardNumber card = check_card(digits, rules.cards);
  if (!card.problem.empty()) {
    return result(card.misread ? CodeKind::damaged : CodeKind::refused, std::move(symbology), {},
                  std::move(card.problem));
  }
  return result(CodeKind::card, std::move(symbology), std::move(card.digits));
}

ScannedCode magnetic_stripe(std::string_view raw, const CodeRules& rules, std::int64_t now_s) {
  const std::size_t start = raw.find(';');
  if (start == std::string_view::npos) {
    return result(CodeKind::damaged, "track2", {}, "the stripe has no track 2: swipe again");
  }
  Track2Result read = parse_track2(raw.substr(start));
  if (!read.track) return result(CodeKind::damaged, "track2", {}, std::move(read.problem));
  const Track2& track = *read.track;
  if (!track.expiry.empty()) {
    const int expiry = std::stoi(track.expiry);
    // YYMM compares as a number within one century; cards expire within a few years.
    if (expiry < year_month(now_s)) {
      return result(CodeKind::refused, "track2", {},
                    "this card expired in " + track.expiry.substr(2, 2) + "/" + track.expiry.substr(0, 2));
    }
  }
  return card_or_refusal("track2", track.pan, rules);
}

}  // namespace

std::string_view to_string(CodeKind kind) {
  switch (kind) {
    case CodeKind::card: return "card";
    case CodeKind::member_token: return "member_token";
    case CodeKind::product: return "product";
    case CodeKind::refused: return "refused";
    case CodeKind::damaged: return "damaged";
    case CodeKind::unknown: break;
  }
  return "unknown";
}

ScannedCode classify_code(std::string_view raw, const CodeRules& rules, std::int64_t now_s) {
  if (raw.size() > kMaxScanBytes) return result(CodeKind::damaged, "text", {}, "the scan is too long to be a code");
  while (!raw.empty() && (raw.back() == '\r' || raw.back() == '\n' || raw.back() == ' ')) raw.remove_suffix(1);
  std::string symbology;
  if (raw.size() >= 3 && raw[0] == ']') {
    symbology = aim_symbology(raw[1], raw[2]);
    raw.remove_prefix(3);
  }
  if (raw.empty()) return result(CodeKind::damaged, symbology.empty() ? "text" : symbology, {}, "the scan is empty");
  const bool printable =
      std::all_of(raw.begin(), raw.end(), [](char c) { return (c >= 0x20 && c < 0x7F) || c == 0x1D; });
  if (!printable) return result(CodeKind::damaged, "text", {}, "the scan holds characters no code has: scan again");

  if (raw.front() == ';' || raw.front() == '%') return magnetic_stripe(raw, rules, now_s);
  if (raw.starts_with(kMemberTokenPrefix)) {
    TokenResult token = verify_member_token(raw, rules.issuers, now_s, rules.token_skew_s);
    if (!token.token) return result(CodeKind::refused, symbology.empty() ? "qr" : symbology, {}, token.problem);
    return result(CodeKind::member_token, symbology.empty() ? "qr" : symbology, token.token->member_id);
  }
  if (all_digits(raw)) {
    const bool gs1_length = raw.size() == 8 || raw.size() == 12 || raw.size() == 13;
    const bool retail_barcode = symbology == "ean13" || symbology == "ean8" || (symbology.empty() && gs1_length);
    if (retail_barcode) {
      if (symbology.empty()) symbology = raw.size() == 8 ? "ean8" : raw.size() == 12 ? "upca" : "ean13";
      if (!gs1_valid(raw)) {
        return result(CodeKind::damaged, symbology, {}, "the barcode's check digit is wrong: scan again");
      }
      // A retail barcode is a card only by a GS1 card range; otherwise it is a product.
      const bool card_range = std::any_of(rules.cards.begin(), rules.cards.end(), [&](const CardRange& r) {
        return r.check == CardCheck::gs1 && raw.size() == r.length && raw.starts_with(r.prefix);
      });
      if (card_range) return result(CodeKind::card, symbology, std::string(raw));
      return result(CodeKind::product, symbology, std::string(raw), "a product barcode, not a loyalty card");
    }
    return card_or_refusal(symbology.empty() ? "text" : symbology, raw, rules);
  }
  if (symbology == "gs1-128" || raw.find('\x1D') != std::string_view::npos) {
    return result(CodeKind::product, symbology.empty() ? "gs1-128" : symbology, {},
                  "a GS1 product or logistics code, not a loyalty card");
  }
  return result(CodeKind::unknown, symbology.empty() ? "text" : symbology, {},
                "not a loyalty card or app code: scan the member's card or app");
}

}  // namespace loyalty::drivers
