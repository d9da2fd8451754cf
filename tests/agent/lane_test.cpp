// The lane through the real daemon: codes scanned at a TCP scanner become lane events the POS
// long-polls, scanned codes identify members through the API, and health reports the lane.
#include <doctest/doctest.h>

#include <csignal>
#include <future>

#include "drivers/member_token.hpp"
#include "storage/crypto.hpp"
#include "tests/agent/fixtures.hpp"
#include "tests/wait.hpp"

using loyalty::agent::testing::Agent;
using loyalty::agent::testing::call;
using loyalty::agent::testing::in_seconds;
using loyalty::agent::testing::kCard;
using loyalty::agent::testing::Reply;
using nlohmann::json;
namespace asio = loyalty::asio;

namespace {

constexpr std::int64_t kFarFuture = 4'102'444'800;  // 2100-01-01

// An agent with a TCP scanner "lane-scanner" and an app-token issuer "app-1".
struct LaneAgent {
  loyalty::storage::PrivateKey issuer = loyalty::storage::PrivateKey::generate();
  Agent agent{R"({"listen": "127.0.0.1:0"})",
              R"(, "codes": {"token_issuers": [{"id": "app-1", "public_key_file": "issuer.pem"}]},
                 "scanners": [{"name": "lane-scanner", "type": "tcp", "listen": "127.0.0.1:0"}])"};
  std::uint16_t scanner_port = 0;

  LaneAgent() {
    loyalty::agent::testing::write(agent.dir / "issuer.pem", issuer.public_key().pem());
    REQUIRE_MESSAGE(agent.start(), agent.child->output());
    const std::string& log = agent.child->output();
    const auto at = log.find("\"lane-scanner\":");
    REQUIRE(at != std::string::npos);
    scanner_port = static_cast<std::uint16_t>(std::stoi(log.substr(at + 15)));
  }

  void scan(const std::string& code) const {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), scanner_port});
    asio::write(socket, asio::buffer(code + "\r\n"));
  }

  Reply events(std::int64_t after, int wait_ms) const {
    return call(agent.port, loyalty::http::verb::get,
                "/v1/events?after=" + std::to_string(after) + "&wait_ms=" + std::to_string(wait_ms));
  }
};

}  // namespace

TEST_CASE("a scan at the lane's scanner wakes the POS's long-poll with the member presented") {
  LaneAgent lane;
  // The poll waits up to a minute; the call's own 20 s deadline fails the test if no scan wakes it.
  auto poll = std::async(std::launch::async, [&] { return lane.events(0, 60000); });
  lane.scan("]C0" + std::string(kCard));
  const Reply woken = poll.get();
  REQUIRE(woken.status == 200);
  REQUIRE(woken.body["events"].size() == 1);
  const json& event = woken.body["events"][0];
  CHECK(event["seq"] == 1);
  CHECK(event["type"] == "member_presented");
  CHECK(event["scanner"] == "lane-scanner");
  CHECK(event["identified_by"] == "card");
  CHECK(event["member"]["id"] == "M-1001");
  CHECK(event["member"]["balance"] == 5000);
  CHECK(woken.body["last"] == 1);
  CHECK(woken.body["missed"] == false);
  // The card number is in no event and in no log line.
  CHECK(woken.body.dump().find(kCard) == std::string::npos);

  lane.scan("4600000000015");  // milk, scanned at the wrong moment
  lane.scan(loyalty::drivers::issue_member_token({"M-1001", kFarFuture, "app-1"}, lane.issuer));
  lane.scan(loyalty::drivers::issue_member_token({"M-1001", 1'000'000'000, "app-1"}, lane.issuer));
  Reply more;
  // Each poll returns as soon as there is news; the three scans may arrive as one or several.
  REQUIRE(loyalty::testing::ask_until(
      [&] {
        more = lane.events(1, 10000);
        return more.body["last"] == 4;
      },
      in_seconds(20)));
  REQUIRE(more.body["events"].size() == 3);
  CHECK(more.body["events"][0]["type"] == "scan_refused");
  CHECK(more.body["events"][0]["code"] == "code_not_loyalty");
  CHECK(more.body["events"][1]["type"] == "member_presented");
  CHECK(more.body["events"][1]["identified_by"] == "app");
  CHECK(more.body["events"][2]["code"] == "code_refused");
  CHECK(more.body["events"][2]["message"] == "the app's code has expired: ask the customer to refresh it");

  const Reply none = lane.events(4, 0);
  CHECK(none.body["events"].empty());
  CHECK(lane.events(0, 0).body["events"].size() == 4);
  CHECK(call(lane.agent.port, loyalty::http::verb::get, "/v1/events?after=-1").body["error"]["code"] ==
        "request_invalid");
  CHECK(call(lane.agent.port, loyalty::http::verb::get, "/v1/events?wait_ms=600000").status == 400);

  CHECK(lane.agent.child->signal_and_wait(SIGTERM, in_seconds(10)) == 0);
  CHECK(lane.agent.child->output().find(kCard) == std::string::npos);
}

TEST_CASE("identify takes a code as a scanner read it") {
  LaneAgent lane;
  auto post = [&](const json& body) { return lane.agent.post("/v1/identify", body); };
  CHECK(post({{"code", ";" + std::string(kCard) + "=4912101?"}}).body["member"]["id"] == "M-1001");
  CHECK(post({{"code", loyalty::drivers::issue_member_token({"M-1001", kFarFuture, "app-1"}, lane.issuer)}})
            .body["identified_by"] == "app");
  const std::pair<std::string, std::string> refusals[] = {
      {"4600000000015", "code_not_loyalty"},
      {"4600000000016", "code_damaged"},
      {";4000000000000002=2001101?", "code_refused"},
      {"hello", "code_unknown"},
  };
  for (const auto& [code, expected] : refusals) {
    CAPTURE(code);
    const Reply reply = post({{"code", code}});
    CHECK(reply.status == 422);
    CHECK(reply.body["error"]["code"] == expected);
  }
  CHECK(post({{"code", "4000000000000051"}}).body["error"]["code"] == "member_unknown");
  const loyalty::storage::PrivateKey forger = loyalty::storage::PrivateKey::generate();
  CHECK(post({{"code", loyalty::drivers::issue_member_token({"M-1001", kFarFuture, "app-1"}, forger)}})
            .body["error"]["message"] == "the member token's signature is not valid");
}

TEST_CASE("health is 200 with every check, and SIGTERM ends a waiting long-poll at once") {
  LaneAgent lane;
  lane.scan("hello");
  lane.events(0, 10000);
  const Reply health = call(lane.agent.port, loyalty::http::verb::get, "/v1/health");
  CHECK(health.status == 200);
  CHECK(health.body["status"] == "ok");
  CHECK(health.body["checks"]["rulebook"]["version"] == 1);
  CHECK(health.body["checks"]["disk"]["ok"] == true);
  CHECK(health.body["checks"]["scanners"][0]["name"] == "lane-scanner");
  CHECK(health.body["checks"]["scanners"][0]["codes"] == 1);

  auto poll = std::async(std::launch::async, [&] { return lane.events(1, 60000); });
  REQUIRE(lane.agent.child->wait_for_text("\"event\":\"scan_refused\"", in_seconds(10)));
  // Wait until the poll is waiting inside the agent, then stop it.
  REQUIRE(loyalty::testing::ask_until(
      [&] {
        const Reply metrics = call(lane.agent.port, loyalty::http::verb::get, "/metrics");
        return metrics.body.get<std::string>().find("loyalty_agent_event_polls_waiting 1\n") != std::string::npos;
      },
      in_seconds(10)));
  const int status = lane.agent.child->signal_and_wait(SIGTERM, in_seconds(10));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const Reply ended = poll.get();
  CHECK(ended.status == 200);
  CHECK(ended.body["events"].empty());
}

TEST_CASE("SIGTERM answers every request a POS had sent, on connections read or not, accepted or not") {
  LaneAgent lane;
  // Twenty connections each send a whole request; the agent is stopped before it can have read
  // them all. A stop that closed the unread ones, or the listener with connections in its
  // backlog, would answer them with a reset.
  constexpr int kConnections = 20;
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> sockets;
  for (int i = 0; i < kConnections; ++i) {
    sockets.emplace_back(io).connect({asio::ip::make_address("127.0.0.1"), lane.agent.port});
    asio::write(sockets.back(), asio::buffer(std::string("GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")));
  }
  lane.agent.child->send(SIGTERM);
  int answered = 0;
  for (asio::ip::tcp::socket& socket : sockets) {
    loyalty::beast::flat_buffer buffer;
    loyalty::http::response<loyalty::http::string_body> response;
    boost::system::error_code error;
    loyalty::http::read(socket, buffer, response, error);
    INFO("connection ", answered, ": ", error.message());
    REQUIRE(!error);
    CHECK(response.result_int() == 200);
    ++answered;
  }
  CHECK(answered == kConnections);
  const int status = lane.agent.child->wait_exit(in_seconds(10));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
