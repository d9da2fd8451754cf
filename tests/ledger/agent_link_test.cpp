#include <doctest/doctest.h>

#include <sstream>

#include "agent/cli.hpp"
#include "ledger/members.hpp"
#include "sync/signed_rulebook.hpp"
#include "tests/agent/fixtures.hpp"
#include "tests/ledger/link_fixtures.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using agent::testing::Agent;
using agent::testing::call;
using ledger::testing::Chain;
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
  LedgerFixture f;
  Chain chain(f.dir.path(), "chain");
  const storage::IdentifierHasher hasher(agent::testing::kSecret);
  std::vector<MemberRecord> members(3);
  members[0] = {"M-1001",
                "gold",
                domain::MemberStatus::active,
                5000,
                {hasher.key(storage::IdentifierKind::card, agent::testing::kCard)}};
  members[1] = {"7700123456", "standard", domain::MemberStatus::active, 1000, {}};
  members[2] = {"M-3",
                "standard",
                domain::MemberStatus::active,
                10,
                {hasher.key(storage::IdentifierKind::card, "4000000000000010")}};
  f.ledger.import_members(members, ledger::testing::kNow);
  const storage::PrivateKey central = storage::PrivateKey::generate();
  storage::write_file_atomically(f.dir / "central.pub", central.public_key().pem(), 0644);
  const std::string envelope =
      sync::sign_rulebook(storage::read_file(std::filesystem::path(LOYALTY_SOURCE_DIR) / "examples/rulebook-ru.json"),
                          central, "central", now_s() + 86400);
  f.store.publish_rulebook({1, envelope, "", "central", 0, 0});
  LedgerProcess ledger(f.dir.path(), chain, f.dir / "ledger.db");

  // The terminal: its config names the ledger; the rulebook file next to it is unsigned.
  Agent agent(
      R"({"listen": "127.0.0.1:0"})",
      R"(, "rulebook_keys": [{"id": "central", "public_key_file": ")" + (f.dir / "central.pub").string() +
          R"("}], "ledger": {"address": "127.0.0.1:)" + std::to_string(ledger.port()) + R"(", "ca_file": ")" +
          (chain.pki / "ca.crt").string() +
          R"(", "certificate_file": "lane.crt", "backoff_min_ms": 20, "backoff_max_ms": 200, "idle_poll_ms": 20},
                  "log_level": "debug")");
  std::ostringstream out, err;
  const std::string config = (agent.dir / "agent.json").string(), csr = (agent.dir / "lane.csr").string();
  const std::vector<std::string_view> enroll{"enroll", "--config", config, "--out", csr};
  REQUIRE_MESSAGE(agent::run_cli(enroll, out, err) == 0, err.str());
  const IssuedCertificate issued =
      CertificateAuthority(chain.pki).issue_terminal(storage::read_file(csr), Validity::days_from(now_s(), 1));
  storage::write_file_atomically(agent.dir / "lane.crt", issued.pem, 0644);
  CHECK(issued.info.common_name == "store-1-lane-2");
  f.ledger.enroll(issued.info.common_name, issued.info.organizational_unit, *issued.info.ed25519_key, 0);

  REQUIRE(agent.start());
  CHECK(agent.child->wait_for_text("not in a signed envelope", within(std::chrono::seconds(5))));
  REQUIRE(agent.child->wait_for_text("rulebook installed from the ledger", within(std::chrono::seconds(10))));
  // Online is declared after a whole round: uploads, rulebook and member downloads.
  REQUIRE(agent.child->wait_for_text("\"event\":\"ledger_online\"", within(std::chrono::seconds(10))));
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
