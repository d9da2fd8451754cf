// The sale (a quote read back) and the return of the command line's refund, and the refund
// itself when both are read (sync/quote_json.hpp, domain/refund.hpp). The first byte chooses.
#include "domain/refund.hpp"
#include "sync/quote_json.hpp"
#include "sync/rulebook_json.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace loyalty;
  if (size == 0) return 0;
  const std::string_view text = fuzz::text_of(data + 1, size - 1);
  try {
    if (data[0] % 2 == 0) {
      static_cast<void>(sync::sale_from_json(runtime::parse_json(text, "sale")));
    } else {
      static_cast<void>(sync::return_from_json(runtime::parse_json(text, "return")));
    }
  } catch (const runtime::JsonError&) {
  } catch (const domain::InvalidInput&) {
  }
  return 0;
}
