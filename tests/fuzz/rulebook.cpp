// The rulebook reader (sync/rulebook_json.hpp), from bytes as a rulebook file holds them.
#include "sync/rulebook_json.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace loyalty;
  try {
    const domain::Rulebook rules = sync::rulebook_from_json(runtime::parse_json(fuzz::text_of(data, size), "rulebook"));
    fuzz::must_dump(sync::refund_terms_to_json(rules));
  } catch (const runtime::JsonError&) {
  }
  return 0;
}
