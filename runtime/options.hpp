// Command-line options of the agent's, the ledger's and the simulator's subcommands: "--name
// VALUE" pairs and "--flag" switches, checked against the names a subcommand knows. Messages
// start with the program name that the usage text names ("usage: loyalty-ledger ...").

#ifndef LOYALTY_RUNTIME_OPTIONS_HPP_
#define LOYALTY_RUNTIME_OPTIONS_HPP_

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

namespace loyalty::runtime {

// Exit statuses of every subcommand of loyalty-agent and loyalty-ledger: 1 when the input was
// bad or the task failed (the message says which), 2 when the command line was wrong. The
// daemons add sysexits(3)'s EX_TEMPFAIL (try again: systemd restarts them) and EX_CONFIG (a
// configuration that is wrong: their units do not restart them until it is mended).
enum ExitStatus : int { exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_tempfail = 75, exit_config = 78 };

struct Options {
  std::map<std::string, std::string, std::less<>> values;
  std::set<std::string, std::less<>> flags;

  bool has(std::string_view flag) const { return flags.contains(flag); }
  // The value of a required option (checked by require()).
  const std::string& value(std::string_view name) const { return values.find(name)->second; }
  std::optional<std::string> find(std::string_view name) const;
  // The value of `name` as a whole number from `low` to `high`, `fallback` when the option is
  // absent, nullopt when it is not such a number (the caller says what it must be).
  std::optional<std::int64_t> integer(std::string_view name, std::int64_t fallback, std::int64_t low,
                                      std::int64_t high) const;
};

// Parses `args` ("--name VALUE", "--name=VALUE", "--flag"); an unknown option or a missing
// value prints the problem and `usage` to `err` and returns nullopt.
std::optional<Options> parse_options(std::span<const std::string_view> args,
                                     std::initializer_list<std::string_view> valued,
                                     std::initializer_list<std::string_view> flags, std::string_view usage,
                                     std::ostream& err);

// True when every name has a value; otherwise prints which is missing and `usage`.
// Whether `args` asks for help: --help or -h anywhere in them.
bool wants_help(std::span<const std::string_view> args);

// What `usage` says about `command`: its lines ("  COMMAND ..." and the indented text after
// them) under "usage: PROGRAM"; all of `usage` when no line names it.
std::string command_usage(std::string_view usage, std::string_view command);

bool require(const Options& options, std::initializer_list<std::string_view> names, std::string_view usage,
             std::ostream& err);

}  // namespace loyalty::runtime

#endif  // LOYALTY_RUNTIME_OPTIONS_HPP_
