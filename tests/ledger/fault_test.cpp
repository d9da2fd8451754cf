#include <doctest/doctest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "ledger/members.hpp"
#include "tests/env.hpp"
#include "tests/ledger/fault_proxy.hpp"
#include "tests/ledger/link_fixtures.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using namespace std::chrono_literals;
using ledger::testing::Chain;
using ledger::testing::FaultProxy;
using ledger::testing::Lane;
using ledger::testing::LedgerFixture;
using ledger::testing::LedgerProcess;
using ledger::testing::now_s;

namespace {

const storage::IdentifierHasher& kHasher = ledger::testing::chain_hasher();

// A checkout terminal as the uplink sees it: its journal, member cache and rulebook store.
struct LaneLink {
  LaneLink(LedgerFixture& f, Chain& chain, const std::string& id, const std::string& store)
      : lane(f.lane(id, store)),
        files(chain.terminal(lane, store)),
        members(f.dir / (id + "-members.db"), kHasher),
        rulebooks(lane.journal.database()) {}

  Lane& lane;
  sync::TlsFiles files;
  storage::MemberCache members;
  storage::RulebookStore rulebooks;
  std::unique_ptr<sync::Uplink> uplink;
};

// What a fault run does besides damaging the network.
struct Faults {
  const char* name;
  int instances = 1;            // ledger processes on the one database, each behind its own proxy
  bool postgres = false;        // the database: the test process's PostgreSQL server, or a SQLite file
  int kills = 2;                // SIGKILLs of ledger processes, each started again at once
  bool restart_server = false;  // PostgreSQL restarted once (fast) and once more (immediate)
};

void run_faults(const Faults& faults) {
  const auto seed = static_cast<std::uint32_t>(loyalty::testing::env_number("LOYALTY_SEED", std::random_device{}()));
  const auto total = static_cast<int>(loyalty::testing::env_number("LOYALTY_FAULT_ENTRIES", 3000));
  // scripts/test --soak runs ten times the entries, with ten times the kills.
  const int rounds = std::max(1, total / 3000);
  const int kills_wanted = faults.kills * rounds;
  std::cout << faults.name << ": LOYALTY_SEED=" << seed << " LOYALTY_FAULT_ENTRIES=" << total << "\n";
  std::mt19937 random(seed);

  LedgerFixture f(LedgerSettings{}, faults.postgres ? ledger::testing::postgres_server().create_database() : "");
  Chain chain(f.dir.path(), "chain");
  asio::io_context io;  // before the uplinks, which close their sockets on it
  std::vector<std::unique_ptr<LaneLink>> terminals;
  for (int i = 1; i <= 4; ++i) {
    terminals.push_back(std::make_unique<LaneLink>(f, chain, "T" + std::to_string(i), i <= 2 ? "S1" : "S2"));
  }
  std::vector<MemberRecord> records;
  for (int m = 0; m < 20; ++m)
    records.push_back({"M" + std::to_string(m), "standard", domain::MemberStatus::active, 500, {}});
  f.ledger.import_members(records, ledger::testing::kNow);  // opening lots, unexpired when the sales happen

  std::vector<std::unique_ptr<LedgerProcess>> ledgers;
  std::vector<std::unique_ptr<FaultProxy>> proxies;
  for (int i = 0; i < faults.instances; ++i) {
    ledgers.push_back(std::make_unique<LedgerProcess>(f.dir.path(), chain, f.db, std::vector<std::string>{},
                                                      "ledger-" + std::to_string(i)));
    proxies.push_back(std::make_unique<FaultProxy>(ledgers.back()->port(), seed + static_cast<std::uint32_t>(i)));
  }
  std::ostringstream log_text;
  runtime::Log log(log_text, runtime::LogLevel::warning);
  for (auto& t : terminals) {
    sync::UplinkSettings settings =
        ledger::testing::quick_uplink(proxies[0]->port(), t->files, {}, static_cast<std::uint32_t>(random()));
    for (std::size_t i = 1; i < proxies.size(); ++i) settings.ledgers.push_back({"127.0.0.1", proxies[i]->port()});
    // Each lane starts at another instance.
    std::rotate(settings.ledgers.begin(),
                settings.ledgers.begin() + static_cast<std::ptrdiff_t>(random() % proxies.size()),
                settings.ledgers.end());
    t->uplink = std::make_unique<sync::Uplink>(
        io, settings, t->lane.journal, t->members, t->rulebooks, [](domain::Rulebook) {}, log,
        [] { return now_s() * 1000; });
    t->uplink->start();
  }

  // Sales arrive while the lanes upload; ledger processes are killed and started again on the
  // way, at random points, and the database server is restarted.
  int journaled = 0;
  int kills = 0;
  int server_restarts = 0;
  std::vector<int> kill_at;
  for (int i = 0; i < faults.kills; ++i)
    kill_at.push_back(static_cast<int>(random() % static_cast<unsigned>(total * 9 / 10)));
  std::sort(kill_at.begin(), kill_at.end());
  const auto acknowledged = [&] {
    std::int64_t sum = 0;
    for (auto& t : terminals) sum += t->uplink->status().acknowledged_through;
    return sum;
  };
  const auto settled = [&] {
    if (journaled < total) return false;
    for (auto& t : terminals) {
      if (t->lane.journal.pending_count() != 0) return false;
    }
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + 120s * rounds;
  // Until every planned kill and restart happened too: the lanes may settle before the last
  // threshold's kill (one per round) comes round.
  const auto faults_done = [&] { return kills == kills_wanted && server_restarts == (faults.restart_server ? 2 : 0); };
  while (!(settled() && faults_done()) && std::chrono::steady_clock::now() < deadline) {
    for (int burst = 0; burst < 15 && journaled < total; ++burst, ++journaled) {
      LaneLink& t = *terminals[random() % terminals.size()];
      const std::string member = "M" + std::to_string(random() % 20);
      const auto redeemed = static_cast<std::int64_t>(random() % 4 == 0 ? random() % 200 : 0);
      t.lane.sale(member, static_cast<std::int64_t>(random() % 60), redeemed);
      t.uplink->wake();
    }
    if (kills < kills_wanted && acknowledged() > kill_at[static_cast<std::size_t>(kills)]) {
      LedgerProcess& victim = *ledgers[random() % ledgers.size()];
      ++kills;
      victim.kill();  // SIGKILL, mid-whatever
      victim.start();
    }
    if (faults.restart_server && server_restarts < 2 && acknowledged() > total * (server_restarts + 1) / 3) {
      // The ledgers' connections break; their next transactions connect again.
      ledger::testing::postgres_server().restart(server_restarts == 0 ? "fast" : "immediate");
      ++server_restarts;
    }
    io.run_for(5ms);
  }
  REQUIRE_MESSAGE(settled(), "not settled; seed " << seed << "; log: " << log_text.str().substr(0, 2000));
  CHECK(kills == kills_wanted);
  CHECK(server_restarts == (faults.restart_server ? 2 : 0));
  int damaged = 0;
  for (const auto& proxy : proxies) {
    const auto& counts = proxy->counts();
    MESSAGE("proxy: " << counts.connections.load() << " connections, " << counts.dropped.load() << " dropped, "
                      << counts.reset.load() << " reset, " << counts.truncated.load() << " truncated, "
                      << counts.delayed.load() << " delayed");
    damaged += counts.dropped + counts.reset + counts.truncated;
  }
  CHECK(damaged > 0);

  for (auto& t : terminals) t->uplink->stop();
  REQUIRE(ledger::testing::run_until(io, [&] {
    return std::none_of(terminals.begin(), terminals.end(), [](auto& t) { return t->uplink->running(); });
  }));

  // Exactly the union of the journals: every entry once, with the hash the terminal made.
  // (The store's key is (terminal, seq), so a second copy could not be stored at all.)
  std::map<std::string, std::int64_t> recomputed;
  for (auto& t : terminals) {
    const auto journal = t->lane.journal.read(1, INT64_MAX, 100000);
    const auto applied = f.store.entries(t->lane.id, 1, 100000);
    REQUIRE(applied.size() == journal.size());
    for (std::size_t i = 0; i < journal.size(); ++i) {
      CHECK(applied[i].entry.seq == journal[i].seq);
      CHECK(applied[i].entry.hash == journal[i].hash);
      recomputed[journal[i].draft.member_id] += journal[i].balance_change();
    }
  }
  CHECK(f.store.entry_count() == total);
  // Balances equal a recomputation from the entries (and the opening balances).
  for (const Account& account : f.store.accounts()) {
    CHECK_MESSAGE(account.balance == 500 + recomputed[account.member_id], account.member_id);
  }
}

}  // namespace

TEST_CASE("lanes uploading through a faulty network to a ledger that restarts end with exactly their journals, once") {
  run_faults({"faulty network"});
}

TEST_CASE(
    "lanes uploading through a faulty network to two ledger instances on PostgreSQL, killed at random, and a server "
    "restart end with exactly their journals, once") {
  run_faults({"two instances on PostgreSQL", 2, true, 4, true});
}
