// The rulebooks a terminal holds: the active one, which every quote uses, and the one before
// it, kept to show what changed and to audit entries made just before the switch (returns do
// not need it: each sale records its own refund terms). Both are stored as the signed
// documents that arrived, with their signatures, so they can be verified again after a
// restart.
//
// Anti-rollback: a rulebook whose version is not newer than the active one is refused, so a
// replayed or stale download can never bring back old rules. The switch (active becomes
// previous, the new one becomes active) is one transaction in the journal database.
// Signatures are checked by the caller before install(); this store keeps what it is given.

#ifndef LOYALTY_STORAGE_RULEBOOK_STORE_HPP_
#define LOYALTY_STORAGE_RULEBOOK_STORE_HPP_

#include <cstdint>
#include <optional>
#include <string>

#include "storage/sqlite.hpp"

namespace loyalty::storage {

struct StoredRulebook {
  std::int64_t version = 0;
  std::string document;   // the signed bytes, as received
  std::string signature;  // as received
  std::string key_id;     // the central signing key it verified with
  std::int64_t installed_at_ms = 0;

  friend bool operator==(const StoredRulebook&, const StoredRulebook&) = default;
};

enum class Installed { installed, not_newer };

struct InstallResult {
  Installed outcome;
  std::int64_t active_version;  // after the call
};

class RulebookStore {
 public:
  // `journal_db` (see open_journal_database) must outlive the store.
  explicit RulebookStore(Database& journal_db);

  // Makes `rulebook` active and the active one previous, atomically; or, when its version is
  // not newer than the active one, changes nothing and returns Installed::not_newer. Throws
  // std::invalid_argument for a negative version or an empty document.
  InstallResult install(const StoredRulebook& rulebook);

  std::optional<StoredRulebook> active();
  std::optional<StoredRulebook> previous();
  // The active or previous rulebook with this version, if held.
  std::optional<StoredRulebook> find(std::int64_t version);

 private:
  std::optional<StoredRulebook> slot(std::string_view name);

  Database& db_;
};

}  // namespace loyalty::storage

#endif  // LOYALTY_STORAGE_RULEBOOK_STORE_HPP_
