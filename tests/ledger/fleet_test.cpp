// The ledger under many terminals. The fleet simulator against `loyalty-ledger serve` over real
// mutual TLS on loopback:
// terminals prepared with realistic sales (the agent's checkout), certificates issued and
// terminals enrolled by `loyalty-ledger pki issue --csr-dir`, every journal uploaded at once
// through the agent's uplink. Each entry is acknowledged and applied once; the ledger applies
// concurrent batches in groups. And the ledger's answer when too many batches wait: 503
// ledger_busy at once, which the uplink waits out online.

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "agent/sim/fleet.hpp"
#include "ledger/cli.hpp"
#include "ledger/server.hpp"
#include "storage/rulebook_store.hpp"
#include "tests/ledger/link_fixtures.hpp"
#include "tests/wait.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using namespace loyalty::ledger::testing;

namespace {

int ledger_cli(std::vector<std::string> args, std::string* out_text = nullptr) {
  const std::vector<std::string_view> views(args.begin(), args.end());
  std::ostringstream out;
  std::ostringstream err;
  const int status = run_cli(views, out, err);
  INFO(out.str() << err.str());
  if (out_text != nullptr) *out_text = out.str();
  CHECK(status == 0);
  return status;
}

// The service in this process, so that a test can hold its one store connection, behind a
// server with the given limits.
struct AdmittingLedger {
  AdmittingLedger(const std::string& db, const Chain& chain, LedgerServer::Limits limits)
      : log(log_text, runtime::LogLevel::warning),
        pool(1, [db] { return open_store(db); }, {}),
        service(pool, pool, log, [] { return kNow; }),
        tls(std::make_shared<sync::ssl::context>(
            sync::make_context(sync::ssl::context::tls_server,
                               {chain.pki / "ca.crt", chain.pki / "server.crt", chain.pki / "server.key", {}}))),
        server(io, {uploads.get_executor(), quick.get_executor(), feed.get_executor()}, tls, service, log, limits),
        port(server.listen_tls({"127.0.0.1", 0})),
        network([this] { io.run(); }) {}
  ~AdmittingLedger() {
    server.stop();
    io.stop();
    network.join();
  }

  std::ostringstream log_text;
  runtime::Log log;
  LedgerPool pool;
  LedgerService service;
  asio::io_context io;
  asio::thread_pool uploads{2};
  asio::thread_pool quick{1};
  asio::thread_pool feed{1};
  std::shared_ptr<sync::ssl::context> tls;
  LedgerServer server;
  std::uint16_t port;
  std::thread network;
};

}  // namespace

TEST_CASE("a fleet uploading at once through the agents' uplink gets every entry acknowledged and applied once") {
  TempDir dir;
  Chain chain(dir.path(), "pki");
  const auto db = (dir / "ledger.db").string();

  sim::FleetPlan plan;
  plan.dir = dir / "fleet";
  plan.terminals = 24;
  plan.entries = 30;
  plan.members = 300;
  plan.terminals_per_store = 8;
  plan.seed = 11;
  plan.rulebook = std::filesystem::path(LOYALTY_SOURCE_DIR) / "examples/rulebook-ru.json";
  const sim::FleetPrepared prepared = sim::prepare_fleet(plan, nullptr);
  CHECK(prepared.entries == 720);
  // The agent's real payloads: the request, the answer with the VAT split, the refund terms.
  CHECK(prepared.to_json()["payload_bytes_per_entry"].get<std::int64_t>() > 1500);
  CHECK_THROWS_WITH_AS(sim::prepare_fleet(plan, nullptr), doctest::Contains("holds a prepared fleet already"),
                       std::runtime_error);

  std::string issued;
  ledger_cli({"pki", "issue", "--dir", chain.pki.string(), "--csr-dir", (plan.dir / "csr").string(), "--out-dir",
              (plan.dir / "certs").string(), "--db", db},
             &issued);
  CHECK(issued.find("issued 24 certificates") != std::string::npos);
  // Run again, it keeps the certificates there and issues none.
  ledger_cli({"pki", "issue", "--dir", chain.pki.string(), "--csr-dir", (plan.dir / "csr").string(), "--out-dir",
              (plan.dir / "certs").string(), "--db", db},
             &issued);
  CHECK(issued.find("issued 0 certificates") != std::string::npos);
  ledger_cli({"members", "import", "--db", db, "--member-secret", (plan.dir / "member.secret").string(), "--file",
              (plan.dir / "members.jsonl").string()});

  LedgerProcess ledger(dir.path(), chain, db);
  sim::FleetRun run;
  run.dir = plan.dir;
  run.ledgers = {{"127.0.0.1", ledger.port()}};
  run.ca = chain.pki / "ca.crt";
  run.batch_entries = 10;  // three batches per terminal
  run.authorizations_per_s = 50;
  run.timeout = std::chrono::seconds(120);
  const sim::FleetReport report = sim::run_fleet(run);
  INFO(report.to_json().dump(2));
  CHECK(report.problems.empty());
  CHECK(report.entries == 720);
  CHECK(report.acknowledged == 720);
  CHECK(report.ack_ms.size() == 720);  // each entry acknowledged once
  CHECK(report.batches >= 72);
  CHECK(report.authorizations > 0);

  const auto store = open_store(db);
  CHECK(store->entry_count() == 720);
  for (std::int64_t t = 0; t < plan.terminals; ++t) {
    const auto terminal = store->terminal(sim::fleet_terminal_id(t));
    REQUIRE(terminal);
    CHECK(terminal->head_seq == 30);
    CHECK(terminal->store_id == sim::fleet_store_id(t, 8));
  }
  // The ledger's log says how the batches were grouped when it stops.
  CHECK(ledger.child().signal_and_wait(SIGTERM, within(std::chrono::seconds(10))) == 0);
  CHECK(ledger.child().output().find("\"event\":\"upload_groups\"") != std::string::npos);
}

TEST_CASE(
    "an upload finding too many others waiting is answered 503 ledger_busy at once; the uplink stays online "
    "and sends it again") {
  LedgerFixture f;
  Chain chain(f.dir.path(), "chain");
  Lane& t1 = f.lane("T1");
  Lane& t2 = f.lane("T2");
  for (int i = 0; i < 3; ++i) {
    t1.sale("M1", 10, 0);
    t2.sale("M2", 10, 0);
  }
  const sync::TlsFiles t1_files = chain.terminal(t1, "S1");
  const sync::TlsFiles t2_files = chain.terminal(t2, "S1");

  // One upload in its turn at a time, none waiting for one.
  AdmittingLedger ledger(f.db, chain, {1 << 20, std::chrono::seconds(10), 1, 0, std::chrono::seconds(10)});
  LedgerService& service = ledger.service;
  runtime::Log& log = ledger.log;
  const std::uint16_t port = ledger.port;

  HeldLedger held(ledger.pool);
  // T1's batch is let in and waits for the store; T2's finds the one place taken.
  HttpsResult first;
  std::thread waiting([&] {
    first =
        https(port, t1_files, http::verb::post, "/v1/journal", sync::batch_to_json("T1", t1.journal.read(1, 3, 10)));
  });
  REQUIRE(loyalty::testing::ask_in_process_until([&] { return service.upload_groups().queued == 1; },
                                                 within(std::chrono::seconds(10))));
  const HttpsResult refused =
      https(port, t2_files, http::verb::post, "/v1/journal", sync::batch_to_json("T2", t2.journal.read(1, 3, 10)));
  CHECK(refused.status == 503);
  CHECK(refused.body.find("\"ledger_busy\"") != std::string::npos);
  CHECK(service.counters().busy == 1);

  // T2's uplink meets the same answer: online all the same, no failure counted, and its
  // entries go up once the ledger has room.
  asio::io_context terminal_io;
  storage::MemberCache members(f.dir / "t2-members.db", ledger::testing::chain_hasher());
  storage::RulebookStore rulebooks(t2.journal.database());
  sync::UplinkSettings settings = quick_uplink(port, t2_files, {}, 3);
  sync::Uplink uplink(
      terminal_io, settings, t2.journal, members, rulebooks, [](domain::Rulebook) {}, log, [] { return kNow; });
  uplink.start();
  CHECK(run_until(terminal_io, [&] { return uplink.status().busy_answers >= 1; }));
  CHECK(uplink.status().online);
  CHECK(uplink.status().failures == 0);
  CHECK(t2.journal.pending_count() == 3);

  held.release();
  waiting.join();
  CHECK(first.status == 200);
  CHECK(run_until(terminal_io, [&] { return t2.journal.pending_count() == 0; }));
  CHECK(uplink.status().failures == 0);
  uplink.stop();
  CHECK(run_until(terminal_io, [&] { return !uplink.running(); }));
  CHECK(f.store.entry_count() == 6);
}

TEST_CASE(
    "uploads wait for their turn with their bodies unread, first come first served, and are all applied once "
    "the store is free") {
  LedgerFixture f;
  Chain chain(f.dir.path(), "chain");
  Lane& t1 = f.lane("T1");
  Lane& t2 = f.lane("T2");
  Lane& t3 = f.lane("T3");
  for (int i = 0; i < 3; ++i) {
    t1.sale("M1", 10, 0);
    t2.sale("M2", 10, 0);
    t3.sale("M3", 10, 0);
  }
  const sync::TlsFiles t1_files = chain.terminal(t1, "S1");
  const sync::TlsFiles t2_files = chain.terminal(t2, "S1");
  const sync::TlsFiles t3_files = chain.terminal(t3, "S1");
  // One upload in its turn at a time; up to eight wait for theirs.
  AdmittingLedger ledger(f.db, chain, {1 << 20, std::chrono::seconds(10), 1, 8, std::chrono::seconds(30)});

  HeldLedger held(ledger.pool);
  HttpsResult first;
  std::thread in_turn([&] {
    first = https(ledger.port, t1_files, http::verb::post, "/v1/journal",
                  sync::batch_to_json("T1", t1.journal.read(1, 3, 10)));
  });
  REQUIRE(loyalty::testing::ask_in_process_until([&] { return ledger.service.upload_groups().queued == 1; },
                                                 within(std::chrono::seconds(10))));

  // T2's uplink asks 100 Continue and waits for it with its batch unsent, online, past its
  // request timeout (the wait for a turn has its own).
  asio::io_context terminal_io;
  storage::MemberCache members(f.dir / "t2-members.db", ledger::testing::chain_hasher());
  storage::RulebookStore rulebooks(t2.journal.database());
  sync::UplinkSettings settings = quick_uplink(ledger.port, t2_files, {}, 5);
  settings.request_timeout = std::chrono::milliseconds(300);
  sync::Uplink uplink(
      terminal_io, settings, t2.journal, members, rulebooks, [](domain::Rulebook) {}, ledger.log, [] { return kNow; });
  uplink.start();
  CHECK(run_until(terminal_io, [&] { return ledger.server.uploads_waiting() == 1; }));
  // T3 sends its body without asking: TCP holds it until its turn.
  HttpsResult third;
  std::thread behind([&] {
    third = https(ledger.port, t3_files, http::verb::post, "/v1/journal",
                  sync::batch_to_json("T3", t3.journal.read(1, 3, 10)));
  });
  REQUIRE(loyalty::testing::ask_in_process_until([&] { return ledger.server.uploads_waiting() == 2; },
                                                 within(std::chrono::seconds(10))));
  // Well past T2's request timeout of 300 ms: still waiting, no round failed.
  const auto later = std::chrono::steady_clock::now() + std::chrono::milliseconds(900);
  terminal_io.run_until(later);
  CHECK(ledger.server.uploads_waiting() == 2);
  CHECK(ledger.service.upload_groups().queued == 1);  // neither body was read
  CHECK(uplink.status().failures == 0);
  CHECK(uplink.status().busy_answers == 0);
  CHECK(t2.journal.pending_count() == 3);

  held.release();
  in_turn.join();
  CHECK(first.status == 200);
  CHECK(run_until(terminal_io, [&] { return t2.journal.pending_count() == 0; }));
  behind.join();
  CHECK(third.status == 200);
  CHECK(uplink.status().failures == 0);
  uplink.stop();
  CHECK(run_until(terminal_io, [&] { return !uplink.running(); }));
  CHECK(f.store.entry_count() == 9);
  CHECK(ledger.service.counters().busy == 0);
  const std::string metrics = https(ledger.port, t1_files, http::verb::get, "/metrics").body;
  CHECK(metrics.find("loyalty_ledger_upload_admission_wait_seconds_count 3") != std::string::npos);
  CHECK(metrics.find("loyalty_ledger_upload_body_read_seconds_count 3") != std::string::npos);
  // T2 and T3 waited at least the 900 ms above for their turns; their bodies, read in their
  // turns, took a small part of that.
  const ServiceCounters counters = ledger.service.counters();
  CHECK(counters.admission.sum() >= 1.8);
  CHECK(counters.body_read.sum() < counters.admission.sum());
}
