// The ledger's audit: each sale is priced again with the rulebook version it cites, from the
// basket and member it recorded (the commit's payload), and what it recorded (points earned
// and redeemed) must come out the same. A sale that does not is recorded as a mismatch naming
// the figures: a terminal with wrong code, a tampered rulebook cache, or a bug in the engine.
//
// The audit runs after ingest, not inside it: pricing a basket costs tens of microseconds and
// would halve the ledger's ingest rate during a Black Friday backlog. Each terminal's entries
// are audited in sequence order from where the last audit stopped; an entry citing a rulebook
// version not published here stops that terminal's audit until it is.
//
// A sale's time is checked too: recorded later than the ledger last received the terminal's
// entries, or earlier than the entry journaled before it, by more than kClockToleranceMs, is a
// mismatch naming both times. (The agent prices at its own clock when the POS's is off; this
// catches a terminal whose own clock lies.)

#ifndef LOYALTY_LEDGER_AUDIT_HPP_
#define LOYALTY_LEDGER_AUDIT_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/rulebook.hpp"
#include "ledger/store.hpp"

namespace loyalty::ledger {

struct AuditSummary {
  std::int64_t sales = 0;                           // sales priced again
  std::int64_t mismatches = 0;                      // of them, disagreeing (in price or in time)
  std::int64_t clock_problems = 0;                  // of the mismatches, those whose time is off
  std::int64_t skipped = 0;                         // entries that are not sales (voids, returns, adjustments)
  std::vector<std::int64_t> waiting_for_rulebooks;  // versions cited but not published
};

inline constexpr std::int64_t kClockToleranceMs = 15 * 60 * 1000;

// Audits every terminal's entries after its audited_through.
AuditSummary audit(LedgerStore& store);

// The problem with one sale priced with `rules` (the version it cites), or "" when it prices as
// recorded. Throws nothing: a payload that cannot be read is a problem too.
std::string audit_sale(const storage::JournalEntry& entry, const domain::Rulebook& rules);

// Why a sale recorded at `recorded_at_ms` cannot have happened then, or "": after the
// terminal's last upload, or before the entry journaled before it (`previous_at_ms`).
std::string clock_problem(std::int64_t recorded_at_ms, std::optional<std::int64_t> previous_at_ms,
                          std::int64_t last_upload_ms);

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_AUDIT_HPP_
