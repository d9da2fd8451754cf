// Times from outside: the rulebook's POSIX TZ rule (domain/local_time.hpp), used to convert
// both ways, and RFC 3339 times of baskets and envelopes (sync/datetime.hpp). The first byte
// chooses.
#include "domain/local_time.hpp"
#include "sync/datetime.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace loyalty;
  if (size == 0) return 0;
  const std::string_view text = fuzz::text_of(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    std::string problem;
    const auto zone = domain::parse_posix_tz(text, &problem);
    if (!zone) return 0;
    for (const domain::UnixSeconds at : {0LL, 1'795'000'000LL, -2'000'000'000LL, 32'503'680'000LL}) {
      const domain::LocalDateTime local = domain::to_local(*zone, at);
      static_cast<void>(domain::to_instant(*zone, local));
    }
  } else if (const auto at = sync::parse_rfc3339(text)) {
    static_cast<void>(sync::format_rfc3339_utc(*at));
  }
  return 0;
}
