#include "storage/crypto.hpp"

#include <cctype>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

namespace loyalty::storage {
namespace {

[[noreturn]] void fail(std::string_view operation) { throw CryptoError(openssl_error(operation)); }

EVP_PKEY* pkey(const std::shared_ptr<void>& key) { return static_cast<EVP_PKEY*>(key.get()); }

std::shared_ptr<void> own(EVP_PKEY* key) {
  return std::shared_ptr<void>(key, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

Bio memory_bio(std::string_view text) {
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) fail("allocate a memory BIO");
  return bio;
}

std::string drain(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// Reads a PEM key with `read` (PEM_read_bio_PUBKEY or PEM_read_bio_PrivateKey) and checks that
// it is an Ed25519 key; `what` is "public" or "private".
template <class Read>
std::shared_ptr<void> read_ed25519_pem(std::string_view pem, Read read, std::string_view what) {
  Bio bio = memory_bio(pem);
  EVP_PKEY* key = read(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) fail("read a PEM " + std::string(what) + " key");
  auto owned = own(key);
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    throw CryptoError("the " + std::string(what) + " key is not an Ed25519 key");
  }
  return owned;
}

struct MdContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

}  // namespace

std::string openssl_error(std::string_view operation) {
  std::string message(operation);
  if (const unsigned long code = ERR_get_error(); code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    message += ": ";
    message += buffer;
  }
  ERR_clear_error();
  return message;
}

Bytes as_bytes(std::string_view text) { return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}; }

Digest sha256(Bytes data) {
  Digest digest;
  if (SHA256(data.data(), data.size(), digest.data()) == nullptr) fail("SHA-256");
  return digest;
}

Digest hmac_sha256(Bytes key, Bytes data) {
  Digest digest;
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), digest.data(), &size) ==
          nullptr ||
      size != digest.size()) {
    fail("HMAC-SHA256");
  }
  return digest;
}

std::string to_hex(Bytes data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(data.size() * 2);
  for (std::uint8_t byte : data) {
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 0xf];
  }
  return hex;
}

std::string from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) throw std::invalid_argument("hex text has an odd number of digits");
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument(std::string("'") + c + "' is not a hex digit");
  };
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    bytes += static_cast<char>(value(hex[i]) * 16 + value(hex[i + 1]));
  }
  return bytes;
}

std::string to_base64(Bytes data) {
  std::string text(4 * ((data.size() + 2) / 3), '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), data.data(), static_cast<int>(data.size()));
  text.resize(static_cast<std::size_t>(written));
  return text;
}

std::string from_base64(std::string_view text) {
  if (text.size() % 4 != 0) throw std::invalid_argument("base64 text is not a multiple of 4 characters long");
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') {
      throw std::invalid_argument(std::string("'") + c + "' is not a base64 character");
    }
  }
  std::string bytes(text.size() / 4 * 3, '\0');
  const int decoded =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                      reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (decoded < 0) throw std::invalid_argument("base64 text is malformed");
  // EVP_DecodeBlock counts padding as zero bytes; padding may only end the text.
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  if (text.substr(0, text.size() - padding).find('=') != std::string_view::npos) {
    throw std::invalid_argument("base64 padding in the middle of the text");
  }
  bytes.resize(static_cast<std::size_t>(decoded) - padding);
  return bytes;
}

bool equal_constant_time(Bytes a, Bytes b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---------------------------------------------------------------------------------------------

PublicKey::PublicKey(const PublicKeyBytes& raw) : raw_(raw) {
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size());
  if (key == nullptr) fail("load an Ed25519 public key");
  key_ = own(key);
}

PublicKey PublicKey::from_pem(std::string_view pem) {
  const auto key = read_ed25519_pem(pem, PEM_read_bio_PUBKEY, "public");
  PublicKeyBytes raw;
  std::size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey(key), raw.data(), &size) != 1 || size != raw.size()) {
    fail("read an Ed25519 key");
  }
  return PublicKey(raw);
}

bool PublicKey::verify(Bytes message, const Signature& signature) const {
  std::unique_ptr<EVP_MD_CTX, MdContextDeleter> context(EVP_MD_CTX_new());
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, pkey(key_)) != 1) {
    fail("start an Ed25519 verification");
  }
  const int rc = EVP_DigestVerify(context.get(), signature.data(), signature.size(), message.data(), message.size());
  ERR_clear_error();
  return rc == 1;
}

std::string PublicKey::pem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey(key_)) != 1) fail("write a PEM public key");
  return drain(bio.get());
}

// ---------------------------------------------------------------------------------------------

PrivateKey::PrivateKey(std::shared_ptr<void> key) : key_(std::move(key)) {}

PrivateKey PrivateKey::generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) fail("generate an Ed25519 key");
  return PrivateKey(own(key));
}

PrivateKey PrivateKey::from_pem(std::string_view pem) {
  return PrivateKey(read_ed25519_pem(pem, PEM_read_bio_PrivateKey, "private"));
}

Signature PrivateKey::sign(Bytes message) const {
  std::unique_ptr<EVP_MD_CTX, MdContextDeleter> context(EVP_MD_CTX_new());
  if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, pkey(key_)) != 1) {
    fail("start an Ed25519 signature");
  }
  Signature signature;
  std::size_t size = signature.size();
  if (EVP_DigestSign(context.get(), signature.data(), &size, message.data(), message.size()) != 1 ||
      size != signature.size()) {
    fail("sign with Ed25519");
  }
  return signature;
}

PublicKey PrivateKey::public_key() const {
  PublicKeyBytes raw;
  std::size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey(key_), raw.data(), &size) != 1 || size != raw.size()) {
    fail("read the Ed25519 public key");
  }
  return PublicKey(raw);
}

std::string PrivateKey::pem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey(key_), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("write a PEM private key");
  }
  return drain(bio.get());
}

}  // namespace loyalty::storage
