// What a scanned code is, as far as loyalty goes: a member's card, a member's app token, a
// product barcode scanned at the wrong moment, or something the terminal cannot use, with the
// reason a cashier's screen can show. Nothing is guessed: a wrong check digit is a misread.
//
// Scanners may prefix each code with its AIM symbology identifier ("]E0" EAN-13 or UPC-A,
// "]E4" EAN-8, "]C0" Code 128, "]C1" GS1-128, "]Q1" QR); configuring them to is recommended,
// because it tells a 13-digit Code 128 card number from an EAN-13 product code. Without it,
// the content decides:
//
//   ";...?"  or "%...?;...?"     magnetic stripe: ISO 7813 track 2 (track2.hpp)
//   "LT1.<payload>.<signature>"  the app's signed member token (member_token.hpp)
//   digits                       a card number by the card ranges, or a GS1 product code
//
// A Code 128 symbol's own check character is verified by the scanner and never transmitted;
// what the terminal checks is the card number inside it (Luhn or GS1, by range).

#ifndef LOYALTY_DRIVERS_SCANNED_CODE_HPP_
#define LOYALTY_DRIVERS_SCANNED_CODE_HPP_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/codes.hpp"
#include "drivers/member_token.hpp"

namespace loyalty::drivers {

enum class CodeKind {
  card,          // value: the card number's digits
  member_token,  // value: the member id
  product,       // value: the product code; not a loyalty code
  refused,       // read correctly but not acceptable: expired, outside the card ranges, forged
  damaged,       // misread: a check digit or LRC is wrong, the format is broken
  unknown,       // not a format this terminal knows
};

std::string_view to_string(CodeKind kind);

struct CodeRules {
  std::vector<CardRange> cards;    // empty: any 12 to 19 digits passing Luhn
  std::vector<IssuerKey> issuers;  // keys of the member-token issuer
  std::int64_t token_skew_s = 60;  // clock difference allowed on token expiry
};

struct ScannedCode {
  CodeKind kind = CodeKind::unknown;
  std::string symbology;  // "ean13", "ean8", "upca", "code128", "gs1-128", "qr", "track2", "text"
  std::string value;
  std::string problem;  // for refused, damaged and unknown codes

  bool identifies_member() const { return kind == CodeKind::card || kind == CodeKind::member_token; }
};

inline constexpr std::size_t kMaxScanBytes = 4096;

// Classifies one scan (without its line terminator) at Unix time `now_s`.
ScannedCode classify_code(std::string_view raw, const CodeRules& rules, std::int64_t now_s);

}  // namespace loyalty::drivers

#endif  // LOYALTY_DRIVERS_SCANNED_CODE_HPP_
