// The lane simulator: its shop draws valid, reproducible baskets and returns, its members'
// cards and phones are what the agent expects, and a run of two lanes against the real daemon
// (scanner, typed cards, phones, redemptions, retries, voids, returns) finds nothing wrong and
// leaves exactly one journal entry per sale, void and return.
#include <doctest/doctest.h>

#include <fstream>
#include <random>
#include <set>

#include "agent/sim/lane_sim.hpp"
#include "agent/sim/shop.hpp"
#include "drivers/codes.hpp"
#include "sync/basket_json.hpp"
#include "sync/rulebook_json.hpp"
#include "tests/agent/fixtures.hpp"
#include "tests/env.hpp"

namespace sim = loyalty::sim;
using loyalty::agent::testing::Agent;
using loyalty::agent::testing::call;
using loyalty::agent::testing::in_seconds;
using loyalty::testing::Child;
using nlohmann::json;

TEST_CASE("the shop's products carry valid EAN-13 codes and its members valid cards in their range") {
  for (const sim::Product& p : sim::catalogue()) {
    INFO(p.name);
    CHECK(p.sku.size() == 13);
    CHECK(loyalty::drivers::gs1_valid(p.sku));
  }
  const loyalty::drivers::CardRange range{sim::kCardPrefix, 16, loyalty::drivers::CardCheck::luhn};
  std::set<std::string> cards;
  for (std::int64_t i : {0LL, 1LL, 42LL, 999'999LL}) {
    const std::string card = sim::member_card(i);
    CHECK(loyalty::drivers::check_card(card, std::span(&range, 1)).problem == "");
    CHECK(cards.insert(card).second);
    CHECK(loyalty::drivers::normalize_phone(sim::member_phone(i), "7") == sim::member_phone(i));
  }
  CHECK(sim::member_id(42) == "SIM-0000042");
}

TEST_CASE("baskets drawn from the shop are valid documents, reproducible from the seed, and varied") {
  const std::uint64_t seed = loyalty::testing::env_number("LOYALTY_SEED", std::random_device{}());
  INFO("LOYALTY_SEED=" << seed);
  sim::Random random(seed);
  sim::Random again(seed);
  CHECK(sim::make_basket(random, "R", "2026-11-27T10:00:00Z") == sim::make_basket(again, "R", "2026-11-27T10:00:00Z"));

  std::int64_t weighed = 0;
  std::int64_t excluded = 0;
  std::set<std::int64_t> rates;
  for (int i = 0; i < 2000; ++i) {
    const json basket = sim::make_basket(random, "R-" + std::to_string(i), "2026-11-27T10:00:00Z");
    INFO(basket.dump());
    const auto document = loyalty::sync::basket_from_json(basket);  // throws on anything invalid
    CHECK(document.basket.lines.size() >= 1);
    CHECK(document.basket.lines.size() <= 13);
    for (const json& line : basket["lines"]) {
      weighed += line.contains("qty_milli") ? 1 : 0;
      rates.insert(line["vat_bp"].get<std::int64_t>());
      const auto& c = line["category"];
      excluded += c == "tobacco" || c == "gift_card" || c == "lottery" || c == "deposit" ? 1 : 0;
    }
    // A return takes back no more of a line than was sold.
    for (const json& item : sim::make_return(random, basket)) {
      const json& sold = basket["lines"][item["line"].get<std::size_t>()];
      if (sold.contains("qty_milli")) {
        CHECK(item["qty_milli"].get<std::int64_t>() >= 1);
        CHECK(item["qty_milli"] <= sold["qty_milli"]);
      } else {
        CHECK(item["qty"].get<std::int64_t>() >= 1);
        CHECK(item["qty"] <= sold["qty"]);
      }
    }
  }
  CHECK(weighed > 0);
  CHECK(excluded > 0);
  CHECK(rates == std::set<std::int64_t>{0, 1000, 2200});
}

TEST_CASE("percentiles are by nearest rank and money is printed to the kopeck") {
  CHECK(sim::percentile({}, 50) == 0);
  CHECK(sim::percentile({5, 1, 4, 2, 3}, 50) == 3);
  CHECK(sim::percentile({5, 1, 4, 2, 3}, 99) == 5);
  CHECK(sim::percentile({5, 1, 4, 2, 3}, 0) == 1);
  CHECK(sim::money_text(142911) == "1429.11");
  CHECK(sim::money_text(-5) == "-0.05");
}

TEST_CASE("two simulated lanes against the real agent: nothing wrong, one entry per sale, void and return") {
  Agent agent(R"({"listen": "127.0.0.1:0"})",
              R"(, "codes": {"card_ranges": [{"prefix": "7013", "length": 16, "check": "luhn"}]},
                 "scanners": [{"name": "lane-scanner", "type": "tcp", "listen": "127.0.0.1:0"}])");
  {
    Child members(
        {LOYALTY_LANE_SIM_BINARY, "members", "--config", (agent.dir / "agent.json").string(), "--count", "500"});
    REQUIRE(members.wait_exit(in_seconds(30)) == 0);
    CHECK(members.output().find(": 502 members") != std::string::npos);
  }
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  const std::string& log = agent.child->output();
  const auto at = log.find("\"lane-scanner\":");
  REQUIRE(at != std::string::npos);
  const std::string scanner_port = std::to_string(std::stoi(log.substr(at + 15)));

  const std::uint64_t seed = loyalty::testing::env_number("LOYALTY_SEED", std::random_device{}());
  Child lanes({LOYALTY_LANE_SIM_BINARY, "run", "--agent", "127.0.0.1:" + std::to_string(agent.port), "--scanner",
               "127.0.0.1:" + scanner_port, "--lanes", "2", "--receipts", "80", "--members", "500", "--seed",
               std::to_string(seed), "--prefix", "T", "--json"});
  const int status = lanes.wait_exit(in_seconds(120));
  INFO("seed " << seed << ": " << lanes.output());
  REQUIRE(status == 0);
  const json report = json::parse(lanes.output());
  CHECK(report["problems"].empty());
  CHECK(report["receipts"] == 160);
  CHECK(report["member_sales"].get<std::int64_t>() + report["anonymous_sales"].get<std::int64_t>() == 160);
  CHECK(report["scans"].get<std::int64_t>() > 0);
  CHECK(report["points_earned"].get<std::int64_t>() > 0);
  CHECK(report["latency"]["commit"]["calls"].get<std::int64_t>() >= 160);

  const std::int64_t entries = 160 + report["voids"].get<std::int64_t>() + report["refunds"].get<std::int64_t>();
  CHECK(call(agent.port, loyalty::http::verb::get, "/v1/status").body["last_seq"] == entries);
  const auto metrics = call(agent.port, loyalty::http::verb::get, "/metrics").body.get<std::string>();
  CHECK(metrics.find("loyalty_agent_commits_total 160\n") != std::string::npos);
  CHECK(metrics.find("loyalty_agent_http_request_duration_seconds_count{route=\"commit\"} " +
                     std::to_string(report["latency"]["commit"]["calls"].get<std::int64_t>()) + "\n") !=
        std::string::npos);
}

TEST_CASE("a simulated lane faster than the agent's rate limit waits out the 429s and loses no sale") {
  Agent agent(R"({"listen": "127.0.0.1:0", "requests_per_second": 10})");
  {
    Child members(
        {LOYALTY_LANE_SIM_BINARY, "members", "--config", (agent.dir / "agent.json").string(), "--count", "50"});
    REQUIRE(members.wait_exit(in_seconds(30)) == 0);
  }
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  Child lane({LOYALTY_LANE_SIM_BINARY, "run", "--agent", "127.0.0.1:" + std::to_string(agent.port), "--receipts", "8",
              "--members", "50", "--seed", "5", "--prefix", "RL", "--json"});
  REQUIRE(lane.wait_exit(in_seconds(60)) == 0);
  const json report = json::parse(lane.output());
  CHECK(report["problems"].empty());
  CHECK(report["receipts"] == 8);
  CHECK(report["rate_limited"].get<std::int64_t>() > 0);
}
