// Checking a journal database (a terminal's journal.db or an export) without its private key:
// SQLite's own integrity check, then the chain from the anchor to the head, entry by entry.

#ifndef LOYALTY_STORAGE_JOURNAL_CHECK_HPP_
#define LOYALTY_STORAGE_JOURNAL_CHECK_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/crypto.hpp"
#include "storage/journal.hpp"

namespace loyalty::storage {

// `every` checks each entry's signature (about 130 µs each); `last` checks the hash links of
// every entry and the signature of the last signed one only, which authenticates the same chain
// when nothing is wrong but names a changed entry less precisely. Either way, unsigned entries
// at the end are counted, not failed: the agent signs them just after the append.
enum class SignatureCheck { every, last };

struct VerifyReport {
  std::vector<std::string> integrity_problems;  // from PRAGMA integrity_check
  std::int64_t entries = 0;                     // entries read
  std::int64_t first_seq = 0;
  std::int64_t last_seq = 0;
  Digest head_hash{};
  // Entries at the end not signed yet (journal.hpp): hash-linked, not yet authenticated.
  std::int64_t unsigned_entries = 0;
  // The first entry that is wrong, and why; nullopt when the chain is sound.
  std::optional<std::int64_t> first_bad_seq;
  std::string problem;

  bool ok() const { return integrity_problems.empty() && !first_bad_seq; }
};

// Verifies with `key`, or with the public key recorded in the journal when none is given (an
// attacker who rewrote the file could have replaced that one too: the ledger verifies against
// the key it enrolled).
VerifyReport verify_journal(Database& db, const std::optional<PublicKey>& key, SignatureCheck check);

struct JournalStats {
  std::string terminal_id;
  std::int64_t entries = 0;
  std::int64_t first_seq = 0;
  std::int64_t last_seq = 0;
  std::int64_t pending = 0;
  std::int64_t acknowledged = 0;
  std::int64_t unsigned_entries = 0;  // at the end, not signed yet
  std::optional<std::int64_t> oldest_pending_journaled_at_ms;
  std::int64_t points_earned = 0;    // over the entries present
  std::int64_t points_redeemed = 0;  // over the entries present
  std::int64_t database_bytes = 0;   // pages in use times page size
  std::int64_t wal_bytes = 0;
  std::optional<std::int64_t> active_rulebook_version;
  struct Release {
    std::string release;
    std::int64_t first_started_at_ms = 0;
    std::int64_t first_seq = 0;
  };
  std::vector<Release> releases;    // oldest first; empty before schema 3
  std::int64_t schema_version = 0;  // PRAGMA user_version
  std::string head_hash;            // hex of the last entry's hash; with last_seq it names the chain
};

JournalStats journal_stats(Database& db);

}  // namespace loyalty::storage

#endif  // LOYALTY_STORAGE_JOURNAL_CHECK_HPP_
