// The journal table's rows: writing one entry, and reading entries back in sequence order,
// each with the hash that precedes it in the chain. Shared by the journal, its verification
// and its export.

#ifndef LOYALTY_STORAGE_JOURNAL_SCAN_HPP_
#define LOYALTY_STORAGE_JOURNAL_SCAN_HPP_

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "storage/journal_entry.hpp"
#include "storage/sqlite.hpp"

namespace loyalty::storage {

// Calls `visit` for each entry with first <= seq <= last in sequence order until it returns
// false. prev_hash is the stored hash of the row before (or the chain anchor): a scan reads,
// it does not verify.
void scan_entries(Database& db, const std::string& terminal_id, std::int64_t first, std::int64_t last,
                  const std::function<bool(JournalEntry&&)>& visit);

// Copies a stored blob that must be exactly out.size() bytes (a hash, a signature, a key);
// throws Error(SQLITE_CORRUPT) naming `what` when it is not.
void copy_stored(std::span<const std::uint8_t> bytes, std::span<std::uint8_t> out, std::string_view what);

template <std::size_t N>
std::array<std::uint8_t, N> stored_bytes(std::span<const std::uint8_t> bytes, std::string_view what) {
  std::array<std::uint8_t, N> out{};
  copy_stored(bytes, out, what);
  return out;
}

// Inserts the row of an entry (sequence and hash set, the signature if it has one; its state is
// not stored, see acknowledged_through). The caller holds the transaction.
void insert_entry(Database& db, const JournalEntry& entry);

}  // namespace loyalty::storage

#endif  // LOYALTY_STORAGE_JOURNAL_SCAN_HPP_
