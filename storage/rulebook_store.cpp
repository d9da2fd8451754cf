#include "storage/rulebook_store.hpp"

#include <stdexcept>

#include "storage/crypto.hpp"

namespace loyalty::storage {

RulebookStore::RulebookStore(Database& journal_db) : db_(journal_db) {}

InstallResult RulebookStore::install(const StoredRulebook& rulebook) {
  if (rulebook.version < 0) throw std::invalid_argument("rulebook version must not be negative");
  if (rulebook.document.empty()) throw std::invalid_argument("rulebook document is empty");
  Transaction transaction(db_, "install rulebook version " + std::to_string(rulebook.version));
  const auto current = active();
  if (current && rulebook.version <= current->version) return {Installed::not_newer, current->version};
  db_.exec(
      "DELETE FROM rulebooks WHERE slot = 'previous'; UPDATE rulebooks SET slot = 'previous' WHERE slot = 'active'",
      "retire the active rulebook");
  StatementUse insert(
      db_.cached("INSERT INTO rulebooks (slot, version, document, signature, key_id, installed_at) "
                 "VALUES ('active', ?, ?, ?, ?, ?)"));
  insert->bind(1, rulebook.version)
      .bind_blob(2, as_bytes(rulebook.document))
      .bind_blob(3, as_bytes(rulebook.signature))
      .bind(4, rulebook.key_id)
      .bind(5, rulebook.installed_at_ms)
      .run();
  transaction.commit();
  return {Installed::installed, rulebook.version};
}

std::optional<StoredRulebook> RulebookStore::slot(std::string_view name) {
  StatementUse select(
      db_.cached("SELECT version, document, signature, key_id, installed_at FROM rulebooks WHERE slot = ?"));
  select->bind(1, name);
  if (!select->step()) return std::nullopt;
  StoredRulebook rulebook;
  rulebook.version = select->integer(0);
  rulebook.document = select->blob_string(1);
  rulebook.signature = select->blob_string(2);
  rulebook.key_id = select->text(3);
  rulebook.installed_at_ms = select->integer(4);
  return rulebook;
}

std::optional<StoredRulebook> RulebookStore::active() { return slot("active"); }

std::optional<StoredRulebook> RulebookStore::previous() { return slot("previous"); }

std::optional<StoredRulebook> RulebookStore::find(std::int64_t version) {
  for (auto candidate : {active(), previous()}) {
    if (candidate && candidate->version == version) return candidate;
  }
  return std::nullopt;
}

}  // namespace loyalty::storage
