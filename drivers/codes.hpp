// Identifiers a cashier types: loyalty card numbers and phone numbers, normalized the way the
// member cache keys them (storage/member_cache.hpp). A value that does not check out is
// reported with the reason, never guessed at.

#ifndef LOYALTY_DRIVERS_CODES_HPP_
#define LOYALTY_DRIVERS_CODES_HPP_

#include <optional>
#include <string>
#include <string_view>

namespace loyalty::drivers {

// The digits of a card number, or the reason it is not one: spaces and dashes are dropped,
// then 12 to 19 digits must remain and pass the Luhn check.
struct CardNumber {
  std::string digits;   // empty when refused
  std::string problem;  // empty when accepted
};
CardNumber normalize_card(std::string_view text);

bool luhn_valid(std::string_view digits);

// A phone number in E.164 ("+79161234567"). Spaces, dashes, dots and parentheses are dropped.
// "+CC..." and "00CC..." are international; otherwise the number is national: its trunk
// prefix ("8" for calling code 7, "0" elsewhere) is dropped and `country_code` put in front.
// nullopt unless 8 to 15 digits result.
std::optional<std::string> normalize_phone(std::string_view text, std::string_view country_code);

}  // namespace loyalty::drivers

#endif  // LOYALTY_DRIVERS_CODES_HPP_
