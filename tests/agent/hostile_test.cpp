// The POS API against bodies a broken or hostile client sends: each is a 4xx that names what is
// wrong, and none journals anything.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/json_reader.hpp"
#include "storage/journal.hpp"
#include "storage/terminal_key.hpp"
#include "sync/datetime.hpp"
#include "tests/agent/fixtures.hpp"

using loyalty::agent::testing::Agent;
using loyalty::agent::testing::basket;
using loyalty::agent::testing::call;
using loyalty::agent::testing::in_seconds;
using loyalty::agent::testing::Reply;
using nlohmann::json;
namespace asio = loyalty::asio;
namespace beast = loyalty::beast;
namespace http = loyalty::http;
namespace storage = loyalty::storage;

namespace {

// The journal's entries, read after the agent has stopped.
std::vector<storage::JournalEntry> journal_of(Agent& agent) {
  CHECK(agent.child->signal_and_wait(SIGTERM, in_seconds(10)) == 0);
  const storage::PrivateKey key = storage::load_terminal_key(agent.dir / "data" / "terminal.key");
  storage::Journal journal(agent.dir / "data" / "journal.db", "store-1-lane-2", key);
  return journal.read(1, 1000, 1000);
}

// `text` with its first `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  return text.replace(at, from.size(), to);
}

struct Hostile {
  const char* what;
  const char* target;
  std::string body;
  const char* message;  // a fragment of the error message
};

}  // namespace

TEST_CASE("hostile bodies on every POST endpoint are 400 with the path, and journal nothing") {
  Agent agent;
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  const std::string sale = json{{"basket", basket("R-1", 0)}, {"member_id", "M-1001"}}.dump();
  const std::string void_request = R"({"receipt_id": "V-1", "sale_receipt_id": "R-0", "reason": "x"})";
  const std::string refund = R"({"receipt_id": "RET-1", "sale_receipt_id": "R-0", "lines": [{"line": 0, "qty": 1}]})";
  const std::vector<Hostile> cases = {
      {"a number beyond a double", "/v1/identify", R"({"card": 1e400})", "request.card: is a number too large"},
      {"a number beyond a double", "/v1/quote", replaced(sale, R"("qty":3)", R"("qty":1e400)"),
       "request.basket.lines[0].qty: is a number too large"},
      {"a number beyond a double", "/v1/commit", replaced(sale, R"("redeem_points":0)", R"("redeem_points":-1e400)"),
       "request.basket.redeem_points: is a number too large"},
      {"a number beyond a double", "/v1/void", replaced(void_request, R"("x")", "1e309"),
       "request.reason: is a number"},
      {"a number beyond a double", "/v1/refund", replaced(refund, R"("qty": 1)", R"("qty": 1E+999)"),
       "request.lines[0].qty: is a number too large"},
      {"invalid UTF-8", "/v1/identify", "{\"card\": \"\xff\"}", "malformed JSON"},
      {"invalid UTF-8", "/v1/commit", replaced(sale, "Milk 1 l", "Milk \xc0\xaf"), "malformed JSON"},
      {"invalid UTF-8", "/v1/void", replaced(void_request, R"("x")", "\"\xed\xa0\x80\""), "malformed JSON"},
      {"invalid UTF-8 in a key", "/v1/refund", replaced(refund, "\"lines\"", "\"l\xfe\""), "malformed JSON"},
      {"a key twice", "/v1/commit",
       replaced(sale, R"("receipt_id":"R-1")", R"("receipt_id":"DUP-A","receipt_id":"DUP-B")"),
       "request.basket.receipt_id: is given twice"},
      {"a key twice", "/v1/commit", replaced(sale, R"("qty":3)", R"("qty":3,"qty":1)"),
       "request.basket.lines[0].qty: is given twice"},
      {"a key twice", "/v1/identify", R"({"card": "4000000000000002", "card": "4000000000000010"})",
       "request.card: is given twice"},
      {"a key twice", "/v1/refund", replaced(refund, R"("line": 0)", R"("line": 0, "line": 1)"),
       "request.lines[0].line: is given twice"},
      {"NUL in a sku", "/v1/commit", replaced(sale, R"("sku":"4600000000011")", R"("sku":"46000\u000000011")"),
       "basket.lines[0].sku: must not contain control characters, got \\x00 at byte 5"},
      {"a line break in a name", "/v1/commit", replaced(sale, "Milk 1 l", R"(Milk\n1 l)"),
       "basket.lines[0].name: must not contain control characters"},
      {"an escape in a category", "/v1/quote", replaced(sale, R"("dairy")", R"("dairy\u001b[2J")"),
       "basket.lines[0].category: must not contain control characters"},
      {"a control character in a reason", "/v1/void", replaced(void_request, R"("x")", R"("x\u0007")"),
       "void.reason: must not contain control characters"},
  };
  for (const Hostile& c : cases) {
    INFO(c.what, " on ", c.target, ": ", loyalty::runtime::printable(c.body));
    const Reply reply = call(agent.port, http::verb::post, c.target, c.body);
    CHECK(reply.status == 400);
    CHECK(reply.body["error"]["code"] == "request_invalid");
    const std::string message = reply.body["error"]["message"].is_string() ? reply.body["error"]["message"] : "";
    CHECK_MESSAGE(message.find(c.message) != std::string::npos, message);
  }
  // The agent is still whole: the honest sale goes through, and is the only entry.
  const Reply good = call(agent.port, http::verb::post, "/v1/commit", sale);
  REQUIRE_MESSAGE(good.status == 200, good.body.dump());
  const auto entries = journal_of(agent);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].draft.receipt_id == "R-1");
  CHECK(agent.child->output().find("\"level\":\"error\"") == std::string::npos);
}

TEST_CASE("a sale without a member journals 0 points and answers what a member would have earned") {
  Agent agent;
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  const Reply quote = agent.post("/v1/quote", {{"basket", basket("R-1", 0)}});
  REQUIRE_MESSAGE(quote.status == 200, quote.body.dump());
  CHECK(quote.body["points"]["earned"] == 0);
  const std::int64_t would_earn = quote.body["points"]["would_earn"];
  CHECK(would_earn > 0);
  for (const json& line : quote.body["lines"]) CHECK(line["points_earned"] == 0);

  const Reply sale = agent.post("/v1/commit", {{"basket", basket("R-1", 0)}});
  REQUIRE_MESSAGE(sale.status == 200, sale.body.dump());
  CHECK(sale.body["points"]["earned"] == 0);
  CHECK(sale.body["points"]["would_earn"] == would_earn);
  const Reply member_sale = agent.post("/v1/commit", {{"basket", basket("R-2", 0)}, {"member_id", "M-1001"}});
  REQUIRE(member_sale.status == 200);
  CHECK_FALSE(member_sale.body["points"].contains("would_earn"));

  const auto entries = journal_of(agent);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].draft.member_id.empty());
  CHECK(entries[0].draft.points_earned == 0);
  CHECK(entries[1].draft.points_earned > 0);
}

TEST_CASE("a basket time far from the terminal's clock is replaced by it, and the answer says so") {
  using loyalty::sync::format_rfc3339_utc;
  const std::int64_t now_s = std::time(nullptr);
  const auto local = [](std::int64_t at_s) {
    std::string text = format_rfc3339_utc(at_s);
    return text.substr(0, text.size() - 1);  // the rulebook's local time; its zone is hours, the windows days
  };
  Agent agent;
  // A x2 campaign that ran from 5 to 3 days ago, and one that runs now.
  std::ifstream in(agent.dir / "rulebook.json");
  json rulebook = json::parse(in);
  rulebook["campaigns"] = json::array({{{"id", "past-x2"},
                                        {"kind", "multiplier"},
                                        {"multiplier_bp", 20000},
                                        {"starts", local(now_s - 5 * 86400)},
                                        {"ends", local(now_s - 3 * 86400)}},
                                       {{"id", "now-x3"},
                                        {"kind", "multiplier"},
                                        {"multiplier_bp", 30000},
                                        {"starts", local(now_s - 86400)},
                                        {"ends", local(now_s + 86400)}}});
  loyalty::agent::testing::write(agent.dir / "rulebook.json", rulebook.dump());
  REQUIRE_MESSAGE(agent.start(), agent.child->output());

  const auto sale_at = [&](const std::string& receipt, std::int64_t at_s) {
    json b = basket(receipt, 0);
    b["at"] = format_rfc3339_utc(at_s);
    return agent.post("/v1/commit", {{"basket", b}, {"member_id", "7700123456"}});
  };
  // Four days ago by the POS's clock: the past campaign must not apply, the current one does.
  const Reply skewed = sale_at("R-1", now_s - 4 * 86400);
  REQUIRE_MESSAGE(skewed.status == 200, skewed.body.dump());
  const json& time = skewed.body["quote"]["time"];
  CHECK(time["source"] == "terminal");
  CHECK(time["basket_at"] == format_rfc3339_utc(now_s - 4 * 86400));
  CHECK(time["difference_s"].get<std::int64_t>() <= -4 * 86400 + 60);
  REQUIRE(skewed.body["quote"]["campaigns"].size() == 1);
  CHECK(skewed.body["quote"]["campaigns"][0]["id"] == "now-x3");

  // A POS a minute off is believed.
  const Reply close = sale_at("R-2", now_s - 60);
  REQUIRE(close.status == 200);
  CHECK(close.body["quote"]["time"] == json{{"source", "basket"}});
  CHECK(close.body["quote"]["at"] == format_rfc3339_utc(now_s - 60));
  // Far in the future, and in the year 0208, the terminal's clock is used too.
  for (const std::string& at : {std::string("9999-12-31T23:59:59Z"), std::string("0208-01-01T00:00:00Z")}) {
    json b = basket("R-3", 0);
    b["at"] = at;
    const Reply quote = agent.post("/v1/quote", {{"basket", b}});
    REQUIRE_MESSAGE(quote.status == 200, quote.body.dump());
    CHECK(quote.body["time"]["source"] == "terminal");
    CHECK(quote.body["time"]["basket_at"] == at);
  }

  const auto entries = journal_of(agent);
  REQUIRE(entries.size() == 2);
  CHECK(std::abs(entries[0].draft.recorded_at_ms / 1000 - now_s) < 60);  // the time priced at
  CHECK(entries[1].draft.recorded_at_ms / 1000 == now_s - 60);
}

namespace {

struct RawReply {
  int status = 0;
  http::response<http::string_body> response;
};

// Sends `text` as it is (a request line, headers and body) and reads one answer.
RawReply raw(std::uint16_t port, const std::string& text) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(20));
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(stream, asio::buffer(text));
  beast::flat_buffer buffer;
  RawReply reply;
  http::read(stream, buffer, reply.response);
  reply.status = static_cast<int>(reply.response.result_int());
  return reply;
}

std::string get_with_host(const std::string& host) { return "GET /v1/health HTTP/1.1\r\nHost: " + host + "\r\n\r\n"; }

std::string error_code_of(const RawReply& reply) {
  const json body = json::parse(reply.response.body(), nullptr, false);
  return body.is_object() && body.contains("error") ? body["error"].value("code", "") : "";
}

}  // namespace

TEST_CASE("only loopback host names reach the POS API over TCP, so a rebound web page cannot") {
  Agent agent(R"({"listen": "127.0.0.1:0", "allowed_hosts": ["pos-7.store.example"]})");
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  for (const char* host :
       {"localhost", "localhost:8470", "LocalHost.", "127.0.0.1", "127.0.0.1:8470", "127.1.2.3", "[::1]", "[::1]:8470",
        "pos.localhost:80", "pos-7.store.example", "POS-7.store.example:8470"}) {
    INFO("Host: ", host);
    CHECK(raw(agent.port, get_with_host(host)).status == 200);
  }
  for (const char* host : {"attacker.example", "attacker.example:8470", "localhost.attacker.example",
                           "127.0.0.1.nip.io", "[::2]", "localhost:http", "128.0.0.1", "evil-localhost"}) {
    INFO("Host: ", host);
    const RawReply refused = raw(agent.port, get_with_host(host));
    CHECK(refused.status == 403);
    CHECK(error_code_of(refused) == "host_not_allowed");
  }
  const RawReply without = raw(agent.port, "GET /v1/health HTTP/1.1\r\n\r\n");
  CHECK(without.status == 400);
  CHECK(error_code_of(without) == "host_required");
  const RawReply old = raw(agent.port, "GET /v1/health HTTP/1.0\r\n\r\n");
  CHECK(old.status == 400);  // over TCP even HTTP/1.0 must say which host it wants
  // A refused commit journals nothing.
  const std::string body = json{{"basket", basket("R-1", 0)}}.dump();
  const RawReply commit =
      raw(agent.port,
          "POST /v1/commit HTTP/1.1\r\nHost: attacker.example:8470\r\nContent-Type: application/json\r\n"
          "Content-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body);
  CHECK(commit.status == 403);
  CHECK(journal_of(agent).empty());
}

TEST_CASE("the API speaks HTTP as clients expect: Allow, WWW-Authenticate, 431, media types, Keep-Alive") {
  Agent agent(R"({"listen": "127.0.0.1:0", "token_file": "token"})");
  loyalty::agent::testing::write(agent.dir / "token", "s3cret-token-of-this-lane\n");
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  const std::string auth = "Authorization: Bearer s3cret-token-of-this-lane\r\n";

  const RawReply no_token = raw(agent.port, get_with_host("127.0.0.1"));
  CHECK(no_token.status == 401);
  CHECK(no_token.response[http::field::www_authenticate] == "Bearer realm=\"loyalty-agent\"");
  for (const std::string& header : {std::string("Authorization: bearer s3cret-token-of-this-lane\r\n"),
                                    std::string("Authorization: BEARER  s3cret-token-of-this-lane \r\n")}) {
    INFO(header);
    CHECK(raw(agent.port, "GET /v1/health HTTP/1.1\r\nHost: localhost\r\n" + header + "\r\n").status == 200);
  }
  CHECK(raw(agent.port,
            "GET /v1/health HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic s3cret-token-of-this-lane\r\n\r\n")
            .status == 401);

  const RawReply get_commit = raw(agent.port, "GET /v1/commit HTTP/1.1\r\nHost: localhost\r\n" + auth + "\r\n");
  CHECK(get_commit.status == 405);
  CHECK(get_commit.response[http::field::allow] == "POST");
  const RawReply post_health =
      raw(agent.port, "POST /v1/health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n" + auth + "\r\n");
  CHECK(post_health.status == 405);
  CHECK(post_health.response[http::field::allow] == "GET");

  const RawReply huge =
      raw(agent.port, "GET /v1/health HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + std::string(9000, 'a') + "\r\n" +
                          auth + "\r\n");
  CHECK(huge.status == 431);
  CHECK(error_code_of(huge) == "headers_too_large");

  json b = basket("R-1", 0);
  b["at"] = "2026-11-26t18:30:00z";  // RFC 3339 allows lower case
  const std::string body = json{{"basket", b}}.dump();
  const auto post_as = [&](const std::string& type) {
    return raw(agent.port, "POST /v1/quote HTTP/1.1\r\nHost: localhost\r\n" + auth + "Content-Type: " + type +
                               "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  };
  for (const char* type :
       {"application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-8"}) {
    INFO(type);
    const RawReply ok = post_as(type);
    CHECK_MESSAGE(ok.status == 200, ok.response.body());
    CHECK(ok.response[http::field::keep_alive] == "timeout=5");
  }
  for (const char* type : {"application/jsonx", "text/plain", "application/json-seq", "application"}) {
    INFO(type);
    const RawReply refused = post_as(type);
    CHECK(refused.status == 415);
    CHECK(error_code_of(refused) == "json_required");
  }
}

TEST_CASE("short of file descriptors the agent neither spins nor floods its log, and serves again after") {
  Agent agent(R"({"listen": "127.0.0.1:0", "request_timeout_ms": 1000})");
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  const rlimit low{64, 64};
  REQUIRE(::prlimit(agent.child->pid(), RLIMIT_NOFILE, &low, nullptr) == 0);
  const auto cpu_ticks = [&] {
    std::ifstream stat("/proc/" + std::to_string(agent.child->pid()) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    std::int64_t ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i)
      if (i >= 14) ticks += std::stoll(field);  // utime and stime
    return ticks;
  };
  const std::int64_t cpu_before = cpu_ticks();

  asio::io_context io;
  std::vector<std::unique_ptr<beast::tcp_stream>> streams;
  for (int i = 0; i < 120; ++i) {
    auto stream = std::make_unique<beast::tcp_stream>(io);
    stream->expires_after(std::chrono::seconds(30));
    stream->connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), agent.port));
    streams.push_back(std::move(stream));
  }
  // The connections say nothing: the agent holds those it accepted until their read deadline
  // (1 s) and closes them. Until then descriptors are short, and the rest wait in the backlog.
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  boost::system::error_code error;
  bool closed = false;
  http::async_read(*streams.front(), buffer, response, [&](boost::system::error_code e, std::size_t) {
    error = e;
    closed = true;
  });
  io.run_for(std::chrono::seconds(20));
  REQUIRE_MESSAGE(closed, "the agent did not close an idle connection within 20 s");
  REQUIRE_MESSAGE(error == http::error::end_of_stream, error.message());  // closed by the agent, not timed out
  const std::int64_t cpu_used = cpu_ticks() - cpu_before;
  CHECK_MESSAGE(cpu_used < sysconf(_SC_CLK_TCK) / 2, "the agent used ", cpu_used, " ticks");
  const std::string& log = agent.child->output();
  std::size_t failures = 0;
  for (auto at = log.find("\"accept_failed\""); at != std::string::npos; at = log.find("\"accept_failed\"", at + 1))
    ++failures;
  CHECK(failures <= 3);
  streams.clear();
  CHECK(raw(agent.port, get_with_host("localhost")).status == 200);
}
