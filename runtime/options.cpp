#include "runtime/options.hpp"

#include <algorithm>
#include <charconv>
#include <ostream>

namespace loyalty::runtime {

namespace {

// "loyalty-ledger" from "usage: loyalty-ledger <command> ...".
std::string_view program_of(std::string_view usage) {
  constexpr std::string_view kPrefix = "usage: ";
  if (!usage.starts_with(kPrefix)) return "loyalty";
  usage.remove_prefix(kPrefix.size());
  return usage.substr(0, usage.find_first_of(" \n"));
}

}  // namespace

std::optional<std::string> Options::find(std::string_view name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::optional<std::int64_t> Options::integer(std::string_view name, std::int64_t fallback, std::int64_t low,
                                             std::int64_t high) const {
  const auto text = find(name);
  if (!text) return fallback;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < low || value > high) return std::nullopt;
  return value;
}

std::optional<Options> parse_options(std::span<const std::string_view> args,
                                     std::initializer_list<std::string_view> valued,
                                     std::initializer_list<std::string_view> flags, std::string_view usage,
                                     std::ostream& err) {
  Options options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (std::find(flags.begin(), flags.end(), arg) != flags.end()) {
      options.flags.emplace(arg);
      continue;
    }
    if (std::find(valued.begin(), valued.end(), arg) == valued.end()) {
      err << program_of(usage) << ": unknown option '" << arg << "'\n" << usage;
      return std::nullopt;
    }
    if (i + 1 >= args.size()) {
      err << program_of(usage) << ": option '" << arg << "' needs a value\n";
      return std::nullopt;
    }
    options.values[std::string(arg)] = std::string(args[++i]);
  }
  return options;
}

bool require(const Options& options, std::initializer_list<std::string_view> names, std::string_view usage,
             std::ostream& err) {
  for (std::string_view name : names) {
    if (!options.values.contains(name)) {
      err << program_of(usage) << ": missing " << name << "\n" << usage;
      return false;
    }
  }
  return true;
}

}  // namespace loyalty::runtime
