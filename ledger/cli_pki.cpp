// loyalty-ledger pki: the chain's certificate authority (init, server, issue, revoke).
#include "ledger/cli_commands.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "ledger/open_store.hpp"
#include "ledger/pki.hpp"
#include "runtime/clock.hpp"
#include "storage/files.hpp"
#include "sync/tls.hpp"

namespace loyalty::ledger::cli {

namespace {

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string name = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!name.empty()) names.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
}

}  // namespace

int pki_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  const std::string_view action = args.empty() ? "" : args[0];
  const auto rest = args.empty() ? args : args.subspan(1);
  const std::int64_t now_s = runtime::unix_now_ms() / 1000;
  if (action == "init") {
    const auto options = parse_options(rest, {"--dir", "--name", "--days"}, {}, kUsage, err);
    if (!options || !require(*options, {"--dir", "--name"}, kUsage, err)) return exit_usage;
    CertificateAuthority::create(options->value("--dir"), options->value("--name"),
                                 Validity::days_from(now_s, days_option(*options, 3650)));
    out << "created CA \"" << options->value("--name") << "\" in " << options->value("--dir") << "\n";
    return exit_ok;
  }
  if (action == "server") {
    const auto options = parse_options(rest, {"--dir", "--name", "--key-out", "--cert-out", "--days"}, {}, kUsage, err);
    if (!options || !require(*options, {"--dir", "--name", "--key-out", "--cert-out"}, kUsage, err)) {
      return exit_usage;
    }
    CertificateAuthority ca(options->value("--dir"));
    const storage::PrivateKey key = storage::PrivateKey::generate();
    const IssuedCertificate issued = ca.issue_server(key, split_names(options->value("--name")),
                                                     Validity::days_from(now_s, days_option(*options, 825)));
    storage::write_file_atomically(options->value("--key-out"), key.pem(), 0600, storage::Replace::never);
    storage::write_file_atomically(options->value("--cert-out"), issued.pem, 0644);
    out << "issued server certificate " << issued.info.serial << " for " << options->value("--name") << "\n";
    return exit_ok;
  }
  if (action == "issue") {
    const auto options =
        parse_options(rest, {"--dir", "--csr", "--out", "--csr-dir", "--out-dir", "--days", "--db"}, {}, kUsage, err);
    if (!options || !require(*options, {"--dir"}, kUsage, err)) return exit_usage;
    // One request (--csr, --out), or every *.csr of a directory (--csr-dir, --out-dir): a
    // store's or a whole fleet's terminals at once.
    std::vector<std::pair<std::filesystem::path, std::filesystem::path>> requests;
    if (options->find("--csr-dir")) {
      if (!require(*options, {"--out-dir"}, kUsage, err)) return exit_usage;
      const std::filesystem::path out_dir = options->value("--out-dir");
      for (const auto& file : std::filesystem::directory_iterator(options->value("--csr-dir"))) {
        if (file.path().extension() != ".csr") continue;
        const auto certificate = out_dir / file.path().stem().concat(".crt");
        if (!std::filesystem::exists(certificate)) requests.emplace_back(file.path(), certificate);
      }
      std::ranges::sort(requests);
      std::filesystem::create_directories(out_dir);
    } else {
      if (!require(*options, {"--csr", "--out"}, kUsage, err)) return exit_usage;
      requests.emplace_back(options->value("--csr"), options->value("--out"));
    }
    CertificateAuthority ca(options->value("--dir"));
    std::unique_ptr<LedgerStore> store;
    std::optional<Ledger> ledger;
    if (const auto db = options->find("--db")) {
      store = open_store(*db);
      ledger.emplace(*store, LedgerSettings{});
    }
    for (const auto& [csr, certificate] : requests) {
      const IssuedCertificate issued =
          ca.issue_terminal(storage::read_file(csr), Validity::days_from(now_s, days_option(*options, 825)));
      if (ledger) {
        ledger->enroll(issued.info.common_name, issued.info.organizational_unit, *issued.info.ed25519_key,
                       runtime::unix_now_ms());
      }
      storage::write_file_atomically(certificate, issued.pem, 0644);
      if (requests.size() == 1) {
        out << "issued certificate " << issued.info.serial << " to terminal " << issued.info.common_name << " of store "
            << issued.info.organizational_unit << (ledger ? " and enrolled it" : "") << "\n";
      }
    }
    if (requests.size() != 1) {
      out << "issued " << requests.size() << " certificates into " << options->value("--out-dir")
          << (ledger ? " and enrolled their terminals" : "")
          << " (requests with a certificate there already kept it)\n";
    }
    return exit_ok;
  }
  if (action == "revoke") {
    const auto options = parse_options(rest, {"--dir", "--serial", "--cert", "--db"}, {}, kUsage, err);
    if (!options || !require(*options, {"--dir"}, kUsage, err)) return exit_usage;
    std::string serial;
    std::string terminal;
    if (const auto cert = options->find("--cert")) {
      const auto info = sync::read_certificate(storage::read_file(*cert));
      serial = info.serial;
      terminal = info.common_name;
    } else if (const auto given = options->find("--serial")) {
      serial = *given;
      terminal = sync::read_certificate(
                     storage::read_file(std::filesystem::path(options->value("--dir")) / "issued" / (serial + ".crt")))
                     .common_name;
    } else {
      throw Failed{"pki revoke needs --serial or --cert"};
    }
    CertificateAuthority ca(options->value("--dir"));
    const bool fresh = ca.revoke(serial, now_s);
    if (const auto db = options->find("--db")) {
      const auto opened = open_store(*db, {storage::Creation::must_exist});
      LedgerStore& store = *opened;
      Ledger ledger(store, {});
      ledger.revoke(terminal, runtime::unix_now_ms());
    }
    out << (fresh ? "revoked certificate " : "certificate was already revoked: ") << serial << " of " << terminal
        << "; reload the ledger (SIGHUP) to refuse it on new connections\n";
    return exit_ok;
  }
  err << "loyalty-ledger: pki needs init, server, issue or revoke\n" << kUsage;
  return exit_usage;
}

}  // namespace loyalty::ledger::cli
