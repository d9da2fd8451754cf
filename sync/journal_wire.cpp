#include "sync/journal_wire.hpp"

#include <limits>

namespace loyalty::sync {

using runtime::fail;
using runtime::index_path;
using runtime::Json;
using runtime::OrderedJson;
using runtime::parse_json;
using runtime::Reader;
namespace {

constexpr std::int64_t kMaxSeq = std::numeric_limits<std::int64_t>::max();

template <std::size_t N>
std::array<std::uint8_t, N> hex_bytes(const std::string& hex, const std::string& where) {
  std::string raw;
  try {
    raw = storage::from_hex(hex);
  } catch (const std::invalid_argument& error) {
    fail(where, error.what());
  }
  if (raw.size() != N) fail(where, "must be " + std::to_string(N) + " bytes in hex");
  std::array<std::uint8_t, N> out{};
  std::copy(raw.begin(), raw.end(), out.begin());
  return out;
}

}  // namespace

std::string batch_to_json(std::string_view terminal_id, std::span<const storage::JournalEntry> entries) {
  OrderedJson document;
  document["format"] = kBatchFormat;
  document["terminal_id"] = terminal_id;
  OrderedJson& list = document["entries"] = OrderedJson::array();
  for (const storage::JournalEntry& entry : entries) {
    const std::string bytes = storage::canonical_bytes(entry.terminal_id, entry.seq, entry.prev_hash, entry.draft);
    OrderedJson item;
    item["seq"] = entry.seq;
    item["bytes"] = storage::to_base64(storage::as_bytes(bytes));
    item["hash"] = storage::to_hex(entry.hash);
    if (entry.signature) item["signature"] = storage::to_hex(*entry.signature);
    list.push_back(std::move(item));
  }
  return document.dump();
}

WireEntry decode_entry(std::string bytes, std::int64_t seq, std::string_view terminal_id, const std::string& where) {
  auto parsed = storage::parse_canonical_bytes(bytes);
  if (!parsed) fail(where, "is not a journal entry's canonical bytes");
  if (parsed->terminal_id != terminal_id) {
    fail(where, "belongs to terminal " + parsed->terminal_id + ", not " + std::string(terminal_id));
  }
  if (parsed->seq != seq) {
    fail(where, "holds entry " + std::to_string(parsed->seq) + ", not " + std::to_string(seq));
  }
  try {
    storage::validate(parsed->draft);
  } catch (const storage::InvalidEntry& error) {
    fail(where, error.what());
  }
  parsed->hash = storage::sha256(storage::as_bytes(bytes));
  return WireEntry{std::move(*parsed), std::move(bytes)};
}

WireEntry wire_entry(storage::JournalEntry entry) {
  std::string bytes = storage::canonical_bytes(entry.terminal_id, entry.seq, entry.prev_hash, entry.draft);
  entry.hash = storage::sha256(storage::as_bytes(bytes));
  return WireEntry{std::move(entry), std::move(bytes)};
}

Batch batch_from_json(std::string_view text) {
  const Json document = parse_json(text, "batch");
  if (!document.is_object()) fail("batch", "must be an object");
  Reader in(document, "batch");
  const std::string format = in.string("format", 64);
  if (format != kBatchFormat) {
    fail(in.path_of("format"), "must be \"" + std::string(kBatchFormat) + "\", got \"" + format + "\"");
  }
  Batch batch;
  batch.terminal_id = in.string("terminal_id", storage::kMaxTerminalIdBytes);
  try {
    storage::validate_terminal_id(batch.terminal_id);
  } catch (const storage::InvalidEntry& error) {
    fail(in.path_of("terminal_id"), error.what());
  }
  const Json& entries = in.array("entries", kMaxBatchEntries);
  if (entries.empty()) fail(in.path_of("entries"), "must hold at least one entry");
  in.finish();

  const std::string list_path = "batch.entries";
  batch.entries.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string path = index_path(list_path, i);
    if (!entries[i].is_object()) fail(path, "must be an object");
    Reader item(entries[i], path);
    const std::int64_t seq = item.integer("seq", 1, kMaxSeq);
    if (i > 0 && seq != batch.entries.back().entry.seq + 1) {
      fail(item.path_of("seq"),
           "must follow " + std::to_string(batch.entries.back().entry.seq) + ", got " + std::to_string(seq));
    }
    std::string bytes;
    try {
      bytes = storage::from_base64(item.string("bytes", 4 * (storage::kMaxPayloadBytes / 3 + 1024)));
    } catch (const std::invalid_argument& error) {
      fail(item.path_of("bytes"), error.what());
    }
    WireEntry wire = decode_entry(std::move(bytes), seq, batch.terminal_id, item.path_of("bytes"));
    const auto hash = hex_bytes<32>(item.string("hash", 64), item.path_of("hash"));
    if (hash != wire.entry.hash) fail(item.path_of("hash"), "does not match the entry's bytes");
    if (item.has("signature")) {
      wire.entry.signature = hex_bytes<64>(item.string("signature", 128), item.path_of("signature"));
    }
    item.finish();
    batch.entries.push_back(std::move(wire));
  }
  return batch;
}

OrderedJson ack_to_json(const Ack& ack) {
  OrderedJson document;
  document["format"] = kAckFormat;
  document["terminal_id"] = ack.terminal_id;
  document["acknowledged_through"] = ack.acknowledged_through;
  document["applied"] = ack.applied;
  document["duplicates"] = ack.duplicates;
  document["held_back"] = ack.held_back;
  document["member_cursor"] = ack.member_cursor;
  return document;
}

Ack ack_from_json(const Json& document) {
  if (!document.is_object()) fail("ack", "must be an object");
  Reader in(document, "ack");
  const std::string format = in.string("format", 64);
  if (format != kAckFormat) {
    fail(in.path_of("format"), "must be \"" + std::string(kAckFormat) + "\", got \"" + format + "\"");
  }
  Ack ack;
  ack.terminal_id = in.string("terminal_id", storage::kMaxTerminalIdBytes);
  ack.acknowledged_through = in.integer("acknowledged_through", 0, kMaxSeq);
  ack.applied = in.integer("applied", 0, kMaxSeq);
  ack.duplicates = in.integer("duplicates", 0, kMaxSeq);
  ack.held_back = in.integer("held_back", 0, kMaxSeq);
  ack.member_cursor = in.integer("member_cursor", 0, kMaxSeq);
  in.finish();
  return ack;
}

}  // namespace loyalty::sync
