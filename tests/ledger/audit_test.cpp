#include <doctest/doctest.h>

#include "agent/checkout.hpp"
#include "ledger/audit.hpp"
#include "storage/files.hpp"
#include "sync/rulebook_json.hpp"
#include "tests/ledger/fixtures.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using ledger::testing::kNow;
using ledger::testing::Lane;
using ledger::testing::LedgerFixture;

namespace {

std::string example(const std::string& name) {
  return storage::read_file(std::filesystem::path(LOYALTY_SOURCE_DIR) / "examples" / name);
}

domain::Rulebook example_rules() {
  return sync::rulebook_from_json(runtime::parse_json(example("rulebook-ru.json"), "rulebook"));
}

// A sale committed by the agent's own checkout at lane T1, for gold member M1.
struct AuditFixture : LedgerFixture {
  AuditFixture() : lane_t1(lane("T1")) {
    store.publish_rulebook({1, "", example("rulebook-ru.json"), "central", 0, kNow});
    storage::MemberDelta delta;
    delta.member = {"M1", 5000, "gold", domain::MemberStatus::active, 1};
    members.apply(std::vector<storage::MemberDelta>{delta}, 1);
    checkout.set_rulebook(example_rules());
    runtime::Json request;
    request["basket"] = runtime::parse_json(example("basket-ru.json"), "basket");
    request["member_id"] = "M1";
    checkout.commit(agent::read_sale_request(std::move(request), agent::SaleCall::commit));
    lane_t1.journal.sign_pending();
  }

  Lane& lane_t1;
  const storage::IdentifierHasher& hasher = ledger::testing::chain_hasher();
  storage::MemberCache members{dir / "members.db", hasher};
  agent::Checkout checkout{lane_t1.journal, members, hasher, "7", [] { return kNow; }};
};

}  // namespace

TEST_CASE("the audit prices each sale again with the rulebook it cites and records those that disagree") {
  AuditFixture f;
  const storage::JournalEntry sale = *f.lane_t1.journal.find(1);
  CHECK(sale.draft.points_redeemed == 300);
  CHECK(audit_sale(sale, example_rules()) == "");

  // The same sale as a terminal with a wrong engine would have recorded it.
  storage::EntryDraft wrong = sale.draft;
  wrong.receipt_id = "wrong-engine";
  wrong.points_earned += 7;
  f.lane_t1.journal.append(wrong, kNow);
  f.lane_t1.record(storage::EntryKind::refund, "M1", -5, 0);  // not a sale: not priced again
  f.upload(f.lane_t1, 1, 3);

  const AuditSummary summary = audit(f.store);
  CHECK(summary.sales == 2);
  CHECK(summary.skipped == 1);
  CHECK(summary.mismatches == 1);
  const auto mismatches = f.store.mismatches();
  REQUIRE(mismatches.size() == 1);
  CHECK(mismatches[0].seq == 2);
  CHECK(mismatches[0].receipt_id == "wrong-engine");
  CHECK(mismatches[0].problem ==
        "earned " + std::to_string(wrong.points_earned) + ", priced again " + std::to_string(sale.draft.points_earned));
  CHECK(f.store.terminal("T1")->audited_through == 3);
  CHECK(audit(f.store).sales == 0);  // each sale once
  CHECK(f.store.terminal_totals().front().mismatches == 1);
}

TEST_CASE("the audit waits for a rulebook version that is not published, and continues once it is") {
  AuditFixture f;
  f.lane_t1.sale("M1", 10, 0);  // cites version 1 like the first
  LedgerFixture other;          // a ledger without the rulebook
  const auto entries = f.lane_t1.wire(1, 2);
  other.ledger.enroll("T1", "S1", f.lane_t1.key.public_key().raw(), kNow);
  other.ledger.ingest("T1", entries, kNow);
  const AuditSummary waiting = audit(other.store);
  CHECK(waiting.sales == 0);
  CHECK(waiting.waiting_for_rulebooks == std::vector<std::int64_t>{1});
  CHECK(other.store.terminal("T1")->audited_through == 0);
  other.store.publish_rulebook({1, "", example("rulebook-ru.json"), "central", 0, kNow});
  CHECK(audit(other.store).sales == 2);
}

TEST_CASE("a sale whose payload cannot be priced again is a mismatch that says why") {
  const domain::Rulebook rules = example_rules();
  storage::JournalEntry entry;
  entry.draft.kind = storage::EntryKind::sale;
  entry.draft.payload = "{}";
  CHECK(audit_sale(entry, rules) == "the payload holds no basket to price again");
  entry.draft.payload = R"({"request": {"basket": {"currency": "EUR", "lines": []}}})";
  CHECK(audit_sale(entry, rules).starts_with("the sale cannot be priced again: "));
}
