// The domain is pure: Debian puts Boost, OpenSSL, nlohmann and SQLite headers in
// /usr/include, so a stray include would compile silently. This test reads the sources.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

TEST_CASE("domain includes nothing but the standard library and itself") {
  const std::filesystem::path root = std::filesystem::path(LOYALTY_SOURCE_DIR) / "domain";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    const auto ext = entry.path().extension();
    if (ext != ".hpp" && ext != ".cpp") continue;
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("#include", 0) != 0) continue;
      INFO(entry.path().filename().string(), ": ", line);
      const bool standard = line.find('<') != std::string::npos && line.find('/') == std::string::npos &&
                            line.find(".h") == std::string::npos;
      const bool own = line.find("\"domain/") != std::string::npos;
      CHECK((standard || own));
    }
  }
  CHECK(files >= 10);
}
