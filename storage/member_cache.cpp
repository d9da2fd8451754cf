#include "storage/member_cache.hpp"

#include <sqlite3.h>

#include <stdexcept>

#include "storage/journal_entry.hpp"

namespace loyalty::storage {
namespace {

constexpr Migration kMemberMigrations[] = {
    {1, R"sql(
CREATE TABLE member_meta (
  key TEXT PRIMARY KEY NOT NULL,
  value ANY
) STRICT, WITHOUT ROWID;

CREATE TABLE members (
  member_id TEXT PRIMARY KEY NOT NULL,
  balance INTEGER NOT NULL,
  tier TEXT NOT NULL,
  status INTEGER NOT NULL CHECK (status IN (1, 2)),
  as_of INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE member_keys (
  key BLOB PRIMARY KEY NOT NULL CHECK (length(key) = 32),
  member_id TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX member_keys_by_member ON member_keys (member_id);
)sql"},
};

CachedMember read_member(Statement& row) {
  CachedMember member;
  member.member_id = row.text(0);
  member.balance = row.integer(1);
  member.tier = row.text(2);
  member.status = row.integer(3) == 2 ? domain::MemberStatus::blocked : domain::MemberStatus::active;
  member.as_of = row.integer(4);
  return member;
}

void check(const MemberDelta& delta) {
  const CachedMember& m = delta.member;
  if (m.member_id.empty() || m.member_id.size() > kMaxMemberIdBytes) {
    throw std::invalid_argument("member delta: member id must be 1 to 64 characters");
  }
  if (delta.change == MemberDelta::Change::erase) return;
  if (m.balance < -kMaxEntryPoints || m.balance > kMaxEntryPoints) {
    throw std::invalid_argument("member delta for " + m.member_id + ": balance " + std::to_string(m.balance) +
                                " is outside +-10^15");
  }
  if (m.status != domain::MemberStatus::active && m.status != domain::MemberStatus::blocked) {
    throw std::invalid_argument("member delta for " + m.member_id + ": status is neither active nor blocked");
  }
}

}  // namespace

IdentifierHasher::IdentifierHasher(std::string secret) : secret_(std::move(secret)) {
  if (secret_.size() < 16) throw std::invalid_argument("the identifier secret must be at least 16 bytes");
}

Digest IdentifierHasher::key(IdentifierKind kind, std::string_view value) const {
  std::string message;
  message.reserve(value.size() + 1);
  message += static_cast<char>(kind);
  message += value;
  return hmac_sha256(as_bytes(secret_), as_bytes(message));
}

Digest IdentifierHasher::fingerprint() const {
  return hmac_sha256(as_bytes(secret_), as_bytes("loyalty identifier secret fingerprint"));
}

std::span<const Migration> member_cache_schema() { return kMemberMigrations; }

MemberCache::MemberCache(const std::filesystem::path& path, const IdentifierHasher& hasher, Creation creation) {
  OpenOptions options;
  options.creation = creation;
  options.durability = Durability::normal;
  db_ = std::make_unique<Database>(path, options);
  if (writable(creation)) migrate(*db_, member_cache_schema(), "member cache");
  const Digest fingerprint = hasher.fingerprint();
  // Whether the cache was keyed by this secret; nullopt when it records none.
  auto same_secret = [&]() -> std::optional<bool> {
    StatementUse stored(db_->cached("SELECT value FROM member_meta WHERE key = 'secret_fingerprint'"));
    if (!stored->step()) return std::nullopt;
    return equal_constant_time(stored->blob_view(0), fingerprint);
  };
  if (!writable(creation)) {
    if (same_secret() != true) {
      throw Error(SQLITE_READONLY, "open member cache " + path.string(),
                  "it was not filled under this member secret, and may not be emptied (opened without writing)");
    }
    return;
  }
  Transaction transaction(*db_, "check member cache secret");
  const std::optional<bool> same = same_secret();
  if (same != true) {
    if (same) {
      db_->exec("DELETE FROM member_keys; DELETE FROM members; DELETE FROM member_meta", "reset member cache");
      opening_ = CacheOpening::reset_for_new_secret;
    }
    StatementUse set(db_->cached("INSERT OR REPLACE INTO member_meta (key, value) VALUES ('secret_fingerprint', ?)"));
    set->bind_blob(1, fingerprint).run();
  }
  transaction.commit();
}

std::optional<CachedMember> MemberCache::find(const Digest& key) {
  StatementUse lookup(
      db_->cached("SELECT m.member_id, m.balance, m.tier, m.status, m.as_of FROM member_keys k "
                  "JOIN members m ON m.member_id = k.member_id WHERE k.key = ?"));
  lookup->bind_blob(1, key);
  if (!lookup->step()) return std::nullopt;
  return read_member(*lookup);
}

std::optional<CachedMember> MemberCache::find_member(std::string_view member_id) {
  StatementUse lookup(db_->cached("SELECT member_id, balance, tier, status, as_of FROM members WHERE member_id = ?"));
  lookup->bind(1, member_id);
  if (!lookup->step()) return std::nullopt;
  return read_member(*lookup);
}

Applied MemberCache::apply(std::span<const MemberDelta> deltas, std::int64_t new_cursor) {
  for (const MemberDelta& delta : deltas) check(delta);
  Transaction transaction(*db_, "apply member deltas");
  if (new_cursor <= cursor()) return Applied::stale;
  Statement& upsert =
      db_->cached("INSERT OR REPLACE INTO members (member_id, balance, tier, status, as_of) VALUES (?, ?, ?, ?, ?)");
  Statement& erase_member = db_->cached("DELETE FROM members WHERE member_id = ?");
  Statement& erase_keys = db_->cached("DELETE FROM member_keys WHERE member_id = ?");
  Statement& insert_key = db_->cached("INSERT OR REPLACE INTO member_keys (key, member_id) VALUES (?, ?)");
  for (const MemberDelta& delta : deltas) {
    const CachedMember& m = delta.member;
    {
      StatementUse use(erase_keys);
      use->bind(1, m.member_id).run();
    }
    if (delta.change == MemberDelta::Change::erase) {
      StatementUse use(erase_member);
      use->bind(1, m.member_id).run();
      continue;
    }
    {
      StatementUse use(upsert);
      use->bind(1, m.member_id)
          .bind(2, m.balance)
          .bind(3, m.tier)
          .bind(4, static_cast<std::int64_t>(m.status))
          .bind(5, new_cursor)
          .run();
    }
    for (const Digest& key : delta.keys) {
      StatementUse use(insert_key);
      use->bind_blob(1, key).bind(2, m.member_id).run();
    }
  }
  StatementUse set(db_->cached("INSERT OR REPLACE INTO member_meta (key, value) VALUES ('cursor', ?)"));
  set->bind(1, new_cursor).run();
  transaction.commit();
  return Applied::applied;
}

std::int64_t MemberCache::cursor() {
  StatementUse get(db_->cached("SELECT value FROM member_meta WHERE key = 'cursor'"));
  return get->step() ? get->integer(0) : 0;
}

std::int64_t MemberCache::size() {
  StatementUse count(db_->cached("SELECT count(*) FROM members"));
  count->step();
  return count->integer(0);
}

}  // namespace loyalty::storage
