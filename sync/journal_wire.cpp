#include "sync/journal_wire.hpp"

#include <algorithm>
#include <cstring>
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

constexpr std::string_view kBinaryMagic = "LYB1";

void put_be(std::string& out, std::uint64_t value, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

// Reads the binary form front to back; `fail`s at the field it cannot read (path + field).
class BinaryReader {
 public:
  explicit BinaryReader(std::string_view body) : body_(body) {}
  std::string_view raw(std::size_t size, const std::string& path, std::string_view field, std::string_view what) {
    if (body_.size() - at_ < size) fail(path + std::string(field), "ends before its " + std::string(what));
    const std::string_view out = body_.substr(at_, size);
    at_ += size;
    return out;
  }
  std::uint64_t number(int bytes, const std::string& path, std::string_view field, std::string_view what) {
    std::uint64_t value = 0;
    for (const char c : raw(static_cast<std::size_t>(bytes), path, field, what)) {
      value = (value << 8) | static_cast<unsigned char>(c);
    }
    return value;
  }
  bool done() const { return at_ == body_.size(); }

 private:
  std::string_view body_;
  std::size_t at_ = 0;
};

}  // namespace

std::string batch_to_binary(std::string_view terminal_id, std::span<const storage::JournalEntry> entries) {
  std::string out;
  std::size_t size = kBinaryMagic.size() + 2 + terminal_id.size() + 4;
  for (const storage::JournalEntry& entry : entries) {
    size += 8 + 4 + 128 + entry.terminal_id.size() + entry.draft.receipt_id.size() + entry.draft.member_id.size() +
            entry.draft.payload.size() + 32 + 1 + 64;
  }
  out.reserve(size);
  out += kBinaryMagic;
  put_be(out, terminal_id.size(), 2);
  out += terminal_id;
  put_be(out, entries.size(), 4);
  for (const storage::JournalEntry& entry : entries) {
    const std::string bytes = storage::canonical_bytes(entry.terminal_id, entry.seq, entry.prev_hash, entry.draft);
    put_be(out, static_cast<std::uint64_t>(entry.seq), 8);
    put_be(out, bytes.size(), 4);
    out += bytes;
    out.append(reinterpret_cast<const char*>(entry.hash.data()), entry.hash.size());
    out += static_cast<char>(entry.signature ? 1 : 0);
    if (entry.signature) out.append(reinterpret_cast<const char*>(entry.signature->data()), entry.signature->size());
  }
  return out;
}

Batch batch_from_binary(std::string_view body) {
  BinaryReader in(body);
  if (in.raw(kBinaryMagic.size(), "batch", "", "format mark") != kBinaryMagic) {
    fail("batch", "is not a binary batch (" + std::string(kBatchMediaType) + " starts with \"LYB1\")");
  }
  Batch batch;
  const auto id_size = static_cast<std::size_t>(in.number(2, "batch", ".terminal_id", "length"));
  if (id_size > storage::kMaxTerminalIdBytes) {
    fail("batch.terminal_id", "must be at most " + std::to_string(storage::kMaxTerminalIdBytes) + " bytes");
  }
  batch.terminal_id = std::string(in.raw(id_size, "batch", ".terminal_id", "text"));
  try {
    storage::validate_terminal_id(batch.terminal_id);
  } catch (const storage::InvalidEntry& error) {
    fail("batch.terminal_id", error.what());
  }
  const std::uint64_t count = in.number(4, "batch", ".entries", "count");
  if (count == 0) fail("batch.entries", "must hold at least one entry");
  if (count > kMaxBatchEntries)
    fail("batch.entries", "must hold at most " + std::to_string(kMaxBatchEntries) + " entries");
  batch.entries.reserve(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < count; ++i) {
    const std::string path = index_path("batch.entries", i);
    const auto seq = static_cast<std::int64_t>(in.number(8, path, ".seq", "sequence"));
    if (seq < 1) fail(path + ".seq", "must be 1 or more, got " + std::to_string(seq));
    if (i > 0 && seq != batch.entries.back().entry.seq + 1) {
      fail(path + ".seq",
           "must follow " + std::to_string(batch.entries.back().entry.seq) + ", got " + std::to_string(seq));
    }
    const std::uint64_t size = in.number(4, path, ".bytes", "length");
    if (size > storage::kMaxPayloadBytes + 1024) fail(path + ".bytes", "are longer than an entry can be");
    std::string bytes(in.raw(static_cast<std::size_t>(size), path, ".bytes", "canonical bytes"));
    WireEntry wire = decode_entry(std::move(bytes), seq, batch.terminal_id, path + ".bytes");
    const std::string_view hash = in.raw(32, path, ".hash", "hash");
    if (!std::equal(hash.begin(), hash.end(), wire.entry.hash.begin(),
                    [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; })) {
      fail(path + ".hash", "does not match the entry's bytes");
    }
    const std::uint64_t signed_mark = in.number(1, path, ".signature", "mark");
    if (signed_mark > 1) fail(path + ".signature", "mark must be 0 or 1, got " + std::to_string(signed_mark));
    if (signed_mark == 1) {
      const std::string_view signature = in.raw(64, path, ".signature", "signature");
      storage::Signature out{};
      std::memcpy(out.data(), signature.data(), out.size());
      wire.entry.signature = out;
    }
    batch.entries.push_back(std::move(wire));
  }
  if (!in.done()) fail("batch", "has bytes after its last entry");
  return batch;
}

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
