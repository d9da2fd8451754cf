#include "ledger/pki.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "storage/files.hpp"
#include "storage/journal_entry.hpp"
#include "sync/openssl.hpp"

namespace loyalty::ledger {

namespace openssl = sync::openssl;
using openssl::BioPtr;
using openssl::CrlPtr;
using openssl::Deleter;
using openssl::KeyPtr;
using openssl::memory;
using openssl::pem_of;
using openssl::read_private_key;
using openssl::read_x509;
using openssl::ReqPtr;
using openssl::X509Ptr;

struct CertificateAuthority::Keys {
  X509Ptr certificate;
  KeyPtr key;
};

namespace {

void add_name(X509_NAME* name, const char* field, std::string_view value) {
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    openssl::fail(std::string("set the certificate's ") + field);
  }
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) openssl::fail("build certificate extension " + value);
  const int added = X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  if (added != 1) openssl::fail("add certificate extension " + value);
}

// A certificate for `subject_key` named by `subject`, signed by `issuer_key` (issuer nullptr:
// self-signed), with a random 128-bit serial. Extensions are added by `extend` before signing.
template <class Extend>
X509Ptr build(EVP_PKEY* subject_key, const X509_NAME* subject, X509* issuer, EVP_PKEY* issuer_key,
              const Validity& validity, Extend extend) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) openssl::fail("create a certificate");
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    openssl::fail("choose a serial number");
  }
  openssl::set_time(X509_getm_notBefore(cert.get()), validity.from_s, "the start of the validity");
  openssl::set_time(X509_getm_notAfter(cert.get()), validity.until_s, "the end of the validity");
  if (X509_set_subject_name(cert.get(), subject) != 1 ||
      X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : subject) != 1 ||
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    openssl::fail("set the certificate's names and key");
  }
  X509* signer = issuer != nullptr ? issuer : cert.get();
  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  extend(cert.get(), signer);
  if (X509_sign(cert.get(), issuer_key, nullptr) <= 0) openssl::fail("sign the certificate");
  return cert;
}

std::string pem_of_cert(X509* cert) {
  return pem_of([&](BIO* bio) { return PEM_write_bio_X509(bio, cert); }, "a certificate");
}

// revoked.txt: serial -> revocation time.
std::map<std::string, std::int64_t> read_revoked(const std::filesystem::path& file) {
  std::map<std::string, std::int64_t> revoked;
  std::ifstream in(file);
  std::string serial;
  std::int64_t at = 0;
  while (in >> serial >> at) revoked[serial] = at;
  return revoked;
}

}  // namespace

void CertificateAuthority::create(const std::filesystem::path& dir, std::string_view name, Validity validity) {
  if (std::filesystem::exists(dir / "ca.key")) {
    throw std::runtime_error(dir.string() + " already holds a CA key (ca.key): refusing to replace it");
  }
  std::filesystem::create_directories(dir / "issued");
  const storage::PrivateKey key = storage::PrivateKey::generate();
  const KeyPtr pkey = read_private_key(key.pem(), "the new CA key");
  std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>> subject(X509_NAME_new());
  add_name(subject.get(), "CN", name);
  const X509Ptr cert = build(pkey.get(), subject.get(), nullptr, pkey.get(), validity, [](X509* c, X509* issuer) {
    add_extension(c, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_extension(c, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  });
  storage::write_file_atomically(dir / "ca.key", key.pem(), 0600, storage::Replace::never);
  storage::write_file_atomically(dir / "ca.crt", pem_of_cert(cert.get()), 0644);
  CertificateAuthority(dir).write_crl(validity.from_s + 300);
}

CertificateAuthority::CertificateAuthority(std::filesystem::path dir) : dir_(std::move(dir)), keys_(new Keys) {
  keys_->certificate = read_x509(storage::read_file(dir_ / "ca.crt"), (dir_ / "ca.crt").string());
  keys_->key = read_private_key(storage::read_file(dir_ / "ca.key"), (dir_ / "ca.key").string());
  if (X509_check_private_key(keys_->certificate.get(), keys_->key.get()) != 1) {
    openssl::fail((dir_ / "ca.key").string() + " does not belong to " + (dir_ / "ca.crt").string());
  }
}

CertificateAuthority::~CertificateAuthority() = default;

IssuedCertificate CertificateAuthority::issue_terminal(std::string_view csr_pem, Validity validity) {
  const BioPtr bio = memory(csr_pem);
  const ReqPtr request(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!request) throw std::invalid_argument("the CSR is not a PEM certificate request");
  EVP_PKEY* key = X509_REQ_get0_pubkey(request.get());
  if (key == nullptr || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    throw std::invalid_argument("the CSR's key is not an Ed25519 key (make it with loyalty-agent enroll)");
  }
  if (X509_REQ_verify(request.get(), key) != 1) {
    ERR_clear_error();
    throw std::invalid_argument("the CSR's signature does not verify: it was changed or not made with its key");
  }
  const X509_NAME* subject = X509_REQ_get_subject_name(request.get());
  // The names are read back from the signed certificate and checked before it is kept.
  const X509Ptr cert =
      build(key, subject, keys_->certificate.get(), keys_->key.get(), validity, [](X509* c, X509* issuer) {
        add_extension(c, issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(c, issuer, NID_key_usage, "critical,digitalSignature");
        add_extension(c, issuer, NID_ext_key_usage, "clientAuth");
      });
  IssuedCertificate issued{pem_of_cert(cert.get()), sync::certificate_info(cert.get())};
  try {
    storage::validate_terminal_id(issued.info.common_name);
  } catch (const storage::InvalidEntry& error) {
    throw std::invalid_argument(std::string("the CSR's common name is not a terminal id: ") + error.what());
  }
  if (issued.info.organizational_unit.empty()) {
    throw std::invalid_argument("the CSR names no store (OU): make it with loyalty-agent enroll");
  }
  try {
    storage::validate_store_id(issued.info.organizational_unit);
  } catch (const storage::InvalidEntry& error) {
    throw std::invalid_argument(std::string("the CSR's store (OU) is not a store id: ") + error.what());
  }
  return keep(std::move(issued));
}

IssuedCertificate CertificateAuthority::issue_server(const storage::PrivateKey& key,
                                                     const std::vector<std::string>& names, Validity validity) {
  if (names.empty()) throw std::invalid_argument("a server certificate needs at least one host name or address");
  const KeyPtr pkey = read_private_key(key.pem(), "the server key");
  std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>> subject(X509_NAME_new());
  add_name(subject.get(), "CN", names.front());
  std::string alt;
  for (const std::string& name : names) {
    const bool address =
        name.find_first_not_of("0123456789.") == std::string::npos || name.find(':') != std::string::npos;
    // Appended piece by piece: `"," + std::string(...)` trips GCC 12's -Wrestrict at -O3.
    if (!alt.empty()) alt += ',';
    alt += address ? "IP:" : "DNS:";
    alt += name;
  }
  const X509Ptr cert = build(pkey.get(), subject.get(), keys_->certificate.get(), keys_->key.get(), validity,
                             [&](X509* c, X509* issuer) {
                               add_extension(c, issuer, NID_basic_constraints, "critical,CA:FALSE");
                               add_extension(c, issuer, NID_key_usage, "critical,digitalSignature");
                               add_extension(c, issuer, NID_ext_key_usage, "serverAuth");
                               add_extension(c, issuer, NID_subject_alt_name, alt);
                             });
  return keep({pem_of_cert(cert.get()), sync::certificate_info(cert.get())});
}

IssuedCertificate CertificateAuthority::keep(IssuedCertificate issued) {
  storage::write_file_atomically(dir_ / "issued" / (issued.info.serial + ".crt"), issued.pem, 0644);
  return issued;
}

bool CertificateAuthority::revoke(std::string_view serial, std::int64_t now_s) {
  const std::string name(serial);
  if (!std::filesystem::exists(dir_ / "issued" / (name + ".crt"))) {
    throw std::runtime_error("no certificate with serial " + name + " was issued by the CA in " + dir_.string());
  }
  auto revoked = read_revoked(dir_ / "revoked.txt");
  if (revoked.contains(name)) return false;
  revoked[name] = now_s;
  std::ostringstream text;
  for (const auto& [s, at] : revoked) text << s << " " << at << "\n";
  storage::write_file_atomically(dir_ / "revoked.txt", text.str(), 0644);
  write_crl(now_s);
  return true;
}

void CertificateAuthority::write_crl(std::int64_t now_s) {
  const CrlPtr crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(keys_->certificate.get())) != 1) {
    openssl::fail("create the revocation list");
  }
  const openssl::TimePtr last = openssl::make_time(now_s, "the revocation list's date");
  const openssl::TimePtr next = openssl::make_time(now_s + 3650LL * 86400, "the revocation list's next update");
  if (X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 || X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    openssl::fail("date the revocation list");
  }
  for (const auto& [serial, at] : read_revoked(dir_ / "revoked.txt")) {
    const std::string raw = storage::from_hex(serial);
    std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> number(
        BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()), nullptr));
    std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>> asn1(
        number ? BN_to_ASN1_INTEGER(number.get(), nullptr) : nullptr);
    const openssl::TimePtr when = openssl::make_time(at, "the revocation date of " + serial);
    X509_REVOKED* entry = X509_REVOKED_new();  // owned by the list once added
    if (entry == nullptr || !asn1 || X509_REVOKED_set_serialNumber(entry, asn1.get()) != 1 ||
        X509_REVOKED_set_revocationDate(entry, when.get()) != 1 || X509_CRL_add0_revoked(crl.get(), entry) != 1) {
      X509_REVOKED_free(entry);
      openssl::fail("list revoked certificate " + serial);
    }
  }
  if (X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), keys_->key.get(), nullptr) <= 0) {
    openssl::fail("sign the revocation list");
  }
  storage::write_file_atomically(
      dir_ / "crl.pem", pem_of([&](BIO* bio) { return PEM_write_bio_X509_CRL(bio, crl.get()); }, "the revocation list"),
      0644);
}

}  // namespace loyalty::ledger
