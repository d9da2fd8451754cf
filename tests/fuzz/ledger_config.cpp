// The ledger's configuration file (ledger/config.hpp), read from a file as serve does.
#include "ledger/config.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace loyalty;
  const std::filesystem::path path = fuzz::scratch() / "ledger.json";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    static_cast<void>(ledger::load_server_config(path));
  } catch (const runtime::JsonError&) {
  }
  return 0;
}
