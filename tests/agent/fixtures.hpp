// Shared helpers of the agent tests: a terminal's files, the agent daemon as a child process
// on a free loopback port, and HTTP calls to it.

#ifndef LOYALTY_TESTS_AGENT_FIXTURES_HPP_
#define LOYALTY_TESTS_AGENT_FIXTURES_HPP_

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/asio.hpp"
#include "storage/member_cache.hpp"
#include "tests/child_process.hpp"
#include "tests/storage/fixtures.hpp"

namespace loyalty::agent::testing {

using nlohmann::json;

inline constexpr const char* kSecret = "a member secret of the retail chain";
// M-1001 (gold, 5,000 points) holds this card and the phone +7 916 123-45-67; 7700123456
// (standard, 1,000 points) is the member of the worked examples in docs/redemption.md.
inline constexpr const char* kCard = "4000000000000002";

inline std::chrono::steady_clock::time_point in_seconds(int seconds) {
  return std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
}

inline void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

struct Reply {
  int status = 0;
  json body;
};

// One request on a connected stream (TCP or Unix socket) and its answer.
template <class Stream>
Reply exchange(Stream& stream, http::verb verb, const std::string& target, const std::string& body,
               const std::string& token) {
  http::request<http::string_body> request{verb, target, 11};
  request.set(http::field::host, "127.0.0.1");
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
  request.body() = body;
  request.prepare_payload();
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  Reply reply{static_cast<int>(response.result_int()), json()};
  reply.body = json::parse(response.body(), nullptr, false);
  if (reply.body.is_discarded()) reply.body = response.body();
  return reply;
}

inline Reply call(std::uint16_t port, http::verb verb, const std::string& target, const std::string& body = "",
                  const std::string& token = "") {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(20));  // a hung agent fails the test instead of hanging it
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  return exchange(stream, verb, target, body, token);
}

inline Reply call_unix(const std::filesystem::path& socket, http::verb verb, const std::string& target,
                       const std::string& body = "") {
  asio::io_context io;
  beast::basic_stream<asio::local::stream_protocol> stream(io);
  stream.expires_after(std::chrono::seconds(20));
  stream.connect(asio::local::stream_protocol::endpoint(socket.string()));
  return exchange(stream, verb, target, body, "");
}

// A terminal's files (config, member secret, a copy of the example rulebook, a member cache)
// and the agent running on them.
struct Agent {
  storage::testing::TempDir dir;
  std::unique_ptr<loyalty::testing::Child> child;
  std::uint16_t port = 0;

  // `more` adds top-level keys to the config: `, "scanners": [...]`.
  explicit Agent(const std::string& pos_api = R"({"listen": "127.0.0.1:0"})", const std::string& more = "") {
    write(dir / "secret", kSecret);
    std::filesystem::copy_file(std::string(LOYALTY_SOURCE_DIR) + "/examples/rulebook-ru.json", dir / "rulebook.json");
    write(dir / "agent.json", R"({"terminal_id": "store-1-lane-2", "store_id": "store-1", "data_dir": "data",
      "rulebook_file": "rulebook.json", "member_secret_file": "secret", "pos_api": )" +
                                  pos_api + more + "}");
    std::filesystem::create_directories(dir / "data");
    const storage::IdentifierHasher hasher(kSecret);
    storage::MemberCache cache(dir / "data" / "members.db", hasher);
    // Filled in place: GCC 12 at -O3 warns of an uninitialized string in the braced array.
    std::vector<storage::MemberDelta> deltas(2);
    deltas[0].member = {"M-1001", 5000, "gold", domain::MemberStatus::active, 1};
    deltas[0].keys = {hasher.key(storage::IdentifierKind::card, kCard),
                      hasher.key(storage::IdentifierKind::phone, "+79161234567")};
    deltas[1].member = {"7700123456", 1000, "standard", domain::MemberStatus::active, 2};
    cache.apply(deltas, 2);
  }

  // Starts the agent, with `env` added to its environment; returns false (its log is in
  // child->output()) if it does not become ready within 10 s.
  bool start(const std::vector<std::string>& env = {}) {
    child = std::make_unique<loyalty::testing::Child>(
        std::vector<std::string>{LOYALTY_AGENT_BINARY, "run", "--config", (dir / "agent.json").string()}, STDERR_FILENO,
        env);
    if (!child->wait_for_text("\"event\":\"ready\"", in_seconds(10))) return false;
    const std::string& log = child->output();
    const auto at = log.find("\"port\":", log.find("\"event\":\"ready\""));
    port = static_cast<std::uint16_t>(std::stoi(log.substr(at + 7)));
    return true;
  }

  Reply post(const std::string& target, const json& body) { return call(port, http::verb::post, target, body.dump()); }
};

// A card sale of 3 milk and 2 coffee (RUB, 10 % and 22 % VAT) redeeming up to `redeem` points.
inline json basket(const std::string& receipt, std::int64_t redeem) {
  json b = json::parse(R"({"currency": "RUB", "at": "2026-11-26T18:30:00+03:00", "tender": "card", "lines": [
    {"sku": "4600000000011", "name": "Milk 1 l", "category": "dairy", "unit_price": 8990, "qty": 3, "vat_bp": 1000},
    {"sku": "4600000000028", "name": "Coffee 1 kg", "category": "grocery", "unit_price": 129900, "qty": 2, "vat_bp": 2200}]})");
  b["receipt_id"] = receipt;
  b["redeem_points"] = redeem;
  return b;
}

}  // namespace loyalty::agent::testing

#endif  // LOYALTY_TESTS_AGENT_FIXTURES_HPP_
