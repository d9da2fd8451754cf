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
#include "tests/env.hpp"
#include "tests/storage/fixtures.hpp"

extern char** environ;

using namespace loyalty::storage;
using loyalty::storage::testing::TempDir;
using loyalty::testing::env_number;

namespace {

// A running child with its stdout on a pipe.
class Child {
 public:
  Child(const std::vector<std::string>& args) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    read_fd_ = fds[0];
    REQUIRE(rc == 0);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(read_fd_);
  }

  // Reads until `lines` complete report lines arrived, the child exited, or the deadline.
  // Returns false on the deadline.
  bool wait_for_lines(std::size_t lines, std::chrono::steady_clock::time_point deadline) {
    while (complete_lines() < lines) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{read_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      if (!read_some()) return true;  // end of file: the child is gone
    }
    return true;
  }

  // SIGKILL, reap, and collect what was written before the kill.
  int kill_and_reap() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    while (read_some()) {
    }
    return status;
  }

  const std::string& output() const { return output_; }

 private:
  std::size_t complete_lines() const {
    return static_cast<std::size_t>(std::count(output_.begin(), output_.end(), '\n'));
  }
  bool read_some() {
    char buffer[4096];
    const ssize_t n = ::read(read_fd_, buffer, sizeof buffer);
    if (n <= 0) return false;
    output_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::string output_;
};

}  // namespace

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
