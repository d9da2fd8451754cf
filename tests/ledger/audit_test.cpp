#include <doctest/doctest.h>

#include "agent/checkout.hpp"
#include "ledger/audit.hpp"
#include "storage/files.hpp"
#include "sync/datetime.hpp"
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

TEST_CASE("the audit prices each sale again with the rulebook it cites and records those that disagree" *
          doctest::test_suite("store")) {
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

TEST_CASE("the audit waits for a rulebook version that is not published, and continues once it is" *
          doctest::test_suite("store")) {
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

TEST_CASE("a sale whose payload cannot be priced again is a mismatch that says why" * doctest::test_suite("store")) {
  const domain::Rulebook rules = example_rules();
  storage::JournalEntry entry;
  entry.draft.kind = storage::EntryKind::sale;
  entry.draft.payload = "{}";
  CHECK(audit_sale(entry, rules) == "the payload holds no basket to price again");
  entry.draft.payload = R"({"request": {"basket": {"currency": "EUR", "lines": []}}})";
  CHECK(audit_sale(entry, rules).starts_with("the sale cannot be priced again: "));
}

TEST_CASE("the audit flags sales whose time is after the terminal's upload or before the entry journaled before" *
          doctest::test_suite("store")) {
  AuditFixture f;
  const storage::JournalEntry sale = *f.lane_t1.journal.find(1);
  const auto copy_at = [&](const std::string& receipt, std::int64_t at_ms) {
    storage::EntryDraft draft = sale.draft;
    draft.receipt_id = receipt;
    draft.recorded_at_ms = at_ms;
    f.lane_t1.journal.append(draft, kNow);
  };
  const std::int64_t first = sale.draft.recorded_at_ms;
  copy_at("a-minute-later", first + 60'000);
  copy_at("two-days-back", first - 2 * ledger::testing::kDayMs);
  copy_at("ten-days-ahead", first + 10 * ledger::testing::kDayMs);
  copy_at("ten-minutes-back", first + 10 * ledger::testing::kDayMs - 10 * 60'000);  // within the tolerance
  f.lane_t1.journal.sign_pending();
  f.upload(f.lane_t1, 1, 5, first + 3600'000);

  const AuditSummary summary = audit(f.store);
  CHECK(summary.sales == 5);
  CHECK(summary.clock_problems == 3);
  std::map<std::string, std::string> problems;
  for (const Mismatch& m : f.store.mismatches()) problems[m.receipt_id] = m.problem;
  CHECK(problems.count(sale.draft.receipt_id) == 0);
  CHECK(problems.count("a-minute-later") == 0);
  CHECK_MESSAGE(problems["two-days-back"].find("clock: recorded at " +
                                               sync::format_rfc3339_utc((first - 2 * ledger::testing::kDayMs) / 1000) +
                                               ", 2 days before the entry journaled before it") != std::string::npos,
                problems["two-days-back"]);
  CHECK_MESSAGE(
      problems["ten-days-ahead"].find("after the ledger last received this terminal's entries") != std::string::npos,
      problems["ten-days-ahead"]);
  // Still ahead of the upload, though not of the entry before it.
  CHECK(problems["ten-minutes-back"].find("after the ledger last received") != std::string::npos);

  CHECK(clock_problem(1000, std::nullopt, 0) == "");
  CHECK(clock_problem(kClockToleranceMs + 1, std::nullopt, 0).starts_with("clock: recorded at"));
  CHECK(clock_problem(0, kClockToleranceMs, kClockToleranceMs) == "");
  CHECK(clock_problem(0, kClockToleranceMs + 60'000, kClockToleranceMs) ==
        "clock: recorded at 1970-01-01T00:00:00Z, 16 minutes before the entry journaled before it "
        "(1970-01-01T00:16:00Z)");
}
