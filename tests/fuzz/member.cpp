// The member document of the command line's quote (sync/basket_json.hpp).
#include "sync/basket_json.hpp"
#include "sync/rulebook_json.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace loyalty;
  static const domain::Rulebook rules =
      sync::rulebook_from_json(runtime::parse_json(fuzz::example("rulebook-ru.json"), "rulebook"));
  try {
    static_cast<void>(sync::member_from_json(runtime::parse_json(fuzz::text_of(data, size), "member"), rules));
  } catch (const runtime::JsonError&) {
  }
  return 0;
}
