// Small RAII helpers over OpenSSL's X.509 objects, shared by the TLS contexts (sync/tls.cpp)
// and the ledger's certificate authority (ledger/pki.cpp).

#ifndef LOYALTY_SYNC_OPENSSL_HPP_
#define LOYALTY_SYNC_OPENSSL_HPP_

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace loyalty::sync::openssl {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL, X509_CRL_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using TimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>>;

// Throws TlsError "OPERATION: OpenSSL's reason" and clears OpenSSL's error queue.
[[noreturn]] void fail(const std::string& operation);

// A read-only BIO over `text`, which must outlive it.
BioPtr memory(std::string_view text);
// Runs `write(bio)` on a memory BIO and returns what it wrote; `what` names it for errors.
template <class Write>
std::string pem_of(Write write, const std::string& what) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) fail("write " + what);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// Certificate times as Unix seconds, both ways, without time_t: on 32-bit ARM it ends in
// January 2038, and a certificate may be valid for longer. set_time picks UTCTime or
// GeneralizedTime as RFC 5280 asks; `what` names the time for errors.
std::int64_t unix_seconds(const ASN1_TIME* time);
void set_time(ASN1_TIME* time, std::int64_t unix_s, const std::string& what);
TimePtr make_time(std::int64_t unix_s, const std::string& what);

X509Ptr read_x509(std::string_view pem, const std::string& what);
KeyPtr read_private_key(std::string_view pem, const std::string& what);

}  // namespace loyalty::sync::openssl

#endif  // LOYALTY_SYNC_OPENSSL_HPP_
