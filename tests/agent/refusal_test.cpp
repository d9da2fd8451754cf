// Every checkout refusal has its own stable code, and docs/pos-api.md's error table gives each
// the HTTP status the POS API answers with.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "agent/checkout.hpp"
#include "agent/pos_api.hpp"

TEST_CASE("every checkout refusal has its own code, and the error table documents its status") {
  std::ifstream in(std::string(LOYALTY_SOURCE_DIR) + "/docs/pos-api.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::string table = doc.substr(doc.find("## Errors"));
  std::set<std::string> codes;
  const auto last = static_cast<int>(loyalty::agent::Refusal::return_invalid);
  for (int value = 0; value <= last; ++value) {
    const auto refusal = static_cast<loyalty::agent::Refusal>(value);
    const std::string code(loyalty::agent::refusal_code(refusal));
    CAPTURE(code);
    CHECK(codes.insert(code).second);
    CHECK(code != "refused");
    // The row that names the code starts with its status: "| 422 | ... `code` ...".
    const auto at = table.find("`" + code + "`");
    REQUIRE(at != std::string::npos);
    const auto row = table.rfind("\n| ", at);
    REQUIRE(row != std::string::npos);
    const int documented = std::stoi(table.substr(row + 3, 3));
    CHECK(documented == static_cast<int>(loyalty::agent::status_of(refusal)));
  }
  CHECK(codes.size() == static_cast<std::size_t>(last + 1));
}
