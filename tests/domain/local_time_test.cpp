#include <doctest/doctest.h>

#include <string>

#include "domain/local_time.hpp"
#include "tests/domain/fixtures.hpp"

using namespace loyalty::domain;
using loyalty::domain::testing::utc;

namespace {

TimeZoneRule zone(const char* text) {
  std::string problem;
  auto z = parse_posix_tz(text, &problem);
  INFO(text, ": ", problem);
  REQUIRE(z.has_value());
  return *z;
}

}  // namespace

TEST_CASE("civil dates convert to day counts and back across centuries") {
  CHECK(days_from_civil(1970, 1, 1) == 0);
  CHECK(days_from_civil(2000, 3, 1) == 11017);
  CHECK(days_from_civil(1969, 12, 31) == -1);
  CHECK(utc(2026, 11, 27, 0, 0) == 1795737600);
  for (std::int64_t t :
       {std::int64_t{-86400 * 400}, std::int64_t{0}, std::int64_t{951782400}, std::int64_t{4102444799}}) {
    CHECK(as_epoch_seconds(from_epoch_seconds(t)) == t);
  }
  CHECK(is_valid({2024, 2, 29, 23, 59, 59}));
  CHECK_FALSE(is_valid({2026, 2, 29, 0, 0, 0}));
  CHECK_FALSE(is_valid({2026, 4, 31, 0, 0, 0}));
  CHECK_FALSE(is_valid({2026, 1, 1, 24, 0, 0}));
}

TEST_CASE("a zone without daylight time has one fixed offset") {
  const TimeZoneRule msk = zone("MSK-3");
  CHECK(msk.standard_offset == 3 * 3600);
  CHECK_FALSE(msk.daylight_offset.has_value());
  CHECK(to_local(msk, utc(2026, 11, 26, 21, 0)) == LocalDateTime{2026, 11, 27, 0, 0, 0});
  CHECK(zone("<+0530>-5:30").standard_offset == 5 * 3600 + 1800);
  CHECK(zone("UTC0").standard_offset == 0);
}

TEST_CASE("central Europe changes to summer time on the last Sunday of March and back in October") {
  const TimeZoneRule cet = zone("CET-1CEST,M3.5.0,M10.5.0/3");
  // 2026-03-29 02:00 CET = 01:00 UTC: clocks jump to 03:00 CEST.
  CHECK(utc_offset_at(cet, utc(2026, 3, 29, 0, 59, 59)) == 3600);
  CHECK(utc_offset_at(cet, utc(2026, 3, 29, 1, 0, 0)) == 7200);
  // 2026-10-25 03:00 CEST = 01:00 UTC: clocks go back to 02:00 CET.
  CHECK(utc_offset_at(cet, utc(2026, 10, 25, 0, 59, 59)) == 7200);
  CHECK(utc_offset_at(cet, utc(2026, 10, 25, 1, 0, 0)) == 3600);
  // A leap year: 2028's last Sunday of March is the 26th.
  CHECK(utc_offset_at(cet, utc(2028, 3, 26, 1, 0, 0)) == 7200);
  CHECK(utc_offset_at(cet, utc(2028, 3, 26, 0, 59, 59)) == 3600);
}

TEST_CASE("skipped local times resolve forward and repeated ones to their first occurrence") {
  const TimeZoneRule cet = zone("CET-1CEST,M3.5.0,M10.5.0/3");
  // 02:30 does not exist on 2026-03-29: it is read as 03:30 CEST.
  CHECK(to_instant(cet, {2026, 3, 29, 2, 30, 0}) == utc(2026, 3, 29, 1, 30));
  CHECK(to_instant(cet, {2026, 3, 29, 1, 59, 59}) == utc(2026, 3, 29, 0, 59, 59));
  CHECK(to_instant(cet, {2026, 3, 29, 3, 0, 0}) == utc(2026, 3, 29, 1, 0));
  // 02:30 happens twice on 2026-10-25: the first time, still in summer time.
  CHECK(to_instant(cet, {2026, 10, 25, 2, 30, 0}) == utc(2026, 10, 25, 0, 30));
  CHECK(to_instant(cet, {2026, 10, 25, 3, 0, 0}) == utc(2026, 10, 25, 2, 0));
  for (UnixSeconds t = utc(2026, 3, 28, 0, 0); t < utc(2026, 3, 30, 0, 0); t += 900)
    CHECK(to_instant(cet, to_local(cet, t)) == t);
}

TEST_CASE("US and southern-hemisphere rules, Julian days and explicit transition times") {
  const TimeZoneRule ny = zone("EST5EDT,M3.2.0,M11.1.0");
  CHECK(utc_offset_at(ny, utc(2026, 3, 8, 6, 59, 59)) == -5 * 3600);
  CHECK(utc_offset_at(ny, utc(2026, 3, 8, 7, 0, 0)) == -4 * 3600);
  CHECK(utc_offset_at(ny, utc(2026, 11, 1, 5, 59, 59)) == -4 * 3600);
  CHECK(utc_offset_at(ny, utc(2026, 11, 1, 6, 0, 0)) == -5 * 3600);

  const TimeZoneRule sydney = zone("AEST-10AEDT,M10.1.0,M4.1.0/3");
  CHECK(utc_offset_at(sydney, utc(2026, 1, 15, 0, 0)) == 11 * 3600);
  CHECK(utc_offset_at(sydney, utc(2026, 4, 4, 15, 59, 59)) == 11 * 3600);
  CHECK(utc_offset_at(sydney, utc(2026, 4, 4, 16, 0, 0)) == 10 * 3600);
  CHECK(utc_offset_at(sydney, utc(2026, 7, 1, 0, 0)) == 10 * 3600);
  CHECK(utc_offset_at(sydney, utc(2026, 10, 3, 15, 59, 59)) == 10 * 3600);
  CHECK(utc_offset_at(sydney, utc(2026, 10, 3, 16, 0, 0)) == 11 * 3600);
  CHECK(utc_offset_at(sydney, utc(2026, 12, 31, 23, 0)) == 11 * 3600);

  // J60 is March 1 in every year; "/-1" is 23:00 on the previous day.
  const TimeZoneRule julian = zone("AAA0BBB,J60/0,J300/-1");
  CHECK(utc_offset_at(julian, utc(2028, 2, 29, 23, 59, 59)) == 0);
  CHECK(utc_offset_at(julian, utc(2028, 3, 1, 0, 0, 0)) == 3600);
  const TimeZoneRule zero_based = zone("AAA0BBB,59/0,299");
  CHECK(utc_offset_at(zero_based, utc(2028, 2, 29, 0, 0, 0)) == 3600);  // day 59 of a leap year
}

TEST_CASE("malformed zone rules are rejected with the reason") {
  for (const char* bad : {"", "AB", "CET", "CET-1CEST", "CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.6.0,M10.5.0",
                          "CET-1CEST,M3.5.7,M10.5.0", "CET-25", "CET-1CEST,M3.5.0", "CET-1CEST,M3.5.0,M10.5.0/200",
                          "<+03-3", "CET-1CEST,M3.5.0,M10.5.0 junk", "CET-1:60"}) {
    std::string problem;
    INFO(bad);
    CHECK_FALSE(parse_posix_tz(bad, &problem).has_value());
    CHECK_FALSE(problem.empty());
  }
}
