// The example documents under examples/, parsed, for the sync tests.
#ifndef LOYALTY_TESTS_SYNC_EXAMPLES_HPP_
#define LOYALTY_TESTS_SYNC_EXAMPLES_HPP_

#include <fstream>
#include <sstream>
#include <string>

#include "runtime/json_reader.hpp"

namespace loyalty::sync::testing {

inline runtime::Json load_example(const char* name) {
  std::ifstream in(std::string(LOYALTY_SOURCE_DIR) + "/examples/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return runtime::parse_json(text.str(), name);
}

}  // namespace loyalty::sync::testing

#endif  // LOYALTY_TESTS_SYNC_EXAMPLES_HPP_
