// The agent's configuration file (agent/config.hpp), read from a file as the daemon does.
#include "agent/config.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace loyalty;
  const std::filesystem::path path = fuzz::scratch_file("agent.json", data, size);
  try {
    static_cast<void>(agent::load_config(path));
  } catch (const runtime::JsonError&) {
  }
  return 0;
}
