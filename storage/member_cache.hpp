// The terminal's copy of the members it may see: balance, tier and status as of a position in
// the ledger's change feed, found by a keyed hash of an identifier so that no card number or
// phone number is ever stored. The ledger computes the same keys with the same provisioned
// secret and sends them in its deltas; a scanned code is hashed here before the lookup.
//
// The cache lives in its own database (members.db, synchronous=NORMAL): it can be rebuilt from
// the ledger at any time, and its bulk updates stay out of the journal's write-ahead log.

#ifndef LOYALTY_STORAGE_MEMBER_CACHE_HPP_
#define LOYALTY_STORAGE_MEMBER_CACHE_HPP_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "domain/basket.hpp"
#include "storage/crypto.hpp"
#include "storage/sqlite.hpp"

namespace loyalty::storage {

enum class IdentifierKind : std::uint8_t { card = 1, phone = 2, app = 3 };

// HMAC-SHA256 keys of member identifiers. The kind is part of the hashed message, so a phone
// number and a card number with the same digits get different keys. Values must already be
// normalized by the caller (digits of a card number, a phone number in E.164, an app id).
class IdentifierHasher {
 public:
  // Throws std::invalid_argument for a secret shorter than 16 bytes.
  explicit IdentifierHasher(std::string secret);

  Digest key(IdentifierKind kind, std::string_view value) const;
  // A value that identifies the secret without revealing it.
  Digest fingerprint() const;

 private:
  std::string secret_;
};

struct CachedMember {
  std::string member_id;
  std::int64_t balance = 0;
  std::string tier;
  domain::MemberStatus status = domain::MemberStatus::active;
  std::int64_t as_of = 0;  // the change-feed cursor of the delta that last set this row

  friend bool operator==(const CachedMember&, const CachedMember&) = default;
};

// One change from the ledger's feed. An upsert replaces the member's row and the whole set of
// its identifier keys; an erase removes both.
struct MemberDelta {
  enum class Change { upsert, erase };
  Change change = Change::upsert;
  CachedMember member;
  std::vector<Digest> keys;
};

enum class Applied { applied, stale };

enum class CacheOpening { kept, reset_for_new_secret };

class MemberCache {
 public:
  // Opens (creating when missing) the cache at `path` for identifiers keyed by `hasher`. A
  // cache built with another secret cannot answer lookups: it is emptied and its cursor reset,
  // and opening() says so. Opened without writing (Creation::read_only or no_writes), such a
  // cache throws Error instead.
  MemberCache(const std::filesystem::path& path, const IdentifierHasher& hasher,
              Creation creation = Creation::create_if_missing);

  CacheOpening opening() const { return opening_; }

  std::optional<CachedMember> find(const Digest& key);
  std::optional<CachedMember> find_member(std::string_view member_id);

  // Applies a batch of deltas that brings the cache to `cursor`, in one transaction. A batch
  // whose cursor is not beyond the cache's (a repeated or out-of-order response) changes
  // nothing and returns Applied::stale. Throws std::invalid_argument for a malformed delta
  // (empty member id, negative or oversized balance) without applying any of the batch.
  Applied apply(std::span<const MemberDelta> deltas, std::int64_t cursor);

  std::int64_t cursor();
  std::int64_t size();
  Database& database() { return *db_; }

 private:
  std::unique_ptr<Database> db_;
  CacheOpening opening_ = CacheOpening::kept;
};

std::span<const Migration> member_cache_schema();

}  // namespace loyalty::storage

#endif  // LOYALTY_STORAGE_MEMBER_CACHE_HPP_
