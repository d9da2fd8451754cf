// The ledger's state behind one interface, so that the accounting (ledger/ledger.hpp) is written
// once and the storage can be SQLite on one machine (ledger/sqlite_store.hpp, the default) or a
// PostgreSQL server at chain scale (ledger/postgres_store.hpp). A store keeps no accounting rules
// of its own.
//
// The seam is shaped for a store across a network: a terminal's batch is read in a few calls
// (its terminal, the accounts and lots of its members, each for all of them at once) and
// written in one, write(), which a store turns into a few statements (entries, accounts, lots,
// conflicts, the terminal's head), whatever the size of the batch.
//
// Locks. Several ledger processes may share one store (PostgreSQL). What a batch reads with
// lock_terminal() and lock_accounts() stays locked until its transaction ends, and every
// transaction takes the terminal first, then its members in one fixed order (lock_accounts
// takes a sorted list), so that two batches never wait for each other in a cycle. A store with
// one writer at a time (SQLite) has nothing more to lock.
//
// What it holds:
//   terminals   the enrolled terminals: store, public key, revocation, and the head of the
//               chain the ledger holds for each (the highest contiguous sequence and its hash)
//   entries     every applied journal entry with its canonical bytes, once per (terminal, seq)
//   held        entries that arrived after a gap, kept aside (not applied) until it fills
//   accounts    one per member: balance, tier, status, and the member feed cursor
//   member_keys keyed hashes of member identifiers, sent to terminals with the member feed
//   lots        points earned, each with what is left of it and when it expires
//   conflicts   offline over-redemptions, naming the entries involved
//   mismatches  sales whose recomputation under the rulebook they cite disagrees
//   holds       online redemption authorizations not yet consumed by an entry
//   rulebooks   the signed rulebooks the central team published

#ifndef LOYALTY_LEDGER_STORE_HPP_
#define LOYALTY_LEDGER_STORE_HPP_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/basket.hpp"
#include "storage/crypto.hpp"
#include "sync/journal_wire.hpp"

namespace loyalty::ledger {

struct Terminal {
  std::string terminal_id;
  std::string store_id;
  storage::PublicKeyBytes public_key{};
  std::int64_t enrolled_at_ms = 0;
  std::optional<std::int64_t> revoked_at_ms;
  std::int64_t head_seq = 0;    // every entry 1..head_seq is applied
  storage::Digest head_hash{};  // the hash of entry head_seq (zeros when none)
  std::int64_t audited_through = 0;
  std::int64_t last_upload_ms = 0;
};

struct Account {
  std::string member_id;
  std::int64_t balance = 0;  // may be negative after over-redemption or a clawback
  std::string tier = "standard";
  domain::MemberStatus status = domain::MemberStatus::active;
  std::int64_t cursor = 0;  // position in the member feed of the last change (set by the store)
  // The last redemption applied for this member, named when a later one overdraws.
  std::string last_redeem_terminal;
  std::int64_t last_redeem_seq = 0;
};

// Points earned (or given back) at one time, spent oldest first, expiring as a whole.
struct Lot {
  std::string member_id;
  std::string terminal_id;  // where the points were earned; "" for imported balances
  std::int64_t seq = 0;
  std::int64_t points = 0;
  std::int64_t remaining = 0;
  std::int64_t expired = 0;
  std::int64_t earned_at_ms = 0;
  std::int64_t expires_at_ms = 0;
};

// Two lanes spent the same points while offline: the later entry overdrew the balance.
struct Conflict {
  std::string member_id;
  std::string terminal_id;
  std::int64_t seq = 0;
  std::string receipt_id;
  std::int64_t redeemed = 0;
  std::int64_t available = 0;  // the balance before the entry, never below 0
  std::string other_terminal;  // the redemption applied before it for this member, if any
  std::int64_t other_seq = 0;
  std::int64_t recorded_at_ms = 0;
};

// A sale whose recomputation under the rulebook it cites does not agree with what it recorded.
struct Mismatch {
  std::string terminal_id;
  std::int64_t seq = 0;
  std::string receipt_id;
  std::int64_t rulebook_version = 0;
  std::string problem;
};

struct Hold {
  std::int64_t id = 0;
  std::string member_id;
  std::string terminal_id;
  std::string receipt_id;
  std::int64_t points = 0;
  std::int64_t expires_at_ms = 0;
};

struct PublishedRulebook {
  std::int64_t version = 0;
  std::string envelope;  // the signed envelope, served to terminals as it is (sync/signed_rulebook.hpp)
  std::string document;  // the rulebook inside it
  std::string key_id;
  std::int64_t expires_at_s = 0;
  std::int64_t published_at_ms = 0;
};

// One member's entry in the feed, with its identifier keys.
struct MemberChange {
  Account account;
  std::vector<storage::Digest> keys;
};

// Per terminal and rulebook version: what the report sums.
struct ReportRow {
  std::string store_id;
  std::string terminal_id;
  std::int64_t rulebook_version = 0;
  std::int64_t entries = 0;
  std::int64_t earned = 0;    // net of clawbacks
  std::int64_t redeemed = 0;  // net of points given back
};

// Per terminal: what is counted outside the entries.
struct TerminalTotals {
  std::string store_id;
  std::string terminal_id;
  std::int64_t head_seq = 0;
  std::int64_t held = 0;
  std::int64_t expired = 0;  // points of lots earned here that expired
  std::int64_t conflicts = 0;
  std::int64_t mismatches = 0;
};

// Everything one batch (an upload, a replayed run, an expiry chunk, an import) changes, written
// at once by LedgerStore::write().
struct StoreChanges {
  std::int64_t applied_at_ms = 0;
  std::vector<const sync::WireEntry*> entries;  // applied: new (terminal, seq) each, in order
  std::vector<const sync::WireEntry*> held;     // kept aside after a gap (replacing the same seq)
  // Held entries to forget: each terminal's up to the sequence given.
  std::vector<std::pair<std::string, std::int64_t>> drop_held;
  // Saved (inserted or updated) and moved to the end of the member feed, in this order; the
  // store sets each one's cursor.
  std::vector<Account> accounts;
  std::vector<std::pair<std::string, std::vector<storage::Digest>>> member_keys;  // replace a member's keys
  std::vector<Lot> lots;  // inserted, or updated (remaining, expired), by (member, expiry, terminal, seq)
  std::vector<Conflict> conflicts;
  std::vector<std::pair<std::string, std::string>> consumed_holds;  // (terminal, receipt)
  std::vector<Terminal> terminals;                                  // saved last

  bool empty() const {
    return entries.empty() && held.empty() && drop_held.empty() && accounts.empty() && member_keys.empty() &&
           lots.empty() && conflicts.empty() && consumed_holds.empty() && terminals.empty();
  }
};

class LedgerStore {
 public:
  virtual ~LedgerStore() = default;

  // Runs `work` as one transaction: everything it wrote is committed, or nothing when it throws.
  // Called inside another transaction it is a savepoint: when `work` throws, only what it
  // wrote is undone, and the outer transaction goes on (a replay groups files this way).
  // The outermost `work` may run again from the start (PostgreSQL, after a serialization
  // failure or a deadlock), so it sets what it computes rather than adding to what was there.
  virtual void transaction(const std::function<void()>& work) = 0;

  // Writes what a batch changed, in a few statements.
  virtual void write(const StoreChanges& changes) = 0;

  virtual std::optional<Terminal> terminal(std::string_view terminal_id) = 0;
  // The terminal, locked until the transaction ends (its batch, its enrolment, its audit mark).
  virtual std::optional<Terminal> lock_terminal(std::string_view terminal_id) = 0;
  virtual void save_terminal(const Terminal& terminal) = 0;
  virtual std::vector<Terminal> terminals() = 0;

  // The stored hashes of a terminal's applied entries first..last, by sequence.
  virtual std::vector<std::pair<std::int64_t, storage::Digest>> entry_hashes(std::string_view terminal_id,
                                                                             std::int64_t first, std::int64_t last) = 0;
  // Applied entries of a terminal from `first`, in order, at most `limit` (audits and exports).
  virtual std::vector<sync::WireEntry> entries(std::string_view terminal_id, std::int64_t first, std::size_t limit) = 0;
  virtual std::int64_t entry_count() = 0;

  // The held entries of a terminal from `first` that follow each other without a gap.
  virtual std::vector<sync::WireEntry> held_run(std::string_view terminal_id, std::int64_t first) = 0;

  virtual std::optional<Account> account(std::string_view member_id) = 0;
  // The accounts of these members (sorted, without repeats) that exist, in that order. Each
  // member is locked until the transaction ends, whether it has an account yet or not; one
  // that has none must be given one (write()) before the transaction commits.
  virtual std::vector<Account> lock_accounts(std::span<const std::string> member_ids) = 0;
  // Changes after `cursor`, in feed order, at most `limit`.
  virtual std::vector<MemberChange> member_changes(std::int64_t cursor, std::size_t limit) = 0;
  virtual std::int64_t member_cursor() = 0;
  virtual std::vector<Account> accounts() = 0;

  // The lots with points left of these members (sorted), by member, each member's oldest first.
  virtual std::vector<Lot> open_lots(std::span<const std::string> member_ids) = 0;
  // Lots with points left that expire at or before `now_ms`, at most `limit`.
  virtual std::vector<Lot> expiring_lots(std::int64_t now_ms, std::size_t limit) = 0;
  virtual std::vector<Lot> lots(std::string_view member_id) = 0;

  virtual std::vector<Conflict> conflicts() = 0;
  virtual void add_mismatch(const Mismatch& mismatch) = 0;
  virtual std::vector<Mismatch> mismatches() = 0;

  virtual void add_hold(Hold& hold) = 0;
  // Points held for the member by holds that have not expired at `now_ms`.
  virtual std::int64_t held_points(std::string_view member_id, std::int64_t now_ms) = 0;
  // Removes the hold of this receipt, if any; true when there was one.
  virtual bool consume_hold(std::string_view terminal_id, std::string_view receipt_id) = 0;
  virtual std::int64_t drop_expired_holds(std::int64_t now_ms) = 0;

  virtual void publish_rulebook(const PublishedRulebook& rulebook) = 0;
  virtual std::optional<PublishedRulebook> rulebook(std::int64_t version) = 0;
  virtual std::optional<PublishedRulebook> latest_rulebook() = 0;

  virtual std::vector<ReportRow> report_rows() = 0;
  virtual std::vector<TerminalTotals> terminal_totals() = 0;

  // Housekeeping jobs that must not run in two ledger processes at once.
  enum class Job { expiry = 1, audit = 2 };
  // Runs `work` unless another process sharing this store is running the same job (PostgreSQL:
  // a session advisory lock, tried, not waited for); returns whether it ran. One process owns
  // a SQLite file: it always runs.
  virtual bool run_alone(Job job, const std::function<void()>& work) {
    (void)job;
    work();
    return true;
  }
  // Transactions run again after a serialization failure or a deadlock (PostgreSQL). Safe to
  // read from any thread.
  virtual std::int64_t retries() const { return 0; }
};

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_STORE_HPP_
