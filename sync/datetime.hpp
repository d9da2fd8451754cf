// Date-time text forms of the JSON documents.
//
// Campaign windows are local wall-clock times without a zone ("2026-11-27T00:00:00"), read
// in the rulebook's zone. A sale's moment is an RFC 3339 instant with its offset
// ("2026-11-27T10:15:00+03:00" or "...Z"), as the POS's clock reports it.
#ifndef LOYALTY_SYNC_DATETIME_HPP_
#define LOYALTY_SYNC_DATETIME_HPP_

#include <optional>
#include <string>
#include <string_view>

#include "domain/local_time.hpp"

namespace loyalty::sync {

// "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS", a real date and time; nullopt otherwise.
std::optional<domain::LocalDateTime> parse_local_datetime(std::string_view text);
std::string format_local_datetime(const domain::LocalDateTime& t);

// RFC 3339: date, 'T', time with optional fraction (dropped), and 'Z' or +HH:MM / -HH:MM.
std::optional<domain::UnixSeconds> parse_rfc3339(std::string_view text);
// "2026-11-27T07:15:00Z".
std::string format_rfc3339_utc(domain::UnixSeconds instant);

}  // namespace loyalty::sync

#endif  // LOYALTY_SYNC_DATETIME_HPP_
