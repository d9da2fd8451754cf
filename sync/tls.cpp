#include "sync/tls.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

#include "domain/local_time.hpp"
#include "storage/files.hpp"
#include "sync/openssl.hpp"

namespace loyalty::sync {
namespace openssl {

void fail(const std::string& operation) { throw TlsError(storage::openssl_error(operation)); }

BioPtr memory(std::string_view text) {
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) fail("allocate a memory BIO");
  return bio;
}

std::int64_t unix_seconds(const ASN1_TIME* time) {
  struct tm parts {};
  if (ASN1_TIME_to_tm(time, &parts) != 1) fail("read a certificate time");
  return domain::as_epoch_seconds(domain::LocalDateTime{parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                                                        parts.tm_hour, parts.tm_min, parts.tm_sec});
}

void set_time(ASN1_TIME* time, std::int64_t unix_s, const std::string& what) {
  const domain::LocalDateTime t = domain::from_epoch_seconds(unix_s);
  char text[32];
  std::snprintf(text, sizeof text, "%04d%02d%02d%02d%02d%02dZ", t.year, t.month, t.day, t.hour, t.minute, t.second);
  if (t.year < 0 || t.year > 9999 || ASN1_TIME_set_string_X509(time, text) != 1) fail("set " + what + " to " + text);
}

TimePtr make_time(std::int64_t unix_s, const std::string& what) {
  TimePtr time(ASN1_TIME_new());
  if (!time) fail("allocate " + what);
  set_time(time.get(), unix_s, what);
  return time;
}

X509Ptr read_x509(std::string_view pem, const std::string& what) {
  const BioPtr bio = memory(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) fail("read " + what);
  return cert;
}

KeyPtr read_private_key(std::string_view pem, const std::string& what) {
  const BioPtr bio = memory(pem);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail("read " + what);
  return key;
}

}  // namespace openssl

namespace {

using namespace openssl;

std::string name_entry(const X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return "";
  std::string text(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return text;
}

}  // namespace

CertificateInfo read_certificate(std::string_view pem) {
  const X509Ptr cert = read_x509(pem, "a PEM certificate");
  return certificate_info(cert.get());
}

CertificateInfo certificate_info(X509* cert) {
  CertificateInfo info;
  info.common_name = name_entry(X509_get_subject_name(cert), NID_commonName);
  info.organizational_unit = name_entry(X509_get_subject_name(cert), NID_organizationalUnitName);
  info.issuer = name_entry(X509_get_issuer_name(cert), NID_commonName);
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  info.serial = storage::to_hex({serial->data, static_cast<std::size_t>(serial->length)});
  info.not_before_s = unix_seconds(X509_get0_notBefore(cert));
  info.not_after_s = unix_seconds(X509_get0_notAfter(cert));
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key != nullptr && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519) {
    storage::PublicKeyBytes raw{};
    std::size_t size = raw.size();
    if (EVP_PKEY_get_raw_public_key(key, raw.data(), &size) == 1 && size == raw.size()) info.ed25519_key = raw;
  }
  return info;
}

std::string make_terminal_csr(const storage::PrivateKey& key, std::string_view terminal_id, std::string_view store_id) {
  const KeyPtr pkey = read_private_key(key.pem(), "the terminal key");
  const ReqPtr request(X509_REQ_new());
  if (!request || X509_REQ_set_version(request.get(), 0) != 1) fail("create a certificate request");
  X509_NAME* subject = X509_REQ_get_subject_name(request.get());
  const auto add = [&](const char* field, std::string_view value) {
    if (X509_NAME_add_entry_by_txt(subject, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      fail(std::string("set the request's ") + field);
    }
  };
  add("OU", store_id);
  add("CN", terminal_id);
  if (X509_REQ_set_pubkey(request.get(), pkey.get()) != 1) fail("set the request's key");
  if (X509_REQ_sign(request.get(), pkey.get(), nullptr) <= 0) fail("sign the certificate request");
  return pem_of([&](BIO* out) { return PEM_write_bio_X509_REQ(out, request.get()); }, "the certificate request");
}

ssl::context make_context(ssl::context::method method, const TlsFiles& files) {
  ssl::context context(method);
  SSL_CTX* native = context.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    fail("limit TLS to version 1.3");
  }
  const auto use = [&](const std::filesystem::path& file, std::string_view what, auto action) {
    if (!std::filesystem::exists(file)) throw TlsError(std::string(what) + " " + file.string() + " does not exist");
    boost::system::error_code error;
    action(file.string(), error);
    if (error) throw TlsError("cannot use " + std::string(what) + " " + file.string() + ": " + error.message());
  };
  use(files.ca, "CA certificate", [&](const std::string& f, auto& e) { context.load_verify_file(f, e); });
  use(files.certificate, "certificate",
      [&](const std::string& f, auto& e) { context.use_certificate_chain_file(f, e); });
  use(files.key, "private key",
      [&](const std::string& f, auto& e) { context.use_private_key_file(f, ssl::context::pem, e); });
  if (SSL_CTX_check_private_key(native) != 1) {
    fail("the private key " + files.key.string() + " does not belong to certificate " + files.certificate.string());
  }
  if (files.crl) {
    const std::string text = storage::read_file(*files.crl);
    const BioPtr bio = memory(text);
    const CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    if (!crl) fail("read the revocation list " + files.crl->string());
    X509_STORE* store = SSL_CTX_get_cert_store(native);
    if (X509_STORE_add_crl(store, crl.get()) != 1) fail("use the revocation list " + files.crl->string());
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  context.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return context;
}

}  // namespace loyalty::sync
