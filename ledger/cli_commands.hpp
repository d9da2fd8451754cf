// The families of loyalty-ledger's command line, one file each by audience: the certificate
// authority (cli_pki.cpp), rulebooks (cli_rulebook.cpp), members and terminals
// (cli_members.cpp), the books: replay, report, audit and expiry (cli_books.cpp), and the
// service (cli_serve.cpp). ledger/cli.cpp dispatches to them and turns failures into messages
// and exit statuses. Internal to ledger/.

#ifndef LOYALTY_LEDGER_CLI_COMMANDS_HPP_
#define LOYALTY_LEDGER_CLI_COMMANDS_HPP_

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

#include "ledger/ledger.hpp"
#include "runtime/options.hpp"

namespace loyalty::ledger::cli {

using runtime::exit_config;
using runtime::exit_failed;
using runtime::exit_ok;
using runtime::exit_usage;
using runtime::Options;
using runtime::parse_options;
using runtime::require;

// The usage text every family prints beside its own complaint.
extern const std::string_view kUsage;

// A failure to report as "loyalty-ledger: MESSAGE".
struct Failed {
  std::string message;
};

// The ledger's settings from --expiry-days; throws Failed when it is not a number of days.
LedgerSettings settings_from(const Options& options);
// --days from 1 to 36500, `fallback` when absent; throws Failed otherwise.
std::int64_t days_option(const Options& options, std::int64_t fallback);

// Each takes the words after its own name (`pki issue --dir ...` gets `issue --dir ...`) and
// returns the exit status (runtime::ExitStatus).
int pki_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
int rulebook_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
int members_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
int terminal_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
int replay_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
int report_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
int audit_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
int expire_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
int serve_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
int check_config_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace loyalty::ledger::cli

#endif  // LOYALTY_LEDGER_CLI_COMMANDS_HPP_
