// The terminal's journal: every loyalty transaction, appended durably before the POS hears
// "done", chained by hash, signed by the terminal, and kept until the ledger has acknowledged
// it (and then for a configured age, for refunds and audits).
//
// The journal database (journal.db) holds:
//   journal        one row per entry; seq is the gapless per-terminal sequence number.
//                  A row is never changed after the append, except that its signature,
//                  empty at first, is filled in once.
//   journal_acks   one row per acknowledgement from the ledger: the last sequence it covered
//                  and the ledger's member-feed cursor at the time
//   journal_meta   terminal id, public key, and the chain anchor (the first retained sequence
//                  and the hash before it, which moves when old entries are pruned)
//   rulebooks      the rulebook store (storage/rulebook_store.hpp)
// An export (journal_export.hpp) is a database with the same schema holding a range of entries.
//
// Append is one IMMEDIATE transaction on a WAL database with synchronous=FULL: when append
// returns, the entry survives a process kill or a power cut; when it throws, nothing of it is
// visible. A Journal serves one thread; several processes may share the file (SQLite locks),
// but the agent's data-directory lock keeps it to one writer in practice.
//
// Signing follows the append instead of being part of it. An Ed25519 signature costs 40 to 55
// µs with Debian's OpenSSL 3.0, a quarter of a durable commit, and the POS would wait for it on
// every receipt. The append already fixes the entry for good: its hash covers the canonical
// bytes and the whole chain before it. sign_pending() then signs the unsigned entries in
// sequence order; the agent calls it right after each answer and at start, so unsigned entries
// are only ever the newest few, for microseconds, or the tail a crash left behind. Ed25519 is
// deterministic, so a signature lost to a power cut is made again, identical, at the next
// start; that is why signing commits without waiting for the disk. Nothing is to leave the
// terminal unsigned: exports stop at the last signed entry, and uploads must do the same.

#ifndef LOYALTY_STORAGE_JOURNAL_HPP_
#define LOYALTY_STORAGE_JOURNAL_HPP_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "storage/crypto.hpp"
#include "storage/journal_entry.hpp"
#include "storage/sqlite.hpp"

namespace loyalty::storage {

// The migrations of the journal database, oldest first.
std::span<const Migration> journal_schema();

// Opens a journal database and brings its schema up to date (a read-only opening leaves it as
// it is). Creation::must_exist, read_only and no_writes refuse a missing file. A damaged file
// throws Error with damaged() true and is never modified.
std::unique_ptr<Database> open_journal_database(const std::filesystem::path& path, Creation creation,
                                                Durability durability = Durability::full);

// The terminal that a journal database belongs to.
struct JournalIdentity {
  std::string terminal_id;
  PublicKeyBytes public_key{};
};

// The highest sequence the ledger has acknowledged (0 when none): entries up to it are
// acknowledged, entries after it pending. The ledger acknowledges a contiguous prefix, so one
// watermark says it all and rows never change after they are written.
std::int64_t acknowledged_through(Database& db);

// The highest sequence whose entry is signed; the entries after it are not (signing goes in
// sequence order). One before the first retained sequence when no entry is signed.
std::int64_t signed_through(Database& db);

// Reads the identity recorded in a journal database; nullopt for a journal never written.
std::optional<JournalIdentity> read_identity(Database& db);

// The first sequence still in the journal and the hash that precedes it.
struct ChainAnchor {
  std::int64_t first_seq = 1;
  Digest prev_hash{};
};
ChainAnchor read_anchor(Database& db);

// The last entry: the chain continues from here. In a journal without entries, the anchor's
// sequence before the first and its hash.
struct ChainHead {
  std::int64_t seq = 0;
  Digest hash{};
};
ChainHead read_head(Database& db);

enum class Appended { new_entry, already_journaled };

struct AppendResult {
  Appended outcome;
  JournalEntry entry;
};

// The receipt id was journaled before with a different transaction. Nothing was written.
class ReceiptConflict : public std::runtime_error {
 public:
  ReceiptConflict(const std::string& receipt_id, std::int64_t seq);
  std::int64_t seq() const { return seq_; }

 private:
  std::int64_t seq_;
};

class Journal {
 public:
  // Opens (creating when missing) the journal at `path` for `terminal_id`, signing with `key`.
  // A journal that belongs to another terminal id or another key throws: entries of one
  // terminal must form one chain under one key. Durability::normal is for journals that are
  // not a terminal's record (the fleet simulator's generated ones): appends do not wait for
  // the disk.
  Journal(const std::filesystem::path& path, std::string terminal_id, PrivateKey key,
          Creation creation = Creation::create_if_missing, Durability durability = Durability::full);

  // Appends one transaction at time `now_ms` (journaled_at), durably, without a signature
  // (sign_pending adds it). A receipt id already journaled with the same transaction returns
  // that entry with Appended::already_journaled and writes nothing; with a different
  // transaction it throws ReceiptConflict. Throws InvalidEntry for a bad draft and Error for
  // SQLite failures (disk full, I/O); in every failure nothing is written.
  AppendResult append(const EntryDraft& draft, std::int64_t now_ms);

  // Signs every entry that has no signature yet, oldest first, after checking that each still
  // matches its hash and links to the one before (it refuses, throwing Error with damaged()
  // true, to sign an entry that was changed on disk). Returns how many it signed.
  std::int64_t sign_pending();

  std::optional<JournalEntry> find(std::int64_t seq);
  std::optional<JournalEntry> find_receipt(std::string_view receipt_id);
  // Entries with first <= seq <= last, in order, at most `limit`.
  std::vector<JournalEntry> read(std::int64_t first, std::int64_t last, std::size_t limit);
  // The entries of `member_id` (not empty) after sequence `after`, in order, at most `limit`:
  // the returns and voids that followed a sale.
  std::vector<JournalEntry> member_entries(std::string_view member_id, std::int64_t after, std::size_t limit);
  // Pending entries from the oldest, at most `limit`: the next upload batch.
  std::vector<JournalEntry> pending(std::size_t limit);

  ChainHead head();
  std::int64_t pending_count();

  // Records, once per release, that `release` of the agent started on this journal: when, and
  // the first sequence it could have written. A finding about an entry can then be traced to
  // the release that journaled it (journal_stats lists them).
  void record_release(std::string_view release, std::int64_t now_ms);

  // Records that the ledger acknowledged entries first..last, reporting its member change feed
  // at `ledger_cursor`. Returns how many entries became acknowledged (those acknowledged
  // before stay as they were). Throws std::invalid_argument, changing nothing, for a range
  // beyond the head or one that would leave a gap after the entries already acknowledged.
  std::int64_t acknowledge(std::int64_t first, std::int64_t last, std::int64_t ledger_cursor);

  // Deletes acknowledged entries journaled before `cutoff_ms`, from the oldest, stopping at the
  // first pending or younger entry; the newest entry always stays (it is the chain's head).
  // Returns how many were deleted.
  std::int64_t prune(std::int64_t cutoff_ms);

  // The points of this terminal's entries for `member_id` that the member cache does not yet
  // reflect: pending entries, and acknowledged ones the ledger acknowledged after
  // `member_cursor` (the cache's position in the ledger's change feed).
  std::int64_t unsettled_points(std::string_view member_id, std::int64_t member_cursor);

  // Points redeemed in pending entries (those the ledger has not acknowledged): for
  // `member_id`, and for the whole terminal. The agent's offline limits count against these.
  // The terminal's sum is kept between calls and extended by the entries journaled since, so
  // that a quote does not read every pending entry of a long outage; a new acknowledgement
  // starts it again.
  struct PendingRedemptions {
    std::int64_t member = 0;
    std::int64_t terminal = 0;
  };
  PendingRedemptions pending_redemptions(std::string_view member_id);

  const std::string& terminal_id() const { return terminal_id_; }
  PublicKey public_key() const { return key_.public_key(); }
  Database& database() { return *db_; }

 private:
  AppendResult append_validated(const EntryDraft& draft, std::int64_t now_ms);
  std::size_t sign_batch();
  // Switches the connection between synchronous=NORMAL (signing) and FULL (everything else).
  void set_relaxed(bool relaxed);

  std::unique_ptr<Database> db_;
  std::string terminal_id_;
  PrivateKey key_;
  bool relaxed_ = false;
  Durability durability_ = Durability::full;
  // Points redeemed in entries through+1..head, as last summed.
  struct PendingSum {
    std::int64_t through = -1;
    std::int64_t head = 0;
    std::int64_t redeemed = 0;
  } pending_sum_;
};

}  // namespace loyalty::storage

#endif  // LOYALTY_STORAGE_JOURNAL_HPP_
