// POSIX TZ rules (IEEE Std 1003.1, "TZ" in Environment Variables), as glibc reads them,
// including the extension that lets a transition time run from -167 to 167 hours. Civil
// date arithmetic is Howard Hinnant's days_from_civil algorithm.
#include "domain/local_time.hpp"

#include <algorithm>
#include <cctype>

namespace loyalty::domain {
namespace {

constexpr std::int64_t kDay = 86400;

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(std::int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

// Weekday of a day count since the epoch, 0 = Sunday (1970-01-01 was a Thursday).
int weekday_of(std::int64_t days) { return static_cast<int>(((days + 4) % 7 + 7) % 7); }

// Local seconds since the epoch (as if UTC) at which `rule` fires in `year`.
std::int64_t transition_local_seconds(const TransitionRule& rule, int year) {
  const std::int64_t jan1 = days_from_civil(year, 1, 1);
  std::int64_t day = 0;
  switch (rule.kind) {
    case TransitionRule::Kind::julian_no_leap:
      // Day 1..365 counting February 28 as day 59 and March 1 as day 60 in every year.
      day = jan1 + rule.day - 1 + (is_leap(year) && rule.day >= 60 ? 1 : 0);
      break;
    case TransitionRule::Kind::zero_based_day: day = jan1 + rule.day; break;
    case TransitionRule::Kind::month_week_day: {
      const std::int64_t first = days_from_civil(year, rule.month, 1);
      std::int64_t d = first + (rule.weekday - weekday_of(first) + 7) % 7 + 7 * (rule.week - 1);
      const std::int64_t last = first + days_in_month(year, rule.month) - 1;
      while (d > last) d -= 7;  // week 5 means "the last"
      day = d;
      break;
    }
  }
  return day * kDay + rule.time_of_day;
}

class Parser {
 public:
  Parser(std::string_view text, std::string* problem) : text_(text), problem_(problem) {}

  std::optional<TimeZoneRule> parse() {
    TimeZoneRule zone;
    zone.text = std::string(text_);
    if (!name("standard time name")) return std::nullopt;
    auto standard = offset("standard offset", true);
    if (!standard) return std::nullopt;
    zone.standard_offset = -*standard;
    if (at_end()) return zone;
    if (!name("daylight time name")) return std::nullopt;
    zone.daylight_offset = zone.standard_offset + 3600;
    if (!at_end() && peek() != ',') {
      auto daylight = offset("daylight offset", true);
      if (!daylight) return std::nullopt;
      zone.daylight_offset = -*daylight;
    }
    if (at_end()) return fail("daylight time needs its transition rules (',start,end')");
    if (!consume(',')) return fail("expected ',' before the daylight start rule");
    auto start = rule("daylight start rule");
    if (!start) return std::nullopt;
    if (!consume(',')) return fail("expected ',' before the daylight end rule");
    auto end = rule("daylight end rule");
    if (!end) return std::nullopt;
    if (!at_end()) return fail("unexpected text after the daylight end rule");
    zone.daylight_start = *start;
    zone.daylight_end = *end;
    return zone;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  bool consume(char c) {
    if (at_end() || peek() != c) return false;
    ++pos_;
    return true;
  }
  std::nullopt_t fail(const std::string& what) {
    if (problem_ != nullptr) *problem_ = what + " at position " + std::to_string(pos_);
    return std::nullopt;
  }

  bool name(const char* what) {
    std::size_t length = 0;
    if (consume('<')) {
      while (!at_end() && peek() != '>') {
        const char c = peek();
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-') {
          fail(std::string("invalid character in ") + what);
          return false;
        }
        ++pos_;
        ++length;
      }
      if (!consume('>')) {
        fail(std::string("unterminated <...> in ") + what);
        return false;
      }
    } else {
      while (!at_end() && std::isalpha(static_cast<unsigned char>(peek()))) {
        ++pos_;
        ++length;
      }
    }
    if (length < 3) {
      fail(std::string(what) + " must have at least 3 characters");
      return false;
    }
    return true;
  }

  std::optional<int> number(int max) {
    if (at_end() || !std::isdigit(static_cast<unsigned char>(peek()))) return std::nullopt;
    int value = 0;
    while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) {
      value = value * 10 + (peek() - '0');
      if (value > max) return std::nullopt;
      ++pos_;
    }
    return value;
  }

  // [+-]hh[:mm[:ss]] in seconds; `max_hours` 24 for offsets, 167 for transition times.
  std::optional<std::int64_t> hms(const char* what, bool allow_sign, int max_hours) {
    int sign = 1;
    if (allow_sign) {
      if (consume('-'))
        sign = -1;
      else
        consume('+');
    }
    auto hours = number(max_hours);
    if (!hours) return fail(std::string(what) + ": expected hours 0.." + std::to_string(max_hours));
    std::int64_t seconds = std::int64_t{*hours} * 3600;
    if (consume(':')) {
      auto minutes = number(59);
      if (!minutes) return fail(std::string(what) + ": expected minutes 00..59");
      seconds += std::int64_t{*minutes} * 60;
      if (consume(':')) {
        auto secs = number(59);
        if (!secs) return fail(std::string(what) + ": expected seconds 00..59");
        seconds += *secs;
      }
    }
    return sign * seconds;
  }

  std::optional<std::int64_t> offset(const char* what, bool allow_sign) { return hms(what, allow_sign, 24); }

  std::optional<TransitionRule> rule(const char* what) {
    TransitionRule r;
    if (consume('M')) {
      r.kind = TransitionRule::Kind::month_week_day;
      auto month = number(12);
      if (!month || *month < 1 || !consume('.')) return fail(std::string(what) + ": expected Mm.w.d with m 1..12");
      auto week = number(5);
      if (!week || *week < 1 || !consume('.')) return fail(std::string(what) + ": week must be 1..5");
      auto weekday = number(6);
      if (!weekday) return fail(std::string(what) + ": weekday must be 0..6");
      r.month = *month;
      r.week = *week;
      r.weekday = *weekday;
    } else if (consume('J')) {
      r.kind = TransitionRule::Kind::julian_no_leap;
      auto day = number(365);
      if (!day || *day < 1) return fail(std::string(what) + ": Jn needs n 1..365");
      r.day = *day;
    } else {
      r.kind = TransitionRule::Kind::zero_based_day;
      auto day = number(365);
      if (!day) return fail(std::string(what) + ": expected Mm.w.d, Jn or n (0..365)");
      r.day = *day;
    }
    r.time_of_day = 7200;
    if (consume('/')) {
      auto time = hms(what, true, 167);
      if (!time) return std::nullopt;
      r.time_of_day = *time;
    }
    return r;
  }

  std::string_view text_;
  std::string* problem_;
  std::size_t pos_ = 0;
};

}  // namespace

std::int64_t days_from_civil(int year, int month, int day) {
  const std::int64_t y = std::int64_t{year} - (month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t mp = (month + 9) % 12;
  const std::int64_t doy = (153 * mp + 2) / 5 + day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool is_valid(const LocalDateTime& t) {
  return t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= days_in_month(t.year, t.month) && t.hour >= 0 &&
         t.hour <= 23 && t.minute >= 0 && t.minute <= 59 && t.second >= 0 && t.second <= 59;
}

std::int64_t as_epoch_seconds(const LocalDateTime& t) {
  return days_from_civil(t.year, t.month, t.day) * kDay + t.hour * 3600 + t.minute * 60 + t.second;
}

LocalDateTime from_epoch_seconds(std::int64_t seconds) {
  std::int64_t days = seconds / kDay;
  std::int64_t rest = seconds % kDay;
  if (rest < 0) {
    rest += kDay;
    --days;
  }
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return LocalDateTime{static_cast<int>(y),
                       static_cast<int>(m),
                       static_cast<int>(d),
                       static_cast<int>(rest / 3600),
                       static_cast<int>(rest % 3600 / 60),
                       static_cast<int>(rest % 60)};
}

std::optional<TimeZoneRule> parse_posix_tz(std::string_view text, std::string* problem) {
  return Parser(text, problem).parse();
}

std::int64_t utc_offset_at(const TimeZoneRule& zone, UnixSeconds instant) {
  if (!zone.daylight_offset) return zone.standard_offset;
  const std::int64_t daylight = *zone.daylight_offset;
  // The year is taken from standard local time; a transition time may spill into the
  // neighbouring year (up to 167 hours), so the years on either side are checked too.
  const int year = from_epoch_seconds(instant + zone.standard_offset).year;
  for (int y : {year - 1, year, year + 1}) {
    const UnixSeconds start = transition_local_seconds(zone.daylight_start, y) - zone.standard_offset;
    const UnixSeconds end = transition_local_seconds(zone.daylight_end, y) - daylight;
    if (start < end) {
      if (instant >= start && instant < end) return daylight;  // northern hemisphere
    } else {
      // Southern hemisphere: daylight time spans the new year, from `start` of year y to
      // `end` of year y + 1; the part before `end` of year y belongs to year y - 1's run.
      const UnixSeconds next_end = transition_local_seconds(zone.daylight_end, y + 1) - daylight;
      if (instant >= start && instant < next_end) return daylight;
    }
  }
  return zone.standard_offset;
}

LocalDateTime to_local(const TimeZoneRule& zone, UnixSeconds instant) {
  return from_epoch_seconds(instant + utc_offset_at(zone, instant));
}

UnixSeconds to_instant(const TimeZoneRule& zone, const LocalDateTime& local) {
  const std::int64_t wall = as_epoch_seconds(local);
  if (!zone.daylight_offset) return wall - zone.standard_offset;
  const std::int64_t ahead = std::max(zone.standard_offset, *zone.daylight_offset);
  const std::int64_t behind = std::min(zone.standard_offset, *zone.daylight_offset);
  const UnixSeconds earlier = wall - ahead;  // the reading with the larger offset east
  const UnixSeconds later = wall - behind;
  if (utc_offset_at(zone, earlier) == ahead) return earlier;  // unique, or first of two
  if (utc_offset_at(zone, later) == behind) return later;
  // A skipped time: read it with the offset in force before the jump (the smaller one).
  return later;
}

}  // namespace loyalty::domain
