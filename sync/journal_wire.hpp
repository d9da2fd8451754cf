// The sync wire format shared by the agent's uplink and the ledger (docs/sync-protocol.md):
// upload batches of journal entries and the ledger's acknowledgement.
//
// An entry travels as its canonical bytes (storage/journal_entry.hpp), base64, with its hash
// and signature in hex. The bytes are the entry's identity: the receiver decodes every field
// from them and recomputes the hash, so no JSON field can disagree with what was signed.
//
//   {"format": "loyalty-batch/1", "terminal_id": "T-0001",
//    "entries": [{"seq": 41, "bytes": "TEpFMQ...", "hash": "9f2c...", "signature": "5d0a..."}, ...]}
//
// The uplink sends the same batch in a binary form (Content-Type kBatchMediaType), which
// carries the canonical bytes as they are instead of base64 inside JSON: about half the bytes
// on the wire and no JSON to write or parse for the bulk of an upload. Integers big-endian:
//
//   "LYB1", u16 terminal id length, terminal id, u32 entry count, then for each entry:
//   i64 seq, u32 length, canonical bytes, 32-byte hash, u8 1 and a 64-byte signature (or u8 0)
//
// Both forms are read with the same checks and errors (batch.entries[3].hash: ...).
//
// Reading a batch checks its form only: consecutive sequences, bytes that decode and match
// their hash and sequence, and a terminal id that matches every entry. Whether the chain
// links and the signature verifies is the ledger's business (ledger/ledger.hpp).

#ifndef LOYALTY_SYNC_JOURNAL_WIRE_HPP_
#define LOYALTY_SYNC_JOURNAL_WIRE_HPP_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/json_reader.hpp"
#include "storage/journal_entry.hpp"

namespace loyalty::sync {

inline constexpr std::string_view kBatchFormat = "loyalty-batch/1";
inline constexpr std::string_view kAckFormat = "loyalty-ack/1";
inline constexpr std::size_t kMaxBatchEntries = 2000;
inline constexpr std::string_view kBatchMediaType = "application/vnd.loyalty.batch";

// An entry as received: decoded from its bytes, hash recomputed, signature as sent.
struct WireEntry {
  storage::JournalEntry entry;
  std::string bytes;  // canonical
};

struct Batch {
  std::string terminal_id;
  std::vector<WireEntry> entries;
};

// Writes `entries` (consecutive, of one terminal) as a batch document.
std::string batch_to_json(std::string_view terminal_id, std::span<const storage::JournalEntry> entries);

// Reads a batch document. Throws JsonError naming the entry and field that is wrong.
Batch batch_from_json(std::string_view text);

// The binary form of the same batch, and its reader (the same checks, the same JsonError).
std::string batch_to_binary(std::string_view terminal_id, std::span<const storage::JournalEntry> entries);
Batch batch_from_binary(std::string_view body);

// Decodes one entry of a batch or of a journal file: throws JsonError at `where` unless the
// bytes decode, validate (storage::validate) and carry `seq` and `terminal_id`.
WireEntry decode_entry(std::string bytes, std::int64_t seq, std::string_view terminal_id, const std::string& where);

// An entry read from a journal database as it would travel: its canonical bytes built from the
// stored fields and its hash recomputed from them (the stored hash is not trusted), the
// signature as stored.
WireEntry wire_entry(storage::JournalEntry entry);

// The ledger's answer to an upload.
struct Ack {
  std::string terminal_id;
  // The highest sequence the ledger holds with every one before it: the terminal may treat
  // entries up to here as acknowledged, and nothing after.
  std::int64_t acknowledged_through = 0;
  std::int64_t applied = 0;     // entries of this batch applied now
  std::int64_t duplicates = 0;  // entries of this batch the ledger held already
  std::int64_t held_back = 0;   // entries of this batch kept aside until a gap before them fills
  // The ledger's member change feed after this batch: once the terminal's member cache has
  // reached it, the cached balances include these entries.
  std::int64_t member_cursor = 0;

  friend bool operator==(const Ack&, const Ack&) = default;
};

runtime::OrderedJson ack_to_json(const Ack& ack);
Ack ack_from_json(const runtime::Json& document);

}  // namespace loyalty::sync

#endif  // LOYALTY_SYNC_JOURNAL_WIRE_HPP_
