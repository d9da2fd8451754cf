#include <doctest/doctest.h>

#include "storage/journal.hpp"
#include "storage/rulebook_store.hpp"
#include "tests/storage/fixtures.hpp"

using namespace loyalty::storage;
using loyalty::storage::testing::TempDir;

namespace {

StoredRulebook rulebook(std::int64_t version) {
  return {version, R"({"version":)" + std::to_string(version) + "}", "signature-" + std::to_string(version),
          "central-2026", 1'795'000'000'000 + version};
}

}  // namespace

TEST_CASE("installing a newer rulebook makes it active and keeps the one before") {
  TempDir dir;
  auto db = open_journal_database(dir / "journal.db", Creation::create_if_missing);
  RulebookStore store(*db);
  CHECK_FALSE(store.active());
  CHECK(store.install(rulebook(40)).outcome == Installed::installed);
  CHECK(store.install(rulebook(41)).outcome == Installed::installed);
  CHECK(store.install(rulebook(43)).outcome == Installed::installed);
  CHECK(store.active() == rulebook(43));
  CHECK(store.previous() == rulebook(41));
  CHECK(store.find(41) == rulebook(41));
  CHECK_FALSE(store.find(40));
}

TEST_CASE("a rulebook not newer than the active one is refused and changes nothing") {
  TempDir dir;
  auto db = open_journal_database(dir / "journal.db", Creation::create_if_missing);
  RulebookStore store(*db);
  store.install(rulebook(41));
  store.install(rulebook(42));
  for (std::int64_t version : {42, 41, 7}) {
    CAPTURE(version);
    StoredRulebook old = rulebook(version);
    old.document = "replayed";
    const InstallResult result = store.install(old);
    CHECK(result.outcome == Installed::not_newer);
    CHECK(result.active_version == 42);
  }
  CHECK(store.active() == rulebook(42));
  CHECK(store.previous() == rulebook(41));
  CHECK_THROWS_AS(store.install(rulebook(-1)), std::invalid_argument);
}

TEST_CASE("the active rulebook and the anti-rollback floor survive a reopen") {
  TempDir dir;
  {
    auto db = open_journal_database(dir / "journal.db", Creation::create_if_missing);
    RulebookStore(*db).install(rulebook(50));
  }
  auto db = open_journal_database(dir / "journal.db", Creation::must_exist);
  RulebookStore store(*db);
  CHECK(store.active() == rulebook(50));
  CHECK(store.install(rulebook(49)).outcome == Installed::not_newer);
}
