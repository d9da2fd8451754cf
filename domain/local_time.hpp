// The store's local time, from a POSIX TZ rule carried in the rulebook.
//
// Campaign windows are written in the store's wall-clock time ("Black Friday, 00:00 to 23:59
// in Moscow"). GCC 12's standard library has no time-zone database, and a terminal's tzdata
// may be years old, so the rulebook names its zone as a POSIX TZ rule
// ("CET-1CEST,M3.5.0,M10.5.0/3", "MSK-3", "<+03>-3") that the central team signs along with
// the rest. This file parses such rules and converts between UTC instants and local time.
//
// Local times that do not exist (the hour skipped when clocks go forward) or exist twice
// (the hour repeated when they go back) are resolved as JavaScript Temporal's "compatible"
// disambiguation does: a skipped time means the instant it would be had the clock not
// jumped (02:30 in the gap is 03:30 summer time), a repeated time means its first
// occurrence. A window's bounds therefore are single instants and a window never reopens.
#ifndef LOYALTY_DOMAIN_LOCAL_TIME_HPP_
#define LOYALTY_DOMAIN_LOCAL_TIME_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::domain {

using UnixSeconds = std::int64_t;  // seconds since 1970-01-01T00:00:00Z, leap seconds ignored

// A wall-clock date and time, without a zone.
struct LocalDateTime {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  int hour = 0;
  int minute = 0;
  int second = 0;
  friend auto operator<=>(const LocalDateTime&, const LocalDateTime&) = default;
};

// Days since 1970-01-01 of a proleptic Gregorian date (any year, negative days before 1970).
std::int64_t days_from_civil(int year, int month, int day);
// Whether the fields name a real date and a time of day 00:00:00..23:59:59.
bool is_valid(const LocalDateTime& t);
// The date-time as seconds since the epoch as if it were UTC.
std::int64_t as_epoch_seconds(const LocalDateTime& t);
// The inverse of as_epoch_seconds.
LocalDateTime from_epoch_seconds(std::int64_t seconds);

// A daylight-saving transition: a day of the year and a local time of day.
struct TransitionRule {
  enum class Kind { month_week_day, julian_no_leap, zero_based_day };
  Kind kind = Kind::month_week_day;
  int month = 3;                    // month_week_day: 1..12
  int week = 5;                     // month_week_day: 1..5, 5 = the last such weekday of the month
  int weekday = 0;                  // month_week_day: 0 = Sunday
  int day = 0;                      // julian_no_leap 1..365 (Feb 29 never counted) or zero_based_day 0..365
  std::int64_t time_of_day = 7200;  // seconds after local midnight; -167h..167h
  friend bool operator==(const TransitionRule&, const TransitionRule&) = default;
};

// A zone as a POSIX TZ rule: a standard offset and, optionally, a daylight offset with the
// rules for entering and leaving it. Offsets are seconds east of UTC (POSIX writes them
// west of UTC, "MSK-3" is +3 hours).
struct TimeZoneRule {
  std::string text;  // the rule as written, for messages and round trips
  std::int64_t standard_offset = 0;
  std::optional<std::int64_t> daylight_offset;
  TransitionRule daylight_start;  // in local standard time
  TransitionRule daylight_end;    // in local daylight time
  friend bool operator==(const TimeZoneRule&, const TimeZoneRule&) = default;
};

// Parses a POSIX TZ rule. On failure returns nullopt and sets *problem to what is wrong.
std::optional<TimeZoneRule> parse_posix_tz(std::string_view text, std::string* problem);

// The offset from UTC (seconds east) in effect at `instant`.
std::int64_t utc_offset_at(const TimeZoneRule& zone, UnixSeconds instant);

// The local wall-clock time at `instant`.
LocalDateTime to_local(const TimeZoneRule& zone, UnixSeconds instant);

// The instant of local time `local`, skipped and repeated times resolved as described above.
UnixSeconds to_instant(const TimeZoneRule& zone, const LocalDateTime& local);

}  // namespace loyalty::domain

#endif  // LOYALTY_DOMAIN_LOCAL_TIME_HPP_
