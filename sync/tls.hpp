// TLS for the sync link: Asio's SSL streams (compiled once in runtime/asio.cpp), the contexts both
// ends use, and the X.509 pieces they share. The link is TLS 1.3 only, with certificates on
// both sides from the chain's CA (docs/sync-protocol.md, "Transport").
//
// A terminal's certificate names the terminal in its subject's common name and its store in
// the organizational unit, and certifies the terminal's Ed25519 key, the same key that signs
// its journal: enrolling the certificate enrolls the journal key.

#ifndef LOYALTY_SYNC_TLS_HPP_
#define LOYALTY_SYNC_TLS_HPP_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include "runtime/asio.hpp"
#include "storage/crypto.hpp"

namespace loyalty::sync {

namespace ssl = boost::asio::ssl;

// An X.509 or TLS operation failed; what() says which and OpenSSL's reason.
class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a certificate says about its holder.
struct CertificateInfo {
  std::string common_name;          // a terminal's id, or the ledger's host name
  std::string organizational_unit;  // a terminal's store id
  std::string serial;               // lowercase hex
  std::string issuer;               // the issuer's common name
  std::int64_t not_before_s = 0;    // Unix seconds
  std::int64_t not_after_s = 0;
  std::optional<storage::PublicKeyBytes> ed25519_key;  // when the key is Ed25519
};

CertificateInfo read_certificate(std::string_view pem);
CertificateInfo certificate_info(X509* certificate);

// A certificate signing request for a terminal: subject CN=terminal_id, OU=store_id, signed with
// the terminal's key. Returns PEM.
std::string make_terminal_csr(const storage::PrivateKey& key, std::string_view terminal_id, std::string_view store_id);

// The files of one side of the link.
struct TlsFiles {
  std::filesystem::path ca;                  // the chain's CA certificate: peers must be issued by it
  std::filesystem::path certificate;         // this side's certificate
  std::filesystem::path key;                 // this side's private key (PEM)
  std::optional<std::filesystem::path> crl;  // revoked certificates (the ledger's side)
};

// A TLS 1.3-only context that presents `files.certificate` and requires the peer to present a
// certificate from `files.ca` (checked against `files.crl` when given). Throws TlsError naming
// the file that could not be used.
ssl::context make_context(ssl::context::method method, const TlsFiles& files);

}  // namespace loyalty::sync

#endif  // LOYALTY_SYNC_TLS_HPP_
