// The example documents under examples/, parsed, for the sync tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "sync/json_reader.hpp"

namespace loyalty::sync::testing {

inline Json load_example(const char* name) {
  std::ifstream in(std::string(LOYALTY_SOURCE_DIR) + "/examples/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return parse_json(text.str(), name);
}

}  // namespace loyalty::sync::testing
