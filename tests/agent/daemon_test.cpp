// The agent daemon as a real process on loopback: the cashier's flow over HTTP, idempotent
// commits, refusals that journal nothing, loopback-only listening, the data-directory lock and
// a graceful SIGTERM, and the systemd notifications.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "runtime/asio.hpp"
#include "storage/files.hpp"
#include "storage/journal.hpp"
#include "storage/journal_check.hpp"
#include "storage/member_cache.hpp"
#include "tests/agent/fixtures.hpp"
#include "tests/notify_socket.hpp"

using loyalty::testing::Child;
namespace storage = loyalty::storage;
using nlohmann::json;

using loyalty::agent::testing::Agent;
using loyalty::agent::testing::basket;
using loyalty::agent::testing::call;
using loyalty::agent::testing::in_seconds;
using loyalty::agent::testing::kCard;
using loyalty::agent::testing::Reply;
using loyalty::agent::testing::write;

TEST_CASE("a cashier's flow over the POS API: identify, quote, commit, and a retried commit") {
  Agent agent;
  REQUIRE_MESSAGE(agent.start(), agent.child->output());

  auto status = call(agent.port, loyalty::http::verb::get, "/v1/status");
  CHECK(status.status == 200);
  CHECK(status.body["terminal_id"] == "store-1-lane-2");
  CHECK(status.body["rulebook"]["version"] == 1);

  auto identified = agent.post("/v1/identify", {{"card", "4000 0000 0000 0002"}});
  REQUIRE(identified.status == 200);
  CHECK(identified.body["member"]["id"] == "M-1001");
  CHECK(identified.body["member"]["balance"] == 5000);
  CHECK(agent.post("/v1/identify", {{"phone", "8 (916) 123-45-67"}}).body["member"]["id"] == "M-1001");
  CHECK(agent.post("/v1/identify", {{"card", "4000000000000003"}}).body["error"]["code"] == "card_invalid");
  CHECK(agent.post("/v1/identify", {{"card", "4000000000000051"}}).status == 404);

  // The example rulebook allows 500 points per receipt offline.
  auto quoted = agent.post("/v1/quote", {{"basket", basket("R-1", 800)}, {"member_id", "M-1001"}});
  REQUIRE(quoted.status == 200);
  CHECK(quoted.body["points"]["requested"] == 800);
  CHECK(quoted.body["points"]["redeemed"] == 500);
  CHECK(quoted.body["offline"]["binding"] == "offline_per_receipt");
  CHECK(quoted.body["offline"]["message"] == "offline: at most 500 points can be redeemed");

  const json request = {{"basket", basket("R-1", 300)}, {"member_id", "M-1001"}};
  auto committed = agent.post("/v1/commit", request);
  REQUIRE(committed.status == 200);
  CHECK(committed.body["entry"]["seq"] == 1);
  CHECK(committed.body["already_journaled"] == false);
  CHECK(committed.body["points"]["redeemed"] == 300);
  CHECK(committed.body["points"]["balance_after"] ==
        5000 - 300 + committed.body["points"]["earned"].get<std::int64_t>());
  CHECK(committed.body["quote"]["lines"][1]["vat"].get<std::int64_t>() > 0);
  CHECK(committed.body["slip"].get<std::string>().find("Points redeemed: 300") != std::string::npos);

  auto retried = agent.post("/v1/commit", request);
  CHECK(retried.status == 200);
  CHECK(retried.body["entry"]["seq"] == 1);
  CHECK(retried.body["already_journaled"] == true);
  CHECK(retried.body["points"] == committed.body["points"]);
  auto conflict = agent.post("/v1/commit", {{"basket", basket("R-1", 0)}, {"member_id", "M-1001"}});
  CHECK(conflict.status == 409);
  CHECK(conflict.body["error"]["code"] == "receipt_conflict");

  // Offline, what this member redeemed since the last acknowledgement counts against the
  // per-member limit (1,000 points in the example rulebook).
  const auto committed2 = agent.post("/v1/commit", {{"basket", basket("R-2", 500)}, {"member_id", "M-1001"}});
  REQUIRE(committed2.status == 200);
  CHECK(committed2.body["points"]["redeemed"] == 500);
  quoted = agent.post("/v1/quote", {{"basket", basket("R-3", 800)}, {"member_id", "M-1001"}});
  CHECK(quoted.body["points"]["redeemed"] == 200);
  CHECK(quoted.body["offline"]["binding"] == "offline_per_member");

  // The local balance now counts the unsynced sales.
  const std::int64_t unsynced = committed.body["points"]["earned"].get<std::int64_t>() - 300 +
                                committed2.body["points"]["earned"].get<std::int64_t>() - 500;
  const auto view = agent.post("/v1/identify", {{"card", kCard}}).body["member"];
  CHECK(view["unsynced_points"] == unsynced);
  CHECK(view["balance"] == 5000 + unsynced);

  const int exit_status = agent.child->signal_and_wait(SIGTERM, in_seconds(10));
  CHECK(WIFEXITED(exit_status));
  CHECK(WEXITSTATUS(exit_status) == 0);
  CHECK(agent.child->output().find("\"event\":\"stopped\"") != std::string::npos);
  auto db = storage::open_journal_database(agent.dir / "data" / "journal.db", storage::Creation::read_only);
  const auto report = storage::verify_journal(*db, std::nullopt, storage::SignatureCheck::every);
  CHECK(report.ok());
  CHECK(report.entries == 2);
  CHECK(report.unsigned_entries == 0);  // signed right after the answer
}

TEST_CASE("every class of bad request gets a JSON 4xx and journals nothing") {
  Agent agent(R"({"listen": "127.0.0.1:0", "max_request_bytes": 4096})");
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  using loyalty::http::verb;
  struct Case {
    verb method;
    std::string target;
    std::string body;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {verb::post, "/v1/commit", "{\"basket\": ", 400, "request_invalid"},
      {verb::post, "/v1/commit", "[1, 2]", 400, "request_invalid"},
      {verb::post, "/v1/commit", json({{"basket", basket("R-2", 0)}, {"tip", 1}}).dump(), 400, "request_invalid"},
      {verb::post, "/v1/commit", json({{"basket", basket("R-2", -5)}}).dump(), 400, "request_invalid"},
      {verb::post, "/v1/commit", json({{"basket", basket("R 2", 0)}}).dump(), 422, "entry_invalid"},
      {verb::post, "/v1/commit", json({{"basket", basket("R-2", 0)}, {"member_id", "M-404"}}).dump(), 404,
       "member_unknown"},
      {verb::post, "/v1/commit", std::string(5000, ' '), 413, "request_too_large"},
      {verb::get, "/v1/commit", "", 405, "method_not_allowed"},
      {verb::get, "/v1/nothing", "", 404, "not_found"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body.substr(0, 120));
    const Reply reply = call(agent.port, c.method, c.target, c.body);
    CHECK(reply.status == c.status);
    CHECK(reply.body["error"]["code"] == c.code);
    CHECK_FALSE(reply.body["error"]["message"].get<std::string>().empty());
  }
  CHECK(agent.child->signal_and_wait(SIGTERM, in_seconds(10)) == 0);
  auto db = storage::open_journal_database(agent.dir / "data" / "journal.db", storage::Creation::read_only);
  CHECK(db->query_integer("SELECT count(*) FROM journal") == 0);
}

TEST_CASE("metrics export every route's latency and the process from the start, and count what happened") {
  Agent agent;
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  auto metrics = [&] { return call(agent.port, loyalty::http::verb::get, "/metrics").body.get<std::string>(); };
  const std::string fresh = metrics();
  for (const char* route : {"identify", "quote", "commit", "void", "refund", "events", "status", "health", "other"}) {
    CAPTURE(route);
    CHECK(fresh.find("loyalty_agent_http_request_duration_seconds_count{route=\"" + std::string(route) + "\"} 0\n") !=
          std::string::npos);
  }
  CHECK(fresh.find("# TYPE loyalty_agent_http_request_duration_seconds histogram\n") != std::string::npos);
  CHECK(fresh.find("loyalty_agent_build_info{version=\"" LOYALTY_VERSION "\"} 1\n") != std::string::npos);
  const auto resident = fresh.find("\nloyalty_agent_resident_memory_bytes ");
  REQUIRE(resident != std::string::npos);
  CHECK(std::stoll(fresh.substr(resident + 37)) > 1024 * 1024);

  REQUIRE(agent.post("/v1/quote", {{"basket", basket("Q-1", 0)}}).status == 200);
  const std::string after = metrics();
  CHECK(after.find("loyalty_agent_http_request_duration_seconds_count{route=\"quote\"} 1\n") != std::string::npos);
  CHECK(after.find("loyalty_agent_http_request_duration_seconds_bucket{route=\"quote\",le=\"+Inf\"} 1\n") !=
        std::string::npos);
  CHECK(after.find("loyalty_agent_http_request_duration_seconds_count{route=\"metrics\"} 1\n") != std::string::npos);
}

TEST_CASE("a bearer token, when configured, is required") {
  Agent agent(R"({"listen": "127.0.0.1:0", "token_file": "token"})");
  write(agent.dir / "token", "s3cret-token\n");
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  const auto refused = call(agent.port, loyalty::http::verb::get, "/v1/status");
  CHECK(refused.status == 401);
  CHECK(refused.body["error"]["code"] == "unauthorized");
  CHECK(call(agent.port, loyalty::http::verb::get, "/v1/status", "", "wrong").status == 401);
  CHECK(call(agent.port, loyalty::http::verb::get, "/v1/status", "", "s3cret-token").status == 200);
}

TEST_CASE("the agent refuses to listen beyond loopback and to share a data directory") {
  Agent wide(R"({"listen": "0.0.0.0:0"})");
  CHECK_FALSE(wide.start());
  CHECK(wide.child->wait_exit(in_seconds(10)) != -1);
  CHECK(wide.child->output().find("config.pos_api.listen: must be a loopback address") != std::string::npos);

  Agent first;
  REQUIRE_MESSAGE(first.start(), first.child->output());
  Child second({LOYALTY_AGENT_BINARY, "run", "--config", (first.dir / "agent.json").string()}, STDERR_FILENO);
  const int status = second.wait_exit(in_seconds(10));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(second.output().find("is in use by another agent") != std::string::npos);
}

// `run` on a configuration that is wrong: exit status 78 (the unit does not restart it) and the
// message; `check-config` says the same before any start.
void check_refused_config(Agent& agent, const std::string& problem) {
  CHECK_FALSE(agent.start());
  const int status = agent.child->wait_exit(in_seconds(10));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 78);
  CHECK(agent.child->output().find("\"event\":\"config_invalid\"") != std::string::npos);
  CHECK(agent.child->output().find(problem) != std::string::npos);
  Child check({LOYALTY_AGENT_BINARY, "check-config", "--config", (agent.dir / "agent.json").string()}, STDERR_FILENO);
  const int checked = check.wait_exit(in_seconds(10));
  CHECK(WIFEXITED(checked));
  CHECK(WEXITSTATUS(checked) == 78);
  CHECK(check.output().find("loyalty-agent: " + (agent.dir / "agent.json").string() + ": ") == 0);
  CHECK(check.output().find(problem) != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(agent.dir / "data" / "journal.db"));  // nothing was opened
}

TEST_CASE("a configuration that is wrong stops the agent with exit status 78, as check-config says first") {
  SUBCASE("a misspelt key") {
    Agent agent(R"({"listen": "127.0.0.1:0", "request_timout_ms": 5000})");
    check_refused_config(agent, "request_timout_ms");
  }
  SUBCASE("a store id that a certificate and the finance CSV could not carry as it is") {
    Agent agent;
    std::string config = loyalty::storage::read_file(agent.dir / "agent.json");
    config.replace(config.find("\"store-1\""), 9, "\"Store 12, Moscow\"");
    write(agent.dir / "agent.json", config);
    check_refused_config(agent, "config.store_id: store id must be 1 to 64 printable ASCII characters");
  }
  SUBCASE("a member secret that is not there") {
    Agent agent;
    std::filesystem::remove(agent.dir / "secret");
    check_refused_config(agent, "secret: No such file or directory");
  }
  SUBCASE("a POS token file that is empty") {
    Agent agent(R"({"listen": "127.0.0.1:0", "token_file": "token"})");
    write(agent.dir / "token", "\n");
    check_refused_config(agent, "the POS API token file is empty");
  }
  SUBCASE("a valid configuration passes, and names the rulebook file it would install") {
    Agent agent;
    Child check({LOYALTY_AGENT_BINARY, "check-config", "--config", (agent.dir / "agent.json").string()}, STDOUT_FILENO);
    const int checked = check.wait_exit(in_seconds(10));
    CHECK(WEXITSTATUS(checked) == 0);
    CHECK(check.output().find("rulebook " + (agent.dir / "rulebook.json").string() + ": ") != std::string::npos);
    CHECK(check.output().find("is valid (terminal store-1-lane-2 of store store-1)") != std::string::npos);
  }
}

TEST_CASE("when stderr is the journal, every line of the agent's log starts with its syslog priority") {
  // The agent's stderr is the test's pipe; JOURNAL_STREAM names it, as systemd names its socket.
  auto run = [](Agent& agent) {
    return std::make_unique<Child>(
        std::vector<std::string>{LOYALTY_AGENT_BINARY, "run", "--config", (agent.dir / "agent.json").string()},
        STDERR_FILENO, std::vector<std::string>{"JOURNAL_STREAM=" + std::string(Child::kCapturePipe)});
  };
  Agent agent;
  auto child = run(agent);
  REQUIRE_MESSAGE(child->wait_for_text("<6>{\"time\":", in_seconds(10)), child->output());
  REQUIRE_MESSAGE(child->wait_for_text("\"event\":\"ready\"", in_seconds(10)), child->output());
  CHECK(child->signal_and_wait(SIGTERM, in_seconds(10)) == 0);
  std::istringstream lines(child->output());
  std::string line;
  while (std::getline(lines, line)) CHECK_MESSAGE(line.rfind("<6>{", 0) == 0, line);

  Agent wrong(R"({"listen": "127.0.0.1:0", "request_timout_ms": 5000})");
  child = run(wrong);
  CHECK(child->wait_exit(in_seconds(10)) != -1);
  CHECK(child->output().rfind("<3>{", 0) == 0);
  CHECK(child->output().find("\"event\":\"config_invalid\"") != std::string::npos);
}

TEST_CASE("under systemd the agent reports ready, keeps the watchdog fed, reloads and stops") {
  Agent agent;
  loyalty::testing::NotifySocket systemd(agent.dir / "notify");
  // A 400 ms watchdog: the agent must send WATCHDOG=1 every 200 ms.
  REQUIRE_MESSAGE(agent.start({systemd.env(), "WATCHDOG_USEC=400000"}), agent.child->output());
  CHECK(systemd.wait_for("READY=1", in_seconds(10)));
  for (int i = 0; i < 3; ++i) CHECK(systemd.wait_for("WATCHDOG=1", in_seconds(10)));
  agent.child->send(SIGHUP);
  CHECK(systemd.wait_for("RELOADING=1", in_seconds(10)));
  CHECK(systemd.wait_for("READY=1", in_seconds(10)));
  CHECK(call(agent.port, loyalty::http::verb::get, "/v1/status").status == 200);
  const int exit_status = agent.child->signal_and_wait(SIGTERM, in_seconds(10));
  CHECK(systemd.wait_for("STOPPING=1", in_seconds(10)));
  CHECK(WIFEXITED(exit_status));
  CHECK(WEXITSTATUS(exit_status) == 0);
}
