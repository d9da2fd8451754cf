#include "storage/journal_entry.hpp"

#include <array>
#include <cstring>

namespace loyalty::storage {
namespace {

constexpr std::string_view kMagic = "LJE1";

void put_u64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

void put_i64(std::string& out, std::int64_t value) { put_u64(out, static_cast<std::uint64_t>(value)); }

void put_string(std::string& out, std::string_view text, int length_bytes) {
  const std::uint64_t size = text.size();
  for (int shift = 8 * (length_bytes - 1); shift >= 0; shift -= 8) out += static_cast<char>((size >> shift) & 0xff);
  out += text;
}

// Reads the canonical layout front to back; any shortfall makes the whole parse fail.
class Cursor {
 public:
  explicit Cursor(std::string_view bytes) : bytes_(bytes) {}

  bool ok() const { return ok_; }
  bool at_end() const { return bytes_.empty(); }

  std::uint64_t number(int size) {
    if (!take(static_cast<std::size_t>(size))) return 0;
    std::uint64_t value = 0;
    for (int i = 0; i < size; ++i)
      value = (value << 8) | static_cast<std::uint8_t>(taken_[static_cast<std::size_t>(i)]);
    return value;
  }
  std::string_view raw(std::size_t size) { return take(size) ? taken_ : std::string_view(); }
  std::string string(int length_bytes) { return std::string(raw(static_cast<std::size_t>(number(length_bytes)))); }

 private:
  bool take(std::size_t size) {
    if (!ok_ || bytes_.size() < size) {
      ok_ = false;
      return false;
    }
    taken_ = bytes_.substr(0, size);
    bytes_.remove_prefix(size);
    return true;
  }

  std::string_view bytes_;
  std::string_view taken_;
  bool ok_ = true;
};

bool printable_ascii(std::string_view text) {
  for (char c : text) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(EntryKind kind) {
  switch (kind) {
    case EntryKind::sale: return "sale";
    case EntryKind::refund: return "refund";
    case EntryKind::void_sale: return "void";
    case EntryKind::adjustment: return "adjustment";
  }
  return "unknown";
}

std::optional<EntryKind> parse_entry_kind(std::string_view text) {
  for (auto kind : {EntryKind::sale, EntryKind::refund, EntryKind::void_sale, EntryKind::adjustment}) {
    if (to_string(kind) == text) return kind;
  }
  return std::nullopt;
}

void validate_terminal_id(std::string_view terminal_id) {
  if (terminal_id.empty() || terminal_id.size() > kMaxTerminalIdBytes || !printable_ascii(terminal_id)) {
    throw InvalidEntry("terminal id must be 1 to 64 printable ASCII characters without spaces");
  }
}

void validate_store_id(std::string_view store_id) {
  if (store_id.empty() || store_id.size() > kMaxTerminalIdBytes || !printable_ascii(store_id)) {
    throw InvalidEntry("store id must be 1 to 64 printable ASCII characters without spaces");
  }
}

void validate(const EntryDraft& draft) {
  if (!parse_entry_kind(to_string(draft.kind))) throw InvalidEntry("kind is not one of sale, refund, void, adjustment");
  if (draft.receipt_id.empty() || draft.receipt_id.size() > kMaxReceiptIdBytes || !printable_ascii(draft.receipt_id)) {
    throw InvalidEntry("receipt_id must be 1 to 64 printable ASCII characters without spaces");
  }
  if (draft.member_id.size() > kMaxMemberIdBytes || !printable_ascii(draft.member_id)) {
    throw InvalidEntry("member_id must be at most 64 printable ASCII characters without spaces");
  }
  auto check_points = [](std::string_view name, std::int64_t value) {
    if (value > kMaxEntryPoints || value < -kMaxEntryPoints) {
      throw InvalidEntry(std::string(name) + " " + std::to_string(value) + " is outside +-10^15");
    }
  };
  check_points("points_earned", draft.points_earned);
  check_points("points_redeemed", draft.points_redeemed);
  check_points("points_earned - points_redeemed", draft.points_earned - draft.points_redeemed);
  if (draft.rulebook_version < 0) throw InvalidEntry("rulebook_version must not be negative");
  if (draft.payload.size() > kMaxPayloadBytes) {
    throw InvalidEntry("payload of " + std::to_string(draft.payload.size()) + " bytes is larger than 1 MiB");
  }
}

std::string canonical_bytes(std::string_view terminal_id, std::int64_t seq, const Digest& prev_hash,
                            const EntryDraft& draft) {
  std::string out;
  out.reserve(4 + 2 + terminal_id.size() + 8 + 32 + 1 + 32 + 2 + draft.receipt_id.size() + 2 + draft.member_id.size() +
              4 + draft.payload.size());
  out += kMagic;
  put_string(out, terminal_id, 2);
  put_i64(out, seq);
  out.append(reinterpret_cast<const char*>(prev_hash.data()), prev_hash.size());
  out += static_cast<char>(draft.kind);
  put_i64(out, draft.recorded_at_ms);
  put_i64(out, draft.rulebook_version);
  put_i64(out, draft.points_earned);
  put_i64(out, draft.points_redeemed);
  put_string(out, draft.receipt_id, 2);
  put_string(out, draft.member_id, 2);
  put_string(out, draft.payload, 4);
  return out;
}

Digest entry_hash(std::string_view terminal_id, std::int64_t seq, const Digest& prev_hash, const EntryDraft& draft) {
  return sha256(as_bytes(canonical_bytes(terminal_id, seq, prev_hash, draft)));
}

std::optional<JournalEntry> parse_canonical_bytes(std::string_view bytes) {
  Cursor in(bytes);
  if (in.raw(kMagic.size()) != kMagic) return std::nullopt;
  JournalEntry entry;
  entry.terminal_id = in.string(2);
  entry.seq = static_cast<std::int64_t>(in.number(8));
  const std::string_view prev = in.raw(entry.prev_hash.size());
  if (in.ok()) std::memcpy(entry.prev_hash.data(), prev.data(), prev.size());
  const auto kind = static_cast<EntryKind>(in.number(1));
  entry.draft.kind = kind;
  entry.draft.recorded_at_ms = static_cast<std::int64_t>(in.number(8));
  entry.draft.rulebook_version = static_cast<std::int64_t>(in.number(8));
  entry.draft.points_earned = static_cast<std::int64_t>(in.number(8));
  entry.draft.points_redeemed = static_cast<std::int64_t>(in.number(8));
  entry.draft.receipt_id = in.string(2);
  entry.draft.member_id = in.string(2);
  entry.draft.payload = in.string(4);
  if (!in.ok() || !in.at_end() || !parse_entry_kind(to_string(kind))) return std::nullopt;
  return entry;
}

bool same_transaction(const EntryDraft& a, const EntryDraft& b) {
  return a.kind == b.kind && a.receipt_id == b.receipt_id && a.member_id == b.member_id &&
         a.rulebook_version == b.rulebook_version && a.points_earned == b.points_earned &&
         a.points_redeemed == b.points_redeemed && a.payload == b.payload;
}

}  // namespace loyalty::storage
