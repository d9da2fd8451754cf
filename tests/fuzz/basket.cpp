// The basket reader and, for a basket the example rulebook accepts, the whole quote: the
// engine's arithmetic is reached by input as a POS sends it.
#include "domain/quote.hpp"
#include "sync/basket_json.hpp"
#include "sync/quote_json.hpp"
#include "sync/rulebook_json.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace loyalty;
  static const domain::Rulebook rules =
      sync::rulebook_from_json(runtime::parse_json(fuzz::example("rulebook-ru.json"), "rulebook"));
  static const domain::Member member{"7700123456", "gold", 5000, domain::MemberStatus::active};
  try {
    sync::BasketDocument basket = sync::basket_from_json(runtime::parse_json(fuzz::text_of(data, size), "basket"));
    sync::check_basket_against(basket, rules);
    for (const domain::Member* who : {&member, static_cast<const domain::Member*>(nullptr)}) {
      const domain::Quote q = domain::quote(rules, basket.basket, who);
      fuzz::must_dump(sync::quote_to_json(rules, basket.basket, q));
    }
  } catch (const runtime::JsonError&) {
  } catch (const domain::InvalidInput&) {
  } catch (const domain::Overflow&) {
  }
  return 0;
}
