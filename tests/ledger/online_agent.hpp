// An agent linked to a running ledger over real TLS and online: the ledger (a child process)
// has three members and the example rulebook signed by the central key; the agent (a child
// process) is enrolled with a certificate from the chain's CA and has finished its first round
// with the ledger (uploads, rulebook and member downloads) when the constructor returns.
//
//   M-1001      gold, 5,000 points, card agent::testing::kCard
//   7700123456  standard, 1,000 points
//   M-3         standard, 10 points, card 4000000000000010

#ifndef LOYALTY_TESTS_LEDGER_ONLINE_AGENT_HPP_
#define LOYALTY_TESTS_LEDGER_ONLINE_AGENT_HPP_

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agent/cli.hpp"
#include "ledger/members.hpp"
#include "sync/signed_rulebook.hpp"
#include "tests/agent/fixtures.hpp"
#include "tests/ledger/link_fixtures.hpp"

namespace loyalty::ledger::testing {

struct OnlineAgent {
  OnlineAgent() : chain(f.dir.path(), "chain") {
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
    f.ledger.import_members(members, kNow);
    const storage::PrivateKey central = storage::PrivateKey::generate();
    storage::write_file_atomically(f.dir / "central.pub", central.public_key().pem(), 0644);
    const std::string envelope =
        sync::sign_rulebook(storage::read_file(std::filesystem::path(LOYALTY_SOURCE_DIR) / "examples/rulebook-ru.json"),
                            central, "central", now_s() + 86400);
    f.store.publish_rulebook({1, envelope, "", "central", 0, 0});
    ledger = std::make_unique<LedgerProcess>(f.dir.path(), chain, f.dir / "ledger.db");

    // The terminal: its config names the ledger; the rulebook file next to it is unsigned.
    agent = std::make_unique<agent::testing::Agent>(
        R"({"listen": "127.0.0.1:0"})",
        R"(, "rulebook_keys": [{"id": "central", "public_key_file": ")" + (f.dir / "central.pub").string() +
            R"("}], "ledger": {"address": "127.0.0.1:)" + std::to_string(ledger->port()) + R"(", "ca_file": ")" +
            (chain.pki / "ca.crt").string() +
            R"(", "certificate_file": "lane.crt", "backoff_min_ms": 20, "backoff_max_ms": 200, "idle_poll_ms": 20},
                  "log_level": "debug")");
    std::ostringstream out, err;
    const std::string config = (agent->dir / "agent.json").string(), csr = (agent->dir / "lane.csr").string();
    const std::vector<std::string_view> enroll{"enroll", "--config", config, "--out", csr};
    REQUIRE_MESSAGE(agent::run_cli(enroll, out, err) == 0, err.str());
    issued = CertificateAuthority(chain.pki).issue_terminal(storage::read_file(csr), Validity::days_from(now_s(), 1));
    storage::write_file_atomically(agent->dir / "lane.crt", issued.pem, 0644);
    f.ledger.enroll(issued.info.common_name, issued.info.organizational_unit, *issued.info.ed25519_key, 0);

    REQUIRE_MESSAGE(agent->start(), agent->child->output());
    // Online is declared after a whole round: uploads, rulebook and member downloads.
    REQUIRE(agent->child->wait_for_text("\"event\":\"ledger_online\"", within(std::chrono::seconds(10))));
  }

  LedgerFixture f;
  Chain chain;
  std::unique_ptr<LedgerProcess> ledger;
  std::unique_ptr<agent::testing::Agent> agent;
  IssuedCertificate issued;
};

}  // namespace loyalty::ledger::testing

#endif  // LOYALTY_TESTS_LEDGER_ONLINE_AGENT_HPP_
