// The journal entry's canonical bytes (storage/journal_entry.hpp), the wire's innermost layer:
// what parses must validate or be refused, and encode back to the same bytes.
#include "storage/journal_entry.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace loyalty;
  const std::string_view bytes = fuzz::text_of(data, size);
  const auto entry = storage::parse_canonical_bytes(bytes);
  if (!entry) return 0;
  if (storage::canonical_bytes(entry->terminal_id, entry->seq, entry->prev_hash, entry->draft) != bytes) std::abort();
  try {
    storage::validate(entry->draft);
    storage::validate_terminal_id(entry->terminal_id);
  } catch (const storage::InvalidEntry&) {
  }
  return 0;
}
