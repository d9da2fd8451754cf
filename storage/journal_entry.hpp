// One loyalty transaction as the journal keeps it, and its canonical bytes.
//
// The canonical bytes are the entry's identity: the hash chain, the signature and the wire
// format all use them, so they are defined here once, as a fixed big-endian layout that no
// serializer can reorder:
//
//   "LJE1"                       magic and layout version
//   u16 length, bytes            terminal id
//   u64                          sequence number (1, 2, 3, ... per terminal, gapless)
//   32 bytes                     hash of the previous entry (zeros before the first)
//   u8                           kind
//   i64                          recorded at, Unix milliseconds, terminal clock
//   i64                          rulebook version the transaction was computed with
//   i64                          points earned (negative: clawed back)
//   i64                          points redeemed (negative: given back)
//   u16 length, bytes            receipt id (the POS's idempotency key)
//   u16 length, bytes            member id (empty: no member)
//   u32 length, bytes            payload: the transaction in the wire format
//
// hash = SHA-256(canonical bytes); signature = Ed25519 over the 32 hash bytes with the
// terminal's key. Because each entry's bytes contain the previous hash, one valid signature on
// the last entry of a run, plus the hash links, authenticates the whole run. The signature is
// added just after the append commits (journal.hpp explains why), so the newest entries may
// briefly have none.

#ifndef LOYALTY_STORAGE_JOURNAL_ENTRY_HPP_
#define LOYALTY_STORAGE_JOURNAL_ENTRY_HPP_

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "storage/crypto.hpp"

namespace loyalty::storage {

enum class EntryKind : std::uint8_t { sale = 1, refund = 2, void_sale = 3, adjustment = 4 };

std::string_view to_string(EntryKind kind);
std::optional<EntryKind> parse_entry_kind(std::string_view text);

// What the caller supplies; the journal adds the sequence, chain and signature.
struct EntryDraft {
  EntryKind kind = EntryKind::sale;
  std::string receipt_id;
  std::string member_id;
  std::int64_t recorded_at_ms = 0;
  std::int64_t rulebook_version = 0;
  std::int64_t points_earned = 0;
  std::int64_t points_redeemed = 0;
  std::string payload;
};

enum class EntryState { pending, acknowledged };

struct JournalEntry {
  std::string terminal_id;
  std::int64_t seq = 0;
  Digest prev_hash{};
  EntryDraft draft;
  Digest hash{};
  std::optional<Signature> signature;  // none yet: see Journal::sign_pending
  EntryState state = EntryState::pending;
  std::int64_t journaled_at_ms = 0;

  // The change to the member's balance: earned minus redeemed.
  std::int64_t balance_change() const { return draft.points_earned - draft.points_redeemed; }
};

// A draft that cannot be journaled; what() names the field and the rule.
class InvalidEntry : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

inline constexpr std::size_t kMaxReceiptIdBytes = 64;
inline constexpr std::size_t kMaxMemberIdBytes = 64;
inline constexpr std::size_t kMaxTerminalIdBytes = 64;
inline constexpr std::size_t kMaxPayloadBytes = 1 << 20;
inline constexpr std::int64_t kMaxEntryPoints = 1'000'000'000'000'000;

// Throws InvalidEntry unless the draft fits the canonical layout and the journal's rules:
// a receipt id of 1 to 64 printable ASCII characters, a member id of at most 64, points within
// +-10^15 and earned minus redeemed as well, a payload of at most 1 MiB.
void validate(const EntryDraft& draft);
// Throws InvalidEntry unless the terminal id is 1 to 64 printable ASCII characters.
void validate_terminal_id(std::string_view terminal_id);
// A store id follows the same rule: 1 to 64 printable ASCII characters without spaces, so that
// it goes into a certificate, a log line and a finance CSV as it is. Throws InvalidEntry.
void validate_store_id(std::string_view store_id);

std::string canonical_bytes(std::string_view terminal_id, std::int64_t seq, const Digest& prev_hash,
                            const EntryDraft& draft);

// SHA-256 of the canonical bytes: the entry's hash.
Digest entry_hash(std::string_view terminal_id, std::int64_t seq, const Digest& prev_hash, const EntryDraft& draft);

// Decodes canonical bytes; nullopt when they are malformed (short, trailing bytes, bad magic,
// unknown kind). The hash, signature and state of the result are left empty.
std::optional<JournalEntry> parse_canonical_bytes(std::string_view bytes);

// Whether two drafts describe the same transaction: everything but the time it was recorded,
// which a retried commit may carry differently.
bool same_transaction(const EntryDraft& a, const EntryDraft& b);

}  // namespace loyalty::storage

#endif  // LOYALTY_STORAGE_JOURNAL_ENTRY_HPP_
