#include <doctest/doctest.h>

#include <numeric>

#include "ledger/report.hpp"
#include "tests/ledger/fixtures.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using ledger::testing::kDayMs;
using ledger::testing::kNow;
using ledger::testing::Lane;
using ledger::testing::LedgerFixture;

namespace {

std::int64_t lots_left(LedgerFixture& f, const std::string& member) {
  std::int64_t left = 0;
  for (const Lot& lot : f.store.lots(member)) left += lot.remaining;
  return left;
}

// The invariant of docs/sync-protocol.md: the points left in lots equal a positive balance.
void check_lots(LedgerFixture& f, const std::string& member) {
  CHECK(lots_left(f, member) == std::max<std::int64_t>(f.balance(member), 0));
}

}  // namespace

TEST_CASE("redemptions and clawbacks spend the oldest points first" * doctest::test_suite("store")) {
  LedgerFixture f;
  Lane& lane = f.lane("T1");
  lane.sale("M1", 100, 0, kNow);
  lane.sale("M1", 50, 0, kNow + kDayMs);
  lane.sale("M1", 0, 120, kNow + 2 * kDayMs);
  lane.record(storage::EntryKind::refund, "M1", -20, 0, kNow + 3 * kDayMs);  // clawback
  f.upload(lane, 1, 4);

  CHECK(f.balance("M1") == 10);
  const auto lots = f.store.lots("M1");
  REQUIRE(lots.size() == 2);
  CHECK(lots[0].points == 100);
  CHECK(lots[0].remaining == 0);
  CHECK(lots[1].points == 50);
  CHECK(lots[1].remaining == 10);
  check_lots(f, "M1");
}

TEST_CASE("points a return gives back become a new lot, and a clawback beyond the balance is a debt new points pay" *
          doctest::test_suite("store")) {
  LedgerFixture f;
  Lane& lane = f.lane("T1");
  lane.sale("M1", 100, 0);
  lane.sale("M1", 0, 100);
  lane.record(storage::EntryKind::refund, "M1", -30, -40);  // returned: 40 back, 30 earned taken
  f.upload(lane, 1, 3);
  CHECK(f.balance("M1") == 10);
  check_lots(f, "M1");

  lane.record(storage::EntryKind::refund, "M1", -25, 0);  // clawed back after the points were spent
  f.upload(lane, 4, 4);
  CHECK(f.balance("M1") == -15);
  check_lots(f, "M1");
  CHECK(f.store.conflicts().empty());  // a clawback is not an over-redemption

  lane.sale("M1", 20, 0);
  f.upload(lane, 5, 5);
  CHECK(f.balance("M1") == 5);
  CHECK(lots_left(f, "M1") == 5);
}

TEST_CASE("points expire with their lot, and a redemption cannot spend points that had expired when it was made" *
          doctest::test_suite("store")) {
  LedgerSettings settings;
  settings.expiry_days = 30;
  LedgerFixture f(settings);
  Lane& lane = f.lane("T1");
  lane.sale("M1", 100, 0, kNow);
  lane.sale("M1", 40, 0, kNow + 20 * kDayMs);
  f.upload(lane, 1, 2);

  CHECK(f.ledger.expire(kNow + 29 * kDayMs) == 0);
  CHECK(f.ledger.expire(kNow + 30 * kDayMs) == 100);
  CHECK(f.balance("M1") == 40);
  CHECK(f.ledger.expire(kNow + 30 * kDayMs) == 0);  // once
  check_lots(f, "M1");
  CHECK(f.store.terminal_totals().front().expired == 100);

  // A redemption recorded after the second lot expired, uploaded before the sweep ran.
  lane.sale("M1", 0, 40, kNow + 51 * kDayMs);
  f.upload(lane, 3, 3);
  CHECK(f.balance("M1") == -40);
  REQUIRE(f.store.conflicts().size() == 1);
  CHECK(f.store.conflicts()[0].available == 0);
  CHECK(f.store.terminal_totals().front().expired == 140);
}

TEST_CASE("two lanes redeeming the same points offline record one conflict naming both entries" *
          doctest::test_suite("store")) {
  LedgerFixture f;
  Lane& earn = f.lane("T0");
  earn.sale("M1", 1000, 0);
  f.upload(earn, 1, 1);

  Lane& a = f.lane("T1");
  Lane& b = f.lane("T2", "S2");
  const std::int64_t a_seq = a.sale("M1", 0, 800);
  const std::int64_t b_seq = b.sale("M1", 0, 800);
  f.upload(a, 1, a_seq);
  CHECK(f.store.conflicts().empty());
  f.upload(b, 1, b_seq);
  f.upload(b, 1, b_seq);  // a retry: still one conflict

  const auto conflicts = f.store.conflicts();
  REQUIRE(conflicts.size() == 1);
  const Conflict& c = conflicts.front();
  CHECK(c.member_id == "M1");
  CHECK(c.terminal_id == "T2");
  CHECK(c.seq == b_seq);
  CHECK(c.redeemed == 800);
  CHECK(c.available == 200);
  CHECK(c.other_terminal == "T1");
  CHECK(c.other_seq == a_seq);
  CHECK(f.balance("M1") == -600);  // never dropped: the customer had the discount
  check_lots(f, "M1");
}

TEST_CASE("an authorization holds points until its receipt's entry arrives or the hold expires" *
          doctest::test_suite("store")) {
  LedgerFixture f;
  Lane& lane = f.lane("T1");
  lane.sale("M1", 1000, 0);
  f.upload(lane, 1, 1);

  const Authorization first = f.ledger.authorize("T1", {"M1", "T1-R2", 700}, kNow);
  CHECK(first.outcome == Authorization::Outcome::approved);
  CHECK(first.available == 1000);
  CHECK(first.expires_at_ms == kNow + f.ledger.settings().hold_ttl_ms);

  const Authorization second = f.ledger.authorize("T2", {"M1", "T2-R1", 400}, kNow);
  CHECK(second.outcome == Authorization::Outcome::approved);  // partly: what is left
  CHECK(second.points == 300);
  CHECK(second.available == 300);
  CHECK(f.ledger.authorize("T2", {"M1", "T2-R5", 1}, kNow).outcome == Authorization::Outcome::declined);
  CHECK(f.ledger.authorize("T2", {"M1", "T2-R1", 1}, kNow).points == 1);  // asked again for less
  CHECK(f.store.held_points("M1", kNow) == 701);
  CHECK(f.store.consume_hold("T2", "T2-R1"));

  // Asking again for the same receipt replaces its hold instead of adding to it.
  CHECK(f.ledger.authorize("T1", {"M1", "T1-R2", 700}, kNow).outcome == Authorization::Outcome::approved);

  lane.sale("M1", 0, 700);  // receipt T1-R2 consumes the hold
  f.upload(lane, 2, 2);
  CHECK(f.balance("M1") == 300);
  CHECK(f.store.held_points("M1", kNow) == 0);
  CHECK(f.ledger.authorize("T2", {"M1", "T2-R1", 300}, kNow).outcome == Authorization::Outcome::approved);
  CHECK(f.ledger.authorize("T2", {"M1", "T2-R9", 1}, kNow).outcome == Authorization::Outcome::declined);
  // Expired holds give the points back.
  CHECK(f.ledger.authorize("T2", {"M1", "T2-R9", 1}, kNow + f.ledger.settings().hold_ttl_ms).outcome ==
        Authorization::Outcome::approved);
  CHECK(f.ledger.authorize("T2", {"M9", "T2-R3", 1}, kNow).outcome == Authorization::Outcome::member_unknown);
}

TEST_CASE("the report's issued points are what members' accounts received, not what sales without a member would earn" *
          doctest::test_suite("store")) {
  LedgerFixture f;
  Lane& lane = f.lane("T1");
  lane.sale("M1", 100, 0);
  lane.sale("", 50, 0);  // a sale without a member, journaled with its would-earn figure by an older agent
  lane.sale("M2", 30, 0);
  lane.sale("", 0, 0);
  f.upload(lane, 1, 4);

  const Report report = build_report(f.store);
  CHECK(report.total.entries == 4);
  CHECK(report.total.issued == f.balance("M1") + f.balance("M2"));
  CHECK(report.total.issued == 130);
  CHECK(report.total.liability_points == 130);
}
