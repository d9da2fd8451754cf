// Every command of the three programs, given files that are not there and outputs that cannot
// be written: each ends with a message naming the path and its documented exit status (1, or
// 78 for a daemon's configuration), never an abort. Run as child processes, so that an abort
// fails one case instead of the suite. "Cannot be written" is a path under a regular file
// (ENOTDIR), which holds for root too.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <fstream>
#include <string>
#include <vector>

#include "storage/journal.hpp"
#include "tests/child_process.hpp"
#include "tests/storage/fixtures.hpp"

using namespace loyalty;

namespace {

struct Case {
  std::vector<std::string> command;
  int status;
  std::string names;           // what the message must name
  int stream = STDERR_FILENO;  // where it says so
};

std::string example(const char* name) { return std::string(LOYALTY_SOURCE_DIR) + "/examples/" + name; }

}  // namespace

TEST_CASE("every command given a missing or unwritable path says so and exits with its status, never aborts") {
  storage::testing::TempDir dir;
  const std::string d = dir.path().string();
  std::ofstream(dir / "file") << "a regular file\n";
  const std::string journal = d + "/journal.db";
  {
    storage::Journal(journal, "lane-1", storage::PrivateKey::generate())
        .append(storage::testing::sale("R1", "M1", 10, 0), storage::testing::kNow);
  }
  std::ofstream(dir / "secret") << "a member secret of the retail chain\n";
  auto config = [&](const std::string& name, const std::string& data_dir) {
    std::ofstream(dir / name) << R"({"terminal_id": "lane-1", "store_id": "store-1", "data_dir": ")" << data_dir
                              << R"(", "rulebook_file": ")" << example("rulebook-ru.json")
                              << R"(", "member_secret_file": ")" << d << R"(/secret"})";
    return d + "/" + name;
  };
  const std::string good = config("agent.json", d + "/data");
  const std::string bad_data = config("agent-bad-data.json", d + "/file/data");

  const std::string A = LOYALTY_AGENT_BINARY, L = LOYALTY_LEDGER_BINARY, S = LOYALTY_LANE_SIM_BINARY;
  const std::string missing = d + "/missing", under_file = d + "/file/out";
  const std::vector<Case> cases = {
      {{A, "quote", "--rulebook", missing, "--basket", example("basket-ru.json")}, 1, missing},
      {{A, "quote", "--rulebook", example("rulebook-ru.json"), "--basket", missing}, 1, missing},
      {{A, "refund", "--rulebook", missing, "--sale", missing, "--return", missing}, 1, missing},
      {{A, "journal", "verify", "--journal", missing}, 1, missing},
      {{A, "journal", "stats", "--journal", missing}, 1, missing},
      {{A, "journal", "export", "--journal", missing, "--out", d + "/out.db", "--pending"}, 1, missing},
      {{A, "journal", "export", "--journal", journal, "--out", under_file, "--pending"}, 1, under_file},
      {{A, "journal", "sign", "--journal", journal, "--key", missing}, 1, missing},
      {{A, "enroll", "--config", missing, "--out", d + "/lane.csr"}, 1, missing},
      {{A, "enroll", "--config", good, "--out", under_file}, 1, under_file},
      {{A, "enroll", "--config", bad_data, "--out", d + "/lane.csr"}, 1, d + "/file/data"},
      {{A, "check-config", "--config", missing}, 78, missing},
      {{A, "run", "--config", missing}, 78, missing},
      {{A, "run", "--config", bad_data}, 1, d + "/file/data"},
      {{L, "replay", "--db", under_file, journal}, 1, under_file},
      {{L, "replay", "--db", d + "/ledger.db", missing}, 1, missing, STDOUT_FILENO},  // in the report
      {{L, "audit", "--db", missing}, 1, missing},
      {{L, "report", "--db", missing}, 1, missing},
      {{L, "expire", "--db", missing}, 1, missing},
      {{L, "terminal", "list", "--db", missing}, 1, missing},
      {{L, "terminal", "enroll", "--db", d + "/ledger.db", "--terminal", "lane-1", "--store", "store-1", "--public-key",
        missing},
       1,
       missing},
      {{L, "members", "import", "--db", d + "/ledger.db", "--member-secret", missing, "--file", missing}, 1, missing},
      {{L, "pki", "init", "--dir", under_file, "--name", "Chain"}, 1, under_file},
      {{L, "pki", "server", "--dir", missing, "--name", "127.0.0.1", "--key-out", d + "/k", "--cert-out", d + "/c"},
       1,
       missing},
      {{L, "pki", "issue", "--dir", missing, "--csr", missing, "--out", d + "/c"}, 1, missing},
      {{L, "rulebook", "keygen", "--key-out", under_file, "--public-out", d + "/p"}, 1, under_file},
      {{L, "rulebook", "sign", "--key", missing, "--key-id", "k", "--in", example("rulebook-ru.json"), "--out",
        d + "/s"},
       1,
       missing},
      {{L, "serve", "--config", missing}, 78, missing},
      {{L, "check-config", "--config", missing}, 78, missing},
      {{S, "members", "--config", missing, "--count", "10"}, 1, missing},
      {{S, "members", "--out", under_file, "--count", "10"}, 1, under_file},
      {{S, "get", "--agent", "127.0.0.1:1", "--token-file", missing, "/v1/status"}, 1, missing},
  };
  for (const Case& c : cases) {
    std::string line;
    for (const std::string& part : c.command) line += (line.empty() ? "" : " ") + part;
    CAPTURE(line);
    loyalty::testing::Child child(c.command, c.stream);
    const int status = child.wait_exit(std::chrono::steady_clock::now() + std::chrono::seconds(20));
    INFO("output: " << child.output());
    REQUIRE(status != -1);
    CHECK(WIFEXITED(status));  // not killed by an abort
    CHECK(WEXITSTATUS(status) == c.status);
    CHECK(child.output().find("terminate called") == std::string::npos);
    CHECK(child.output().find(c.names) != std::string::npos);
  }
}
