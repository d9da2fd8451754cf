// Where the ledger's state lives, as `--db` and ledger.json's "db" name it: a SQLite file (the
// default, nothing to install), or a PostgreSQL database by its libpq connection URI,
// postgresql://USER@HOST:PORT/DBNAME?sslmode=verify-full&... (docs/operations.md). A password
// belongs in the ledger user's ~/.pgpass (or passfile=), not in the URI: the URI is logged.

#ifndef LOYALTY_LEDGER_OPEN_STORE_HPP_
#define LOYALTY_LEDGER_OPEN_STORE_HPP_

#include <memory>
#include <string>
#include <string_view>

#include "ledger/sqlite_store.hpp"
#include "ledger/store.hpp"

namespace loyalty::ledger {

// Whether `db` names a PostgreSQL database (postgresql:// or postgres://).
bool names_postgres(std::string_view db);

// Opens the store `db` names. `options.creation` applies to both: create_if_missing migrates a
// PostgreSQL database to this release's schema; the others refuse one that is not at it. The
// rest of `options` is SQLite's.
std::unique_ptr<LedgerStore> open_store(const std::string& db, const SqliteStore::Options& options = {});

// `db` as it may be logged: a URI without its password.
std::string describe_store(std::string_view db);

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_OPEN_STORE_HPP_
