// Identifiers a cashier types or a scanner reads: loyalty card numbers and phone numbers,
// normalized the way the member cache keys them (storage/member_cache.hpp). A value that does not check out is
// reported with the reason, never guessed at.

#ifndef LOYALTY_DRIVERS_CODES_HPP_
#define LOYALTY_DRIVERS_CODES_HPP_

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace loyalty::drivers {

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The card numbers of the programme: numbers starting with `prefix`, of `length` digits,
// whose last digit checks them by Luhn (typed and magnetic-stripe cards) or by the GS1 mod-10
// rule of EAN-13 and UPC-A barcodes (cards printed as retail barcodes).
enum class CardCheck { luhn, gs1 };
struct CardRange {
  std::string prefix;
  std::size_t length = 16;
  CardCheck check = CardCheck::luhn;
};

// The digits of a card number, or the reason it is not one.
struct CardNumber {
  std::string digits;    // empty when refused
  std::string problem;   // empty when accepted
  bool misread = false;  // the check digit is wrong: a typo or a bad read, not a foreign card
};

// Checks digits against the ranges: the longest matching prefix of the right length decides
// the check. With no ranges, any 12 to 19 digits that pass Luhn are a card.
CardNumber check_card(std::string_view digits, std::span<const CardRange> ranges);
// A typed card number: spaces and dashes are dropped, then check_card.
CardNumber normalize_card(std::string_view text, std::span<const CardRange> ranges = {});

bool luhn_valid(std::string_view digits);
// The GS1 mod-10 check digit of EAN-8, EAN-13, UPC-A and GTIN-14: weights 3 and 1 from the
// right, the check digit included.
bool gs1_valid(std::string_view digits);

// A phone number in E.164 ("+79161234567"). Spaces, dashes, dots and parentheses are dropped.
// "+CC..." and "00CC..." are international; otherwise the number is national: its trunk
// prefix ("8" for calling code 7, "0" elsewhere) is dropped and `country_code` put in front.
// nullopt unless 8 to 15 digits result.
std::optional<std::string> normalize_phone(std::string_view text, std::string_view country_code);

}  // namespace loyalty::drivers

#endif  // LOYALTY_DRIVERS_CODES_HPP_
