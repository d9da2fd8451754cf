// ISO/IEC 7813 track 2, as a magnetic-stripe reader sends it:
//
//   ;4000000000000002=2812101123456789?
//   ^ start sentinel  ^ separator, then expiry YYMM, service code, discretionary data
//                                        end sentinel ^, then optionally the LRC character
//
// Track 2 holds only the sixteen characters 0x30 to 0x3F; the LRC, when the reader passes it
// on, is the XOR of the low four bits of every character from the start sentinel through the
// end sentinel. A track that breaks any rule is reported, never repaired.

#ifndef LOYALTY_DRIVERS_TRACK2_HPP_
#define LOYALTY_DRIVERS_TRACK2_HPP_

#include <optional>
#include <string>
#include <string_view>

namespace loyalty::drivers {

struct Track2 {
  std::string pan;           // the primary account number: the card number
  std::string expiry;        // "YYMM"; empty when the track has no date
  std::string service_code;  // three digits, or empty
  std::string discretionary;
};

struct Track2Result {
  std::optional<Track2> track;
  std::string problem;  // empty when the track was read
};

Track2Result parse_track2(std::string_view text);

}  // namespace loyalty::drivers

#endif  // LOYALTY_DRIVERS_TRACK2_HPP_
