// loyalty-ledger rulebook: signing keys, signing, verifying and publishing rulebooks.
#include "ledger/cli_commands.hpp"

#include <ostream>
#include <string>
#include <vector>

#include "ledger/open_store.hpp"
#include "runtime/clock.hpp"
#include "storage/files.hpp"
#include "sync/signed_rulebook.hpp"

namespace loyalty::ledger::cli {

namespace {

std::vector<sync::RulebookKey> one_key(const Options& options) {
  return {{options.value("--key-id"), storage::PublicKey::from_pem(storage::read_file(options.value("--public-key")))}};
}

}  // namespace

int rulebook_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  const std::string_view action = args.empty() ? "" : args[0];
  const auto rest = args.empty() ? args : args.subspan(1);
  const std::int64_t now_s = runtime::unix_now_ms() / 1000;
  if (action == "keygen") {
    const auto options = parse_options(rest, {"--key-out", "--public-out"}, {}, kUsage, err);
    if (!options || !require(*options, {"--key-out", "--public-out"}, kUsage, err)) return exit_usage;
    const storage::PrivateKey key = storage::PrivateKey::generate();
    storage::write_file_atomically(options->value("--key-out"), key.pem(), 0600, storage::Replace::never);
    storage::write_file_atomically(options->value("--public-out"), key.public_key().pem(), 0644);
    out << "wrote signing key " << options->value("--key-out") << " and public key " << options->value("--public-out")
        << "\n";
    return exit_ok;
  }
  if (action == "sign") {
    const auto options = parse_options(rest, {"--key", "--key-id", "--in", "--out", "--days"}, {}, kUsage, err);
    if (!options || !require(*options, {"--key", "--key-id", "--in", "--out"}, kUsage, err)) return exit_usage;
    const auto key = storage::PrivateKey::from_pem(storage::read_file(options->value("--key")));
    const std::string envelope =
        sync::sign_rulebook(storage::read_file(options->value("--in")), key, options->value("--key-id"),
                            now_s + days_option(*options, 90) * 86400);
    storage::write_file_atomically(options->value("--out"), envelope, 0644);
    out << "signed " << options->value("--in") << " with key " << options->value("--key-id") << " into "
        << options->value("--out") << "\n";
    return exit_ok;
  }
  if (action == "verify" || action == "publish") {
    const bool publish = action == "publish";
    const auto options = publish ? parse_options(rest, {"--db", "--public-key", "--key-id", "--in"}, {}, kUsage, err)
                                 : parse_options(rest, {"--public-key", "--key-id", "--in"}, {}, kUsage, err);
    if (!options || !require(*options, {"--public-key", "--key-id", "--in"}, kUsage, err)) return exit_usage;
    if (publish && !require(*options, {"--db"}, kUsage, err)) return exit_usage;
    const auto keys = one_key(*options);
    const sync::SignedRulebook signed_rulebook =
        sync::verify_rulebook(storage::read_file(options->value("--in")), keys, now_s);
    const auto& rules = signed_rulebook.rules;
    if (!publish) {
      out << "valid: rulebook " << rules.id << " version " << rules.version << ", signed with key "
          << signed_rulebook.key_id << ", expires " << signed_rulebook.expires_at_s << " (Unix time)\n";
      return exit_ok;
    }
    const auto opened = open_store(options->value("--db"));
    LedgerStore& store = *opened;
    store.transaction([&] {
      const auto latest = store.latest_rulebook();
      if (latest && latest->version >= rules.version) {
        throw Failed{"rulebook version " + std::to_string(rules.version) + " is not newer than the published version " +
                     std::to_string(latest->version) + ": terminals would refuse it"};
      }
      store.publish_rulebook({rules.version, signed_rulebook.envelope, signed_rulebook.document, signed_rulebook.key_id,
                              signed_rulebook.expires_at_s, runtime::unix_now_ms()});
    });
    out << "published rulebook " << rules.id << " version " << rules.version << "\n";
    return exit_ok;
  }
  err << "loyalty-ledger: rulebook needs keygen, sign, verify or publish\n" << kUsage;
  return exit_usage;
}

}  // namespace loyalty::ledger::cli
