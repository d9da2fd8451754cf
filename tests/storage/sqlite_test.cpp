#include <doctest/doctest.h>
#include <sqlite3.h>

#include <vector>

#include "storage/journal.hpp"
#include "storage/member_cache.hpp"
#include "storage/sqlite.hpp"
#include "tests/storage/fixtures.hpp"

using namespace loyalty::storage;
using loyalty::storage::testing::TempDir;

namespace {

std::int64_t count_rows(Database& db, const std::string& table) {
  return db.query_integer("SELECT count(*) FROM " + table).value_or(-1);
}

constexpr Migration kToyMigrations[] = {
    {1, "CREATE TABLE a (x INTEGER NOT NULL) STRICT; INSERT INTO a VALUES (1);"},
    {2, "ALTER TABLE a ADD COLUMN y INTEGER NOT NULL DEFAULT 7;"},
    {3, "CREATE TABLE b AS SELECT x + y AS z FROM a;"},
};

}  // namespace

TEST_CASE("a failed statement names the operation and carries SQLite's code") {
  TempDir dir;
  Database db(dir / "a.db");
  db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)", "create");
  db.exec("INSERT INTO t (v) VALUES ('x')", "insert first");
  try {
    db.exec("INSERT INTO t (v) VALUES ('x')", "insert duplicate");
    FAIL("a duplicate unique value was accepted");
  } catch (const Error& error) {
    CHECK(error.primary_code() == SQLITE_CONSTRAINT);
    CHECK(error.code() == SQLITE_CONSTRAINT_UNIQUE);
    CHECK(std::string(error.what()).find("insert duplicate") == 0);
    CHECK(std::string(error.what()).find("UNIQUE constraint failed") != std::string::npos);
  }
}

TEST_CASE("a database opens in WAL mode with the durability asked for") {
  TempDir dir;
  Database full(dir / "full.db");
  CHECK(full.query_integer("PRAGMA synchronous") == 2);
  Statement mode(full, "PRAGMA journal_mode");
  REQUIRE(mode.step());
  CHECK(mode.text(0) == "wal");
  OpenOptions normal;
  normal.durability = Durability::normal;
  Database cache(dir / "cache.db", normal);
  CHECK(cache.query_integer("PRAGMA synchronous") == 1);
  CHECK(full.query_integer("PRAGMA busy_timeout") == 5000);
}

TEST_CASE("a transaction that is not committed leaves nothing behind") {
  TempDir dir;
  Database db(dir / "a.db");
  db.exec("CREATE TABLE t (v INTEGER)", "create");
  try {
    Transaction transaction(db, "insert two");
    db.exec("INSERT INTO t VALUES (1)", "first");
    db.exec("INSERT INTO t VALUES ('not', 'one value')", "second");
    transaction.commit();
  } catch (const Error&) {
  }
  CHECK(count_rows(db, "t") == 0);
  {
    Transaction transaction(db, "insert one");
    db.exec("INSERT INTO t VALUES (1)", "first");
    transaction.commit();
  }
  CHECK(count_rows(db, "t") == 1);
}

TEST_CASE("cached statements are prepared once and reusable after a reset") {
  TempDir dir;
  Database db(dir / "a.db");
  db.exec("CREATE TABLE t (v INTEGER)", "create");
  Statement& insert = db.cached("INSERT INTO t VALUES (?)");
  for (std::int64_t i = 0; i < 3; ++i) {
    StatementUse use(db.cached("INSERT INTO t VALUES (?)"));
    CHECK(&*use == &insert);
    use->bind(1, i).run();
  }
  CHECK(count_rows(db, "t") == 3);
}

TEST_CASE("must_exist and read_only refuse a missing file and create nothing") {
  TempDir dir;
  OpenOptions options;
  options.creation = Creation::must_exist;
  CHECK_THROWS_AS(Database(dir / "missing.db", options), Error);
  options.creation = Creation::read_only;
  CHECK_THROWS_AS(Database(dir / "missing.db", options), Error);
  CHECK_FALSE(std::filesystem::exists(dir / "missing.db"));
}

TEST_CASE("migrations reach the latest version from every older version") {
  for (int start = 0; start <= 3; ++start) {
    CAPTURE(start);
    TempDir dir;
    Database db(dir / "a.db");
    migrate(db, std::span(kToyMigrations, static_cast<std::size_t>(start)), "toy");
    CHECK(db.query_integer("PRAGMA user_version") == start);
    CHECK(migrate(db, kToyMigrations, "toy") == start);
    CHECK(db.query_integer("PRAGMA user_version") == 3);
    CHECK(db.query_integer("SELECT z FROM b") == 8);
  }
}

TEST_CASE("a failing migration leaves the database at the last complete version") {
  TempDir dir;
  Database db(dir / "a.db");
  constexpr Migration broken[] = {
      kToyMigrations[0],
      {2, "ALTER TABLE a ADD COLUMN y INTEGER; INSERT INTO missing_table VALUES (1);"},
  };
  CHECK_THROWS_AS(migrate(db, broken, "toy"), Error);
  CHECK(db.query_integer("PRAGMA user_version") == 1);
  // Column y was added in the failed step's transaction and must be gone with it.
  CHECK_NOTHROW(db.exec("ALTER TABLE a ADD COLUMN y INTEGER", "add y again"));
}

TEST_CASE("a database written by a newer release is refused, not downgraded") {
  TempDir dir;
  Database db(dir / "a.db");
  migrate(db, kToyMigrations, "toy");
  try {
    migrate(db, std::span(kToyMigrations, 2), "toy");
    FAIL("a newer schema was accepted");
  } catch (const Error& error) {
    CHECK(std::string(error.what()).find("schema version 3 was written by a newer release") != std::string::npos);
  }
  CHECK(db.query_integer("PRAGMA user_version") == 3);
}

TEST_CASE("a release rolled back over additive migrations keeps using the file") {
  TempDir dir;
  Database db(dir / "a.db");
  constexpr Migration newer[] = {
      kToyMigrations[0],
      kToyMigrations[1],
      kToyMigrations[2],
      {4, "CREATE TABLE c (w INTEGER NOT NULL) STRICT;", Compatibility::additive},
      {5, "CREATE INDEX c_w ON c (w);", Compatibility::additive},
  };
  migrate(db, newer, "toy");
  CHECK(db.query_integer("SELECT oldest_schema FROM schema_compatibility") == 3);
  // The release that knows three versions opens the file as it is and does not touch it.
  CHECK(migrate(db, kToyMigrations, "toy") == 5);
  CHECK(db.query_integer("PRAGMA user_version") == 5);
  CHECK(db.query_integer("SELECT z FROM b") == 8);
  // The newer release again: nothing to do.
  CHECK(migrate(db, newer, "toy") == 5);
}

TEST_CASE("a breaking migration after additive ones is refused by every release that predates it") {
  TempDir dir;
  Database db(dir / "a.db");
  constexpr Migration newer[] = {
      kToyMigrations[0],
      kToyMigrations[1],
      kToyMigrations[2],
      {4, "CREATE TABLE c (w INTEGER NOT NULL) STRICT;", Compatibility::additive},
      {5, "ALTER TABLE a DROP COLUMN y;"},
  };
  migrate(db, std::span(newer, 4), "toy");
  CHECK(db.query_integer("SELECT oldest_schema FROM schema_compatibility") == 3);
  migrate(db, newer, "toy");
  CHECK(db.query_integer("SELECT oldest_schema FROM schema_compatibility") == 5);
  for (std::size_t known = 3; known <= 4; ++known) {
    CAPTURE(known);
    try {
      migrate(db, std::span(newer, known), "toy");
      FAIL("a file that needs schema 5 was accepted");
    } catch (const Error& error) {
      CHECK(std::string(error.what()).find("needs a release that knows version 5") != std::string::npos);
    }
  }
  CHECK(db.query_integer("PRAGMA user_version") == 5);
}

TEST_CASE("the journal and member cache schemas migrate from every older version keeping their rows") {
  const auto journal = journal_schema();
  for (std::size_t start = 1; start <= journal.size(); ++start) {
    CAPTURE(start);
    TempDir dir;
    {
      Database db(dir / "journal.db");
      migrate(db, journal.first(start), "journal");
      db.exec(
          "INSERT INTO journal (seq, kind, receipt_id, member_id, recorded_at, rulebook_version, points_earned, "
          "points_redeemed, payload, hash, signature, journaled_at) VALUES (1, 1, 'R1', 'M1', 0, 1, 5, 0, x'00', "
          "zeroblob(32), zeroblob(64), 0)",
          "insert");
    }
    auto db = open_journal_database(dir / "journal.db", Creation::must_exist);
    CHECK(db->query_integer("PRAGMA user_version") == static_cast<std::int64_t>(journal.size()));
    CHECK(db->query_integer("SELECT points_earned FROM journal WHERE receipt_id = 'R1'") == 5);
    CHECK(db->query_integer("SELECT count(*) FROM rulebooks") == 0);
    CHECK(db->query_integer("SELECT count(*) FROM releases") == 0);
    CHECK(db->query_integer("SELECT oldest_schema FROM schema_compatibility") == 2);
  }
  const auto members = member_cache_schema();
  for (std::size_t start = 0; start <= members.size(); ++start) {
    TempDir dir;
    Database db(dir / "members.db");
    migrate(db, members.first(start), "member cache");
    CHECK(migrate(db, members, "member cache") == static_cast<int>(start));
    CHECK(db.query_integer("SELECT count(*) FROM members") == 0);
  }
}
