#include <doctest/doctest.h>

#include <algorithm>
#include <iostream>
#include <random>

#include "storage/journal_scan.hpp"
#include "tests/env.hpp"
#include "tests/ledger/fixtures.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using ledger::testing::kNow;
using ledger::testing::Lane;
using ledger::testing::LedgerFixture;

namespace {

std::string refusal_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Refusal& refusal) {
    return refusal.code() + ": " + refusal.what();
  }
  return "accepted";
}

// What the ledger holds, to show that a refusal changed nothing.
struct Snapshot {
  std::int64_t entries;
  std::int64_t head;
  std::int64_t balance;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

Snapshot snapshot(LedgerFixture& f, const std::string& terminal) {
  return {f.store.entry_count(), f.store.terminal(terminal)->head_seq, f.balance("M1")};
}

}  // namespace

TEST_CASE("each entry is applied once however often it is uploaded" * doctest::test_suite("store")) {
  LedgerFixture f;
  Lane& lane = f.lane("T1");
  for (int i = 0; i < 10; ++i) lane.sale("M1", 10, 0);

  const sync::Ack first = f.upload(lane, 1, 10);
  CHECK(first.acknowledged_through == 10);
  CHECK(first.applied == 10);
  CHECK(first.duplicates == 0);
  CHECK(f.balance("M1") == 100);

  const sync::Ack again = f.upload(lane, 1, 10);
  CHECK(again.acknowledged_through == 10);
  CHECK(again.applied == 0);
  CHECK(again.duplicates == 10);
  CHECK(f.balance("M1") == 100);

  lane.sale("M1", 5, 0);
  const sync::Ack overlap = f.upload(lane, 8, 11);  // a retry that also carries a new entry
  CHECK(overlap.duplicates == 3);
  CHECK(overlap.applied == 1);
  CHECK(overlap.acknowledged_through == 11);
  CHECK(f.balance("M1") == 105);
  CHECK(f.store.entry_count() == 11);
}

TEST_CASE("entries after a gap are held back and applied when the gap fills" * doctest::test_suite("store")) {
  LedgerFixture f;
  Lane& lane = f.lane("T1");
  for (int i = 0; i < 9; ++i) lane.sale("M1", 1, 0);

  const sync::Ack early = f.upload(lane, 4, 6);
  CHECK(early.acknowledged_through == 0);
  CHECK(early.held_back == 3);
  CHECK(f.store.entry_count() == 0);
  CHECK(f.balance("M1") == 0);

  CHECK(f.upload(lane, 8, 9).held_back == 2);  // a second gap

  const sync::Ack filled = f.upload(lane, 1, 3);
  CHECK(filled.applied == 3);
  CHECK(filled.acknowledged_through == 6);  // 1-3, then the held 4-6; 7 is still missing
  CHECK(f.balance("M1") == 6);

  CHECK(f.upload(lane, 7, 7).acknowledged_through == 9);
  CHECK(f.balance("M1") == 9);
  CHECK(f.store.held_run("T1", 1).empty());
  CHECK(f.store.terminal_totals().front().held == 0);
}

TEST_CASE("uploads that are not the terminal's own intact, signed journal are refused and change nothing" *
          doctest::test_suite("store")) {
  LedgerFixture f;
  Lane& lane = f.lane("T1");
  Lane& other = f.lane("T2");
  for (int i = 0; i < 4; ++i) lane.sale("M1", 10, 0);
  other.sale("M1", 99, 0);
  f.upload(lane, 1, 2);
  const Snapshot before = snapshot(f, "T1");

  SUBCASE("another terminal's entries") {
    CHECK(refusal_of([&] { f.ledger.ingest("T1", other.wire(1, 1), kNow); }) ==
          "wrong_terminal: terminal T1 may upload only its own journal; entry 1 belongs to terminal T2");
  }
  SUBCASE("an unknown terminal") {
    CHECK(refusal_of([&] { f.ledger.ingest("T9", lane.wire(3, 4), kNow); }) ==
          "terminal_unknown: terminal T9 is not enrolled at this ledger");
  }
  SUBCASE("a revoked terminal") {
    f.ledger.revoke("T1", kNow);
    CHECK(refusal_of([&] { f.upload(lane, 3, 4); }) == "terminal_revoked: terminal T1 was revoked");
  }
  SUBCASE("a tampered entry, its hash recomputed, fails the signature of the batch") {
    auto entries = lane.wire(3, 4);
    storage::EntryDraft& draft = entries[1].entry.draft;
    draft.points_earned = 10000;
    const auto& e = entries[1].entry;
    entries[1].bytes = storage::canonical_bytes(e.terminal_id, e.seq, e.prev_hash, draft);
    entries[1].entry.hash = storage::sha256(storage::as_bytes(entries[1].bytes));
    CHECK(
        refusal_of([&] {
          f.ledger.ingest("T1", entries, kNow);
        }).starts_with("bad_signature: the signature of entry T1#4 does not verify with the key terminal T1 enrolled"));
  }
  SUBCASE("a tampered entry in the middle breaks the chain") {
    auto entries = lane.wire(3, 4);
    entries[0].entry.draft.points_earned = 10000;
    const auto& e = entries[0].entry;
    entries[0].bytes = storage::canonical_bytes(e.terminal_id, e.seq, e.prev_hash, e.draft);
    entries[0].entry.hash = storage::sha256(storage::as_bytes(entries[0].bytes));
    CHECK(refusal_of([&] { f.ledger.ingest("T1", entries, kNow); }) ==
          "broken_chain: entry T1#4 does not link to the hash of entry 3: an entry was changed, removed or "
          "reordered");
  }
  SUBCASE("a batch that does not continue the chain the ledger holds") {
    auto entries = lane.wire(3, 4);
    entries[0].entry.prev_hash[0] ^= 1;  // as if entry 2 had been another
    CHECK(refusal_of([&] { f.ledger.ingest("T1", entries, kNow); }) ==
          "broken_chain: entry T1#3 does not link to entry 2 the ledger holds");
  }
  SUBCASE("a batch signed with another key") {
    auto entries = lane.wire(3, 4);
    entries[1].entry.signature = storage::PrivateKey::generate().sign(entries[1].entry.hash);
    CHECK(refusal_of([&] { f.ledger.ingest("T1", entries, kNow); }).starts_with("bad_signature: "));
  }
  SUBCASE("a batch whose last entry is unsigned") {
    auto entries = lane.wire(3, 4);
    entries[1].entry.signature.reset();
    CHECK(refusal_of([&] { f.ledger.ingest("T1", entries, kNow); }) ==
          "unsigned_entry: entry T1#4 ends the batch without a signature: only signed entries may be sent");
  }
  SUBCASE("an entry that differs from the one applied with its sequence") {
    // The same terminal id and key, another history: a restored backup that diverged.
    storage::Journal fork(f.dir / "fork.db", "T1", lane.key);
    storage::EntryDraft draft = storage::testing::sale("X1", "M1", 500, 0);
    fork.append(draft, kNow);
    fork.sign_pending();
    const auto entries = sync::batch_from_json(sync::batch_to_json("T1", fork.read(1, 1, 1))).entries;
    CHECK(refusal_of([&] { f.ledger.ingest("T1", entries, kNow); }) ==
          "entry_differs: entry T1#1 differs from the entry with that sequence the ledger applied before");
  }
  CHECK(snapshot(f, "T1") == before);
  CHECK(f.store.held_run("T1", 3).empty());
}

TEST_CASE("a terminal keeps the key it enrolled with once the ledger holds its entries" *
          doctest::test_suite("store")) {
  LedgerFixture f;
  Lane& lane = f.lane("T1");
  const auto other_key = storage::PrivateKey::generate().public_key().raw();
  f.ledger.enroll("T1", "S2", lane.key.public_key().raw(), kNow);  // moved to another store: fine
  CHECK(f.store.terminal("T1")->store_id == "S2");
  f.ledger.enroll("T1", "S2", other_key, kNow);  // no entries yet: a replaced device
  f.ledger.enroll("T1", "S2", lane.key.public_key().raw(), kNow);
  lane.sale("M1", 1, 0);
  f.upload(lane, 1, 1);
  CHECK(refusal_of([&] {
          f.ledger.enroll("T1", "S2", other_key, kNow);
        }).starts_with("key_mismatch: terminal T1 is enrolled with another key"));
  CHECK(refusal_of([&] { f.ledger.enroll("T 1", "S2", other_key, kNow); }).starts_with("terminal_id_invalid"));
}

TEST_CASE("uploads split, reordered and repeated at random end with exactly the union of the journals" *
          doctest::test_suite("store")) {
  const auto seed = static_cast<std::uint32_t>(loyalty::testing::env_number("LOYALTY_SEED", std::random_device{}()));
  std::cout << "uploads at random: LOYALTY_SEED=" << seed << "\n";
  std::mt19937 random(seed);
  LedgerFixture f;
  std::vector<Lane*> lanes{&f.lane("T1"), &f.lane("T2"), &f.lane("T3")};
  std::map<std::string, std::int64_t> expected;  // member -> balance recomputed from the journals
  for (int i = 0; i < 300; ++i) {
    Lane& lane = *lanes[random() % lanes.size()];
    const std::string member = "M" + std::to_string(random() % 5);
    const auto earned = static_cast<std::int64_t>(random() % 50);
    lane.sale(member, earned, 0);
    expected[member] += earned;
  }
  // Upload random slices, in random order, some twice, until every lane is acknowledged.
  for (int round = 0; round < 10000; ++round) {
    Lane& lane = *lanes[random() % lanes.size()];
    const std::int64_t head = lane.journal.head().seq;
    const std::int64_t first = 1 + static_cast<std::int64_t>(random() % static_cast<std::uint32_t>(head));
    const std::int64_t last = std::min(head, first + static_cast<std::int64_t>(random() % 30));
    f.upload(lane, first, last);
    bool done = true;
    for (Lane* l : lanes) done = done && f.store.terminal(l->id)->head_seq == l->journal.head().seq;
    if (done) break;
  }
  for (Lane* l : lanes) {
    const auto applied = f.store.entries(l->id, 1, 100000);
    const auto journal = l->journal.read(1, INT64_MAX, 100000);
    REQUIRE(applied.size() == journal.size());
    for (std::size_t i = 0; i < applied.size(); ++i) CHECK(applied[i].entry.hash == journal[i].hash);
  }
  CHECK(f.store.entry_count() == 300);
  for (const auto& [member, balance] : expected) CHECK(f.balance(member) == balance);
}
