#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/cli.hpp"
#include "ledger/replay.hpp"
#include "ledger/report.hpp"
#include "storage/files.hpp"
#include "storage/journal_export.hpp"
#include "tests/ledger/fixtures.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using ledger::testing::kNow;
using ledger::testing::Lane;
using ledger::testing::LedgerFixture;

namespace {

// Two lanes of an outage: T1 and T2 each earn, and both redeem the same 800 of M1's 1000
// points that T0 issued before the outage.
struct Outage : LedgerFixture {
  Outage() {
    Lane& t0 = lane("T0");
    t0.sale("M1", 1000, 0);
    upload(t0, 1, 1);
    Lane& t1 = lane("T1");
    Lane& t2 = lane("T2", "S2");
    for (int i = 0; i < 25; ++i) {
      t1.sale("M2", 10, 0);
      t2.sale("M3", 7, 0);
    }
    t1.sale("M1", 0, 800);
    t2.sale("M1", 0, 800);
  }
  std::vector<std::filesystem::path> files() { return {dir / "T1.db", dir / "T2.db"}; }
};

std::string run(const std::vector<std::string>& args, int expected = 0) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::ostringstream out, err;
  CHECK_MESSAGE(ledger::run_cli(views, out, err) == expected, err.str());
  return out.str() + err.str();
}

}  // namespace

TEST_CASE("replaying the same journal files twice changes nothing the second time" * doctest::test_suite("store")) {
  Outage f;
  for (const auto& file : f.files()) {
    const ReplayResult r = replay_file(f.ledger, file, kNow);
    CHECK(r.refusal == "");
    CHECK(r.entries == 26);
    CHECK(r.applied == 26);
    CHECK(r.acknowledged_through == 26);
  }
  const auto once = report_json(build_report(f.store)).dump();
  const auto accounts = f.store.accounts().size();
  CHECK(f.store.conflicts().size() == 1);

  for (const auto& file : f.files()) {
    const ReplayResult r = replay_file(f.ledger, file, kNow);
    CHECK(r.refusal == "");
    CHECK(r.applied == 0);
    CHECK(r.duplicates == 26);
  }
  CHECK(report_json(build_report(f.store)).dump() == once);
  CHECK(f.store.accounts().size() == accounts);
  CHECK(f.store.conflicts().size() == 1);
  CHECK(f.balance("M1") == -600);
  CHECK(f.balance("M2") == 250);
  CHECK(f.balance("M3") == 175);
}

TEST_CASE("an exported range replays like the journal it came from, and its overlap counts as already applied" *
          doctest::test_suite("store")) {
  Outage f;
  const auto part = f.dir / "T1-part.db";
  storage::export_journal(f.lanes["T1"]->journal.database(), part, storage::ExportSelection::range(10, 26), kNow);

  const ReplayResult early = replay_file(f.ledger, part, kNow);
  CHECK(early.refusal == "");
  CHECK(early.held_back == 17);  // 1-9 are missing at the ledger
  CHECK(early.acknowledged_through == 0);

  const ReplayResult whole = replay_file(f.ledger, f.dir / "T1.db", kNow);
  CHECK(whole.applied == 9 + 17);  // 1-9, then the held 10-26
  CHECK(whole.acknowledged_through == 26);
  CHECK(f.store.entry_count() == 1 + 26);
}

TEST_CASE("a journal file that is not what it claims is refused with the reason, and nothing of it applied" *
          doctest::test_suite("store")) {
  Outage f;
  SUBCASE("a changed entry") {
    storage::Database db(f.dir / "T1.db");
    db.exec("UPDATE journal SET points_earned = 5000 WHERE seq = 7", "tamper");
    const ReplayResult r = replay_file(f.ledger, f.dir / "T1.db", kNow);
    CHECK(r.refusal ==
          "broken_chain: entry T1#8 does not link to the hash of entry 7: an entry was changed, removed or reordered");
    CHECK(r.refused_at == 1);
  }
  SUBCASE("a journal re-signed with another key") {
    storage::Journal forged(f.dir / "forged.db", "T1", storage::PrivateKey::generate());
    forged.append(storage::testing::sale("F1", "M1", 100000, 0), kNow);
    forged.sign_pending();
    const ReplayResult r = replay_file(f.ledger, f.dir / "forged.db", kNow);
    CHECK(r.refusal.starts_with("bad_signature: the signature of entry T1#1 does not verify"));
  }
  SUBCASE("a terminal the ledger never enrolled") {
    storage::Journal stranger(f.dir / "stranger.db", "T9", storage::PrivateKey::generate());
    stranger.append(storage::testing::sale("S1", "M1", 1, 0), kNow);
    stranger.sign_pending();
    CHECK(replay_file(f.ledger, f.dir / "stranger.db", kNow).refusal ==
          "terminal_unknown: terminal T9 is not enrolled at this ledger");
  }
  SUBCASE("a file that is not a journal") {
    storage::write_file_atomically(f.dir / "notes.db", "not a database at all, just text long enough to matter", 0600);
    CHECK(replay_file(f.ledger, f.dir / "notes.db", kNow).refusal.starts_with("damaged: "));
    CHECK(replay_file(f.ledger, f.dir / "missing.db", kNow).refusal == "file_missing: no such file");
  }
  CHECK(f.store.entry_count() == 1);
  CHECK(f.balance("M1") == 1000);
}

TEST_CASE("files replayed in one transaction keep their own outcome: a refused file undoes only its own runs" *
          doctest::test_suite("store")) {
  Outage f;
  storage::Database(f.dir / "T2.db").exec("UPDATE journal SET points_earned = 5000 WHERE seq = 7", "tamper");
  const std::vector<std::filesystem::path> files{f.dir / "T1.db", f.dir / "T2.db", f.dir / "missing.db"};
  std::vector<std::pair<std::size_t, std::int64_t>> finished;
  const auto results = replay_files(f.ledger, files, kNow, [&](std::size_t index, std::int64_t entries, bool done) {
    if (done) finished.emplace_back(index, entries);
  });
  REQUIRE(results.size() == 3);
  CHECK(results[0].refusal == "");
  CHECK(results[0].applied == 26);
  CHECK(results[1].refusal.starts_with("broken_chain: entry T2#8"));
  CHECK(results[2].refusal == "file_missing: no such file");
  CHECK(finished == std::vector<std::pair<std::size_t, std::int64_t>>{{0, 26}, {1, 0}, {2, 0}});
  CHECK(f.store.entry_count() == 1 + 26);
  CHECK(f.store.terminal("T2")->head_seq == 0);
  CHECK(f.balance("M3") == 0);
  CHECK(f.balance("M2") == 250);
}

TEST_CASE("entries a terminal never signed are left out of a replay and counted" * doctest::test_suite("store")) {
  Outage f;
  Lane& t1 = *f.lanes["T1"];
  storage::EntryDraft draft = storage::testing::sale("T1-late", "M2", 5, 0);
  t1.journal.append(draft, kNow);  // the agent stopped before signing it
  const ReplayResult r = replay_file(f.ledger, f.dir / "T1.db", kNow);
  CHECK(r.refusal == "");
  CHECK(r.entries == 26);
  CHECK(r.unsigned_left_out == 1);
  t1.journal.sign_pending();
  CHECK(replay_file(f.ledger, f.dir / "T1.db", kNow).applied == 1);
}

TEST_CASE(
    "the report sums each store and terminal, values the liability by each entry's rulebook, as table, CSV and JSON" *
    doctest::test_suite("store")) {
  Outage f;
  const std::string rulebook =
      storage::read_file(std::filesystem::path(LOYALTY_SOURCE_DIR) / "examples/rulebook-ru.json");
  f.store.publish_rulebook({1, "", rulebook, "test", 0, kNow});  // point value 100 kopecks
  for (const auto& file : f.files()) replay_file(f.ledger, file, kNow);

  const Report report = build_report(f.store);
  CHECK(report.currency == "RUB");
  REQUIRE(report.terminals.size() == 3);
  const ReportLine& t1 = report.terminals[1];
  CHECK(t1.terminal_id == "T1");
  CHECK(t1.entries == 26);
  CHECK(t1.issued == 250);
  CHECK(t1.redeemed == 800);
  CHECK(t1.liability_points == -550);
  CHECK(t1.liability_minor == -55000);
  CHECK(t1.conflicts == 0);
  CHECK(report.terminals[2].conflicts == 1);  // T2's redemption came second
  REQUIRE(report.stores.size() == 2);
  CHECK(report.stores[0].store_id == "S1");
  CHECK(report.stores[0].entries == 27);
  CHECK(report.total.issued == 1000 + 250 + 175);
  CHECK(report.total.redeemed == 1600);
  CHECK(report.total.liability_minor == (1425 - 1600) * 100);

  const std::string db = f.db;
  const std::string table = run({"report", "--db", db});
  CHECK(table.find("S1 / T1") != std::string::npos);
  CHECK(table.find("-550.00") != std::string::npos);
  const std::string csv = run({"report", "--db", db, "--format", "csv"});
  CHECK(csv.find("\r\nS1,T1,26,26,250,800,0,-550,-550.00,RUB,0,0,0\r\n") != std::string::npos);
  const auto as_json = nlohmann::json::parse(run({"report", "--db", db, "--format", "json"}));
  CHECK(as_json["total"]["liability_minor"] == -17500);
  CHECK(run({"report", "--db", db, "--format", "xml"}, 1).find("--format must be table, csv or json") !=
        std::string::npos);
}

// The records of an RFC 4180 text, each a list of fields, quotes undone.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> records(1, std::vector<std::string>(1));
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        records.back().back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        records.back().back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      records.back().emplace_back();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      records.emplace_back(1);
      ++i;
    } else {
      records.back().back() += c;
    }
  }
  if (records.back() == std::vector<std::string>(1)) records.pop_back();
  return records;
}

TEST_CASE("the finance CSV quotes as RFC 4180 says and keeps spreadsheet formulas as text" *
          doctest::test_suite("store")) {
  CHECK(csv_field("S1") == "S1");
  CHECK(csv_field("Store 12, Moscow") == "\"Store 12, Moscow\"");
  CHECK(csv_field("a \"quoted\" name") == "\"a \"\"quoted\"\" name\"");
  CHECK(csv_field("two\nlines") == "\"two\nlines\"");
  CHECK(csv_field("=HYPERLINK(\"http://x\")") == "\"'=HYPERLINK(\"\"http://x\"\")\"");
  for (const char* formula : {"+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"}) {
    CHECK(csv_field(formula) == "\"'" + std::string(formula) + "\"");
  }

  // Store ids are checked like terminal ids now; a ledger enrolled before kept what it had.
  LedgerFixture f;
  Lane& lane = f.lane("T1");
  CHECK_THROWS_WITH_AS(f.ledger.enroll("T2", "Store 12, Moscow", lane.key.public_key().raw(), kNow),
                       doctest::Contains("store id must be 1 to 64 printable ASCII characters"), Refusal);
  lane.sale("M1", 10, 0);
  f.upload(lane, 1, 1);
  for (const std::string& store : {std::string("Store 12, Moscow"), std::string("two\nlines"),
                                   std::string("=HYPERLINK(\"http://x\",\"click\")")}) {
    Terminal terminal = *f.store.terminal("T1");
    terminal.store_id = store;
    f.store.save_terminal(terminal);
    const auto records = parse_csv(report_csv(build_report(f.store)));
    REQUIRE(records.size() == 4);  // header, the terminal, its store, the total
    for (const auto& record : records) CHECK(record.size() == 13);
    CHECK(records[1][0] == (store[0] == '=' ? "'" + store : store));
    CHECK(records[1][1] == "T1");
  }
}

TEST_CASE("loyalty-ledger replay prints a summary and fails when a file is refused") {
  Outage f;
  const std::string db = (f.dir / "ledger.db").string();
  const std::string t1 = (f.dir / "T1.db").string(), t2 = (f.dir / "T2.db").string();
  const std::string first = run({"replay", "--db", db, "--quiet", t1, t2});
  CHECK(first.find("replayed 2 of 2 files") != std::string::npos);
  CHECK(first.find("applied                         52") != std::string::npos);
  const auto again = nlohmann::json::parse(run({"replay", "--db", db, "--quiet", "--json", t1, t2}));
  CHECK(again["applied"] == 0);
  CHECK(again["duplicates"] == 52);
  const std::string missing = run({"replay", "--db", db, "--quiet", (f.dir / "nope.db").string()}, 1);
  CHECK(missing.find("nope.db: file_missing: no such file") != std::string::npos);
}

TEST_CASE("the man page describes every command family the usage text lists") {
  const std::string help = run({"help"});
  std::ifstream in(std::string(LOYALTY_SOURCE_DIR) + "/docs/man/loyalty-ledger.8");
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE_FALSE(page.empty());
  std::istringstream lines(help);
  int families = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("  ") || line.starts_with("   ")) continue;
    const std::string family = line.substr(2, line.find(' ', 2) - 2);  // "pki" of "  pki init --dir ..."
    CAPTURE(family);
    CHECK(page.find(".B " + family) != std::string::npos);
    ++families;
  }
  CHECK(families >= 10);
}
