// The terminal's Ed25519 identity: the key that signs every journal entry. The private key
// lives in one PEM file with mode 0600, created on first start when missing (never replaced:
// a new key would orphan the terminal's enrollment). Its public key is exported for enrollment
// with the ledger.

#ifndef LOYALTY_STORAGE_TERMINAL_KEY_HPP_
#define LOYALTY_STORAGE_TERMINAL_KEY_HPP_

#include <filesystem>

#include "storage/crypto.hpp"

namespace loyalty::storage {

enum class KeyOrigin { created, loaded };

struct TerminalKey {
  PrivateKey key;
  KeyOrigin origin;
};

// Loads the key at `path`, or creates it (mode 0600, written atomically) when the file does not
// exist. Throws when the file exists but is not an Ed25519 private key, or is readable or
// writable by anyone but its owner; the message says what to do. Never overwrites a file.
TerminalKey load_or_create_terminal_key(const std::filesystem::path& path);

// Loads an existing key, with the same checks; throws when it is missing.
PrivateKey load_terminal_key(const std::filesystem::path& path);

}  // namespace loyalty::storage

#endif  // LOYALTY_STORAGE_TERMINAL_KEY_HPP_
