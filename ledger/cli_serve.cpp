// loyalty-ledger serve: the ledger service; check-config: its configuration checked as serve
// would read it.
#include "ledger/cli_commands.hpp"

#include <filesystem>
#include <ostream>

#include "ledger/config.hpp"
#include "ledger/open_store.hpp"
#include "ledger/server.hpp"
#include "runtime/json_reader.hpp"
#include "runtime/log.hpp"

namespace loyalty::ledger::cli {

int serve_command(std::span<const std::string_view> args, std::ostream& /*out*/, std::ostream& err) {
  const auto options = parse_options(args, {"--config"}, {}, kUsage, err);
  if (!options || !require(*options, {"--config"}, kUsage, err)) return exit_usage;
  ServerConfig config;
  try {
    config = load_server_config(options->value("--config"));
  } catch (const std::exception& error) {
    runtime::Log log(err, runtime::LogLevel::info, runtime::stderr_log_prefix());
    log.error("config_invalid", options->value("--config") + ": " + error.what(), {{"exit_status", exit_config}});
    return exit_config;
  }
  return run_server(config, err);
}

int check_config_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  const auto options = parse_options(args, {"--config"}, {}, kUsage, err);
  if (!options || !require(*options, {"--config"}, kUsage, err)) return exit_usage;
  const std::string& file = options->value("--config");
  try {
    const ServerConfig config = load_server_config(file);
    sync::make_context(sync::ssl::context::tls_server, config.tls);
    out << "loyalty-ledger: TLS files usable: certificate " << config.tls.certificate.string() << ", CA "
        << config.tls.ca.string() << "\n"
        << "loyalty-ledger: configuration " << file << " is valid (database " << describe_store(config.db)
        << (names_postgres(config.db)            ? ", not connected to by this check"
            : std::filesystem::exists(config.db) ? ""
                                                 : ", created at the first start")
        << ")\n";
    return exit_ok;
  } catch (const std::exception& error) {
    err << "loyalty-ledger: " << file << ": " << error.what() << "\n";
    return exit_config;
  }
}

}  // namespace loyalty::ledger::cli
