#include <doctest/doctest.h>
#include <sys/stat.h>

#include "storage/crypto.hpp"
#include "storage/files.hpp"
#include "storage/terminal_key.hpp"
#include "tests/storage/fixtures.hpp"

using namespace loyalty::storage;
using loyalty::storage::testing::TempDir;

TEST_CASE("SHA-256 and HMAC-SHA256 match the published test vectors") {
  CHECK(to_hex(sha256(as_bytes("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  CHECK(to_hex(hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"))) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("an Ed25519 signature verifies only for its message and its key") {
  const PrivateKey key = PrivateKey::generate();
  const Signature signature = key.sign(as_bytes("entry 1"));
  CHECK(key.public_key().verify(as_bytes("entry 1"), signature));
  CHECK_FALSE(key.public_key().verify(as_bytes("entry 2"), signature));
  CHECK_FALSE(PrivateKey::generate().public_key().verify(as_bytes("entry 1"), signature));
  Signature flipped = signature;
  flipped[10] ^= 1;
  CHECK_FALSE(key.public_key().verify(as_bytes("entry 1"), flipped));
}

TEST_CASE("keys survive a round trip through PEM") {
  const PrivateKey key = PrivateKey::generate();
  const PrivateKey again = PrivateKey::from_pem(key.pem());
  CHECK(again.public_key().raw() == key.public_key().raw());
  CHECK(PublicKey::from_pem(key.public_key().pem()).raw() == key.public_key().raw());
  CHECK_THROWS_AS(PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"),
                  CryptoError);
}

TEST_CASE("hex decoding rejects what is not hex") {
  CHECK(from_hex("00ff10") == std::string("\x00\xff\x10", 3));
  CHECK_THROWS_AS(from_hex("abc"), std::invalid_argument);
  CHECK_THROWS_AS(from_hex("zz"), std::invalid_argument);
}

TEST_CASE("the terminal key is created once with mode 0600 and loaded afterwards") {
  TempDir dir;
  const auto path = dir / "terminal.key";
  const TerminalKey created = load_or_create_terminal_key(path);
  CHECK(created.origin == KeyOrigin::created);
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  CHECK((status.st_mode & 07777) == 0600);
  const TerminalKey loaded = load_or_create_terminal_key(path);
  CHECK(loaded.origin == KeyOrigin::loaded);
  CHECK(loaded.key.public_key().raw() == created.key.public_key().raw());
  CHECK_FALSE(std::filesystem::exists(dir / "terminal.key.tmp"));
}

TEST_CASE("a terminal key readable by others or not a key is refused and left as it is") {
  TempDir dir;
  const auto path = dir / "terminal.key";
  load_or_create_terminal_key(path);
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  try {
    load_terminal_key(path);
    FAIL("a world-readable key was accepted");
  } catch (const CryptoError& error) {
    CHECK(std::string(error.what()).find("mode 0644") != std::string::npos);
    CHECK(std::string(error.what()).find("chmod 600") != std::string::npos);
  }
  write_file_atomically(path, "garbage", 0600);
  CHECK_THROWS_AS(load_or_create_terminal_key(path), CryptoError);
  CHECK(read_file(path) == "garbage");
}
