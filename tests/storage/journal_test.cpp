#include <doctest/doctest.h>

#include "storage/files.hpp"
#include "storage/journal.hpp"
#include "storage/journal_check.hpp"
#include "storage/journal_export.hpp"
#include "storage/local_balance.hpp"
#include "tests/storage/fixtures.hpp"

using namespace loyalty::storage;
using loyalty::storage::testing::kNow;
using loyalty::storage::testing::sale;
using loyalty::storage::testing::TempDir;

namespace {

struct JournalFixture {
  TempDir dir;
  PrivateKey key = PrivateKey::generate();
  Journal journal{dir / "journal.db", "store-7-lane-2", key};

  void append_sales(int count, int first = 1) {
    for (int i = first; i < first + count; ++i) {
      journal.append(sale("R" + std::to_string(i), "M" + std::to_string(i % 3), 10 * i, i % 2 == 0 ? 5 : 0), kNow + i);
    }
    journal.sign_pending();  // as the agent does after each answer
  }
};

std::int64_t rows(Database& db) { return db.query_integer("SELECT count(*) FROM journal").value_or(-1); }

}  // namespace

TEST_CASE("appends get a gapless sequence, each linked to the hash before it, then signed") {
  JournalFixture f;
  f.append_sales(5);
  const auto entries = f.journal.read(1, 100, 100);
  REQUIRE(entries.size() == 5);
  Digest prev{};
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const JournalEntry& e = entries[i];
    CHECK(e.seq == static_cast<std::int64_t>(i + 1));
    CHECK(e.prev_hash == prev);
    CHECK(e.hash == sha256(as_bytes(canonical_bytes("store-7-lane-2", e.seq, prev, e.draft))));
    REQUIRE(e.signature);
    CHECK(f.key.public_key().verify(e.hash, *e.signature));
    CHECK(e.state == EntryState::pending);
    prev = e.hash;
  }
  CHECK(f.journal.head().seq == 5);
  CHECK(f.journal.head().hash == prev);
  CHECK(verify_journal(f.journal.database(), std::nullopt, SignatureCheck::every).ok());
}

TEST_CASE("an append is durable before it is signed, and sign_pending signs the tail in order") {
  JournalFixture f;
  for (int i = 1; i <= 3; ++i) {
    const auto appended = f.journal.append(sale("R" + std::to_string(i), "M1", 10, 0), kNow);
    CHECK_FALSE(appended.entry.signature);
  }
  CHECK(f.journal.database().query_integer("PRAGMA synchronous") == 2);  // FULL
  CHECK(signed_through(f.journal.database()) == 0);
  auto report = verify_journal(f.journal.database(), f.key.public_key(), SignatureCheck::every);
  CHECK(report.ok());
  CHECK(report.unsigned_entries == 3);
  CHECK(journal_stats(f.journal.database()).unsigned_entries == 3);

  CHECK(f.journal.sign_pending() == 3);
  CHECK(f.journal.sign_pending() == 0);
  CHECK(signed_through(f.journal.database()) == 3);
  // Signing relaxes durability for its own commits only.
  CHECK(f.journal.database().query_integer("PRAGMA synchronous") == 2);
  for (const auto& entry : f.journal.read(1, 3, 3)) {
    REQUIRE(entry.signature);
    CHECK(f.key.public_key().verify(entry.hash, *entry.signature));
  }
  report = verify_journal(f.journal.database(), f.key.public_key(), SignatureCheck::every);
  CHECK(report.ok());
  CHECK(report.unsigned_entries == 0);

  f.journal.append(sale("R4", "M1", 10, 0), kNow);
  CHECK(signed_through(f.journal.database()) == 3);
  CHECK(journal_stats(f.journal.database()).unsigned_entries == 1);
}

TEST_CASE("signing spans several batches and survives a reopened journal") {
  TempDir dir;
  const PrivateKey key = PrivateKey::generate();
  {
    Journal journal(dir / "journal.db", "lane-1", key);
    for (int i = 1; i <= 600; ++i) journal.append(sale("R" + std::to_string(i), "M1", 1, 0), kNow);
  }
  Journal journal(dir / "journal.db", "lane-1", key);
  CHECK(journal.sign_pending() == 600);
  const auto report = verify_journal(journal.database(), key.public_key(), SignatureCheck::every);
  CHECK(report.ok());
  CHECK(report.entries == 600);
  CHECK(report.unsigned_entries == 0);
}

TEST_CASE("signing refuses an entry changed since its append and signs nothing") {
  JournalFixture f;
  f.append_sales(2);
  f.journal.append(sale("R3", "M1", 10, 0), kNow);
  f.journal.append(sale("R4", "M1", 10, 0), kNow);
  f.journal.database().exec("UPDATE journal SET points_earned = 99999 WHERE seq = 4", "tamper");
  try {
    f.journal.sign_pending();
    FAIL("a changed entry was signed");
  } catch (const Error& error) {
    CHECK(error.damaged());
    CHECK(std::string(error.what()).find("sign journal entry 4") != std::string::npos);
  }
  CHECK(signed_through(f.journal.database()) == 2);  // entry 3 was in the same refused batch
  CHECK(f.journal.database().query_integer("PRAGMA synchronous") == 2);
}

TEST_CASE("a signature removed from before a signed entry is found by verify") {
  JournalFixture f;
  f.append_sales(6);
  f.journal.database().exec("UPDATE journal SET signature = NULL WHERE seq = 4", "tamper");
  const auto report = verify_journal(f.journal.database(), std::nullopt, SignatureCheck::last);
  CHECK(report.first_bad_seq == 4);
  CHECK(report.problem == "entry 4 has no signature, yet entry 5 after it is signed: a signature was removed");
}

TEST_CASE("the appended entry reads back exactly as it was journaled") {
  JournalFixture f;
  const auto appended = f.journal.append(sale("R1", "M9", 125, 40), kNow);
  CHECK(appended.outcome == Appended::new_entry);
  f.journal.sign_pending();
  const auto found = f.journal.find_receipt("R1");
  REQUIRE(found);
  CHECK(found->seq == appended.entry.seq);
  CHECK(same_transaction(found->draft, sale("R1", "M9", 125, 40)));
  CHECK(found->draft.recorded_at_ms == sale("R1", "M9", 125, 40).recorded_at_ms);
  CHECK(found->hash == appended.entry.hash);
  REQUIRE(found->signature);
  CHECK(f.key.public_key().verify(found->hash, *found->signature));
  CHECK(found->journaled_at_ms == kNow);
  CHECK(found->balance_change() == 85);
  CHECK_FALSE(f.journal.find_receipt("R2"));
  CHECK_FALSE(f.journal.find(2));
}

TEST_CASE("a retried append with the same receipt returns the existing entry and journals nothing") {
  JournalFixture f;
  const auto first = f.journal.append(sale("R1", "M1", 100, 0), kNow);
  EntryDraft retry = sale("R1", "M1", 100, 0);
  retry.recorded_at_ms += 1500;  // the retry was recorded later; it is the same transaction
  const auto second = f.journal.append(retry, kNow + 2000);
  CHECK(second.outcome == Appended::already_journaled);
  CHECK(second.entry.seq == first.entry.seq);
  CHECK(second.entry.hash == first.entry.hash);
  CHECK(rows(f.journal.database()) == 1);
}

TEST_CASE("a receipt id reused for a different transaction is refused and changes nothing") {
  JournalFixture f;
  f.journal.append(sale("R1", "M1", 100, 0), kNow);
  try {
    f.journal.append(sale("R1", "M1", 999, 0), kNow);
    FAIL("a conflicting receipt was journaled");
  } catch (const ReceiptConflict& conflict) {
    CHECK(conflict.seq() == 1);
    CHECK(std::string(conflict.what()).find("receipt 'R1' was already journaled as entry 1") == 0);
  }
  CHECK(rows(f.journal.database()) == 1);
  CHECK(f.journal.find(1)->draft.points_earned == 100);
}

TEST_CASE("drafts that break the journal's rules are refused with the field named and change nothing") {
  JournalFixture f;
  struct Bad {
    const char* expected;
    EntryDraft draft;
  };
  std::vector<Bad> bad;
  auto with = [](auto change) {
    EntryDraft draft = sale("R1", "M1", 10, 0);
    change(draft);
    return draft;
  };
  bad.push_back({"receipt_id", with([](EntryDraft& d) { d.receipt_id.clear(); })});
  bad.push_back({"receipt_id", with([](EntryDraft& d) { d.receipt_id = std::string(65, 'r'); })});
  bad.push_back({"receipt_id", with([](EntryDraft& d) { d.receipt_id = "R 1"; })});
  bad.push_back({"member_id", with([](EntryDraft& d) { d.member_id = "M\n1"; })});
  bad.push_back({"points_earned", with([](EntryDraft& d) { d.points_earned = kMaxEntryPoints + 1; })});
  bad.push_back({"points_redeemed", with([](EntryDraft& d) { d.points_redeemed = -kMaxEntryPoints - 1; })});
  bad.push_back({"points_earned - points_redeemed", with([](EntryDraft& d) {
                   d.points_earned = kMaxEntryPoints;
                   d.points_redeemed = -1;
                 })});
  bad.push_back({"rulebook_version", with([](EntryDraft& d) { d.rulebook_version = -1; })});
  bad.push_back({"payload", with([](EntryDraft& d) { d.payload.assign(kMaxPayloadBytes + 1, 'x'); })});
  bad.push_back({"kind", with([](EntryDraft& d) { d.kind = static_cast<EntryKind>(9); })});
  for (const Bad& b : bad) {
    CAPTURE(b.expected);
    try {
      f.journal.append(b.draft, kNow);
      FAIL("a bad draft was journaled");
    } catch (const InvalidEntry& error) {
      CHECK(std::string(error.what()).find(b.expected) == 0);
    }
  }
  CHECK(rows(f.journal.database()) == 0);
  CHECK(f.journal.head().seq == 0);
}

TEST_CASE("canonical bytes decode back to the entry and reject anything malformed") {
  const EntryDraft draft = sale("R7", "M3", -40, 25);
  Digest prev{};
  prev[0] = 0xab;
  const std::string bytes = canonical_bytes("store-1", 7, prev, draft);
  const auto parsed = parse_canonical_bytes(bytes);
  REQUIRE(parsed);
  CHECK(parsed->terminal_id == "store-1");
  CHECK(parsed->seq == 7);
  CHECK(parsed->prev_hash == prev);
  CHECK(same_transaction(parsed->draft, draft));
  CHECK(parsed->draft.recorded_at_ms == draft.recorded_at_ms);
  CHECK_FALSE(parse_canonical_bytes(bytes.substr(0, bytes.size() - 1)));
  CHECK_FALSE(parse_canonical_bytes(bytes + "x"));
  CHECK_FALSE(parse_canonical_bytes("LJE2" + bytes.substr(4)));
  CHECK_FALSE(parse_canonical_bytes(""));
}

TEST_CASE("a journal refuses another terminal's id or another key") {
  TempDir dir;
  const PrivateKey key = PrivateKey::generate();
  { Journal journal(dir / "journal.db", "lane-1", key); }
  CHECK_THROWS_WITH_AS(Journal(dir / "journal.db", "lane-2", key), doctest::Contains("belongs to terminal 'lane-1'"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(Journal(dir / "journal.db", "lane-1", PrivateKey::generate()),
                       doctest::Contains("signed with another key"), std::runtime_error);
  CHECK_NOTHROW(Journal(dir / "journal.db", "lane-1", key));
  CHECK_THROWS_AS(Journal(dir / "other.db", "lane 1", key), InvalidEntry);
  CHECK_FALSE(std::filesystem::exists(dir / "other.db"));
}

TEST_CASE("acknowledgements advance a contiguous prefix and pending lists the rest in order") {
  JournalFixture f;
  f.append_sales(10);
  CHECK(f.journal.pending_count() == 10);
  CHECK(f.journal.acknowledge(1, 4, 100) == 4);
  CHECK(f.journal.acknowledge(3, 6, 101) == 2);  // 3 and 4 were acknowledged already
  CHECK(f.journal.pending_count() == 4);
  const auto next = f.journal.pending(3);
  REQUIRE(next.size() == 3);
  CHECK(next[0].seq == 7);
  CHECK(next[2].seq == 9);
  CHECK(next[0].prev_hash == f.journal.find(6)->hash);
  CHECK_THROWS_WITH_AS(f.journal.acknowledge(9, 11, 102), doctest::Contains("this journal ends at 10"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(f.journal.acknowledge(8, 9, 102), doctest::Contains("would leave 7..7 behind"),
                       std::invalid_argument);
  CHECK(f.journal.pending_count() == 4);
  CHECK(f.journal.find(6)->state == EntryState::acknowledged);
  CHECK(f.journal.find(7)->state == EntryState::pending);
}

TEST_CASE("a member's entries after a sequence come back in order, and no one else's") {
  JournalFixture f;
  f.append_sales(10);  // members M1, M2, M0, M1, ...
  f.journal.append(sale("R11", "", 0, 0), kNow + 11);
  const auto later = f.journal.member_entries("M1", 1, 100);
  REQUIRE(later.size() == 3);
  CHECK(later[0].seq == 4);
  CHECK(later[1].seq == 7);
  CHECK(later[2].draft.receipt_id == "R10");
  CHECK(f.journal.member_entries("M1", 1, 2).size() == 2);
  CHECK(f.journal.member_entries("M1", 10, 100).empty());
  CHECK(f.journal.member_entries("", 0, 100).empty());  // sales without a member are nobody's
}

TEST_CASE("pending redemptions follow appends, returns and acknowledgements, for the terminal and a member") {
  JournalFixture f;
  CHECK(f.journal.pending_redemptions("M1").terminal == 0);
  f.journal.append(sale("R1", "M1", 10, 300), kNow + 1);
  f.journal.append(sale("R2", "M2", 10, 200), kNow + 2);
  CHECK(f.journal.pending_redemptions("M1").terminal == 500);
  CHECK(f.journal.pending_redemptions("M1").member == 300);
  // Entries journaled since the last sum are added to it; a retried append adds nothing.
  f.journal.append(sale("R3", "M1", 10, 50), kNow + 3);
  f.journal.append(sale("R3", "M1", 10, 50), kNow + 3);
  EntryDraft back = sale("R4", "M1", -2, -40);  // a return gives redeemed points back
  back.kind = EntryKind::refund;
  f.journal.append(back, kNow + 4);
  CHECK(f.journal.pending_redemptions("M1").terminal == 510);
  CHECK(f.journal.pending_redemptions("M2").member == 200);
  // An acknowledgement takes its entries out of the sums; later appends count again.
  f.journal.sign_pending();
  f.journal.acknowledge(1, 2, 1);
  CHECK(f.journal.pending_redemptions("M1").terminal == 10);
  CHECK(f.journal.pending_redemptions("M1").member == 10);
  CHECK(f.journal.pending_redemptions("M2").member == 0);
  f.journal.append(sale("R5", "M2", 10, 70), kNow + 5);
  CHECK(f.journal.pending_redemptions("").terminal == 80);
  // A second journal object on the same file (the agent restarted) sums the same.
  Journal reopened(f.dir / "journal.db", "store-7-lane-2", f.key);
  CHECK(reopened.pending_redemptions("M2").terminal == 80);
  CHECK(reopened.pending_redemptions("M2").member == 70);
}

TEST_CASE("pruning removes only old acknowledged entries and the chain still verifies") {
  JournalFixture f;
  f.append_sales(10);  // journaled at kNow + 1 .. kNow + 10
  f.journal.acknowledge(1, 6, 1);
  CHECK(f.journal.prune(kNow + 4) == 3);  // 1..3 are old and acknowledged; 4 is too young
  CHECK_FALSE(f.journal.find(3));
  CHECK(f.journal.find(4));
  CHECK(read_anchor(f.journal.database()).first_seq == 4);
  CHECK(f.journal.prune(kNow + 1000) == 3);  // stops at 7, the first pending entry
  CHECK(f.journal.find(7));
  CHECK(f.journal.pending_count() == 4);
  CHECK(verify_journal(f.journal.database(), f.key.public_key(), SignatureCheck::every).ok());

  f.journal.acknowledge(7, 10, 2);
  CHECK(f.journal.prune(kNow + 1000) == 3);  // the head, 10, always stays
  CHECK(f.journal.head().seq == 10);
  f.journal.append(sale("R11", "M1", 1, 0), kNow + 2000);
  const auto report = verify_journal(f.journal.database(), f.key.public_key(), SignatureCheck::every);
  CHECK(report.ok());
  CHECK(report.first_seq == 10);
  CHECK(report.last_seq == 11);
}

TEST_CASE("the local balance counts this terminal's entries until the cache reflects them") {
  JournalFixture f;
  const IdentifierHasher hasher("a provisioned secret of the chain");
  MemberCache cache(f.dir / "members.db", hasher);
  const Digest card = hasher.key(IdentifierKind::card, "4000001234567899");
  MemberDelta delta{
      MemberDelta::Change::upsert, {"M1", 500, "silver", loyalty::domain::MemberStatus::active, 0}, {card}};
  REQUIRE(cache.apply(std::span(&delta, 1), 10) == Applied::applied);

  f.journal.append(sale("R1", "M1", 30, 200), kNow);  // -170
  f.journal.append(sale("R2", "M2", 99, 0), kNow);    // another member
  auto view = local_view(card, cache, f.journal);
  REQUIRE(view);
  CHECK(view->unsettled_points == -170);
  CHECK(view->local_balance == 330);

  // The ledger acknowledges R1 at feed position 12; until the cache has applied feed position
  // 12, its balance does not include R1 and the view must still subtract it.
  f.journal.acknowledge(1, 1, 12);
  CHECK(local_view(card, cache, f.journal)->local_balance == 330);
  delta.member.balance = 330;
  REQUIRE(cache.apply(std::span(&delta, 1), 12) == Applied::applied);
  view = local_view(card, cache, f.journal);
  CHECK(view->unsettled_points == 0);
  CHECK(view->local_balance == 330);
  CHECK_FALSE(local_view(hasher.key(IdentifierKind::card, "4000000000000002"), cache, f.journal));
}

TEST_CASE("an export holds the range with its anchor and verifies on its own") {
  JournalFixture f;
  f.append_sales(20);
  const auto summary = export_journal(f.journal.database(), f.dir / "range.db", ExportSelection::range(5, 12), kNow);
  CHECK(summary.entries == 8);
  CHECK(summary.first_seq == 5);
  CHECK(summary.last_seq == 12);
  CHECK_FALSE(std::filesystem::exists(f.dir / "range.db-wal"));
  CHECK_FALSE(std::filesystem::exists(f.dir / "range.db.tmp"));

  auto exported = open_journal_database(f.dir / "range.db", Creation::read_only);
  const auto report = verify_journal(*exported, f.key.public_key(), SignatureCheck::every);
  CHECK(report.ok());
  CHECK(report.entries == 8);
  CHECK(report.head_hash == f.journal.find(12)->hash);
  CHECK(read_anchor(*exported).prev_hash == f.journal.find(4)->hash);
  CHECK(read_identity(*exported)->terminal_id == "store-7-lane-2");
}

TEST_CASE("an export of everything pending starts at the oldest pending entry and stops before unsigned ones") {
  JournalFixture f;
  f.append_sales(10);
  f.journal.acknowledge(1, 7, 1);
  f.journal.append(sale("R11", "M1", 10, 0), kNow);
  f.journal.append(sale("R12", "M1", 10, 0), kNow);
  const auto summary = export_journal(f.journal.database(), f.dir / "pending.db", ExportSelection::pending(), kNow);
  CHECK(summary.entries == 3);
  CHECK(summary.first_seq == 8);
  CHECK(summary.last_seq == 10);
  CHECK(summary.unsigned_left_out == 2);
  CHECK_THROWS_AS(export_journal(f.journal.database(), f.dir / "pending.db", ExportSelection::pending(), kNow),
                  FileError);
  auto exported = open_journal_database(f.dir / "pending.db", Creation::read_only);
  CHECK(verify_journal(*exported, f.key.public_key(), SignatureCheck::every).ok());
}

TEST_CASE("a changed entry is found by verify, naming the first bad sequence") {
  JournalFixture f;
  f.append_sales(12);
  Database& db = f.journal.database();

  SUBCASE("a changed amount") {
    db.exec("UPDATE journal SET points_earned = points_earned + 1000 WHERE seq = 7", "tamper");
    const auto report = verify_journal(db, std::nullopt, SignatureCheck::every);
    CHECK(report.first_bad_seq == 7);
    CHECK(report.problem.find("does not match its hash") != std::string::npos);
    CHECK(verify_journal(db, std::nullopt, SignatureCheck::last).first_bad_seq == 7);
  }
  SUBCASE("a changed payload with its hash recomputed") {
    auto entry = *f.journal.find(5);
    entry.draft.payload = R"({"receipt_id":"R5","lines":[]})";
    const Digest forged = sha256(as_bytes(canonical_bytes(entry.terminal_id, 5, entry.prev_hash, entry.draft)));
    Statement update(db, "UPDATE journal SET payload = ?, hash = ? WHERE seq = 5");
    update.bind_blob(1, as_bytes(entry.draft.payload)).bind_blob(2, forged).run();
    const auto report = verify_journal(db, std::nullopt, SignatureCheck::every);
    CHECK(report.first_bad_seq == 5);
    CHECK(report.problem.find("signature") != std::string::npos);
  }
  SUBCASE("a deleted entry") {
    db.exec("DELETE FROM journal WHERE seq = 9", "tamper");
    const auto report = verify_journal(db, std::nullopt, SignatureCheck::every);
    CHECK(report.first_bad_seq == 9);
    CHECK(report.problem == "entry 9 is missing (the next one is 10)");
  }
  SUBCASE("a whole chain rewritten with another key fails against the enrolled key") {
    const PrivateKey other = PrivateKey::generate();
    Digest prev{};
    for (auto& entry : f.journal.read(1, 12, 12)) {
      entry.draft.points_earned *= 2;
      const Digest hash = sha256(as_bytes(canonical_bytes(entry.terminal_id, entry.seq, prev, entry.draft)));
      Statement update(db, "UPDATE journal SET points_earned = ?, hash = ?, signature = ? WHERE seq = ?");
      update.bind(1, entry.draft.points_earned).bind_blob(2, hash).bind_blob(3, other.sign(hash)).bind(4, entry.seq);
      update.run();
      prev = hash;
    }
    db.exec("UPDATE journal_meta SET value = x'" + to_hex(other.public_key().raw()) + "' WHERE key = 'public_key'",
            "replace the recorded key");
    CHECK(verify_journal(db, std::nullopt, SignatureCheck::every).ok());  // self-consistent forgery
    const auto report = verify_journal(db, f.key.public_key(), SignatureCheck::every);
    CHECK(report.first_bad_seq == 1);
    CHECK(verify_journal(db, f.key.public_key(), SignatureCheck::last).first_bad_seq == 12);
  }
}

TEST_CASE("stats count entries, pending work and points") {
  JournalFixture f;
  f.append_sales(6);
  f.journal.acknowledge(1, 2, 1);
  const JournalStats stats = journal_stats(f.journal.database());
  CHECK(stats.terminal_id == "store-7-lane-2");
  CHECK(stats.entries == 6);
  CHECK(stats.first_seq == 1);
  CHECK(stats.last_seq == 6);
  CHECK(stats.pending == 4);
  CHECK(stats.acknowledged == 2);
  CHECK(stats.oldest_pending_journaled_at_ms == kNow + 3);
  CHECK(stats.points_earned == 10 + 20 + 30 + 40 + 50 + 60);
  CHECK(stats.points_redeemed == 15);
  CHECK(stats.database_bytes > 0);
}

TEST_CASE("the journal records each agent release once, from the first entry it could write") {
  JournalFixture f;
  f.journal.record_release("0.2.0", kNow);
  f.append_sales(3);
  f.journal.record_release("0.2.0", kNow + 1000);  // a restart of the same release
  f.journal.record_release("0.3.0", kNow + 2000);
  f.append_sales(1, 4);
  auto db = open_journal_database(f.dir / "journal.db", Creation::read_only);
  const JournalStats stats = journal_stats(*db);
  REQUIRE(stats.releases.size() == 2);
  CHECK(stats.releases[0].release == "0.2.0");
  CHECK(stats.releases[0].first_started_at_ms == kNow);
  CHECK(stats.releases[0].first_seq == 1);
  CHECK(stats.releases[1].release == "0.3.0");
  CHECK(stats.releases[1].first_seq == 4);
}

TEST_CASE("a journal at the newest schema is accepted by the release before it and stays intact") {
  // The rollback a store makes when a new release misbehaves: the release that knows one schema
  // version less accepts the journal as it is (tests/deploy/upgrade-test runs the real one).
  JournalFixture f;
  f.append_sales(5);
  const auto schema = journal_schema();
  {
    Database db(f.dir / "journal.db");
    CHECK(migrate(db, schema.first(schema.size() - 1), "journal") == static_cast<int>(schema.size()));
  }
  f.append_sales(2, 6);
  auto db = open_journal_database(f.dir / "journal.db", Creation::must_exist);
  CHECK(db->query_integer("PRAGMA user_version") == static_cast<std::int64_t>(schema.size()));
  CHECK(verify_journal(*db, f.key.public_key(), SignatureCheck::every).ok());
  CHECK(rows(*db) == 7);
}
