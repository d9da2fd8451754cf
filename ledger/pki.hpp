// The chain's certificate authority for the sync link, kept in one directory by the central
// team (docs/operations.md):
//
//   ca.key        the CA's Ed25519 private key (mode 0600; keep it offline when not issuing)
//   ca.crt        the CA certificate: terminals and the ledger trust peers it issued
//   crl.pem       the revocation list the ledger checks every client certificate against
//   revoked.txt   one "SERIAL UNIX_SECONDS" line per revoked certificate
//   issued/       a copy of every certificate issued, named by serial
//
// Terminal certificates are issued from a CSR (`loyalty-agent enroll`) whose signature proves
// the terminal holds the key; they name the terminal (CN) and its store (OU), allow client
// authentication only, and certify the terminal's journal signing key.

#ifndef LOYALTY_LEDGER_PKI_HPP_
#define LOYALTY_LEDGER_PKI_HPP_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/crypto.hpp"
#include "sync/tls.hpp"

namespace loyalty::ledger {

struct Validity {
  std::int64_t from_s = 0;   // Unix seconds
  std::int64_t until_s = 0;  // Unix seconds
  static Validity days_from(std::int64_t now_s, std::int64_t days) { return {now_s - 300, now_s + days * 86400}; }
};

struct IssuedCertificate {
  std::string pem;
  sync::CertificateInfo info;
};

class CertificateAuthority {
 public:
  // Creates the directory's CA: key, self-signed certificate named `name`, an empty revocation
  // list. Refuses (throws std::runtime_error) when the directory already holds a CA key.
  static void create(const std::filesystem::path& dir, std::string_view name, Validity validity);

  // Opens the CA in `dir`; throws naming the file that is missing or unreadable.
  explicit CertificateAuthority(std::filesystem::path dir);
  ~CertificateAuthority();
  CertificateAuthority(const CertificateAuthority&) = delete;
  CertificateAuthority& operator=(const CertificateAuthority&) = delete;

  // Issues a terminal certificate for a CSR. Throws std::invalid_argument when the CSR's
  // signature does not verify, its key is not Ed25519, or its CN or OU is not a valid
  // terminal or store id.
  IssuedCertificate issue_terminal(std::string_view csr_pem, Validity validity);
  // Issues the ledger's server certificate for `key`, valid for the host names and IP
  // addresses in `names` (the first is also the common name).
  IssuedCertificate issue_server(const storage::PrivateKey& key, const std::vector<std::string>& names,
                                 Validity validity);
  // Adds the certificate with this serial to the revocation list and writes crl.pem again.
  // Returns false when it was revoked already; throws when no such certificate was issued.
  bool revoke(std::string_view serial, std::int64_t now_s);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path ca_certificate() const { return dir_ / "ca.crt"; }
  std::filesystem::path crl() const { return dir_ / "crl.pem"; }

 private:
  struct Keys;
  // Files a copy of an issued certificate under issued/ and returns it.
  IssuedCertificate keep(IssuedCertificate issued);
  void write_crl(std::int64_t now_s);

  std::filesystem::path dir_;
  std::unique_ptr<Keys> keys_;
};

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_PKI_HPP_
