// The command line of loyalty-ledger: the central team's tools and the service. Each
// subcommand is one function in ledger/cli.cpp.
#ifndef LOYALTY_LEDGER_CLI_HPP_
#define LOYALTY_LEDGER_CLI_HPP_

#include <iosfwd>
#include <span>
#include <string_view>

namespace loyalty::ledger {

// Runs the subcommand named by args[0] with the rest as its options. Results go to `out`,
// messages for a person (and progress) to `err`. Returns the process exit status
// (runtime::ExitStatus).
int run_cli(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_CLI_HPP_
