// The subcommands' option parsing and help, shared by the three programs.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "runtime/options.hpp"

using namespace loyalty::runtime;

namespace {

constexpr std::string_view kUsage =
    "usage: prog <command> [options]\n"
    "\n"
    "commands:\n"
    "  run --config FILE\n"
    "         Runs it.\n"
    "  journal verify --journal FILE\n"
    "         Checks it.\n"
    "  journal stats --journal FILE\n"
    "      [--json]\n"
    "         Counts it.\n"
    "  runner\n"
    "\n"
    "Exit status: 0 done.\n";

std::optional<Options> parse(std::vector<std::string_view> args, std::string& err) {
  std::ostringstream out;
  auto options = parse_options(args, {"--config", "--count"}, {"--json"}, kUsage, out);
  err = out.str();
  return options;
}

}  // namespace

TEST_CASE("options take their value after a space or an equals sign") {
  std::string err;
  auto options = parse({"--config", "a.json", "--count=3", "--json"}, err);
  REQUIRE(options);
  CHECK(options->value("--config") == "a.json");
  CHECK(options->value("--count") == "3");
  CHECK(options->has("--json"));
  options = parse({"--config=with=equals"}, err);
  REQUIRE(options);
  CHECK(options->value("--config") == "with=equals");
  CHECK_FALSE(parse({"--json=yes"}, err));
  CHECK(err.rfind("prog: option '--json' takes no value", 0) == 0);
  CHECK_FALSE(parse({"--colour=red"}, err));
  CHECK(err.rfind("prog: unknown option '--colour'", 0) == 0);
  CHECK_FALSE(parse({"--config"}, err));
  CHECK(err.rfind("prog: option '--config' needs a value", 0) == 0);
}

TEST_CASE("COMMAND --help is the usage of that command alone") {
  CHECK(wants_help(std::vector<std::string_view>{"--config", "x", "--help"}));
  CHECK(wants_help(std::vector<std::string_view>{"-h"}));
  CHECK_FALSE(wants_help(std::vector<std::string_view>{"--config", "help"}));
  CHECK(command_usage(kUsage, "run") == "usage: prog\n  run --config FILE\n         Runs it.\n");
  CHECK(command_usage(kUsage, "journal") ==
        "usage: prog\n  journal verify --journal FILE\n         Checks it.\n  journal stats --journal FILE\n"
        "      [--json]\n         Counts it.\n");
  CHECK(command_usage(kUsage, "nothing") == kUsage);
}
