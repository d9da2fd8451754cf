// The POS API's answers against its description: real answers of every endpoint, success and
// every class of refusal, offline and online, recorded from running agents and checked against
// docs/pos-api.yaml by tests/agent/pos_api_check.py (JSON Schema, with Debian's
// python3-jsonschema). A field added to an answer, or one that goes missing, fails here until
// the description says so too.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "tests/agent/fixtures.hpp"
#include "tests/ledger/online_agent.hpp"

using namespace loyalty;
using agent::testing::Agent;
using agent::testing::basket;
using agent::testing::in_seconds;
using nlohmann::json;

namespace {

struct Answer {
  std::string method, path;
  int status = 0;
  std::string content_type, body;
};

// Calls the agents and keeps every answer, for the check against the description.
class Recorder {
 public:
  // One request on its own connection; `headers` replace the usual ones (Host 127.0.0.1, the
  // bearer token, JSON).
  Answer call(std::uint16_t port, http::verb verb, const std::string& target, const std::string& body = "",
              const std::vector<std::pair<http::field, std::string>>& headers = {}) {
    return calls(port, 1, verb, target, body, headers).back();
  }
  // `count` times the same request on one keep-alive connection.
  std::vector<Answer> calls(std::uint16_t port, int count, http::verb verb, const std::string& target,
                            const std::string& body = "",
                            const std::vector<std::pair<http::field, std::string>>& headers = {}) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(20));
    stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, "127.0.0.1");
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) request.set(http::field::content_type, "application/json");
    for (const auto& [field, value] : headers) request.set(field, value);
    request.body() = body;
    request.prepare_payload();
    std::vector<Answer> sent;
    beast::flat_buffer buffer;
    for (int i = 0; i < count; ++i) {
      http::write(stream, request);
      http::response<http::string_body> response;
      http::read(stream, buffer, response);
      sent.push_back({std::string(request.method_string()), target, static_cast<int>(response.result_int()),
                      std::string(response[http::field::content_type]), response.body()});
    }
    answers.insert(answers.end(), sent.begin(), sent.end());
    return sent;
  }
  Answer post(std::uint16_t port, const std::string& target, const json& body) {
    return call(port, http::verb::post, target, body.dump());
  }

  std::string token;
  std::vector<Answer> answers;
};

int status_of(const Answer& answer) { return answer.status; }

std::string code_of(const Answer& answer) {
  const json body = json::parse(answer.body, nullptr, false);
  return body.is_object() && body.contains("error") ? body["error"].value("code", "") : "";
}

json sale(const std::string& receipt, std::int64_t redeem, const std::string& member = "M-1001") {
  json request = {{"basket", basket(receipt, redeem)}};
  if (!member.empty()) request["member_id"] = member;
  return request;
}

// The answers of an offline agent with a POS token: every endpoint and refusal class.
void record_offline(Recorder& r) {
  Agent agent(R"({"listen": "127.0.0.1:0", "token_file": "token"})");
  agent::testing::write(agent.dir / "token", "a-pos-token\n");
  r.token = "a-pos-token";
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  const std::uint16_t port = agent.port;

  CHECK(status_of(r.post(port, "/v1/identify", {{"card", agent::testing::kCard}})) == 200);
  CHECK(status_of(r.post(port, "/v1/identify", {{"phone", "+7 916 000-00-00"}})) == 404);
  CHECK(status_of(r.post(port, "/v1/identify", json::object())) == 400);
  CHECK(code_of(r.post(port, "/v1/identify", {{"card", "4000000000000003"}})) == "card_invalid");

  CHECK(status_of(r.post(port, "/v1/quote", sale("Q-1", 300))) == 200);
  CHECK(status_of(r.post(port, "/v1/quote", sale("Q-2", 0, ""))) == 200);  // no member: would_earn
  CHECK(status_of(r.post(port, "/v1/quote", sale("Q-3", 0, "M-none"))) == 404);
  json other_currency = sale("Q-4", 0);
  other_currency["basket"]["currency"] = "EUR";
  CHECK(status_of(r.post(port, "/v1/quote", other_currency)) == 400);
  CHECK(code_of(r.call(port, http::verb::post, "/v1/quote", R"({"basket": )")) == "request_invalid");

  CHECK(status_of(r.post(port, "/v1/commit", sale("R-1", 300))) == 200);
  CHECK(status_of(r.post(port, "/v1/commit", sale("R-1", 300))) == 200);  // answered from the journal
  CHECK(status_of(r.post(port, "/v1/commit", sale("R-1", 100))) == 409);
  CHECK(status_of(r.post(port, "/v1/commit", sale("R-2", 0, ""))) == 200);
  CHECK(status_of(r.post(port, "/v1/commit", sale("R-3", 200))) == 200);

  CHECK(status_of(r.post(port, "/v1/void", {{"receipt_id", "V-1"}, {"sale_receipt_id", "R-1"}})) == 200);
  CHECK(status_of(r.post(port, "/v1/void", {{"receipt_id", "V-2"}, {"sale_receipt_id", "R-1"}})) == 409);
  CHECK(status_of(r.post(port, "/v1/void", {{"receipt_id", "V-3"}, {"sale_receipt_id", "R-none"}})) == 404);
  const json lines = json::parse(R"([{"line": 0, "qty": 1}])");
  CHECK(status_of(r.post(port, "/v1/refund", {{"receipt_id", "F-1"}, {"sale_receipt_id", "R-3"}, {"lines", lines}})) ==
        200);
  const json too_many = json::parse(R"([{"line": 0, "qty": 9}])");
  CHECK(status_of(r.post(port, "/v1/refund",
                         {{"receipt_id", "F-2"}, {"sale_receipt_id", "R-3"}, {"lines", too_many}})) == 422);
  CHECK(status_of(r.post(port, "/v1/refund", {{"receipt_id", "F-3"}, {"sale_receipt_id", "R-2"}, {"lines", lines}})) ==
        422);  // sale_without_member

  CHECK(status_of(r.call(port, http::verb::get, "/v1/events?after=0&wait_ms=0")) == 200);
  CHECK(status_of(r.call(port, http::verb::get, "/v1/events?after=x")) == 400);
  CHECK(status_of(r.call(port, http::verb::get, "/v1/status")) == 200);
  const int health = status_of(r.call(port, http::verb::get, "/v1/health"));  // 503 with less than 64 MiB free
  CHECK((health == 200 || health == 503));
  CHECK(status_of(r.call(port, http::verb::get, "/metrics")) == 200);

  // What the server refuses before a handler sees the request.
  CHECK(status_of(r.call(port, http::verb::get, "/v1/commit")) == 405);
  CHECK(status_of(r.call(port, http::verb::get, "/v1/nothing")) == 404);
  CHECK(status_of(r.call(port, http::verb::post, "/v1/quote", "basket", {{http::field::content_type, "text/plain"}})) ==
        415);
  CHECK(status_of(r.call(port, http::verb::post, "/v1/quote", std::string(70 * 1024, ' '))) == 413);
  CHECK(status_of(r.call(port, http::verb::get, "/v1/status", "", {{http::field::authorization, "Bearer wrong"}})) ==
        401);
  CHECK(status_of(r.call(port, http::verb::get, "/v1/status", "", {{http::field::host, "pos.example"}})) == 403);
  CHECK(status_of(r.call(port, http::verb::get, "/v1/status", "", {{http::field::host, ""}})) == 400);
  CHECK(status_of(r.call(port, http::verb::get, "/v1/status", "", {{http::field::cookie, std::string(20000, 'c')}})) ==
        431);
}

// An agent that has no rulebook yet, and one with a rate limit of one request a second.
void record_refusing(Recorder& r) {
  r.token.clear();
  Agent bare;
  std::filesystem::remove(bare.dir / "rulebook.json");
  REQUIRE_MESSAGE(bare.start(), bare.child->output());
  CHECK(code_of(r.post(bare.port, "/v1/quote", sale("Q-1", 0))) == "no_rulebook");
  CHECK(status_of(r.call(bare.port, http::verb::get, "/v1/health")) == 503);
  CHECK(status_of(r.call(bare.port, http::verb::get, "/v1/status")) == 200);

  Agent limited(R"({"listen": "127.0.0.1:0", "requests_per_second": 1})");
  REQUIRE_MESSAGE(limited.start(), limited.child->output());
  // The bucket holds one request a second per connection: of five at once, some are refused
  // (all five answered only if every gap between them took a second).
  const std::vector<Answer> burst = r.calls(limited.port, 5, http::verb::get, "/v1/status");
  CHECK(std::any_of(burst.begin(), burst.end(), [](const Answer& a) { return a.status == 429; }));
}

// The answers of an agent online with the ledger: quotes and commits that the ledger authorizes.
void record_online(Recorder& r) {
  r.token.clear();
  ledger::testing::OnlineAgent online;
  const std::uint16_t port = online.agent->port;
  CHECK(status_of(r.call(port, http::verb::get, "/v1/status")) == 200);
  CHECK(status_of(r.post(port, "/v1/quote", sale("Q-1", 700))) == 200);
  CHECK(status_of(r.post(port, "/v1/commit", sale("R-1", 700))) == 200);
  CHECK(status_of(r.post(port, "/v1/commit", sale("R-2", 0))) == 200);  // nothing to authorize
  CHECK(status_of(r.post(port, "/v1/commit", sale("R-3", 100, "7700123456"))) == 200);
}

}  // namespace

TEST_CASE("every answer of the POS API, success and each refusal, matches docs/pos-api.yaml") {
  Recorder r;
  record_offline(r);
  record_refusing(r);
  record_online(r);
  REQUIRE(r.answers.size() > 40);

  storage::testing::TempDir dir;
  const auto file = dir / "answers.jsonl";
  {
    std::ofstream out(file);
    for (const Answer& a : r.answers) {
      out << json{{"method", a.method},
                  {"path", a.path},
                  {"status", a.status},
                  {"content_type", a.content_type},
                  {"body", a.body}}
                 .dump()
          << "\n";
    }
  }
  loyalty::testing::Child check({"/usr/bin/python3", LOYALTY_SOURCE_DIR "/tests/agent/pos_api_check.py",
                                 LOYALTY_SOURCE_DIR "/docs/pos-api.yaml", file.string()},
                                STDOUT_FILENO, {}, /*host_tool=*/true);
  const int status = check.wait_exit(in_seconds(60));
  CHECK_MESSAGE(WIFEXITED(status), check.output());
  CHECK_MESSAGE(WEXITSTATUS(status) == 0, check.output());
  CHECK(check.output().find(std::to_string(r.answers.size()) + " answers checked, 0 problems") != std::string::npos);
}
