// What the fuzz targets share: the input as text, the example files, and the rule for
// exceptions. A parser may refuse input only with the refusals its callers answer as bad input
// (a JsonError, a domain InvalidInput or Overflow, ...): each target catches exactly those, so
// any other exception escapes and libFuzzer reports it as a crash, as it does an ASan or UBSan
// finding.
#ifndef LOYALTY_TESTS_FUZZ_FUZZ_HPP_
#define LOYALTY_TESTS_FUZZ_FUZZ_HPP_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <string_view>

#include "runtime/json_reader.hpp"

namespace loyalty::fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A file of the source tree's examples/ (the build knows where the tree is).
inline std::string example(const char* name) {
  std::ifstream in(std::filesystem::path(LOYALTY_SOURCE_DIR) / "examples" / name, std::ios::binary);
  if (!in) std::abort();  // a target without its example would fuzz nothing useful
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Whatever a parser accepted must be printable as JSON again (the agent answers with it).
inline void must_dump(const runtime::OrderedJson& document) { static_cast<void>(document.dump()); }
inline void must_dump(const runtime::Json& document) { static_cast<void>(document.dump()); }

// A scratch directory for targets that need files, made once per process.
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "loyalty-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    return std::filesystem::path(pattern);
  }();
  return dir;
}

// `size` bytes at `data` as the file `name` in the scratch directory, for readers that take a
// path.
inline std::filesystem::path scratch_file(const char* name, const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path path = scratch() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// A stream that discards what is written: the daemons' logs under fuzzing.
inline std::ostream& null_stream() {
  struct Discard : std::streambuf {
    int overflow(int c) override { return c; }
  };
  static Discard discard;
  static std::ostream stream(&discard);
  return stream;
}

}  // namespace loyalty::fuzz

#endif  // LOYALTY_TESTS_FUZZ_FUZZ_HPP_
