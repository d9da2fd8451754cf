// loyalty-lane-sim: simulated checkout lanes for demos and load (agent/sim/lane_sim.hpp), and
// the synthetic members they present, written into an agent's member cache.
#include <ctime>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config.hpp"
#include "agent/sim/fleet.hpp"
#include "agent/sim/lane_sim.hpp"
#include "agent/sim/members.hpp"
#include "runtime/config_values.hpp"
#include "runtime/options.hpp"
#include "storage/member_cache.hpp"

namespace {

using namespace loyalty;

constexpr std::string_view kUsage =
    "usage: loyalty-lane-sim <command> [options]\n"
    "\n"
    "commands:\n"
    "  members (--config AGENT_JSON | --out FILE) --count N\n"
    "         Writes N synthetic members (SIM-0000000..., cards 7013..., phones +7900...) into\n"
    "         the member cache of the agent configured by AGENT_JSON, or into FILE as JSON\n"
    "         lines for loyalty-ledger members import.\n"
    "  run --agent ADDRESS [--token-file FILE] [--scanner ADDRESS] [--lanes N] [--receipts N]\n"
    "      [--members N] [--seed S] [--prefix TEXT] [--at TIME] [--narrate] [--json]\n"
    "         Works N lanes (default 1) of --receipts sales each (default 20) through the POS\n"
    "         API at ADDRESS (127.0.0.1:8470 or unix:/path/pos.sock), presenting members 0..N-1\n"
    "         of --members (default 1000). Lane 1 scans cards at the agent's TCP scanner\n"
    "         --scanner. --narrate prints each receipt; --json prints the report as JSON.\n"
    "         The seed is printed; the same seed draws the same baskets.\n"
    "\n"
    "  fleet prepare --dir DIR --rulebook RULEBOOK_JSON [--terminals N] [--entries N]\n"
    "      [--members N] [--seed S]\n"
    "         Makes N terminals (default 100) in DIR: keys, certificate requests (csr/), and\n"
    "         journals of --entries realistic sales each (default 100), priced and journaled\n"
    "         by the agent's checkout; members.jsonl and member.secret for the ledger's import.\n"
    "         Then: loyalty-ledger pki issue --dir CA --csr-dir DIR/csr --out-dir DIR/certs --db DB\n"
    "  fleet run --dir DIR --ledger HOST:PORT[,HOST:PORT...] --ca CA_CRT [--rate R]\n"
    "      [--batch N] [--authorize-per-s N] [--admin HOST:PORT[,...]] [--server-name NAME]\n"
    "      [--no-pull] [--timeout-s N] [--seed S] [--json]\n"
    "         Every terminal uploads its journal at once through the agent's uplink over\n"
    "         mutual TLS: all sales journaled at the start (an outage's backlog), or --rate\n"
    "         sales per terminal per second. Prints entries/s, acknowledgement latency (from\n"
    "         journaling) and the online authorizations asked meanwhile; with --admin (the\n"
    "         ledgers' admin listeners), the ledgers' own answer times by route. --no-pull:\n"
    "         the terminals upload only, without pulling the member feed and the rulebook.\n"
    "\n"
    "  get --agent ADDRESS [--token-file FILE] PATH\n"
    "         Prints the agent's answer to GET PATH (/v1/status, /v1/health, /metrics).\n"
    "  version\n"
    "\n"
    "Options take their value as --name VALUE or --name=VALUE; COMMAND --help describes one.\n"
    "Exit status: 0 done and the agent got nothing wrong, 1 problems (listed), 2 usage.\n";

std::optional<std::int64_t> number(const runtime::Options& options, std::string_view name, std::int64_t fallback,
                                   std::int64_t low, std::int64_t high) {
  const auto value = options.integer(name, fallback, low, high);
  if (!value)
    std::cerr << "loyalty-lane-sim: " << name << " must be a whole number from " << low << " to " << high << "\n";
  return value;
}

int seed_members(const runtime::Options& options) {
  const auto count = number(options, "--count", 0, 1, 100'000'000);
  if (!count) return 2;
  if (const auto out = options.find("--out")) {
    std::ofstream file(*out);
    sim::write_member_lines(file, *count);
    file.close();
    if (!file) throw std::runtime_error("cannot write " + *out);
    std::cout << "wrote " << *count << " members to " << *out << "\n";
    return 0;
  }
  if (!options.find("--config")) {
    std::cerr << "loyalty-lane-sim: members needs --config or --out\n" << kUsage;
    return 2;
  }
  const agent::Config config = agent::load_config(options.value("--config"));
  const storage::IdentifierHasher hasher(agent::read_secret(config.member_secret_file, "member secret"));
  storage::MemberCache cache(config.members_path(), hasher);
  sim::write_members(cache, hasher, *count);
  std::cout << "member cache " << config.members_path().string() << ": " << cache.size() << " members\n";
  return 0;
}

// The agent of --agent and the token of --token-file (empty without one); nullopt, with the
// problem printed, for an address that is not loopback or a Unix socket.
std::optional<std::pair<sim::Endpoint, std::string>> agent_of(const runtime::Options& options) {
  const auto endpoint = sim::parse_endpoint(options.value("--agent"));
  if (!endpoint) {
    std::cerr << "loyalty-lane-sim: --agent must be a loopback HOST:PORT or unix:PATH\n";
    return std::nullopt;
  }
  std::string token;
  if (const auto token_file = options.find("--token-file")) token = agent::read_secret(*token_file, "token");
  return std::pair{*endpoint, token};
}

int run_lanes(const runtime::Options& options) {
  sim::SimSettings settings;
  const auto target = agent_of(options);
  if (!target) return 2;
  std::tie(settings.agent, settings.token) = *target;
  if (const auto scanner = options.find("--scanner")) {
    settings.scanner = sim::parse_endpoint(*scanner);
    if (!settings.scanner) {
      std::cerr << "loyalty-lane-sim: --scanner must be a loopback HOST:PORT\n";
      return 2;
    }
  }
  const auto lanes = number(options, "--lanes", 1, 1, 1000);
  const auto receipts = number(options, "--receipts", 20, 1, 100'000'000);
  const auto members = number(options, "--members", 1000, 1, 100'000'000);
  const auto seed = number(options, "--seed", static_cast<std::int64_t>(std::random_device()() & 0x7fffffff), 0,
                           std::numeric_limits<std::int64_t>::max());
  if (!lanes || !receipts || !members || !seed) return 2;
  settings.lanes = static_cast<int>(*lanes);
  settings.receipts = *receipts;
  settings.members = *members;
  settings.seed = static_cast<std::uint64_t>(*seed);
  settings.receipt_prefix = options.find("--prefix").value_or("SIM-" + std::to_string(std::time(nullptr)));
  settings.at = options.find("--at").value_or("");
  if (options.has("--narrate")) settings.narrate = &std::cout;
  const bool as_json = options.has("--json");
  if (!as_json) {
    std::cout << "lane simulation: " << settings.lanes << " lane(s) x " << settings.receipts << " receipts against "
              << settings.agent.text << ", seed " << settings.seed << "\n";
  }

  asio::io_context io;
  sim::SimReport report;
  asio::co_spawn(io, sim::run_lanes(settings, report), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  if (as_json) {
    nlohmann::json out = report.to_json();
    out["seed"] = settings.seed;
    out["lanes"] = settings.lanes;
    std::cout << out.dump() << "\n";
  } else {
    report.print(std::cout);
  }
  return report.problems.empty() ? 0 : 1;
}

int prepare_fleet(const runtime::Options& options) {
  sim::FleetPlan plan;
  const auto terminals = number(options, "--terminals", 100, 1, 100'000);
  const auto entries = number(options, "--entries", 100, 1, 1'000'000);
  const auto members = number(options, "--members", 10'000, 1, 100'000'000);
  const auto seed = number(options, "--seed", static_cast<std::int64_t>(std::random_device()() & 0x7fffffff), 0,
                           std::numeric_limits<std::int64_t>::max());
  if (!terminals || !entries || !members || !seed) return 2;
  plan.dir = options.value("--dir");
  plan.rulebook = options.value("--rulebook");
  plan.terminals = *terminals;
  plan.entries = *entries;
  plan.members = *members;
  plan.seed = static_cast<std::uint64_t>(*seed);
  std::cout << "fleet: " << plan.terminals << " terminals x " << plan.entries << " sales in " << plan.dir.string()
            << ", seed " << plan.seed << "\n";
  const sim::FleetPrepared prepared = sim::prepare_fleet(plan, &std::cout);
  std::cout << prepared.to_json().dump() << "\n";
  return 0;
}

// HOST:PORT[,HOST:PORT...]; nullopt, with the problem printed, when one is not.
std::optional<std::vector<sync::LedgerAddress>> addresses(const std::string& text, std::string_view option) {
  std::vector<sync::LedgerAddress> out;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const auto split = runtime::split_host_port(text.substr(at, comma - at));
    const auto port = split ? runtime::parse_port(split->port) : std::nullopt;
    if (!port || *port == 0) {
      std::cerr << "loyalty-lane-sim: " << option << " must be HOST:PORT[,HOST:PORT...]\n";
      return std::nullopt;
    }
    out.push_back({split->host, *port});
    at = comma + 1;
  }
  return out;
}

int run_fleet(const runtime::Options& options) {
  sim::FleetRun run;
  run.dir = options.value("--dir");
  run.ca = options.value("--ca");
  const auto ledgers = addresses(options.value("--ledger"), "--ledger");
  const auto admins = addresses(options.find("--admin").value_or(""), "--admin");
  if (!ledgers || ledgers->empty() || !admins) return 2;
  run.ledgers = *ledgers;
  run.admins = *admins;
  run.server_name = options.find("--server-name").value_or("");
  const auto batch = number(options, "--batch", 500, 1, 100'000);
  const auto authorize = number(options, "--authorize-per-s", 20, 0, 100'000);
  const auto timeout = number(options, "--timeout-s", 600, 1, 86'400);
  const auto seed = number(options, "--seed", 1, 0, std::numeric_limits<std::int64_t>::max());
  if (!batch || !authorize || !timeout || !seed) return 2;
  if (const auto rate = options.find("--rate")) {
    char* end = nullptr;
    run.rate = std::strtod(rate->c_str(), &end);
    if (end == rate->c_str() || *end != '\0' || !(run.rate >= 0) || run.rate > 1000) {
      std::cerr << "loyalty-lane-sim: --rate must be sales per terminal per second, 0 to 1000\n";
      return 2;
    }
  }
  run.batch_entries = static_cast<std::size_t>(*batch);
  run.pull = !options.has("--no-pull");
  run.authorizations_per_s = static_cast<double>(*authorize);
  run.timeout = std::chrono::seconds(*timeout);
  run.seed = static_cast<std::uint64_t>(*seed);
  const sim::FleetReport report = sim::run_fleet(run);
  if (options.has("--json")) {
    std::cout << report.to_json().dump() << "\n";
  } else {
    report.print(std::cout);
  }
  return report.problems.empty() ? 0 : 1;
}

// GET `path` from the agent and print the answer; exit status 0 for a 2xx.
int get(const runtime::Options& options, const std::string& path) {
  const auto target = agent_of(options);
  if (!target) return 2;
  asio::io_context io;
  sim::PosReply reply;
  asio::co_spawn(
      io,
      [&]() -> Task<void> {
        sim::PosClient client(co_await asio::this_coro::executor, target->first, target->second);
        reply = co_await client.call(http::verb::get, path);
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  if (reply.status == 0) {
    std::cerr << "loyalty-lane-sim: " << reply.error << "\n";
    return 1;
  }
  std::cout << (reply.body.is_string() ? reply.body.get<std::string>() : reply.body.dump(2) + "\n");
  return reply.status >= 200 && reply.status < 300 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "version" || args[0] == "--version") {
    std::cout << "loyalty-lane-sim " << LOYALTY_VERSION << "\n";
    return 0;
  }
  const std::span<const std::string_view> rest(args.begin() + 1, args.end());
  if (runtime::wants_help(rest)) {
    std::cout << runtime::command_usage(kUsage, args[0]);
    return 0;
  }
  try {
    if (args[0] == "members") {
      const auto options = runtime::parse_options(rest, {"--config", "--out", "--count"}, {}, kUsage, std::cerr);
      if (!options || !runtime::require(*options, {"--count"}, kUsage, std::cerr)) return 2;
      return seed_members(*options);
    }
    if (args[0] == "run") {
      const auto options = runtime::parse_options(
          rest,
          {"--agent", "--token-file", "--scanner", "--lanes", "--receipts", "--members", "--seed", "--prefix", "--at"},
          {"--narrate", "--json"}, kUsage, std::cerr);
      if (!options || !runtime::require(*options, {"--agent"}, kUsage, std::cerr)) return 2;
      return run_lanes(*options);
    }
    if (args[0] == "fleet" && !rest.empty() && rest[0] == "prepare") {
      const auto options = runtime::parse_options(
          rest.subspan(1), {"--dir", "--rulebook", "--terminals", "--entries", "--members", "--seed"}, {}, kUsage,
          std::cerr);
      if (!options || !runtime::require(*options, {"--dir", "--rulebook"}, kUsage, std::cerr)) return 2;
      return prepare_fleet(*options);
    }
    if (args[0] == "fleet" && !rest.empty() && rest[0] == "run") {
      const auto options =
          runtime::parse_options(rest.subspan(1),
                                 {"--dir", "--ledger", "--ca", "--rate", "--batch", "--authorize-per-s", "--admin",
                                  "--server-name", "--timeout-s", "--seed"},
                                 {"--json", "--no-pull"}, kUsage, std::cerr);
      if (!options || !runtime::require(*options, {"--dir", "--ledger", "--ca"}, kUsage, std::cerr)) return 2;
      return run_fleet(*options);
    }
    if (args[0] == "get") {
      if (rest.empty()) {
        std::cerr << kUsage;
        return 2;
      }
      const auto options =
          runtime::parse_options(rest.first(rest.size() - 1), {"--agent", "--token-file"}, {}, kUsage, std::cerr);
      if (!options || !runtime::require(*options, {"--agent"}, kUsage, std::cerr)) return 2;
      return get(*options, std::string(rest.back()));
    }
  } catch (const std::exception& e) {
    std::cerr << "loyalty-lane-sim: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "loyalty-lane-sim: unknown command " << args[0] << "\n" << kUsage;
  return 2;
}
