// The child of the crash test: opens the journal and appends until it is killed. After each
// append returns (the entry is durable) it writes "SEQ RECEIPT\n" to stdout with one write(2),
// so the parent knows exactly which appends were acknowledged before the kill. Then it signs,
// as the agent does after each answer (and at start, for a tail a kill left unsigned).
//
// usage: loyalty_journal_crash_child JOURNAL KEY PREFIX
#include <unistd.h>

#include <cstdio>
#include <string>

#include "storage/journal.hpp"
#include "storage/terminal_key.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s JOURNAL KEY PREFIX\n", argv[0]);
    return 2;
  }
  try {
    using namespace loyalty::storage;
    Journal journal(argv[1], "crash-lane", load_terminal_key(argv[2]));
    journal.sign_pending();
    for (long i = 1;; ++i) {
      EntryDraft draft;
      draft.receipt_id = std::string(argv[3]) + "-" + std::to_string(i);
      draft.member_id = "M" + std::to_string(i % 17);
      draft.recorded_at_ms = 1'795'000'000'000 + i;
      draft.rulebook_version = 41;
      draft.points_earned = i % 50;
      draft.points_redeemed = i % 7 == 0 ? 20 : 0;
      draft.payload.assign(static_cast<std::size_t>(200 + i % 300), static_cast<char>('a' + i % 26));
      const auto appended = journal.append(draft, 1'795'000'000'000 + i);
      const std::string line = std::to_string(appended.entry.seq) + " " + draft.receipt_id + "\n";
      if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 3;
      journal.sign_pending();
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "crash child: %s\n", error.what());
    return 1;
  }
}
