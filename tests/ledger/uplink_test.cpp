#include <doctest/doctest.h>

#include <csignal>
#include <sstream>

#include "ledger/members.hpp"
#include "sync/signed_rulebook.hpp"
#include "sync/uplink.hpp"
#include "tests/ledger/link_fixtures.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using namespace std::chrono_literals;
using ledger::testing::Chain;
using ledger::testing::Lane;
using ledger::testing::LedgerFixture;
using ledger::testing::LedgerProcess;
using ledger::testing::now_s;

namespace {

const storage::IdentifierHasher& kHasher = ledger::testing::chain_hasher();

// The terminal side: lane T1's journal with a member cache and rulebook store, and its uplink
// to the ledger child process.
struct UplinkFixture : LedgerFixture {
  UplinkFixture() : chain(dir.path(), "chain"), t1(lane("T1")), files(chain.terminal(t1, "S1")) {}
  ~UplinkFixture() {
    if (uplink) {
      uplink->stop();
      CHECK_MESSAGE(ledger::testing::run_until(io, [&] { return !uplink->running(); }), "the uplink did not stop");
    }
  }

  sync::Uplink& start(std::uint16_t port, std::chrono::milliseconds pull_every = 60s) {
    sync::UplinkSettings settings = ledger::testing::quick_uplink(port, files, {{"central", central.public_key()}}, 7);
    settings.pull_every = pull_every;
    uplink = std::make_unique<sync::Uplink>(
        io, settings, t1.journal, members, rulebooks,
        [this](domain::Rulebook rules) { installed.push_back(rules.version); }, log, [] { return now_s() * 1000; });
    uplink->start();
    return *uplink;
  }

  template <class Done>
  bool run_until(Done done) {
    return ledger::testing::run_until(io, done);
  }

  // The example rulebook at `version`, signed by `key` to expire at `expires_s`.
  std::string rulebook(std::int64_t version, const storage::PrivateKey& key, const std::string& key_id,
                       std::int64_t expires_s) {
    auto document = nlohmann::json::parse(
        storage::read_file(std::filesystem::path(LOYALTY_SOURCE_DIR) / "examples/rulebook-ru.json"));
    document["version"] = version;
    return sync::sign_rulebook(document.dump(), key, key_id, expires_s);
  }
  void publish(std::int64_t version, const std::string& envelope) {
    store.publish_rulebook({version, envelope, "", "central", 0, 0});
  }

  Chain chain;
  Lane& t1;
  sync::TlsFiles files;
  storage::PrivateKey central = storage::PrivateKey::generate();
  storage::MemberCache members{dir / "members.db", kHasher};
  storage::RulebookStore rulebooks{t1.journal.database()};
  std::ostringstream log_text;
  runtime::Log log{log_text, runtime::LogLevel::debug};
  asio::io_context io;
  std::unique_ptr<sync::Uplink> uplink;
  std::vector<std::int64_t> installed;
};

}  // namespace

TEST_CASE(
    "the uplink drains a backlog in batches, acknowledging only what the ledger acknowledged, and pulls members") {
  UplinkFixture f;
  std::vector<MemberRecord> records(2);
  records[0] = {
      "M1", "gold", domain::MemberStatus::active, 700, {kHasher.key(storage::IdentifierKind::card, "7013001")}};
  records[1] = {"M2", "standard", domain::MemberStatus::blocked, 0, {}};
  f.ledger.import_members(records, 0);
  for (int i = 0; i < 1200; ++i) f.t1.sale("M1", 3, 0);
  LedgerProcess ledger(f.dir.path(), f.chain, f.dir / "ledger.db");

  sync::Uplink& uplink = f.start(ledger.port());
  REQUIRE(f.run_until([&] { return f.t1.journal.pending_count() == 0 && f.members.size() == 2; }));
  CHECK(uplink.status().online);
  CHECK(uplink.status().batches == 3);  // 500 + 500 + 200
  CHECK(uplink.status().entries_uploaded == 1200);
  CHECK(f.store.entry_count() == 1200);
  CHECK(f.store.terminal("T1")->head_seq == 1200);
  const auto cached = f.members.find(kHasher.key(storage::IdentifierKind::card, "7013001"));
  REQUIRE(cached);
  CHECK(cached->member_id == "M1");
  CHECK(cached->tier == "gold");
  CHECK(f.members.find_member("M2")->status == domain::MemberStatus::blocked);

  // New entries are uploaded when the agent wakes the link, and unsigned ones wait.
  f.t1.sale("M1", 1, 0);
  f.t1.journal.append(storage::testing::sale("late", "M1", 1, 0), ledger::testing::kNow);  // not signed yet
  uplink.wake();
  REQUIRE(f.run_until([&] { return f.store.entry_count() == 1201; }));
  // A round that finishes after this point had the unsigned entry in view and left it.
  const std::int64_t rounds = uplink.status().rounds;
  REQUIRE(f.run_until([&] { return uplink.status().rounds > rounds; }));
  CHECK(f.t1.journal.pending_count() == 1);
  CHECK(f.store.entry_count() == 1201);
  f.t1.journal.sign_pending();
  uplink.wake();
  CHECK(f.run_until([&] { return f.t1.journal.pending_count() == 0; }));
}

TEST_CASE("while the ledger is down the link is offline with the reason, backs off, and resumes when it returns") {
  UplinkFixture f;
  LedgerProcess ledger(f.dir.path(), f.chain, f.dir / "ledger.db");
  ledger.kill();
  for (int i = 0; i < 10; ++i) f.t1.sale("M1", 5, 0);

  sync::Uplink& uplink = f.start(ledger.port());
  REQUIRE(f.run_until([&] { return uplink.status().consecutive_failures >= 3; }));
  CHECK(!uplink.status().online);
  CHECK(uplink.status().offline_reason.find("cannot connect to the ledger at 127.0.0.1") != std::string::npos);
  CHECK(uplink.status().retry_in_ms <= 200);  // never beyond backoff_max
  CHECK(f.t1.journal.pending_count() == 10);  // nothing acknowledged without the ledger
  CHECK(f.log_text.str().find("\"event\":\"ledger_offline\"") != std::string::npos);

  ledger.start();  // the same port
  REQUIRE(f.run_until([&] { return f.t1.journal.pending_count() == 0 && uplink.status().online; }));
  CHECK(uplink.status().online);
  CHECK(uplink.status().consecutive_failures == 0);
  CHECK(f.store.entry_count() == 10);
}

TEST_CASE(
    "the uplink refuses a tampered, expired, foreign or older rulebook with the reason, and installs a newer signed "
    "one") {
  UplinkFixture f;
  const std::string v2 = f.rulebook(2, f.central, "central", now_s() + 86400);
  const auto active =
      sync::verify_rulebook(v2, std::vector<sync::RulebookKey>{{"central", f.central.public_key()}}, now_s());
  f.rulebooks.install({2, v2, active.signature, "central", 0});
  LedgerProcess ledger(f.dir.path(), f.chain, f.dir / "ledger.db");
  sync::Uplink& uplink = f.start(ledger.port(), 20ms);
  const auto refusal_becomes = [&](const std::string& text) {
    return f.run_until([&] { return uplink.status().rulebook_refusal.find(text) != std::string::npos; });
  };

  f.publish(1, f.rulebook(1, f.central, "central", now_s() + 86400));
  CHECK(refusal_becomes("offered rulebook version 1, not newer than the active version 2"));

  auto tampered = nlohmann::json::parse(f.rulebook(3, f.central, "central", now_s() + 86400));
  tampered["document"] = tampered["document"].get<std::string>().replace(
      tampered["document"].get<std::string>().find("\"cap_bp\":3000"), 13, "\"cap_bp\":9000");
  f.publish(3, tampered.dump());
  CHECK(refusal_becomes("signature does not verify"));

  f.publish(4, f.rulebook(4, f.central, "central", now_s() - 60));
  CHECK(refusal_becomes("the rulebook expired"));

  f.publish(5, f.rulebook(5, storage::PrivateKey::generate(), "stranger", now_s() + 86400));
  CHECK(refusal_becomes("signed with key \"stranger\""));

  CHECK(f.installed.empty());
  CHECK(f.rulebooks.active()->version == 2);

  f.publish(6, f.rulebook(6, f.central, "central", now_s() + 86400));
  REQUIRE(f.run_until([&] { return !f.installed.empty(); }));
  CHECK(f.installed == std::vector<std::int64_t>{6});
  CHECK(f.rulebooks.active()->version == 6);
  CHECK(f.rulebooks.previous()->version == 2);
  CHECK(uplink.status().rulebook_refusal.empty());
}

TEST_CASE(
    "an online authorization holds points at the ledger, and falls back at once when the ledger does not answer") {
  UplinkFixture f;
  std::vector<MemberRecord> records(1);
  records[0] = {"M1", "standard", domain::MemberStatus::active, 1000, {}};
  f.ledger.import_members(records, 0);
  LedgerProcess ledger(f.dir.path(), f.chain, f.dir / "ledger.db");
  sync::Uplink& uplink = f.start(ledger.port());
  REQUIRE(f.run_until([&] { return uplink.status().online; }));

  std::optional<sync::OnlineAuthorization> answer;
  bool done = false;
  const auto ask = [&](std::string receipt, std::int64_t points) {
    done = false;
    asio::co_spawn(
        f.io,
        [&, receipt, points]() -> Task<> {
          answer = co_await uplink.authorize("M1", receipt, points);
          done = true;
        },
        asio::detached);
    return f.run_until([&] { return done; });
  };
  REQUIRE(ask("T1-R1", 600));
  REQUIRE(answer);
  CHECK(answer->outcome == "approved");
  CHECK(answer->points == 600);
  REQUIRE(ask("T1-R2", 600));
  CHECK(answer->points == 400);  // partial: 600 are held for T1-R1
  CHECK(f.store.held_points("M1", now_s() * 1000) == 1000);

  ledger.child().send(SIGSTOP);  // accepts connections, answers nothing
  REQUIRE(ask("T1-R3", 10));
  CHECK(!answer);
  CHECK(uplink.status().authorization_fallbacks == 1);
  CHECK(f.log_text.str().find("did not answer within 300 ms") != std::string::npos);
  ledger.child().send(SIGCONT);
}

TEST_CASE("the link moves to the next ledger address when one fails, and says which one it uses" *
          doctest::test_suite("store")) {
  UplinkFixture f;
  LedgerProcess a(f.dir.path(), f.chain, f.db, {}, "ledger-a");
  LedgerProcess b(f.dir.path(), f.chain, f.db, {}, "ledger-b");
  for (int i = 0; i < 10; ++i) f.t1.sale("M1", 5, 0);
  sync::UplinkSettings settings = ledger::testing::quick_uplink(a.port(), f.files, {}, 11);
  settings.ledgers.push_back({"127.0.0.1", b.port()});
  f.uplink = std::make_unique<sync::Uplink>(
      f.io, settings, f.t1.journal, f.members, f.rulebooks, [](domain::Rulebook) {}, f.log,
      [] { return now_s() * 1000; });
  sync::Uplink& uplink = *f.uplink;
  uplink.start();
  const std::string at_a = "127.0.0.1:" + std::to_string(a.port());
  const std::string at_b = "127.0.0.1:" + std::to_string(b.port());
  REQUIRE(f.run_until([&] { return f.t1.journal.pending_count() == 0 && uplink.status().online; }));
  CHECK(uplink.status().address == at_a);
  CHECK(uplink.status().endpoint == at_a);
  CHECK(uplink.status().failovers == 0);

  a.kill();
  for (int i = 0; i < 10; ++i) f.t1.sale("M1", 5, 0);
  uplink.wake();
  REQUIRE(f.run_until([&] { return f.t1.journal.pending_count() == 0 && uplink.status().online; }));
  CHECK(uplink.status().address == at_b);
  CHECK(uplink.status().endpoint == at_b);
  CHECK(uplink.status().failovers == 1);
  CHECK(f.store.entry_count() == 20);
  CHECK(f.balance("M1") == 100);
  CHECK(f.log_text.str().find(
            "\"event\":\"ledger_failover\",\"message\":\"trying another ledger address next\",\"from\":\"" + at_a +
            "\",\"to\":\"" + at_b + "\"") != std::string::npos);
}
