#include "drivers/codes.hpp"

#include <algorithm>

namespace loyalty::drivers {
bool luhn_valid(std::string_view digits) {
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) return false;
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool gs1_valid(std::string_view digits) {
  if (digits.size() < 8 || !std::all_of(digits.begin(), digits.end(), is_digit)) return false;
  int sum = 0;
  bool three = false;  // the check digit itself has weight 1
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    sum += (*it - '0') * (three ? 3 : 1);
    three = !three;
  }
  return sum % 10 == 0;
}

CardNumber check_card(std::string_view digits, std::span<const CardRange> ranges) {
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
    return {{}, "a card number has only digits"};
  }
  if (ranges.empty()) {
    if (digits.size() < 12 || digits.size() > 19) {
      return {{}, "a card number has 12 to 19 digits, this one has " + std::to_string(digits.size())};
    }
    if (!luhn_valid(digits)) return {{}, "the card number's check digit is wrong: mistyped or misread?", true};
    return {std::string(digits), {}};
  }
  const CardRange* best = nullptr;
  for (const CardRange& range : ranges) {
    if (digits.size() == range.length && digits.starts_with(range.prefix) &&
        (!best || range.prefix.size() > best->prefix.size())) {
      best = &range;
    }
  }
  if (!best) return {{}, "not a card of this programme (no card range has this prefix and length)"};
  const bool valid = best->check == CardCheck::luhn ? luhn_valid(digits) : gs1_valid(digits);
  if (!valid) return {{}, "the card number's check digit is wrong: mistyped or misread?", true};
  return {std::string(digits), {}};
}

CardNumber normalize_card(std::string_view text, std::span<const CardRange> ranges) {
  std::string digits;
  for (char c : text) {
    if (c == ' ' || c == '-') continue;
    if (!is_digit(c)) return {{}, "a card number has only digits, spaces and dashes"};
    digits += c;
  }
  if (digits.empty()) return {{}, "the card number is empty"};
  return check_card(digits, ranges);
}

std::optional<std::string> normalize_phone(std::string_view text, std::string_view country_code) {
  std::string digits;
  bool international = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    if (c == '+' && digits.empty() && !international) {
      international = true;
      continue;
    }
    if (!is_digit(c)) return std::nullopt;
    digits += c;
  }
  if (!international && digits.starts_with("00")) {
    international = true;
    digits.erase(0, 2);
  }
  if (!international) {
    const char trunk = country_code == "7" ? '8' : '0';
    if (!digits.empty() && digits.front() == trunk) digits.erase(0, 1);
    digits = std::string(country_code) + digits;
  }
  if (digits.size() < 8 || digits.size() > 15 || digits.front() == '0') return std::nullopt;
  return "+" + digits;
}

}  // namespace loyalty::drivers
