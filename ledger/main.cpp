// loyalty-ledger: the central ledger's service and tools.
#include <iostream>
#include <string_view>
#include <vector>

#include "ledger/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  return loyalty::ledger::run_cli(args, std::cout, std::cerr);
}
