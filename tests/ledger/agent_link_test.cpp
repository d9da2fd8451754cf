#include <doctest/doctest.h>

#include "tests/agent/fixtures.hpp"
#include "tests/ledger/link_fixtures.hpp"
#include "tests/ledger/online_agent.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using agent::testing::Agent;
using agent::testing::call;
using ledger::testing::LedgerFixture;
using ledger::testing::LedgerProcess;
using ledger::testing::now_s;
using ledger::testing::within;

namespace {

nlohmann::json status_of(const Agent& agent) { return call(agent.port, http::verb::get, "/v1/status").body; }

}  // namespace

TEST_CASE(
    "an agent linked to the ledger gets its signed rulebook and members there, has redemptions authorized online, and "
    "falls back offline") {
  ledger::testing::OnlineAgent online_agent;
  LedgerFixture& f = online_agent.f;
  LedgerProcess& ledger = *online_agent.ledger;
  Agent& agent = *online_agent.agent;
  CHECK(online_agent.issued.info.common_name == "store-1-lane-2");
  CHECK(agent.child->output().find("not in a signed envelope") != std::string::npos);
  CHECK(agent.child->output().find("rulebook installed from the ledger") != std::string::npos);
  const auto online = status_of(agent);
  REQUIRE(online["connectivity"] == "online");
  CHECK(online["ledger"]["member_cursor"] == 3);
  CHECK(online["rulebook"]["version"] == 1);
  CHECK(agent.post("/v1/identify", {{"card", "4000000000000010"}}).body["member"]["id"] == "M-3");

  // Online: the ledger holds the points before the commit redeems them.
  const auto sale = agent.post("/v1/commit", {{"basket", agent::testing::basket("R-1", 700)}, {"member_id", "M-1001"}});
  REQUIRE(sale.status == 200);
  CHECK(sale.body["offline"].is_null());
  CHECK(sale.body["authorization"]["outcome"] == "approved");
  CHECK(sale.body["authorization"]["points"] == 700);
  CHECK(sale.body["points"]["redeemed"] == 700);  // more than the offline per-receipt limit of 500
  const std::int64_t earned = sale.body["points"]["earned"];
  REQUIRE(agent.child->wait_for_text("\"event\":\"batch_acknowledged\"", within(std::chrono::seconds(10))));
  CHECK(status_of(agent)["pending_entries"] == 0);
  CHECK(f.balance("M-1001") == 5000 - 700 + earned);
  CHECK(f.store.held_points("M-1001", now_s() * 1000) == 0);  // the entry consumed the hold

  // The ledger goes away: the commit falls back to the offline limits at once.
  ledger.kill();
  const auto offline_sale =
      agent.post("/v1/commit", {{"basket", agent::testing::basket("R-2", 2000)}, {"member_id", "M-1001"}});
  REQUIRE(offline_sale.status == 200);
  CHECK(offline_sale.body["offline"]["binding"] == "offline_per_receipt");
  CHECK(offline_sale.body["points"]["redeemed"] == 500);
  REQUIRE(agent.child->wait_for_text("\"event\":\"ledger_offline\"", within(std::chrono::seconds(10))));
  const auto offline = status_of(agent);
  CHECK(offline["connectivity"] == "offline");
  CHECK_MESSAGE(offline["offline_reason"].get<std::string>().find("the ledger at 127.0.0.1") != std::string::npos,
                offline["offline_reason"]);
  CHECK(offline["pending_entries"] == 1);
}
