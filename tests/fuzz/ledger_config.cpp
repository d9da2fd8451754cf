// The ledger's configuration file (ledger/config.hpp), read from a file as serve does.
#include "ledger/config.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace loyalty;
  const std::filesystem::path path = fuzz::scratch_file("ledger.json", data, size);
  try {
    static_cast<void>(ledger::load_server_config(path));
  } catch (const runtime::JsonError&) {
  }
  return 0;
}
