#include <doctest/doctest.h>

#include "drivers/track2.hpp"

using namespace loyalty::drivers;

namespace {

// Appends the LRC character of a whole track.
std::string with_lrc(const std::string& track) {
  unsigned lrc = 0;
  for (const char c : track) lrc ^= static_cast<unsigned>(c) & 0x0Fu;
  return track + static_cast<char>(0x30 + lrc);
}

}  // namespace

TEST_CASE("a track 2 gives its card number, expiry, service code and discretionary data") {
  const Track2Result read = parse_track2(";4000000000000002=2812101123456789?");
  REQUIRE(read.track);
  CHECK(read.track->pan == "4000000000000002");
  CHECK(read.track->expiry == "2812");
  CHECK(read.track->service_code == "101");
  CHECK(read.track->discretionary == "123456789");

  const Track2Result bare = parse_track2(";7013000000000000?");
  REQUIRE(bare.track);
  CHECK(bare.track->expiry.empty());
  CHECK(parse_track2(";7013000000000000=?").track->expiry.empty());
}

TEST_CASE("the LRC, when the reader passes it on, must match") {
  const std::string track = ";4000000000000002=2812101?";
  CHECK(parse_track2(with_lrc(track)).track);
  std::string wrong = with_lrc(track);
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  CHECK(parse_track2(wrong).problem == "the track's check character (LRC) is wrong: swipe again");
}

TEST_CASE("damaged and hostile tracks are refused with the reason") {
  const std::pair<const char*, const char*> cases[] = {
      {"4000000000000002=2812?", "a track 2 starts with ';'"},
      {";4000000000000002=2812", "the track has no end sentinel '?': swipe again"},
      {";=2812?", "the track's card number is not 1 to 19 digits"},
      {";40000000000000000002=2812?", "the track's card number is not 1 to 19 digits"},
      {";4000000000000002=28?", "the track's expiry date is cut short"},
      {";4000000000000002=2813?", "the track's expiry month is not 01 to 12"},
      {";4000000000000002=2812A?", "the track holds a character track 2 cannot: swipe again"},
      {";4000000000000002=28=12?", "the track's data after the card number is not all digits"},
      {";4000000000000002?12", "characters follow the track's end: swipe again"},
      {"", "a track 2 starts with ';'"},
  };
  for (const auto& [text, problem] : cases) {
    CAPTURE(text);
    const Track2Result read = parse_track2(text);
    CHECK_FALSE(read.track);
    CHECK(read.problem == problem);
  }
  CHECK(parse_track2(";" + std::string(50, '1') + "?").problem == "the track is longer than track 2 can be");
}
