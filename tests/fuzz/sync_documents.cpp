// The documents of the sync protocol as the agent and the ledger read them: an uploaded batch
// (sync/journal_wire.hpp) as JSON and in its binary form, the ledger's acknowledgement, a member feed page
// (sync/member_feed.hpp) and a signed rulebook envelope (sync/signed_rulebook.hpp). The first
// byte chooses.
#include "sync/journal_wire.hpp"
#include "sync/member_feed.hpp"
#include "sync/signed_rulebook.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace loyalty;
  static const storage::PrivateKey key = storage::PrivateKey::generate();
  static const std::vector<sync::RulebookKey> keys{{"central", key.public_key()}};
  if (size == 0) return 0;
  const std::string_view text = fuzz::text_of(data + 1, size - 1);
  try {
    switch (data[0] % 5) {
      case 0: {
        const sync::Batch batch = sync::batch_from_json(text);
        std::vector<storage::JournalEntry> entries;
        for (const sync::WireEntry& wire : batch.entries) entries.push_back(wire.entry);
        // What was accepted is written back as the same batch.
        if (sync::batch_from_json(sync::batch_to_json(batch.terminal_id, entries)).entries.size() != entries.size())
          std::abort();
        break;
      }
      case 4: {
        const sync::Batch batch = sync::batch_from_binary(text);
        std::vector<storage::JournalEntry> entries;
        for (const sync::WireEntry& wire : batch.entries) entries.push_back(wire.entry);
        // What was accepted is written back as the same bytes.
        if (sync::batch_to_binary(batch.terminal_id, entries) != text) std::abort();
        break;
      }
      case 1: fuzz::must_dump(sync::ack_to_json(sync::ack_from_json(runtime::parse_json(text, "ack")))); break;
      case 2:
        fuzz::must_dump(sync::member_page_to_json(sync::member_page_from_json(runtime::parse_json(text, "members"))));
        break;
      default: static_cast<void>(sync::verify_rulebook(text, keys, 1'795'000'000)); break;
    }
  } catch (const runtime::JsonError&) {
  } catch (const sync::RulebookRefused&) {
  }
  return 0;
}
