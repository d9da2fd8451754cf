// The agent on a data directory that takes no writes: a real tmpfs filled to the last page,
// then remounted read-only. The lane keeps identifying and quoting, commits are refused with
// nothing recorded, and the agent starts again writable once space returns.
#include <doctest/doctest.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "tests/agent/fixtures.hpp"
#include "tests/storage/small_disk.hpp"

using namespace loyalty::agent::testing;
using loyalty::storage::testing::SmallDisk;
namespace http = loyalty::http;

namespace {

json sale(const std::string& receipt) { return {{"basket", basket(receipt, 100)}, {"member_id", "M-1001"}}; }

// The code and message of an error answer; empty for any other answer.
std::pair<std::string, std::string> error_of(const Reply& reply) {
  if (!reply.body.is_object() || !reply.body.contains("error")) return {};
  return {reply.body["error"].value("code", ""), reply.body["error"].value("message", "")};
}

json status_of(Agent& agent) { return call(agent.port, http::verb::get, "/v1/status").body; }

// What the lane still gets from an agent on a full disk: members identified, baskets quoted.
void check_lane_served(Agent& agent) {
  Reply member = agent.post("/v1/identify", {{"card", kCard}});
  CHECK(member.status == 200);
  CHECK(member.body.value(json::json_pointer("/member/id"), "") == "M-1001");
  Reply quote = agent.post("/v1/quote", sale("R-new"));
  CHECK(quote.status == 200);
  CHECK(quote.body.is_object());
  if (quote.body.is_object()) CHECK(quote.body["points"]["redeemed"] == 100);
}

// What a read-only agent answers, with `last_seq` entries journaled and read-only for `why`.
void check_read_only(Agent& agent, std::int64_t last_seq, const std::string& why) {
  CHECK(agent.child->output().find("\"event\":\"read_only\"") != std::string::npos);
  json status = status_of(agent);
  CHECK(status["journal_read_only"] == why);
  CHECK(status["last_seq"] == last_seq);
  CHECK(status["offline_reason"].get<std::string>().find("read-only") != std::string::npos);
  check_lane_served(agent);

  Reply refused = agent.post("/v1/commit", sale("R-new"));
  CHECK(refused.status == 503);
  CHECK(error_of(refused).first == "journal_unavailable");
  CHECK(error_of(refused).second.find("read-only (" + why + "): nothing was recorded") != std::string::npos);
  Reply voided = agent.post("/v1/void", {{"receipt_id", "V-new"}, {"sale_receipt_id", "R-1"}});
  CHECK(voided.status == 503);
  CHECK(error_of(voided).first == "journal_unavailable");
  // A retry of a sale journaled before is answered from the journal.
  Reply again = agent.post("/v1/commit", sale("R-1"));
  CHECK(again.status == 200);
  CHECK(again.body.value("already_journaled", false));

  Reply health = call(agent.port, http::verb::get, "/v1/health");
  CHECK(health.status == 503);
  CHECK(health.body["checks"]["journal"]["ok"] == false);
  CHECK(health.body["checks"]["journal"]["error"] == "read-only: " + why);
  Reply metrics = call(agent.port, http::verb::get, "/metrics");
  CHECK(metrics.body.get<std::string>().find("\nloyalty_agent_journal_writable 0\n") != std::string::npos);
}

// Waits for a read-only agent to stop by itself once the disk takes writes again, with the exit
// status that has systemd start it again (75, EX_TEMPFAIL), and starts it again.
void restarted_for_space(Agent& agent) {
  const int status = agent.child->wait_exit(in_seconds(20));
  REQUIRE_MESSAGE(status != -1, agent.child->output());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 75);
  CHECK(agent.child->output().find("\"event\":\"space_returned\"") != std::string::npos);
  REQUIRE_MESSAGE(agent.start(), agent.child->output());
}

int stop(Agent& agent) {
  const int status = agent.child->signal_and_wait(SIGTERM, in_seconds(20));
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("on a disk that takes no writes the agent starts read-only, and writable again once it does") {
  Agent agent;
  // The data directory on a small disk of its own, with the member cache the fixture made.
  const auto data = agent.dir / "data";
  std::filesystem::rename(data / "members.db", agent.dir / "members.db");
  SmallDisk disk(data, 4);
  std::filesystem::copy_file(agent.dir / "members.db", data / "members.db");

  REQUIRE_MESSAGE(agent.start(), agent.child->output());
  REQUIRE(agent.post("/v1/commit", sale("R-1")).status == 200);

  SUBCASE("killed, then the disk fills: the lane is served, and commits come back with space") {
    agent.child->kill_and_reap();
    disk.fill();
    REQUIRE_MESSAGE(agent.start(), agent.child->output());
    // Whether the journal opens for writing depends on what the kill interrupted: SQLite's
    // shared-memory index survives at its full size, and reopening reuses its pages, but
    // signing a sale the kill left unsigned needs new space. Both starts serve the lane.
    const bool read_only = !status_of(agent)["journal_read_only"].is_null();
    check_lane_served(agent);
    Reply refused = agent.post("/v1/commit", sale("R-2"));
    CHECK(refused.status == 503);
    CHECK(error_of(refused).first == "journal_unavailable");
    CHECK(error_of(refused).second.find("disk is full") != std::string::npos);
    disk.make_room();
    if (read_only) restarted_for_space(agent);
    Reply second = agent.post("/v1/commit", sale("R-2"));
    CHECK(second.status == 200);
    CHECK(second.body["entry"]["seq"] == 2);
    CHECK(stop(agent) == 0);
  }

  SUBCASE("stopped, then the disk fills: read-only, then restarted writable by the agent itself") {
    CHECK(stop(agent) == 0);
    disk.fill();
    REQUIRE_MESSAGE(agent.start(), agent.child->output());
    check_read_only(agent, 1, "the disk is full");
    disk.make_room();
    restarted_for_space(agent);
    CHECK(status_of(agent)["journal_read_only"].is_null());
    Reply second = agent.post("/v1/commit", sale("R-2"));
    CHECK(second.status == 200);
    CHECK(second.body["entry"]["seq"] == 2);
    CHECK(stop(agent) == 0);
  }

  SUBCASE("killed, its shared-memory index lost, and the disk full: the log's entries are read") {
    agent.child->kill_and_reap();
    REQUIRE(std::filesystem::file_size(data / "journal.db-wal") > 0);  // the sale is only in the log
    std::filesystem::remove(data / "journal.db-shm");
    disk.fill();
    REQUIRE_MESSAGE(agent.start(), agent.child->output());
    check_read_only(agent, 1, "the disk is full");
    CHECK(stop(agent) == 0);
  }

  SUBCASE("a filesystem remounted read-only after errors") {
    CHECK(stop(agent) == 0);
    REQUIRE(::mount(nullptr, data.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0);
    REQUIRE_MESSAGE(agent.start(), agent.child->output());
    check_read_only(agent, 1, "the filesystem is mounted read-only");
    CHECK(stop(agent) == 0);
  }
}
