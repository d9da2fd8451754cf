// Voids and refunds through the real daemon: the worked return example to the kopeck, voids
// that give back every point, refusals that journal nothing, and returns by the terms of the
// rulebook a sale was made under.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "storage/journal.hpp"
#include "tests/agent/fixtures.hpp"

using loyalty::agent::testing::Agent;
using loyalty::agent::testing::basket;
using loyalty::agent::testing::call;
using loyalty::agent::testing::in_seconds;
using loyalty::agent::testing::kCard;
using loyalty::agent::testing::Reply;
using nlohmann::json;
namespace storage = loyalty::storage;

namespace {

json example_sale() {
  std::ifstream in(std::string(LOYALTY_SOURCE_DIR) + "/examples/basket-ru.json");
  return {{"basket", json::parse(in)}, {"member_id", "7700123456"}};
}

constexpr const char* kExampleReceipt = "0042-20261126-000123";

json return_of(const std::string& receipt_id, const std::string& sale, json lines) {
  return {{"receipt_id", receipt_id}, {"sale_receipt_id", sale}, {"lines", std::move(lines)}};
}

std::int64_t journal_entries(Agent& agent) {
  CHECK(agent.child->signal_and_wait(SIGTERM, in_seconds(10)) == 0);
  auto db = storage::open_journal_database(agent.dir / "data" / "journal.db", storage::Creation::read_only);
  return db->query_integer("SELECT count(*) FROM journal").value_or(-1);
}

}  // namespace

TEST_CASE("returning the worked example in three steps gives back what docs/redemption.md E15 says") {
  Agent agent;
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  const Reply sale = agent.post("/v1/commit", example_sale());
  REQUIRE(sale.status == 200);
  CHECK(sale.body["points"]["redeemed"] == 300);
  CHECK(sale.body["points"]["earned"] == 71);
  CHECK(sale.body["points"]["balance_after"] == 771);

  struct Step {
    json lines;
    std::int64_t money, vat, vat_cumulative, returned, clawed_back, balance_after;
    json remaining;
  };
  const Step steps[] = {
      {json::parse(R"([{"line": 0, "qty": 2}])"), 14860, 1351, 1350, 31, 7, 795, {1000, 1000, 1234}},
      {json::parse(R"([{"line": 2, "qty_milli": 1234}])"), 13258, 1205, 1205, 28, 7, 816, {1000, 1000, 0}},
      {json::parse(R"([{"line": 0, "qty": 1}])"), 7431, 676, 676, 16, 4, 828, {0, 1000, 0}},
  };
  int n = 0;
  for (const Step& step : steps) {
    const std::string id = "RET-" + std::to_string(++n);
    CAPTURE(id);
    const Reply refund = agent.post("/v1/refund", return_of(id, kExampleReceipt, step.lines));
    REQUIRE_MESSAGE(refund.status == 200, refund.body.dump());
    CHECK(refund.body["already_journaled"] == false);
    CHECK(refund.body["entry"]["seq"] == n + 1);
    CHECK(refund.body["refund"]["money_paid"] == step.money);
    CHECK(refund.body["refund"]["vat"] == step.vat);
    CHECK(refund.body["refund"]["lines"][0]["vat_cumulative"] == step.vat_cumulative);
    CHECK(refund.body["points"]["returned"] == step.returned);
    CHECK(refund.body["points"]["clawed_back"] == step.clawed_back);
    CHECK(refund.body["points"]["balance_after"] == step.balance_after);
    CHECK(refund.body["remaining_qty_milli"] == step.remaining);
  }

  // Nothing of the milk is left; the retry of step 1 answers from the journal.
  const Reply too_much =
      agent.post("/v1/refund", return_of("RET-9", kExampleReceipt, json::parse(R"([{"line": 0, "qty": 1}])")));
  CHECK(too_much.status == 422);
  CHECK(too_much.body["error"]["code"] == "return_invalid");
  CHECK(too_much.body["error"]["message"].get<std::string>().find("only 0 are left") != std::string::npos);
  const Reply again = agent.post("/v1/refund", return_of("RET-1", kExampleReceipt, steps[0].lines));
  CHECK(again.status == 200);
  CHECK(again.body["already_journaled"] == true);
  CHECK(again.body["entry"]["seq"] == 2);
  CHECK(again.body["refund"]["money_paid"] == 14860);
  const Reply reused = agent.post("/v1/refund", return_of("RET-1", kExampleReceipt, steps[1].lines));
  CHECK(reused.status == 409);
  CHECK(reused.body["error"]["code"] == "receipt_conflict");
  const Reply void_after = agent.post("/v1/void", {{"receipt_id", "V-1"}, {"sale_receipt_id", kExampleReceipt}});
  CHECK(void_after.status == 409);
  CHECK(void_after.body["error"]["code"] == "sale_refunded");
  CHECK(journal_entries(agent) == 4);
}

TEST_CASE("a void gives back every point of the sale, once") {
  Agent agent;
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  const Reply anonymous = agent.post("/v1/commit", {{"basket", basket("R-0", 0)}});
  REQUIRE(anonymous.status == 200);
  const Reply sale = agent.post("/v1/commit", {{"basket", basket("R-1", 300)}, {"member_id", "M-1001"}});
  REQUIRE(sale.status == 200);
  const std::int64_t earned = sale.body["points"]["earned"];
  REQUIRE(earned > 0);

  const json request = {{"receipt_id", "V-1"}, {"sale_receipt_id", "R-1"}, {"reason", "card declined"}};
  const Reply voided = agent.post("/v1/void", request);
  REQUIRE_MESSAGE(voided.status == 200, voided.body.dump());
  CHECK(voided.body["entry"]["seq"] == 3);
  CHECK(voided.body["points"]["returned"] == 300);
  CHECK(voided.body["points"]["clawed_back"] == earned);
  CHECK(voided.body["points"]["balance_after"] == 5000);
  CHECK(voided.body["slip"].get<std::string>().find("Points given back: 300 points") != std::string::npos);
  CHECK(agent.post("/v1/identify", {{"card", kCard}}).body["member"]["balance"] == 5000);
  CHECK(agent.post("/v1/void", request).body["already_journaled"] == true);

  struct Refusal {
    std::string target;
    json body;
    int status;
    std::string code;
  };
  const std::vector<Refusal> refusals = {
      {"/v1/void", {{"receipt_id", "V-2"}, {"sale_receipt_id", "R-1"}}, 409, "sale_voided"},
      {"/v1/refund", return_of("RET-1", "R-1", json::parse(R"([{"line": 0, "qty": 1}])")), 409, "sale_voided"},
      {"/v1/void", {{"receipt_id", "V-2"}, {"sale_receipt_id", "R-404"}}, 404, "sale_unknown"},
      {"/v1/void", {{"receipt_id", "V-2"}, {"sale_receipt_id", "V-1"}}, 422, "not_a_sale"},
      {"/v1/void", {{"receipt_id", "V-2"}, {"sale_receipt_id", "R-0"}}, 422, "sale_without_member"},
      {"/v1/void", {{"receipt_id", "V-1"}, {"sale_receipt_id", "R-0"}}, 409, "receipt_conflict"},
      {"/v1/void", {{"receipt_id", "V-2"}}, 400, "request_invalid"},
      {"/v1/void", {{"receipt_id", "V-2"}, {"sale_receipt_id", "R-1"}, {"points", 5}}, 400, "request_invalid"},
      {"/v1/refund", return_of("RET-1", "R-0", json::array()), 400, "request_invalid"},
      {"/v1/refund", return_of("RET-1", "R-0", json::parse(R"([{"line": 0, "qty": -1}])")), 400, "request_invalid"},
      {"/v1/refund", return_of("RET-1", "R-0", json::parse(R"([{"line": 0, "qty": 1.5}])")), 400, "request_invalid"},
  };
  for (const Refusal& r : refusals) {
    CAPTURE(r.body.dump());
    const Reply reply = agent.post(r.target, r.body);
    CHECK(reply.status == r.status);
    CHECK(reply.body["error"]["code"] == r.code);
  }
  CHECK(journal_entries(agent) == 3);
}

TEST_CASE("a sale is returned by the terms it was made under, after a newer rulebook replaced its own") {
  Agent agent;
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  REQUIRE(agent.post("/v1/commit", example_sale()).status == 200);

  // Version 2 reverses VAT cumulatively on returns.
  std::ifstream in(agent.dir / "rulebook.json");
  json rulebook = json::parse(in);
  rulebook["version"] = 2;
  rulebook["refund"]["vat"] = "cumulative";
  loyalty::agent::testing::write(agent.dir / "rulebook.json", rulebook.dump());
  agent.child->send(SIGHUP);
  REQUIRE(agent.child->wait_for_text("\"event\":\"reloaded\"", in_seconds(10)));
  CHECK(call(agent.port, loyalty::http::verb::get, "/v1/status").body["rulebook"]["version"] == 2);

  const json two_milk = json::parse(R"([{"line": 0, "qty": 2}])");
  const Reply old_sale = agent.post("/v1/refund", return_of("RET-1", kExampleReceipt, two_milk));
  REQUIRE_MESSAGE(old_sale.status == 200, old_sale.body.dump());
  CHECK(old_sale.body["refund"]["vat"] == 1351);  // recomputed, as version 1 says

  json newer = example_sale();
  newer["basket"]["receipt_id"] = "0042-20261126-000124";
  REQUIRE(agent.post("/v1/commit", newer).status == 200);
  const Reply new_sale = agent.post("/v1/refund", return_of("RET-2", "0042-20261126-000124", two_milk));
  REQUIRE(new_sale.status == 200);
  CHECK(new_sale.body["refund"]["vat"] == new_sale.body["refund"]["lines"][0]["vat_cumulative"]);
  CHECK(new_sale.body["refund"]["vat"] != new_sale.body["refund"]["lines"][0]["vat_recomputed"]);
}
