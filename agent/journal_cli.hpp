// `loyalty-agent journal verify|export|stats`: the journal tools for store IT and support.
// They open the journal without its private key, so they run beside a live agent.

#ifndef LOYALTY_AGENT_JOURNAL_CLI_HPP_
#define LOYALTY_AGENT_JOURNAL_CLI_HPP_

#include <iosfwd>
#include <span>
#include <string_view>

namespace loyalty::agent {

// args[0] is the journal subcommand. Returns 0 when done (verify: the journal is sound), 1 when
// the journal is damaged, tampered with or cannot be read (the message says which entry and
// why), 2 on a usage error.
int journal_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace loyalty::agent

#endif  // LOYALTY_AGENT_JOURNAL_CLI_HPP_
