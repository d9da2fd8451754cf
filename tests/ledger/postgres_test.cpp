// The ledger on PostgreSQL itself: errors, schema migrations, and several ledger instances on
// one database (each instance here is a Ledger over its own connection, as each
// `loyalty-ledger serve` process has). These cases always run on the test process's server.

#include <doctest/doctest.h>

#include <atomic>
#include <latch>
#include <thread>

#include "ledger/members.hpp"
#include "ledger/postgres_store.hpp"
#include "tests/ledger/fixtures.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using ledger::testing::kNow;
using ledger::testing::Lane;
using ledger::testing::postgres_server;
using ledger::testing::TempDir;

namespace {

// Two ledger instances on one new database.
struct TwoInstances {
  TwoInstances()
      : db(postgres_server().create_database()),
        store_a(PostgresStore::Options{db}),
        store_b(PostgresStore::Options{db}),
        a(store_a, {}),
        b(store_b, {}) {}

  Lane& lane(const std::string& id) {
    auto& slot = lanes[id];
    if (!slot) {
      slot = std::make_unique<Lane>(dir, id);
      a.enroll(id, "S1", slot->key.public_key().raw(), kNow);
    }
    return *slot;
  }

  void import(const std::string& member, std::int64_t balance) {
    MemberRecord record;
    record.member_id = member;
    record.balance = balance;
    a.import_members(std::span(&record, 1), kNow);
  }

  TempDir dir;
  std::string db;
  PostgresStore store_a;
  PostgresStore store_b;
  Ledger a;
  Ledger b;
  std::map<std::string, std::unique_ptr<Lane>> lanes;
};

// Runs `first` and `second` on two threads, released at the same moment.
template <class A, class B>
void at_once(A first, B second) {
  std::latch start(2);
  std::exception_ptr failed_a, failed_b;
  std::thread other([&] {
    start.arrive_and_wait();
    try {
      second();
    } catch (...) {
      failed_b = std::current_exception();
    }
  });
  start.arrive_and_wait();
  try {
    first();
  } catch (...) {
    failed_a = std::current_exception();
  }
  other.join();
  if (failed_a) std::rethrow_exception(failed_a);
  if (failed_b) std::rethrow_exception(failed_b);
}

}  // namespace

TEST_CASE("PostgreSQL errors name the operation and carry the SQLSTATE and the server's message") {
  postgres_server();
  const std::string closed = "postgresql://postgres@127.0.0.1:1/none?connect_timeout=5";
  try {
    PostgresStore store(PostgresStore::Options{closed});
    FAIL("connected to a closed port");
  } catch (const pg::Error& error) {
    CHECK(error.sqlstate() == "08001");
    CHECK(error.connection_lost());
    CHECK(std::string(error.what()).starts_with("connect to PostgreSQL: PostgreSQL 08001: "));
    CHECK(std::string(error.what()).find("127.0.0.1") != std::string::npos);
  }
  pg::Connection connection(postgres_server().create_database());
  try {
    connection.exec("divide", "SELECT 1 / 0");
    FAIL("divided by zero");
  } catch (const pg::Error& error) {
    CHECK(error.sqlstate() == "22012");
    CHECK(!error.transient());
    CHECK(std::string(error.what()) == "divide: PostgreSQL 22012: division by zero");
  }
  try {
    connection.exec("insert", "CREATE TABLE t (k int PRIMARY KEY); INSERT INTO t VALUES (1); INSERT INTO t VALUES (1)");
    FAIL("inserted a key twice");
  } catch (const pg::Error& error) {
    CHECK(error.sqlstate() == "23505");
    CHECK(std::string(error.what()).find("Key (k)=(1) already exists") != std::string::npos);
  }
  CHECK(connection.ok());
  CHECK(connection.server_version() >= 150000);
}

TEST_CASE("the PostgreSQL schema migrates from every older version, and a newer one is refused or used as it allows") {
  const auto steps = postgres_schema();
  REQUIRE(steps.size() >= 2);
  for (std::size_t from = 1; from < steps.size(); ++from) {
    CAPTURE(from);
    TempDir dir;
    const std::string name = postgres_server().new_database();
    const std::string db = postgres_server().conninfo(name);
    {
      PostgresStore old(PostgresStore::Options{db, true, static_cast<int>(from)});
      CHECK(old.schema_version() == static_cast<int>(from));
      Ledger ledger(old, {});
      Lane lane(dir, "T1");
      ledger.enroll("T1", "S1", lane.key.public_key().raw(), kNow);
      lane.sale("M1", 120, 0);
      lane.sale("M1", 0, 20);
      ledger.ingest("T1", lane.wire(1, 2), kNow);
    }
    PostgresStore now(PostgresStore::Options{db});
    CHECK(now.schema_version() == static_cast<int>(steps.size()));
    CHECK(now.entry_count() == 2);
    CHECK(now.account("M1")->balance == 100);
    // The finance views (version 2) see what was there before.
    CHECK(postgres_server().psql(name,
                                 "SELECT store_id, entries, points_earned, points_redeemed, points_outstanding "
                                 "FROM finance.store_totals") == "S1|2|120|20|100\n");
    CHECK(postgres_server().psql(name, "SELECT kind, member_id, points_earned FROM finance.entries ORDER BY seq") ==
          "sale|M1|120\nsale|M1|0\n");
  }

  // A release that knows fewer versions: refused when the last breaking step is beyond it,
  // used when only additive steps are.
  const std::string name = postgres_server().new_database();
  const std::string db = postgres_server().conninfo(name);
  { PostgresStore made(PostgresStore::Options{db}); }
  postgres_server().psql(name, "UPDATE loyalty_schema SET version = 99, oldest_schema = 2");
  CHECK_NOTHROW(PostgresStore(PostgresStore::Options{db}));
  postgres_server().psql(name, "UPDATE loyalty_schema SET version = 99, oldest_schema = 99");
  CHECK_THROWS_WITH_AS(PostgresStore(PostgresStore::Options{db}),
                       doctest::Contains("ledger schema version 99 was written by a newer release"), pg::Error);

  // A step that fails leaves the database at the version before it, usable.
  const std::string blocked_name = postgres_server().new_database();
  const std::string blocked = postgres_server().conninfo(blocked_name);
  { PostgresStore old(PostgresStore::Options{blocked, true, 1}); }
  postgres_server().psql(blocked_name, "CREATE SCHEMA finance");
  CHECK_THROWS_WITH_AS(PostgresStore(PostgresStore::Options{blocked}),
                       doctest::Contains("migrate the ledger schema to version 2: PostgreSQL 42P06"), pg::Error);
  CHECK(postgres_server().psql(blocked_name, "SELECT version FROM loyalty_schema") == "1\n");
  postgres_server().psql(blocked_name, "DROP SCHEMA finance");
  CHECK(PostgresStore(PostgresStore::Options{blocked}).schema_version() == 2);
}

TEST_CASE("the same batch sent to two ledger instances at the same moment is applied once") {
  TwoInstances f;
  Lane& lane = f.lane("T1");
  constexpr int kRounds = 200;
  std::int64_t applied = 0, duplicates = 0;
  for (int round = 1; round <= kRounds; ++round) {
    lane.sale("M" + std::to_string(round % 7), 10, 0);
    // The whole journal each time: everything but the newest entry is a duplicate for both.
    const auto batch = lane.wire(std::max(1, round - 3), round);
    sync::Ack ack_a, ack_b;
    at_once([&] { ack_a = f.a.ingest("T1", batch, kNow); }, [&] { ack_b = f.b.ingest("T1", batch, kNow); });
    CHECK(ack_a.acknowledged_through == round);
    CHECK(ack_b.acknowledged_through == round);
    CHECK(ack_a.applied + ack_b.applied == 1);  // the new entry, by one of them
    applied += ack_a.applied + ack_b.applied;
    duplicates += ack_a.duplicates + ack_b.duplicates;
  }
  CHECK(applied == kRounds);
  CHECK(f.store_a.entry_count() == kRounds);
  std::int64_t balances = 0;
  for (const Account& account : f.store_b.accounts()) balances += account.balance;
  CHECK(balances == 10 * kRounds);
  CHECK(f.store_a.terminal("T1")->head_seq == kRounds);
  MESSAGE("duplicates answered: " << duplicates << ", retries: " << f.store_a.retries() + f.store_b.retries());
}

TEST_CASE("two lanes redeeming one member's last points through two ledger instances never both hold them") {
  TwoInstances f;
  constexpr int kRounds = 150;
  for (int round = 0; round < kRounds; ++round) {
    const std::string member = "M" + std::to_string(round);
    f.import(member, 100);
    Authorization on_a, on_b;
    at_once(
        [&] {
          on_a = f.a.authorize("T1", {member, "A-" + member, 100}, kNow);
        },
        [&] {
          on_b = f.b.authorize("T2", {member, "B-" + member, 100}, kNow);
        });
    const std::int64_t held = (on_a.outcome == Authorization::Outcome::approved ? on_a.points : 0) +
                              (on_b.outcome == Authorization::Outcome::approved ? on_b.points : 0);
    CHECK(held == 100);  // one got all 100, the other was declined
    CHECK((on_a.outcome == Authorization::Outcome::declined) != (on_b.outcome == Authorization::Outcome::declined));
    CHECK(f.store_a.held_points(member, kNow) == 100);
  }
}

TEST_CASE("batches of two terminals that share members, on two instances at once, both apply without deadlock") {
  TwoInstances f;
  Lane& one = f.lane("T1");
  Lane& two = f.lane("T2");
  constexpr int kRounds = 100;
  for (int round = 1; round <= kRounds; ++round) {
    // The same members, in opposite orders.
    for (int m = 0; m < 5; ++m) one.sale("M" + std::to_string(m), 1, 0);
    for (int m = 4; m >= 0; --m) two.sale("M" + std::to_string(m), 1, 0);
    const auto batch_one = one.wire(5 * round - 4, 5 * round);
    const auto batch_two = two.wire(5 * round - 4, 5 * round);
    at_once([&] { f.a.ingest("T1", batch_one, kNow); }, [&] { f.b.ingest("T2", batch_two, kNow); });
  }
  for (int m = 0; m < 5; ++m) CHECK(f.store_a.account("M" + std::to_string(m))->balance == 2 * kRounds);
  // Every change went to the feed once, in cursor order without gaps.
  const auto feed = f.store_a.member_changes(0, 1000);
  CHECK(feed.size() == 5);
  CHECK(f.store_a.member_cursor() == 2 * 5 * kRounds);  // 5 accounts changed by each batch
}

TEST_CASE("a deadlock between two ledger instances is run again, not answered as an error") {
  TwoInstances f;
  std::atomic<int> attempts_a = 0, attempts_b = 0;
  std::latch both_locked_one(2);
  // Each takes one lock, waits for the other to take its own, then asks for the other's:
  // PostgreSQL ends one of them with 40P01, and its store runs the work again.
  const auto work = [&](PostgresStore& store, std::atomic<int>& attempts, int first, int second) {
    store.transaction([&] {
      const int attempt = ++attempts;
      store.connection().exec("lock", "SELECT pg_advisory_xact_lock(" + std::to_string(first) + ")");
      if (attempt == 1) both_locked_one.arrive_and_wait();
      store.connection().exec("lock", "SELECT pg_advisory_xact_lock(" + std::to_string(second) + ")");
    });
  };
  at_once([&] { work(f.store_a, attempts_a, 1, 2); }, [&] { work(f.store_b, attempts_b, 2, 1); });
  CHECK(attempts_a + attempts_b == 3);  // one of them twice
  CHECK(f.store_a.retries() + f.store_b.retries() == 1);
}

TEST_CASE("a read-only role granted the finance schema, as docs/operations.md says, reads the views and no table") {
  TempDir dir;
  const std::string name = postgres_server().new_database();
  {
    PostgresStore store(PostgresStore::Options{postgres_server().conninfo(name)});
    Ledger ledger(store, {});
    Lane lane(dir, "T1");
    ledger.enroll("T1", "S1", lane.key.public_key().raw(), kNow);
    lane.sale("M1", 70, 0);
    ledger.ingest("T1", lane.wire(1, 1), kNow);
  }
  postgres_server().psql(name, "CREATE ROLE finance_bi LOGIN; GRANT CONNECT ON DATABASE " + name +
                                   " TO finance_bi; GRANT USAGE ON SCHEMA finance TO finance_bi; "
                                   "GRANT SELECT ON ALL TABLES IN SCHEMA finance TO finance_bi;");
  const std::string as_bi =
      "postgresql://finance_bi@127.0.0.1:" + std::to_string(postgres_server().port()) + "/" + name;
  pg::Connection bi(as_bi);
  CHECK(bi.exec("read the totals", "SELECT points_outstanding FROM finance.store_totals").integer(0, 0) == 70);
  CHECK(bi.exec("read balances", "SELECT balance FROM finance.balances WHERE member_id = 'M1'").integer(0, 0) == 70);
  CHECK_THROWS_WITH_AS(bi.exec("read a table", "SELECT count(*) FROM public.entries"),
                       doctest::Contains("PostgreSQL 42501: permission denied for table entries"), pg::Error);
  CHECK_THROWS_WITH_AS(bi.exec("write", "DELETE FROM finance.balances"), doctest::Contains("PostgreSQL 42501"),
                       pg::Error);
}

TEST_CASE("housekeeping runs in one ledger instance at a time: the other skips the job while it runs") {
  TwoInstances f;
  std::latch inside(1), release(1);
  bool ran_b = true;
  std::thread a([&] {
    CHECK(f.store_a.run_alone(LedgerStore::Job::expiry, [&] {
      inside.count_down();
      release.wait();
    }));
  });
  inside.wait();
  ran_b = f.store_b.run_alone(LedgerStore::Job::expiry, [] {});
  const bool other_job = f.store_b.run_alone(LedgerStore::Job::audit, [] {});  // another job is not held
  release.count_down();
  a.join();
  CHECK_FALSE(ran_b);
  CHECK(other_job);
  CHECK(f.store_b.run_alone(LedgerStore::Job::expiry, [] {}));  // free again once A is done
  // A job that throws lets go of its lock too.
  CHECK_THROWS(f.store_a.run_alone(LedgerStore::Job::expiry, [] { throw std::runtime_error("failed"); }));
  CHECK(f.store_b.run_alone(LedgerStore::Job::expiry, [] {}));
}
