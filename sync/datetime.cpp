#include "sync/datetime.hpp"

#include <cstdio>

namespace loyalty::sync {
namespace {

// Reads exactly `width` digits at `pos`.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// Parses the "YYYY-MM-DDTHH:MM[:SS]" prefix; `*end` receives where it stopped.
std::optional<domain::LocalDateTime> parse_prefix(std::string_view text, std::size_t* end) {
  auto y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2), h = digits(text, 11, 2),
       mi = digits(text, 14, 2);
  if (!y || !mo || !d || !h || !mi || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
      text[13] != ':')
    return std::nullopt;
  domain::LocalDateTime t{*y, *mo, *d, *h, *mi, 0};
  std::size_t pos = 16;
  if (pos < text.size() && text[pos] == ':') {
    auto s = digits(text, pos + 1, 2);
    if (!s) return std::nullopt;
    t.second = *s;
    pos += 3;
  }
  if (!domain::is_valid(t)) return std::nullopt;
  *end = pos;
  return t;
}

}  // namespace

std::optional<domain::LocalDateTime> parse_local_datetime(std::string_view text) {
  std::size_t end = 0;
  auto t = parse_prefix(text, &end);
  if (!t || end != text.size()) return std::nullopt;
  return t;
}

std::string format_local_datetime(const domain::LocalDateTime& t) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d", t.year, t.month, t.day, t.hour, t.minute,
                t.second);
  return buffer;
}

std::optional<domain::UnixSeconds> parse_rfc3339(std::string_view text) {
  std::size_t pos = 0;
  auto t = parse_prefix(text, &pos);
  if (!t || pos != 19) return std::nullopt;  // RFC 3339 requires seconds
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  if (pos >= text.size()) return std::nullopt;
  std::int64_t offset = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    auto oh = digits(text, pos + 1, 2), om = digits(text, pos + 4, 2);
    if (!oh || !om || pos + 3 >= text.size() || text[pos + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset = (text[pos] == '-' ? -1 : 1) * (std::int64_t{*oh} * 3600 + std::int64_t{*om} * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  return domain::as_epoch_seconds(*t) - offset;
}

std::string format_rfc3339_utc(domain::UnixSeconds instant) {
  return format_local_datetime(domain::from_epoch_seconds(instant)) + "Z";
}

}  // namespace loyalty::sync
