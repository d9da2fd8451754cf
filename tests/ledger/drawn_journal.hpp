// Random terminal journals for the ledger's comparison tests (the grouped replay and grouped
// uploads against one batch at a time), and the ledger's whole state as lines to compare.

#ifndef LOYALTY_TESTS_LEDGER_DRAWN_JOURNAL_HPP_
#define LOYALTY_TESTS_LEDGER_DRAWN_JOURNAL_HPP_

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "storage/journal_scan.hpp"
#include "tests/ledger/fixtures.hpp"

namespace loyalty::ledger::testing {

struct DrawnJournal {
  std::string terminal_id;
  storage::PrivateKey key = storage::PrivateKey::generate();
  std::vector<storage::JournalEntry> entries;
};

// A terminal's random day after day: sales that earn, redeem (sometimes more than the member
// has: conflicts), refunds that claw back and give back, anonymous sales; the last `unsigned_tail`
// entries never signed. Members are PREFIX0 to PREFIX29.
inline DrawnJournal random_journal(const std::string& terminal_id, std::int64_t count, std::int64_t unsigned_tail,
                                   std::mt19937_64& rng, const std::string& member_prefix = "M") {
  DrawnJournal journal;
  journal.terminal_id = terminal_id;
  std::int64_t at = kNow - 500 * kDayMs + static_cast<std::int64_t>(rng() % (3 * kDayMs));
  storage::Digest prev{};
  for (std::int64_t seq = 1; seq <= count; ++seq) {
    at += static_cast<std::int64_t>(rng() % (6 * 60 * 60 * 1000));
    storage::EntryDraft d;
    d.receipt_id = terminal_id + "-R" + std::to_string(seq);
    d.recorded_at_ms = at;
    d.rulebook_version = 1;
    d.payload = "{}";
    const auto roll = rng() % 100;
    if (roll >= 10) d.member_id = member_prefix + std::to_string(rng() % 30);
    if (roll < 5) {
      d.kind = storage::EntryKind::refund;
      d.points_earned = -static_cast<std::int64_t>(rng() % 200);
      d.points_redeemed = -static_cast<std::int64_t>(rng() % 100);
    } else {
      d.points_earned = static_cast<std::int64_t>(rng() % 300);
      d.points_redeemed = roll < 35 ? static_cast<std::int64_t>(1 + rng() % 500) : 0;
    }
    storage::JournalEntry e;
    e.terminal_id = terminal_id;
    e.seq = seq;
    e.prev_hash = prev;
    e.draft = std::move(d);
    e.hash = storage::entry_hash(terminal_id, seq, prev, e.draft);
    if (seq <= count - unsigned_tail) e.signature = journal.key.sign(e.hash);
    e.journaled_at_ms = e.draft.recorded_at_ms;
    prev = e.hash;
    journal.entries.push_back(std::move(e));
  }
  return journal;
}

inline void write_journal(const std::filesystem::path& path, const DrawnJournal& journal) {
  { storage::Journal created(path, journal.terminal_id, journal.key); }
  storage::Database db(path);
  storage::Transaction transaction(db, "write a test journal");
  for (const storage::JournalEntry& e : journal.entries) storage::insert_entry(db, e);
  transaction.commit();
}

// A new, empty store for one of the two ledgers.
inline std::string new_db(const TempDir& dir, const std::string& name) {
  return ledger::testing::on_postgres() ? ledger::testing::postgres_server().create_database() : (dir / name).string();
}

// Everything the ledger holds, as lines to compare (cursors left out: the grouped replay
// moves each member along the feed once per group, not once per run).
inline std::map<std::string, std::vector<std::string>> ledger_lines(LedgerStore& store) {
  std::map<std::string, std::vector<std::string>> out;
  const auto line = [](auto&&... parts) {
    std::ostringstream text;
    ((text << parts << ' '), ...);
    return text.str();
  };
  for (const Terminal& t : store.terminals()) {
    out["terminals"].push_back(
        line(t.terminal_id, t.store_id, t.head_seq, storage::to_hex(t.head_hash), t.audited_through, t.last_upload_ms));
    for (std::int64_t first = 1;;) {
      const auto entries = store.entries(t.terminal_id, first, 5000);
      for (const sync::WireEntry& w : entries) {
        out["entries"].push_back(line(t.terminal_id, w.entry.seq, storage::to_hex(w.entry.hash)));
      }
      if (entries.empty()) break;
      first = entries.back().entry.seq + 1;
    }
  }
  for (const Account& a : store.accounts()) {
    out["accounts"].push_back(
        line(a.member_id, a.balance, a.tier, static_cast<int>(a.status), a.last_redeem_terminal, a.last_redeem_seq));
    for (const Lot& l : store.lots(a.member_id)) {
      out["lots"].push_back(
          line(l.member_id, l.terminal_id, l.seq, l.points, l.remaining, l.expired, l.earned_at_ms, l.expires_at_ms));
    }
  }
  for (const Conflict& c : store.conflicts()) {
    out["conflicts"].push_back(line(c.member_id, c.terminal_id, c.seq, c.receipt_id, c.redeemed, c.available,
                                    c.other_terminal, c.other_seq, c.recorded_at_ms));
  }
  for (const Mismatch& m : store.mismatches()) {
    out["mismatches"].push_back(line(m.terminal_id, m.seq, m.receipt_id, m.rulebook_version, m.problem));
  }
  for (const ReportRow& r : store.report_rows()) {
    out["report"].push_back(line(r.store_id, r.terminal_id, r.rulebook_version, r.entries, r.earned, r.redeemed));
  }
  for (const TerminalTotals& t : store.terminal_totals()) {
    out["totals"].push_back(line(t.terminal_id, t.head_seq, t.held, t.expired, t.conflicts, t.mismatches));
  }
  return out;
}

// The first line where `a` and `b` differ, or "".
inline std::string first_difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string left = i < a.size() ? a[i] : "(none)";
    const std::string right = i < b.size() ? b[i] : "(none)";
    if (left != right) return "line " + std::to_string(i) + ": expected " + left + " / got " + right;
  }
  return "";
}

// Checks that `got` holds every kind of line `want` does, with the same lines.
inline void check_same_lines(const std::map<std::string, std::vector<std::string>>& want,
                             const std::map<std::string, std::vector<std::string>>& got) {
  for (const auto& [what, lines] : want) {
    INFO(what);
    CHECK_MESSAGE(got.contains(what), what << " missing");
    if (got.contains(what)) CHECK_MESSAGE(lines == got.at(what), first_difference(lines, got.at(what)));
  }
  CHECK(got.size() == want.size());
}

}  // namespace loyalty::ledger::testing

#endif  // LOYALTY_TESTS_LEDGER_DRAWN_JOURNAL_HPP_
