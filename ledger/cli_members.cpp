// loyalty-ledger members and terminal: members imported from the CRM, terminals enrolled,
// revoked and listed.
#include "ledger/cli_commands.hpp"

#include <ostream>
#include <string>

#include "ledger/members.hpp"
#include "ledger/open_store.hpp"
#include "runtime/clock.hpp"
#include "storage/crypto.hpp"
#include "storage/files.hpp"

namespace loyalty::ledger::cli {

int members_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] != "import") {
    err << "loyalty-ledger: members needs import\n" << kUsage;
    return exit_usage;
  }
  const auto options =
      parse_options(args.subspan(1), {"--db", "--member-secret", "--file", "--phone-country"}, {}, kUsage, err);
  if (!options || !require(*options, {"--db", "--member-secret", "--file"}, kUsage, err)) return exit_usage;
  const storage::IdentifierHasher hasher(storage::read_secret(options->value("--member-secret"), "member secret"));
  const auto opened = open_store(options->value("--db"));
  LedgerStore& store = *opened;
  Ledger ledger(store, {});
  const ImportSummary summary = import_members(ledger, options->value("--file"), hasher,
                                               options->find("--phone-country").value_or("7"), runtime::unix_now_ms());
  out << "members: " << summary.created << " created, " << summary.updated << " updated\n";
  return exit_ok;
}

int terminal_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  const std::string_view action = args.empty() ? "" : args[0];
  const auto rest = args.empty() ? args : args.subspan(1);
  if (action == "enroll") {
    const auto options = parse_options(rest, {"--db", "--terminal", "--store", "--public-key"}, {}, kUsage, err);
    if (!options || !require(*options, {"--db", "--terminal", "--store", "--public-key"}, kUsage, err)) {
      return exit_usage;
    }
    const auto key = storage::PublicKey::from_pem(storage::read_file(options->value("--public-key")));
    const auto opened = open_store(options->value("--db"));
    LedgerStore& store = *opened;
    Ledger ledger(store, {});
    ledger.enroll(options->value("--terminal"), options->value("--store"), key.raw(), runtime::unix_now_ms());
    out << "enrolled terminal " << options->value("--terminal") << " of store " << options->value("--store") << "\n";
    return exit_ok;
  }
  if (action == "revoke") {
    const auto options = parse_options(rest, {"--db", "--terminal"}, {}, kUsage, err);
    if (!options || !require(*options, {"--db", "--terminal"}, kUsage, err)) return exit_usage;
    const auto opened = open_store(options->value("--db"), {storage::Creation::must_exist});
    LedgerStore& store = *opened;
    Ledger ledger(store, {});
    ledger.revoke(options->value("--terminal"), runtime::unix_now_ms());
    out << "revoked terminal " << options->value("--terminal") << "\n";
    return exit_ok;
  }
  if (action == "list") {
    const auto options = parse_options(rest, {"--db"}, {}, kUsage, err);
    if (!options || !require(*options, {"--db"}, kUsage, err)) return exit_usage;
    const auto opened = open_store(options->value("--db"), {storage::Creation::must_exist});
    LedgerStore& store = *opened;
    for (const Terminal& t : store.terminals()) {
      out << t.terminal_id << "  store " << t.store_id << "  through " << t.head_seq
          << (t.revoked_at_ms ? "  revoked" : "") << "\n";
    }
    return exit_ok;
  }
  err << "loyalty-ledger: terminal needs enroll, revoke or list\n" << kUsage;
  return exit_usage;
}

}  // namespace loyalty::ledger::cli
