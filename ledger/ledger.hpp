// The ledger's accounting: applying terminals' journal entries exactly once, member balances,
// points expiry by lots, offline over-redemption conflicts, and online redemption holds. It
// works on any LedgerStore (ledger/store.hpp); docs/sync-protocol.md describes the rules for
// the terminal's side, docs/operations.md for the central team's.
//
// Exactly once. Entries of a terminal are applied in sequence order, each (terminal, seq) once:
// the terminal's head (the highest sequence applied with every one before it) says what the
// ledger holds. An entry at or below the head is a duplicate and must carry the very hash the
// ledger applied; the first entry above the head must link to the head's hash. Entries that
// arrive after a gap are held back, unapplied, and applied when the gap fills.
//
// Verification. A batch is authenticated by its hash links and one signature: the last entry's,
// with the terminal's enrolled key (every entry's bytes contain the previous entry's hash, so
// the last signature covers the whole run). Any failure refuses the whole batch with a
// Refusal naming the entry and the reason, and nothing of it is applied.
//
// Balances. An entry changes its member's balance by points earned minus points redeemed.
// Points earned (and points given back by a return) become a lot that expires a set time after
// the entry was recorded; points spent (redeemed, or clawed back by a return) are taken from
// the member's lots oldest first. A balance can go below zero (an offline over-redemption, a
// clawback after the points were spent); while it is, new points pay off the debt first. So
// the points left in a member's lots always equal the balance when it is positive, and zero
// otherwise.
//
// Conflicts. A redemption for more points than the member's balance held when it was applied
// (two lanes spent the same points offline) is applied all the same, since the customer got
// the discount, and recorded as a conflict naming the entry and the redemption applied before
// it for the same member.

#ifndef LOYALTY_LEDGER_LEDGER_HPP_
#define LOYALTY_LEDGER_LEDGER_HPP_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/store.hpp"
#include "sync/journal_wire.hpp"

namespace loyalty::ledger {

// Why the ledger refused an upload, a replay or an enrollment; nothing of it was applied.
// code() is stable ("broken_chain", "bad_signature", ...); what() says what and where.
class Refusal : public std::runtime_error {
 public:
  Refusal(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

struct LedgerSettings {
  std::int64_t expiry_days = 365;             // points expire this long after they were earned
  std::int64_t hold_ttl_ms = 10 * 60 * 1000;  // an authorization's hold lasts this long
};

struct AuthorizeRequest {
  std::string member_id;
  std::string receipt_id;
  std::int64_t points = 0;
};

struct Authorization {
  enum class Outcome { approved, declined, member_unknown, member_blocked };
  Outcome outcome = Outcome::declined;
  std::int64_t points = 0;     // held, when approved: the points asked for or all available
  std::int64_t available = 0;  // balance less other holds, before this one
  std::int64_t expires_at_ms = 0;
};

std::string_view to_string(Authorization::Outcome outcome);

struct MemberRecord;  // ledger/members.hpp

// A lot of a member in a batch, and whether the batch changed it.
struct OpenLot {
  Lot lot;
  bool dirty = false;
};

// A member's account and open lots as a batch changes them.
struct MemberState {
  Account account;  // cursor 0: a member the ledger has not seen
  bool dirty = false;
  // Oldest first. The stored ones are read only when the member spends points (WorkingSet::
  // lots): a member who only earns needs none of them, and most entries only earn.
  std::vector<OpenLot> lots;
  bool lots_read = false;

  // Adds a new lot in its place among the others.
  void add_lot(Lot lot);
};

// The members a batch (or a replay's group of files) touches: read from the store once, under
// their locks, changed in memory by the accounting, and written with the batch's other
// changes, each member once.
class WorkingSet {
 public:
  explicit WorkingSet(LedgerStore& store) : store_(&store) {}
  // With these members (sorted, without repeats) and their lots read.
  WorkingSet(LedgerStore& store, std::vector<std::string> member_ids);

  // Reads and locks the accounts of those of `member_ids` (sorted, without repeats) not read
  // yet, in one call, and the stored lots of those of `with_lots` (sorted) not read yet.
  void add(std::span<const std::string> member_ids, std::span<const std::string> with_lots);
  // A member of the set, read on its own when it was not added.
  MemberState& member(const std::string& member_id);
  // The member's open lots, the stored ones read first if they were not.
  std::vector<OpenLot>& lots(MemberState& member);
  template <class F>
  void for_each(F&& f) {
    for (auto& [id, member] : members_) f(member);
  }
  // Adds the changed accounts and lots to `changes`.
  void collect(StoreChanges& changes);

 private:
  void read_lots(std::span<const std::string> member_ids);

  LedgerStore* store_;
  std::map<std::string, MemberState, std::less<>> members_;
};

// A terminal's entries in a replay (ledger/replay.hpp): applied in runs, each checked and
// applied as an upload of its own would be.
struct ReplayPart {
  std::size_t file = 0;  // which file the part is of: a file may come in several parts
  std::string terminal_id;
  std::span<const sync::WireEntry> entries;
};

// What became of a part; a refused run ends it (and the rest of its file).
struct PartOutcome {
  std::int64_t accepted = 0;  // entries of the runs accepted
  std::int64_t applied = 0;
  std::int64_t duplicates = 0;
  std::int64_t held_back = 0;
  std::int64_t acknowledged_through = 0;
  std::optional<Refusal> refusal;
  std::int64_t refused_at = 0;
};

class Ledger {
 public:
  // `store` must outlive the Ledger.
  Ledger(LedgerStore& store, LedgerSettings settings);

  // Registers a terminal and the key its journal is signed with. Enrolling it again with the
  // same key changes nothing (and may move it to another store); another key is refused once
  // the ledger holds entries of the terminal, since they are signed with the first.
  Terminal enroll(std::string_view terminal_id, std::string_view store_id, const storage::PublicKeyBytes& key,
                  std::int64_t now_ms);
  // Refuses the terminal's uploads from now on. Entries already applied stay.
  void revoke(std::string_view terminal_id, std::int64_t now_ms);

  // Creates or updates members (ledger/members.hpp) in one transaction; returns how many were
  // created and how many updated. A new member's balance becomes an opening lot.
  std::pair<std::int64_t, std::int64_t> import_members(std::span<const MemberRecord> members, std::int64_t now_ms);

  // Applies a batch of `terminal_id`'s entries (the identity its certificate proves, or the
  // journal file being replayed). Throws Refusal, applying nothing, for an unknown or revoked
  // terminal, another terminal's entries, a broken chain, an unsigned last entry, a signature
  // that does not verify, or an entry that differs from the one applied before.
  sync::Ack ingest(std::string_view terminal_id, std::span<const sync::WireEntry> entries, std::int64_t now_ms);

  // Applies replayed parts in runs of `run` entries, with the same checks and in the same order
  // as ingest() of each run would, in one transaction and one working set: each member is read
  // and written once, not once per run. A refused run applies nothing and ends its file's part.
  // The service applies concurrent uploads so (ledger/upload_groups.hpp): each batch a part of
  // a file of its own, as one run.
  std::vector<PartOutcome> ingest_parts(std::span<const ReplayPart> parts, std::size_t run, std::int64_t now_ms);

  // Places a hold on `points` of the member's balance (or on what is available, when that is
  // less: a partial approval) for this terminal's receipt, until the entry of that receipt
  // arrives or the hold expires. Declines when nothing is available. A new request for the
  // same receipt replaces the hold.
  Authorization authorize(std::string_view terminal_id, const AuthorizeRequest& request, std::int64_t now_ms);

  // Expires the points of lots whose time has come and drops expired holds. Returns the points
  // expired.
  std::int64_t expire(std::int64_t now_ms);

  LedgerStore& store() { return store_; }
  const LedgerSettings& settings() const { return settings_; }

 private:
  // The enrolled, unrevoked terminal, locked (Refusal otherwise).
  Terminal uploading(std::string_view terminal_id);
  // Checks `entries` against the terminal's head as an upload and adds what they change to
  // `members` and `changes`, setting `ack`'s counts; throws Refusal with nothing changed.
  // Entries held back earlier that the batch lets through are kept in `held`. `stored_head`
  // is the head the store holds: false, with nothing changed, when the batch repeats entries
  // applied after it (in memory only), whose hashes the store cannot give yet.
  bool accept(Terminal& terminal, std::int64_t stored_head, std::span<const sync::WireEntry> entries,
              WorkingSet& members, StoreChanges& changes, std::vector<std::vector<sync::WireEntry>>& held,
              sync::Ack& ack);
  // Applies linked entries that continue `terminal`'s head, and moves the head past them.
  void apply_run(Terminal& terminal, std::span<const sync::WireEntry> run, WorkingSet& members, StoreChanges& changes);
  void apply(const sync::WireEntry& wire, WorkingSet& members, StoreChanges& changes);
  // Takes `points` from the member's lots, oldest first.
  void spend(MemberState& member, std::int64_t points);
  void credit(MemberState& member, const storage::JournalEntry& entry, std::int64_t points);
  // A lot of `points` earned at `earned_at_ms` with `remaining` left, expiring expiry_days later.
  void add_lot(MemberState& member, const std::string& terminal_id, std::int64_t seq, std::int64_t points,
               std::int64_t remaining, std::int64_t earned_at_ms);

  LedgerStore& store_;
  LedgerSettings settings_;
};

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_LEDGER_HPP_
