// What scanners and cashiers send: a scanned code (drivers/scanned_code.hpp), magnetic
// track 2, a member token from the app, a typed card number and a typed phone number. The
// first byte chooses.
#include "drivers/codes.hpp"
#include "drivers/member_token.hpp"
#include "drivers/scanned_code.hpp"
#include "drivers/track2.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace loyalty;
  static const storage::PrivateKey issuer = storage::PrivateKey::generate();
  static const drivers::CodeRules rules{{drivers::CardRange{"7013", 16, drivers::CardCheck::luhn},
                                         drivers::CardRange{"2700", 13, drivers::CardCheck::gs1}},
                                        {drivers::IssuerKey{"app-1", issuer.public_key()}},
                                        60};
  if (size == 0) return 0;
  const std::string_view text = fuzz::text_of(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      const drivers::ScannedCode code = drivers::classify_code(text, rules, 1'795'000'000);
      static_cast<void>(runtime::Json(runtime::printable(code.problem)).dump());
      break;
    }
    case 1: static_cast<void>(drivers::parse_track2(text)); break;
    case 2: static_cast<void>(drivers::verify_member_token(text, rules.issuers, 1'795'000'000, 60)); break;
    case 3: static_cast<void>(drivers::normalize_card(text, rules.cards)); break;
    default: static_cast<void>(drivers::normalize_phone(text, "7")); break;
  }
  return 0;
}
