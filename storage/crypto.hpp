// The cryptography the terminal needs, over OpenSSL: SHA-256 for the journal's hash chain,
// HMAC-SHA256 for member identifier keys, and Ed25519 for entry and rulebook signatures.
// Failures of OpenSSL itself throw CryptoError; a signature that does not verify is an
// outcome (false), not an exception.

#ifndef LOYALTY_STORAGE_CRYPTO_HPP_
#define LOYALTY_STORAGE_CRYPTO_HPP_

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace loyalty::storage {

using Bytes = std::span<const std::uint8_t>;
using Digest = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;
using PublicKeyBytes = std::array<std::uint8_t, 32>;

class CryptoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "OPERATION: OpenSSL's reason" for the oldest error in this thread's OpenSSL error queue (or
// just OPERATION when it is empty), and clears the queue, so that the next failure does not
// report this one's reason. Every wrapper of OpenSSL here builds its errors with it.
std::string openssl_error(std::string_view operation);

Bytes as_bytes(std::string_view text);

Digest sha256(Bytes data);
Digest hmac_sha256(Bytes key, Bytes data);

std::string to_hex(Bytes data);
// Decodes lowercase or uppercase hex; throws std::invalid_argument naming what is wrong.
std::string from_hex(std::string_view hex);

// Standard base64 with padding (RFC 4648 section 4), the wire format's encoding of entry bytes.
std::string to_base64(Bytes data);
// Decodes base64 with padding; throws std::invalid_argument for any other text.
std::string from_base64(std::string_view text);

// Compares in time independent of where the inputs differ.
bool equal_constant_time(Bytes a, Bytes b);

// An Ed25519 public key: verifies signatures.
class PublicKey {
 public:
  explicit PublicKey(const PublicKeyBytes& raw);
  // Reads a PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----").
  static PublicKey from_pem(std::string_view pem);

  bool verify(Bytes message, const Signature& signature) const;
  const PublicKeyBytes& raw() const { return raw_; }
  std::string pem() const;

 private:
  PublicKeyBytes raw_;
  std::shared_ptr<void> key_;  // EVP_PKEY, shared so that copies are cheap
};

// An Ed25519 private key: signs.
class PrivateKey {
 public:
  static PrivateKey generate();
  // Reads a PEM PKCS#8 private key ("-----BEGIN PRIVATE KEY-----").
  static PrivateKey from_pem(std::string_view pem);

  Signature sign(Bytes message) const;
  PublicKey public_key() const;
  std::string pem() const;

 private:
  explicit PrivateKey(std::shared_ptr<void> key);
  std::shared_ptr<void> key_;  // EVP_PKEY
};

}  // namespace loyalty::storage

#endif  // LOYALTY_STORAGE_CRYPTO_HPP_
