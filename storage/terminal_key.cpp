#include "storage/terminal_key.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

#include "storage/files.hpp"

namespace loyalty::storage {

PrivateKey load_terminal_key(const std::filesystem::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) throw FileError("read terminal key", path, errno);
  if ((status.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", status.st_mode & 07777);
    throw CryptoError("terminal key " + path.string() + " is accessible to other users (mode " + mode +
                      "); run: chmod 600 " + path.string());
  }
  try {
    return PrivateKey::from_pem(read_file(path));
  } catch (const CryptoError& error) {
    throw CryptoError("terminal key " + path.string() + " is not an Ed25519 private key in PEM: " + error.what());
  }
}

TerminalKey load_or_create_terminal_key(const std::filesystem::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0) return {load_terminal_key(path), KeyOrigin::loaded};
  if (errno != ENOENT) throw FileError("read terminal key", path, errno);
  PrivateKey key = PrivateKey::generate();
  write_file_atomically(path, key.pem(), 0600, Replace::never);
  return {std::move(key), KeyOrigin::created};
}

}  // namespace loyalty::storage
