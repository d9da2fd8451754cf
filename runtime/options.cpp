#include "runtime/options.hpp"

#include <algorithm>
#include <charconv>
#include <ostream>
#include <string>

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
    std::string_view arg = args[i];
    std::optional<std::string_view> inline_value;  // --name=value
    if (const std::size_t equals = arg.find('='); arg.starts_with("--") && equals != std::string_view::npos) {
      inline_value = arg.substr(equals + 1);
      arg = arg.substr(0, equals);
    }
    if (!inline_value && std::find(flags.begin(), flags.end(), arg) != flags.end()) {
      options.flags.emplace(arg);
      continue;
    }
    if (std::find(valued.begin(), valued.end(), arg) == valued.end()) {
      const bool flag = std::find(flags.begin(), flags.end(), arg) != flags.end();
      err << program_of(usage) << ": " << (flag ? "option '" : "unknown option '") << arg
          << (flag ? "' takes no value" : "'") << "\n"
          << usage;
      return std::nullopt;
    }
    if (!inline_value && i + 1 >= args.size()) {
      err << program_of(usage) << ": option '" << arg << "' needs a value\n";
      return std::nullopt;
    }
    options.values[std::string(arg)] = std::string(inline_value ? *inline_value : args[++i]);
  }
  return options;
}

bool wants_help(std::span<const std::string_view> args) {
  return std::any_of(args.begin(), args.end(), [](std::string_view arg) { return arg == "--help" || arg == "-h"; });
}

std::string command_usage(std::string_view usage, std::string_view command) {
  std::string block;
  bool inside = false;
  std::size_t at = 0;
  while (at < usage.size()) {
    const std::size_t end = std::min(usage.find('\n', at), usage.size());
    const std::string_view line = usage.substr(at, end - at);
    at = end + 1;
    const bool names_command = line.starts_with("  ") && !line.starts_with("   ") &&
                               line.substr(2).starts_with(command) &&
                               (line.size() == 2 + command.size() || line[2 + command.size()] == ' ');
    if (names_command) {
      inside = true;
    } else if (!line.starts_with("   ")) {
      inside = false;
    }
    if (inside) block.append(line).append("\n");
  }
  if (block.empty()) return std::string(usage);
  return "usage: " + std::string(program_of(usage)) + "\n" + block;
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
