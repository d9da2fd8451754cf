// Crash safety with a real process and a real SIGKILL: a child appends in a loop and reports
// each append that returned; the parent kills it at a random moment, then reopens the journal
// and checks that it is sound and holds every reported append.
//
// LOYALTY_CRASH_KILLS sets the number of kills (200 by default; scripts/test --soak runs
// more); LOYALTY_SEED fixes the random moments. The seed is printed.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>

#include "storage/journal.hpp"
#include "storage/journal_check.hpp"
#include "storage/terminal_key.hpp"
#include "tests/child_process.hpp"
#include "tests/env.hpp"
#include "tests/storage/fixtures.hpp"

using namespace loyalty::storage;
using loyalty::storage::testing::TempDir;
using loyalty::testing::Child;
using loyalty::testing::env_number;

namespace {}  // namespace

TEST_CASE("a journal killed with SIGKILL at random moments keeps every acknowledged append") {
  const std::uint64_t kills = env_number("LOYALTY_CRASH_KILLS", 200);
  const std::uint64_t seed = env_number("LOYALTY_SEED", std::random_device{}());
  std::printf("crash test: %llu kills, LOYALTY_SEED=%llu\n", static_cast<unsigned long long>(kills),
              static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);

  TempDir dir;
  const auto journal_path = dir / "journal.db";
  const auto key_path = dir / "terminal.key";
  const PublicKey public_key = load_or_create_terminal_key(key_path).key.public_key();
  std::map<std::int64_t, std::string> acknowledged;  // seq -> receipt, over all children
  std::uint64_t killed_mid_run = 0;

  for (std::uint64_t round = 0; round < kills; ++round) {
    CAPTURE(round);
    const std::string prefix = "K" + std::to_string(round);
    Child child({LOYALTY_CRASH_CHILD, journal_path.string(), key_path.string(), prefix});
    // Kill after a random number of reported appends (0: possibly while opening), plus a
    // random delay so that the kill lands anywhere inside the next append.
    const auto reports = std::uniform_int_distribution<std::size_t>(0, 6)(rng);
    REQUIRE(child.wait_for_lines(reports, std::chrono::steady_clock::now() + std::chrono::seconds(20)));
    const auto spin = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 600)(rng));
    const auto until = std::chrono::steady_clock::now() + spin;
    while (std::chrono::steady_clock::now() < until) {
    }
    const int status = child.kill_and_reap();
    REQUIRE_MESSAGE(WIFSIGNALED(status), "the child exited by itself: " << status);
    ++killed_mid_run;

    std::istringstream lines(child.output());
    std::int64_t seq = 0;
    std::string receipt;
    while (lines >> seq >> receipt) acknowledged[seq] = receipt;

    if (!std::filesystem::exists(journal_path)) {
      // Killed before the first child created the file: nothing can have been acknowledged.
      REQUIRE(acknowledged.empty());
      continue;
    }
    auto db = open_journal_database(journal_path, Creation::must_exist);
    REQUIRE(db->check(true).empty());
    const auto report = verify_journal(*db, public_key, SignatureCheck::last);
    REQUIRE_MESSAGE(report.ok(), report.problem);
    REQUIRE(report.unsigned_entries <= 1);  // at most the append whose signing the kill cut short
    if (!acknowledged.empty()) {
      REQUIRE(report.first_seq == 1);
      REQUIRE(report.last_seq >= acknowledged.rbegin()->first);
      REQUIRE(report.entries == report.last_seq);  // gapless from 1
    }
    for (const auto& [acked_seq, acked_receipt] : acknowledged) {
      Statement find(*db, "SELECT receipt_id FROM journal WHERE seq = ?");
      find.bind(1, acked_seq);
      REQUIRE_MESSAGE(find.step(), "acknowledged entry " << acked_seq << " is missing");
      REQUIRE(find.text(0) == acked_receipt);
    }
  }
  Journal(journal_path, "crash-lane", load_terminal_key(key_path)).sign_pending();
  auto db = open_journal_database(journal_path, Creation::read_only);
  const auto report = verify_journal(*db, public_key, SignatureCheck::every);
  CHECK(report.ok());
  CHECK(report.unsigned_entries == 0);
  CHECK(killed_mid_run == kills);
  CHECK(acknowledged.size() > kills);  // the children did make progress between kills
  std::printf("crash test: %lld entries after %llu kills, %zu acknowledged\n", static_cast<long long>(report.entries),
              static_cast<unsigned long long>(kills), acknowledged.size());
}
