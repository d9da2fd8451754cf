#include "drivers/track2.hpp"

#include "drivers/codes.hpp"

#include <algorithm>

namespace loyalty::drivers {
namespace {

constexpr std::size_t kMaxTrack = 40;  // characters, sentinels and LRC included
constexpr std::size_t kMaxPan = 19;

Track2Result bad_track(std::string problem) { return {std::nullopt, std::move(problem)}; }

}  // namespace

Track2Result parse_track2(std::string_view text) {
  if (text.empty() || text.front() != ';') return bad_track("a track 2 starts with ';'");
  const std::size_t end = text.find('?');
  if (end == std::string_view::npos) return bad_track("the track has no end sentinel '?': swipe again");
  if (text.size() > kMaxTrack) return bad_track("the track is longer than track 2 can be");
  if (text.size() > end + 2) return bad_track("characters follow the track's end: swipe again");
  const std::string_view body = text.substr(1, end - 1);
  for (const char c : text) {
    if (c < 0x30 || c > 0x3F) return bad_track("the track holds a character track 2 cannot: swipe again");
  }
  if (text.size() == end + 2) {
    unsigned lrc = 0;
    for (std::size_t i = 0; i <= end; ++i) lrc ^= static_cast<unsigned>(text[i]) & 0x0Fu;
    if ((static_cast<unsigned>(text[end + 1]) & 0x0Fu) != lrc) {
      return bad_track("the track's check character (LRC) is wrong: swipe again");
    }
  }
  const std::size_t separator = body.find('=');
  const std::string_view pan = body.substr(0, separator);
  if (pan.empty() || pan.size() > kMaxPan || !std::all_of(pan.begin(), pan.end(), is_digit)) {
    return bad_track("the track's card number is not 1 to 19 digits");
  }
  Track2 track;
  track.pan = std::string(pan);
  if (separator != std::string_view::npos) {
    std::string_view rest = body.substr(separator + 1);
    if (!std::all_of(rest.begin(), rest.end(), is_digit)) {
      return bad_track("the track's data after the card number is not all digits");
    }
    if (!rest.empty()) {
      if (rest.size() < 4) return bad_track("the track's expiry date is cut short");
      track.expiry = std::string(rest.substr(0, 4));
      const int month = (track.expiry[2] - '0') * 10 + (track.expiry[3] - '0');
      if (month < 1 || month > 12) return bad_track("the track's expiry month is not 01 to 12");
      rest.remove_prefix(4);
      if (rest.size() >= 3) {
        track.service_code = std::string(rest.substr(0, 3));
        rest.remove_prefix(3);
      }
    }
    track.discretionary = std::string(rest);
  }
  return {std::move(track), {}};
}

}  // namespace loyalty::drivers
