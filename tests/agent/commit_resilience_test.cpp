// Commits under stress, against the real daemon: the same receipt sent at once on many
// connections, the agent killed with SIGKILL while commits are in flight, and the POS on the
// Unix socket. Every receipt must end journaled exactly once, whatever the POS saw.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "storage/journal.hpp"
#include "storage/journal_check.hpp"
#include "tests/agent/fixtures.hpp"
#include "tests/env.hpp"

namespace storage = loyalty::storage;
using loyalty::agent::testing::Agent;
using loyalty::agent::testing::basket;
using loyalty::agent::testing::call;
using loyalty::agent::testing::call_unix;
using loyalty::agent::testing::in_seconds;
using loyalty::agent::testing::kCard;
using loyalty::agent::testing::Reply;
using nlohmann::json;
namespace http = loyalty::http;

namespace {

json commit_request(const std::string& receipt) {
  return {{"basket", basket(receipt, 0)}, {"member_id", "7700123456"}};
}

// Verifies the stopped agent's journal: chain, signatures, and the number of entries.
std::int64_t verified_entries(Agent& agent) {
  auto db = storage::open_journal_database(agent.dir / "data" / "journal.db", storage::Creation::read_only);
  const auto report = storage::verify_journal(*db, std::nullopt, storage::SignatureCheck::every);
  CHECK_MESSAGE(report.ok(), "the journal does not verify");
  return report.entries;
}

}  // namespace

TEST_CASE("the same commit sent at once on eight connections is journaled once") {
  Agent agent;
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  const std::string body = json(commit_request("R-SAME")).dump();
  constexpr int kSenders = 8;
  std::vector<Reply> replies(kSenders);
  std::vector<std::string> failures(kSenders);
  std::latch go(kSenders);
  std::vector<std::thread> senders;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back([&, i] {
      go.arrive_and_wait();
      try {
        replies[static_cast<std::size_t>(i)] = call(agent.port, http::verb::post, "/v1/commit", body);
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(i)] = e.what();
      }
    });
  }
  for (auto& t : senders) t.join();

  int fresh = 0;
  for (int i = 0; i < kSenders; ++i) {
    const Reply& reply = replies[static_cast<std::size_t>(i)];
    INFO("sender " << i << ": " << failures[static_cast<std::size_t>(i)] << " " << reply.body.dump());
    REQUIRE(reply.status == 200);
    CHECK(reply.body["entry"] == json{{"terminal_id", "store-1-lane-2"}, {"seq", 1}});
    CHECK(reply.body["points"] == replies[0].body["points"]);
    if (reply.body["already_journaled"] == false) ++fresh;
  }
  CHECK(fresh == 1);
  CHECK(call(agent.port, http::verb::get, "/v1/status").body["last_seq"] == 1);
  REQUIRE(agent.child->signal_and_wait(SIGTERM, in_seconds(10)) == 0);
  CHECK(verified_entries(agent) == 1);
}

TEST_CASE("commits cut by SIGKILL of the agent are journaled whole or not at all; retries settle them") {
  const std::uint64_t seed = loyalty::testing::env_number("LOYALTY_SEED", std::random_device{}());
  std::printf("SIGKILL of the agent mid-commit: LOYALTY_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 random(seed);

  Agent agent;
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  std::set<std::string> sent;            // every receipt a POS started to send
  std::map<std::string, json> answered;  // receipt -> the entry the agent answered with
  constexpr int kRounds = 3;
  constexpr int kSenders = 4;
  for (int round = 0; round < kRounds; ++round) {
    std::mutex mutex;
    std::condition_variable progress;
    std::atomic<bool> agent_gone = false;
    const auto answers_before = answered.size();
    const auto kill_after = answers_before + std::uniform_int_distribution<std::size_t>(3, 30)(random);
    std::vector<std::thread> lanes;
    for (int t = 0; t < kSenders; ++t) {
      lanes.emplace_back([&, t] {
        for (int i = 0; !agent_gone; ++i) {
          const std::string receipt = "K" + std::to_string(round) + "-" + std::to_string(t) + "-" + std::to_string(i);
          {
            const std::lock_guard lock(mutex);
            sent.insert(receipt);
          }
          try {
            const Reply reply = call(agent.port, http::verb::post, "/v1/commit", commit_request(receipt).dump());
            if (reply.status != 200) break;
            const std::lock_guard lock(mutex);
            answered[receipt] = reply.body["entry"];
            progress.notify_all();
          } catch (const std::exception&) {
            break;  // the agent died under this request
          }
        }
      });
    }
    {
      std::unique_lock lock(mutex);
      REQUIRE(progress.wait_until(lock, in_seconds(20), [&] { return answered.size() >= kill_after; }));
    }
    agent.child->kill_and_reap();
    agent_gone = true;
    for (auto& lane : lanes) lane.join();
    INFO("round " << round << ": " << sent.size() << " receipts sent, " << answered.size() << " answered");
    REQUIRE_MESSAGE(agent.start(), agent.child->output());

    // Every receipt sent so far, answered or not, is settled by a retry: an answered one comes
    // back from the journal unchanged; an unanswered one is either there already or journaled
    // now, never twice.
    std::set<std::int64_t> seqs;
    for (const std::string& receipt : sent) {
      const Reply retry = call(agent.port, http::verb::post, "/v1/commit", commit_request(receipt).dump());
      INFO(receipt << ": " << retry.body.dump());
      REQUIRE(retry.status == 200);
      if (const auto it = answered.find(receipt); it != answered.end()) {
        CHECK(retry.body["already_journaled"] == true);
        CHECK(retry.body["entry"] == it->second);
      }
      answered[receipt] = retry.body["entry"];
      CHECK(seqs.insert(retry.body["entry"]["seq"].get<std::int64_t>()).second);
    }
    CHECK(call(agent.port, http::verb::get, "/v1/status").body["last_seq"] == static_cast<std::int64_t>(sent.size()));
  }
  REQUIRE(agent.child->signal_and_wait(SIGTERM, in_seconds(10)) == 0);
  CHECK(verified_entries(agent) == static_cast<std::int64_t>(sent.size()));
}

TEST_CASE("the POS API answers on the Unix socket as on loopback") {
  Agent agent(R"({"listen": "127.0.0.1:0", "unix_socket": "pos.sock"})");
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  const auto socket = agent.dir / "pos.sock";

  const Reply identified = call_unix(socket, http::verb::post, "/v1/identify", json{{"card", kCard}}.dump());
  REQUIRE(identified.status == 200);
  CHECK(identified.body["member"]["id"] == "M-1001");
  const Reply committed = call_unix(socket, http::verb::post, "/v1/commit",
                                    json{{"basket", basket("R-UNIX", 200)}, {"member_id", "M-1001"}}.dump());
  REQUIRE(committed.status == 200);
  CHECK(committed.body["points"]["redeemed"] == 200);
  // The same receipt over TCP is the same commit.
  const Reply again = call(agent.port, http::verb::post, "/v1/commit",
                           json{{"basket", basket("R-UNIX", 200)}, {"member_id", "M-1001"}}.dump());
  CHECK(again.body["already_journaled"] == true);
  CHECK(again.body["entry"] == committed.body["entry"]);
  CHECK(call_unix(socket, http::verb::get, "/v1/status").body["last_seq"] == 1);
  CHECK(call_unix(socket, http::verb::post, "/v1/commit", "{").body["error"]["code"] == "request_invalid");
}
