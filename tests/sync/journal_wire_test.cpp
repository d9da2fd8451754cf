#include <doctest/doctest.h>

#include "storage/files.hpp"
#include "storage/journal.hpp"
#include "sync/journal_wire.hpp"
#include "tests/storage/fixtures.hpp"

using namespace loyalty;
using storage::testing::kNow;
using storage::testing::TempDir;

namespace {

struct WireFixture {
  TempDir dir;
  storage::Journal journal{dir / "journal.db", "T-0001", storage::PrivateKey::generate()};

  WireFixture() {
    for (int i = 1; i <= 3; ++i) journal.append(storage::testing::sale("R" + std::to_string(i), "M1", 10 * i, 0), kNow);
    journal.sign_pending();
  }
  std::string batch() { return sync::batch_to_json("T-0001", journal.read(1, 3, 10)); }
};

std::string rejection(const std::string& text) {
  try {
    sync::batch_from_json(text);
  } catch (const runtime::JsonError& error) {
    return error.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("a batch carries each entry's canonical bytes, hash and signature across unchanged") {
  WireFixture f;
  const auto sent = f.journal.read(1, 3, 10);
  const sync::Batch received = sync::batch_from_json(f.batch());
  CHECK(received.terminal_id == "T-0001");
  REQUIRE(received.entries.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const storage::JournalEntry& got = received.entries[i].entry;
    CHECK(got.seq == sent[i].seq);
    CHECK(got.hash == sent[i].hash);
    CHECK(got.prev_hash == sent[i].prev_hash);
    CHECK(got.signature == sent[i].signature);
    CHECK(storage::same_transaction(got.draft, sent[i].draft));
    CHECK(got.draft.recorded_at_ms == sent[i].draft.recorded_at_ms);
  }
}

TEST_CASE("a batch whose bytes, hash, sequence or terminal do not agree is rejected, naming the entry") {
  WireFixture f;
  auto document = nlohmann::json::parse(f.batch());

  auto changed = document;
  std::string bytes = storage::from_base64(changed["entries"][1]["bytes"].get<std::string>());
  bytes[bytes.size() - 3] ^= 1;  // a byte of the payload
  changed["entries"][1]["bytes"] = storage::to_base64(storage::as_bytes(bytes));
  CHECK(rejection(changed.dump()) == "batch.entries[1].hash: does not match the entry's bytes");

  changed = document;
  changed["entries"][2]["seq"] = 4;
  CHECK(rejection(changed.dump()) == "batch.entries[2].seq: must follow 2, got 4");

  changed = document;
  changed["entries"].erase(1);
  CHECK(rejection(changed.dump()) == "batch.entries[1].seq: must follow 1, got 3");

  changed = document;
  changed["terminal_id"] = "T-0002";
  CHECK(rejection(changed.dump()) == "batch.entries[0].bytes: belongs to terminal T-0001, not T-0002");

  changed = document;
  changed["entries"][0]["bytes"] = "not base64!";
  CHECK(rejection(changed.dump()) == "batch.entries[0].bytes: base64 text is not a multiple of 4 characters long");

  changed = document;
  changed["entries"][0]["signature"] = "abcd";
  CHECK(rejection(changed.dump()) == "batch.entries[0].signature: must be 64 bytes in hex");

  changed = document;
  changed["entries"][0]["extra"] = 1;
  CHECK(rejection(changed.dump()).find("batch.entries[0].extra") != std::string::npos);

  changed = document;
  changed["format"] = "loyalty-batch/9";
  CHECK(rejection(changed.dump()) == "batch.format: must be \"loyalty-batch/1\", got \"loyalty-batch/9\"");

  changed = document;
  changed["entries"] = nlohmann::json::array();
  CHECK(rejection(changed.dump()) == "batch.entries: must hold at least one entry");

  CHECK(rejection("{\"format\": ").find("batch") != std::string::npos);
}

namespace {

std::string binary_rejection(const std::string& body) {
  try {
    sync::batch_from_binary(body);
  } catch (const runtime::JsonError& error) {
    return error.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("the binary form of a batch reads back as the JSON one does, in about half the bytes") {
  WireFixture f;
  const auto sent = f.journal.read(1, 3, 10);
  const std::string binary = sync::batch_to_binary("T-0001", sent);
  const sync::Batch from_binary = sync::batch_from_binary(binary);
  const sync::Batch from_json = sync::batch_from_json(f.batch());
  CHECK(from_binary.terminal_id == "T-0001");
  REQUIRE(from_binary.entries.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(from_binary.entries[i].bytes == from_json.entries[i].bytes);
    CHECK(from_binary.entries[i].entry.hash == sent[i].hash);
    CHECK(from_binary.entries[i].entry.signature == sent[i].signature);
    CHECK(storage::same_transaction(from_binary.entries[i].entry.draft, sent[i].draft));
  }
  CHECK(binary.size() < f.batch().size() * 3 / 4);
  // An entry not signed yet travels without a signature.
  f.journal.append(storage::testing::sale("R4", "M1", 40, 0), kNow);
  const auto unsigned_entries = f.journal.read(1, 4, 10);
  const sync::Batch four = sync::batch_from_binary(sync::batch_to_binary("T-0001", unsigned_entries));
  REQUIRE(four.entries.size() == 4);
  CHECK(four.entries[2].entry.signature);
  CHECK_FALSE(four.entries[3].entry.signature);
}

TEST_CASE("a binary batch cut short, padded, altered or out of order is rejected, naming the field") {
  WireFixture f;
  const auto entries = f.journal.read(1, 3, 10);
  const std::string good = sync::batch_to_binary("T-0001", entries);
  // Every shorter body is refused: no prefix of a batch reads as a batch.
  for (std::size_t size = 0; size < good.size(); ++size) {
    const std::string refused = binary_rejection(good.substr(0, size));
    CAPTURE(size);
    CHECK(refused != "accepted");
  }
  CHECK(binary_rejection(good.substr(0, 10)) == "batch.terminal_id: ends before its text");
  CHECK(binary_rejection(good + "x") == "batch: has bytes after its last entry");
  CHECK(binary_rejection("{\"format\": \"loyalty-batch/1\"}").starts_with("batch: is not a binary batch"));

  // Offsets: "LYB1", 2 + 6 (terminal), 4 (count); the first entry's seq, length, bytes.
  const std::size_t first = 4 + 2 + 6 + 4;
  const std::size_t first_bytes = first + 8 + 4;
  std::string changed = good;
  changed[first_bytes + 80] ^= 1;  // a byte of the first entry's canonical bytes (its fields)
  CHECK(binary_rejection(changed).starts_with("batch.entries[0]."));

  const std::string bytes0 = sync::wire_entry(entries[0]).bytes;
  changed = good;
  changed[first_bytes + bytes0.size() - 1] ^= 1;  // the last byte of its payload
  CHECK(binary_rejection(changed) == "batch.entries[0].hash: does not match the entry's bytes");

  changed = good;
  changed[first_bytes + bytes0.size() + 32] = 2;  // the signature mark
  CHECK(binary_rejection(changed) == "batch.entries[0].signature: mark must be 0 or 1, got 2");

  changed = good;
  changed[first + 7] = 5;  // seq 5 where 1 was
  CHECK(binary_rejection(changed) == "batch.entries[0].bytes: holds entry 1, not 5");

  // The second entry out of sequence.
  const std::string skipped = sync::batch_to_binary("T-0001", std::vector{entries[0], entries[2]});
  CHECK(binary_rejection(skipped) == "batch.entries[1].seq: must follow 1, got 3");

  CHECK(binary_rejection(sync::batch_to_binary("T-0002", entries)) ==
        "batch.entries[0].bytes: belongs to terminal T-0001, not T-0002");
  CHECK(binary_rejection(sync::batch_to_binary("T-0001", {})) == "batch.entries: must hold at least one entry");
  changed = good;
  changed[first - 2] = 0x7f;  // a count of 2,130,000,000-odd entries
  CHECK(binary_rejection(changed) == "batch.entries: must hold at most 2000 entries");
}

TEST_CASE("the fuzzer's binary batch seed is a batch, so fuzzing starts from what is accepted") {
  const std::string seed = storage::read_file(std::string(LOYALTY_SOURCE_DIR) + "/tests/fuzz/seeds/batch.bin");
  CHECK(binary_rejection(seed) == "accepted");
  const sync::Batch batch = sync::batch_from_binary(seed);
  CHECK(batch.terminal_id == "T1");
  REQUIRE(batch.entries.size() == 2);
  CHECK_FALSE(batch.entries[0].entry.signature);
  CHECK(batch.entries[1].entry.signature);
}

TEST_CASE("base64 decodes what it encodes and refuses malformed text") {
  for (std::size_t size = 0; size < 7; ++size) {
    const std::string bytes(size, '\xfe');
    CHECK(storage::from_base64(storage::to_base64(storage::as_bytes(bytes))) == bytes);
  }
  CHECK(storage::to_base64(storage::as_bytes("loyalty")) == "bG95YWx0eQ==");
  CHECK_THROWS_AS(storage::from_base64("bG9=YWx0"), std::invalid_argument);
  CHECK_THROWS_AS(storage::from_base64("bG95YWx0eQ="), std::invalid_argument);
  CHECK_THROWS_AS(storage::from_base64("bG95 WF0"), std::invalid_argument);
}

TEST_CASE("an acknowledgement reads back as it was written, and unknown fields are refused") {
  const sync::Ack ack{"T-0001", 41, 10, 2, 3, 977};
  CHECK(sync::ack_from_json(sync::ack_to_json(ack)) == ack);
  auto document = sync::ack_to_json(ack);
  document["acknowledged_through"] = -1;
  CHECK_THROWS_AS(sync::ack_from_json(document), runtime::JsonError);
  document = sync::ack_to_json(ack);
  document["surprise"] = true;
  CHECK_THROWS_AS(sync::ack_from_json(document), runtime::JsonError);
}
