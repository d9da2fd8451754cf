// loyalty-agent: the terminal agent's command line.
#include <iostream>
#include <string_view>
#include <vector>

#include "agent/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  return loyalty::agent::run_cli(args, std::cout, std::cerr);
}
