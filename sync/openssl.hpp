// Small RAII helpers over OpenSSL's X.509 objects, shared by the TLS contexts (sync/tls.cpp)
// and the ledger's certificate authority (ledger/pki.cpp).

#ifndef LOYALTY_SYNC_OPENSSL_HPP_
#define LOYALTY_SYNC_OPENSSL_HPP_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

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

X509Ptr read_x509(std::string_view pem, const std::string& what);
KeyPtr read_private_key(std::string_view pem, const std::string& what);

}  // namespace loyalty::sync::openssl

#endif  // LOYALTY_SYNC_OPENSSL_HPP_
