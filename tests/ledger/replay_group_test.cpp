// The grouped replay (replay_files: many files in one working set, each member written once
// per group) against the replay one run at a time (replay_file: each run an upload of its own),
// on random journals with duplicates, gaps, refused files, unsigned tails and expiries. The
// seed is printed; LOYALTY_SEED=N repeats a run.

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/audit.hpp"
#include "ledger/cli.hpp"
#include "ledger/open_store.hpp"
#include "ledger/replay.hpp"
#include "storage/journal_export.hpp"
#include "storage/journal_scan.hpp"
#include "tests/child_process.hpp"
#include "tests/env.hpp"
#include "tests/ledger/drawn_journal.hpp"
#include "tests/ledger/fixtures.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using ledger::testing::kDayMs;
using ledger::testing::kNow;
using storage::testing::TempDir;
using namespace ledger::testing;

namespace {

constexpr std::int64_t kExpiryDays = 60;

std::string describe(const ReplayResult& r) {
  std::ostringstream text;
  text << r.file.filename().string() << " terminal=" << r.terminal_id << " entries=" << r.entries
       << " applied=" << r.applied << " duplicates=" << r.duplicates << " held_back=" << r.held_back
       << " unsigned=" << r.unsigned_left_out << " through=" << r.acknowledged_through << " refused_at=" << r.refused_at
       << " refusal=" << r.refusal;
  return text.str();
}

// One random outage replayed both ways.
void compare_replays(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  TempDir dir;

  // Six enrolled terminals of two stores, some journals longer than a run (1,000 entries).
  std::vector<DrawnJournal> journals;
  std::vector<std::filesystem::path> files;
  for (int t = 0; t < 6; ++t) {
    const std::int64_t count = 1 + static_cast<std::int64_t>(rng() % 2600);
    journals.push_back(random_journal("T" + std::to_string(t), count, static_cast<std::int64_t>(rng() % 3), rng));
    files.push_back(dir / (journals.back().terminal_id + ".db"));
    write_journal(files.back(), journals.back());
  }
  // Two parts exported from T0, which arrive before or after each other and the whole journal:
  // held back after a gap, filling it, or already applied.
  {
    storage::Database source(files[0]);
    const auto n = static_cast<std::uint64_t>(journals[0].entries.size());
    const auto from = static_cast<std::int64_t>(1 + rng() % n);
    const auto to = static_cast<std::int64_t>(1 + rng() % n);
    files.push_back(dir / "T0-tail.db");
    storage::export_journal(source, files.back(), storage::ExportSelection::range(from, INT64_MAX), kNow);
    files.push_back(dir / "T0-head.db");
    storage::export_journal(source, files.back(), storage::ExportSelection::range(1, to), kNow);
  }
  files.push_back(files[1]);  // the same journal twice
  // T2 changed at a random entry: the runs before it are applied, the rest refused (the
  // genuine journal is replayed too).
  const auto changed = dir / "T2-changed.db";
  std::filesystem::copy_file(files[2], changed);
  {
    const auto n = journals[2].entries.size();
    storage::Database(changed).exec(
        "UPDATE journal SET points_earned = points_earned + 1 WHERE seq = " + std::to_string(1 + rng() % n), "tamper");
  }
  files.push_back(changed);
  // T3's number under another key, and a terminal never enrolled.
  DrawnJournal forged = random_journal("T3", 50, 0, rng);
  files.push_back(dir / "T3-forged.db");
  write_journal(files.back(), forged);
  DrawnJournal stranger = random_journal("T9", 20, 0, rng);
  files.push_back(dir / "T9.db");
  write_journal(files.back(), stranger);
  files.push_back(dir / "missing.db");
  std::shuffle(files.begin(), files.end(), rng);

  const std::int64_t group_entries = 500 + static_cast<std::int64_t>(rng() % 20000);
  const std::int64_t first_upload = 1 + static_cast<std::int64_t>(rng() % journals[4].entries.size());
  INFO("group_entries=" << group_entries << ", T4 uploaded from " << first_upload);

  // Both ledgers as the outage left them: T5 uploaded its first entries, T4 some from the
  // middle (held back after the gap), before the files came in.
  const auto prepare = [&](Ledger& ledger) {
    for (std::size_t t = 0; t < journals.size(); ++t) {
      ledger.enroll(journals[t].terminal_id, t < 3 ? "S1" : "S2", journals[t].key.public_key().raw(), kNow);
    }
    const auto wire = [](const DrawnJournal& j, std::size_t first, std::size_t last) {
      std::vector<sync::WireEntry> out;
      for (std::size_t i = first; i < std::min(last, j.entries.size()); ++i) {
        if (j.entries[i].signature) out.push_back(sync::wire_entry(j.entries[i]));
      }
      return out;
    };
    ledger.ingest("T5", wire(journals[5], 0, 300), kNow);
    const auto first = static_cast<std::size_t>(first_upload - 1);
    ledger.ingest("T4", wire(journals[4], first, first + 400), kNow);
  };
  LedgerSettings settings;
  settings.expiry_days = kExpiryDays;

  const auto one_db = new_db(dir, "one-run-at-a-time.db");
  const auto one_store = open_store(one_db);
  Ledger one(*one_store, settings);
  prepare(one);
  std::vector<ReplayResult> expected;
  for (const auto& file : files) expected.push_back(replay_file(one, file, kNow));
  one.expire(kNow);
  audit(*one_store);

  const auto grouped_db = new_db(dir, "grouped.db");
  const auto grouped_store = open_store(grouped_db);
  Ledger grouped(*grouped_store, settings);
  prepare(grouped);
  const std::vector<ReplayResult> results = replay_files(grouped, files, kNow, {}, group_entries);
  grouped.expire(kNow);
  audit(*grouped_store);

  REQUIRE(results.size() == expected.size());
  std::int64_t applied = 0;
  std::int64_t refused = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    CHECK(describe(results[i]) == describe(expected[i]));
    applied += expected[i].applied;
    refused += expected[i].refusal.empty() ? 0 : 1;
  }
  const auto want = ledger_lines(*one_store);
  const auto got = ledger_lines(*grouped_store);
  check_same_lines(want, got);
  // The journals did what they were drawn to do.
  CHECK(applied > 0);
  CHECK(refused >= 3);  // the forged file, the stranger and the missing file
  CHECK(want.contains("lots"));
  CHECK(want.at("terminals").size() == journals.size());
}

}  // namespace

TEST_CASE("the grouped replay leaves exactly the ledger that replaying one run at a time does" *
          doctest::test_suite("store")) {
  const std::uint64_t seed = loyalty::testing::env_number("LOYALTY_SEED", std::random_device{}());
  MESSAGE("LOYALTY_SEED=" << seed);
  for (std::uint64_t round = 0; round < 5; ++round) {
    INFO("LOYALTY_SEED=" << seed << ", round " << round);
    compare_replays(seed + round);
  }
}

TEST_CASE("a member's stored lots read after a batch added one come in their places beside it" *
          doctest::test_suite("store")) {
  ledger::testing::LedgerFixture f;
  ledger::testing::Lane& lane = f.lane("T1");
  lane.sale("M1", 100, 0, kNow);
  lane.sale("M1", 50, 0, kNow + 2 * kDayMs);
  f.upload(lane, 1, 2);

  WorkingSet set(f.store);
  const std::string ids[] = {"M1"};
  set.add(ids, {});  // the account only, as for a member who only earns
  MemberState& member = set.member("M1");
  CHECK_FALSE(member.lots_read);
  CHECK(member.lots.empty());
  Lot earned;
  earned.member_id = "M1";
  earned.terminal_id = "T1";
  earned.seq = 3;
  earned.points = 7;
  earned.remaining = 7;
  earned.earned_at_ms = kNow + kDayMs;
  earned.expires_at_ms = kNow + kDayMs + 365 * kDayMs;
  member.add_lot(earned);

  const std::vector<OpenLot>& lots = set.lots(member);
  CHECK(member.lots_read);
  REQUIRE(lots.size() == 3);
  CHECK(lots[0].lot.points == 100);
  CHECK_FALSE(lots[0].dirty);
  CHECK(lots[1].lot.points == 7);
  CHECK(lots[1].dirty);
  CHECK(lots[2].lot.points == 50);
  CHECK_FALSE(lots[2].dirty);
  CHECK(set.lots(member).size() == 3);  // read once
}

TEST_CASE("a replay killed with SIGKILL and run again on the same files applies exactly what was missing") {
  const std::uint64_t seed = loyalty::testing::env_number("LOYALTY_SEED", std::random_device{}());
  MESSAGE("LOYALTY_SEED=" << seed);
  std::mt19937_64 rng(seed);
  TempDir dir;
  constexpr int kFiles = 40;
  constexpr std::int64_t kPerFile = 1000;
  constexpr std::int64_t kGroup = 2 * kPerFile;
  std::vector<DrawnJournal> journals;
  std::vector<std::string> files;
  for (int t = 0; t < kFiles; ++t) {
    journals.push_back(random_journal("T" + std::to_string(t), kPerFile, 0, rng));
    files.push_back((dir / (journals.back().terminal_id + ".db")).string());
    write_journal(files.back(), journals.back());
  }
  const auto enroll_all = [&](const std::string& db) {
    const auto store = open_store(db);
    Ledger ledger(*store, {});
    for (const DrawnJournal& j : journals) ledger.enroll(j.terminal_id, "S1", j.key.public_key().raw(), kNow);
  };
  // What one uninterrupted replay leaves.
  const std::string reference_db = (dir / "reference.db").string();
  enroll_all(reference_db);
  {
    const auto store = open_store(reference_db);
    Ledger ledger(*store, {});
    std::vector<std::filesystem::path> paths(files.begin(), files.end());
    replay_files(ledger, paths, kNow, {}, kGroup);
    audit(*store);  // as loyalty-ledger replay does
  }

  const std::string db = (dir / "ledger.db").string();
  enroll_all(db);
  std::vector<std::string> command{LOYALTY_LEDGER_BINARY, "replay", "--db", db, "--group-entries",
                                   std::to_string(kGroup)};
  command.insert(command.end(), files.begin(), files.end());
  std::int64_t committed = 0;
  {
    loyalty::testing::Child replay(command, STDERR_FILENO);
    // A progress line comes after a group committed.
    REQUIRE_MESSAGE(replay.wait_for_text("entries/s", std::chrono::steady_clock::now() + std::chrono::seconds(120)),
                    replay.output());
    replay.kill_and_reap();
    INFO(replay.output());
    CHECK(replay.output().find("replay: ") != std::string::npos);
    committed = SqliteStore(db).entry_count();
  }
  // Whole groups or nothing: a group is one transaction.
  CHECK(committed > 0);
  CHECK(committed % kGroup == 0);
  WARN_MESSAGE(committed < kFiles * kPerFile, "the replay finished before it was killed: nothing was left to apply");

  std::vector<std::string_view> again{"replay", "--db", db, "--json", "--quiet"};
  again.insert(again.end(), files.begin(), files.end());
  std::ostringstream out, err;
  REQUIRE_MESSAGE(run_cli(again, out, err) == 0, err.str());
  const auto summary = nlohmann::json::parse(out.str());
  CHECK(summary["applied"] == kFiles * kPerFile - committed);
  CHECK(summary["duplicates"] == committed);
  const auto reference = open_store(reference_db);
  const auto replayed = open_store(db);
  const auto want = ledger_lines(*reference);
  const auto got = ledger_lines(*replayed);
  for (const auto& [what, lines] : want) {
    INFO(what);
    if (what == "terminals") continue;  // the replays ran at other times
    const auto found = got.find(what);
    REQUIRE_MESSAGE(found != got.end(), what << " missing");
    CHECK_MESSAGE(lines == found->second, first_difference(lines, found->second));
  }
}
