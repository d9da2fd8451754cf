// One line of the ledger's member import (ledger/members.hpp).
#include "ledger/members.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace loyalty;
  static const storage::IdentifierHasher hasher("a member secret of the chain, 32b");
  try {
    static_cast<void>(
        ledger::member_from_json(runtime::parse_json(fuzz::text_of(data, size), "member"), hasher, "7", "member"));
  } catch (const runtime::JsonError&) {
  }
  return 0;
}
