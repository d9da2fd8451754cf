// loyalty-ledger serve: the ledger service.
#include "ledger/cli_commands.hpp"

#include <ostream>

#include "ledger/config.hpp"
#include "ledger/server.hpp"
#include "runtime/json_reader.hpp"

namespace loyalty::ledger::cli {

int serve_command(std::span<const std::string_view> args, std::ostream& /*out*/, std::ostream& err) {
  const auto options = parse_options(args, {"--config"}, {}, kUsage, err);
  if (!options || !require(*options, {"--config"}, kUsage, err)) return exit_usage;
  ServerConfig config;
  try {
    config = load_server_config(options->value("--config"));
  } catch (const runtime::JsonError& error) {
    throw Failed{options->value("--config") + ": " + error.what()};
  }
  return run_server(config, err);
}

}  // namespace loyalty::ledger::cli
