// The command line of loyalty-agent: the tools store IT and support run by hand. The same
// binary later runs the daemon; each subcommand is one function here.
#ifndef LOYALTY_AGENT_CLI_HPP_
#define LOYALTY_AGENT_CLI_HPP_

#include <iosfwd>
#include <span>
#include <string_view>

namespace loyalty::agent {

// Runs the subcommand named by args[0] with the rest as its options. Results go to `out`,
// messages for a person to `err`. Returns the process exit status (runtime::ExitStatus).
int run_cli(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace loyalty::agent

#endif  // LOYALTY_AGENT_CLI_HPP_
