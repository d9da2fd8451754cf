// The agent's configuration with its drop-ins: the packaged file as it is, each terminal's
// identity and each rollout's settings merged over it in name order.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "agent/config.hpp"
#include "runtime/json_reader.hpp"
#include "tests/agent/fixtures.hpp"

using namespace loyalty::agent;
using loyalty::agent::testing::write;
using loyalty::storage::testing::TempDir;

namespace {

// The packaged agent.json in a directory of its own, with an empty agent.d beside it.
struct Fleet {
  Fleet() {
    std::filesystem::copy_file(std::string(LOYALTY_SOURCE_DIR) + "/agent/deploy/agent.json", dir / "agent.json");
    std::filesystem::create_directory(dir / "agent.d");
  }
  std::filesystem::path config() const { return dir / "agent.json"; }
  void drop_in(const std::string& name, const std::string& text) const { write(dir / "agent.d" / name, text); }

  TempDir dir;
};

}  // namespace

TEST_CASE("drop-ins are merged over the packaged configuration in name order") {
  Fleet fleet;
  // Without drop-ins the packaged file names no terminal.
  CHECK_THROWS_WITH_AS(load_config(fleet.config()), doctest::Contains("config.terminal_id"),
                       loyalty::runtime::JsonError);

  fleet.drop_in("10-identity.json", R"({"terminal_id": "store-12-lane-3", "store_id": "store-12"})");
  fleet.drop_in("50-rollout.json",
                R"({"pos_api": {"requests_per_second": 50, "unix_socket": "run/pos.sock"}, "log_level": "debug"})");
  fleet.drop_in("90-local.json", R"({"pos_api": {"token_file": null}, "log_level": "warning"})");
  fleet.drop_in("README", "not a drop-in");
  fleet.drop_in(".20-editor.json.swp", "{");
  fleet.drop_in("30-old.json.dpkg-old", "{");
  const Config config = load_config(fleet.config());
  CHECK(config.terminal_id == "store-12-lane-3");
  CHECK(config.store_id == "store-12");
  CHECK(config.pos_api.requests_per_second == 50);                         // merged into the packaged pos_api object
  CHECK(config.pos_api.listen_port == 8470);                               // which keeps what the drop-ins did not name
  CHECK_FALSE(config.pos_api.token_file);                                  // null removes
  CHECK(config.log_level == loyalty::runtime::LogLevel::warning);          // the last name wins
  CHECK(config.pos_api.unix_socket == fleet.dir.path() / "run/pos.sock");  // relative to agent.json
  REQUIRE(config.drop_ins.size() == 3);
  CHECK(config.drop_ins[0].filename() == "10-identity.json");
  CHECK(config.drop_ins[2].filename() == "90-local.json");
}

TEST_CASE("a drop-in that is wrong is refused, naming the file or the key and the drop-ins merged") {
  Fleet fleet;
  fleet.drop_in("10-identity.json", R"({"terminal_id": "store-12-lane-3", "store_id": "store-12"})");
  SUBCASE("malformed JSON names the file") {
    fleet.drop_in("20-broken.json", R"({"log_level": )");
    CHECK_THROWS_WITH_AS(load_config(fleet.config()), doctest::Contains("20-broken.json"), loyalty::runtime::JsonError);
  }
  SUBCASE("a key given twice names the file") {
    fleet.drop_in("20-twice.json", R"({"log_level": "debug", "log_level": "info"})");
    CHECK_THROWS_WITH_AS(load_config(fleet.config()), doctest::Contains("20-twice.json"), loyalty::runtime::JsonError);
  }
  SUBCASE("not an object") {
    fleet.drop_in("20-array.json", "[]");
    CHECK_THROWS_WITH_AS(load_config(fleet.config()), doctest::Contains("a drop-in must be a JSON object"),
                         loyalty::runtime::JsonError);
  }
  SUBCASE("a misspelt key names the key and the drop-ins merged") {
    fleet.drop_in("20-typo.json", R"({"pos_api": {"request_timout_ms": 1000}})");
    std::string message;
    try {
      load_config(fleet.config());
    } catch (const loyalty::runtime::JsonError& error) {
      message = error.what();
    }
    CHECK(message.find("request_timout_ms") != std::string::npos);
    CHECK(message.find("(agent.json with agent.d/10-identity.json, 20-typo.json)") != std::string::npos);
  }
}

TEST_CASE("the ledger link takes one address or a list of them, and names the one that is wrong") {
  Fleet fleet;
  fleet.drop_in("10-identity.json", R"({"terminal_id": "store-12-lane-3", "store_id": "store-12"})");
  const auto link = [&](const std::string& address) {
    fleet.drop_in("20-ledger.json", R"({"ledger": {"address": )" + address +
                                        R"(, "ca_file": "ca.crt", "certificate_file": "lane.crt"}})");
    return load_config(fleet.config());
  };
  const Config one = link(R"("ledger.example:8443")");
  REQUIRE(one.ledger->addresses.size() == 1);
  CHECK(one.ledger->addresses[0].host == "ledger.example");
  CHECK(one.ledger->addresses[0].port == 8443);

  const Config several = link(R"(["10.0.0.1:8443", "ledger-b.example:9443", "[fd00::3]:8443"])");
  REQUIRE(several.ledger->addresses.size() == 3);
  CHECK(several.ledger->addresses[1].host == "ledger-b.example");
  CHECK(several.ledger->addresses[1].port == 9443);
  CHECK(several.ledger->addresses[2].host == "fd00::3");

  CHECK_THROWS_WITH_AS(link("[]"), doctest::Contains("config.ledger.address: must list at least one HOST:PORT"),
                       loyalty::runtime::JsonError);
  CHECK_THROWS_WITH_AS(link(R"(["10.0.0.1:8443", "ledger-b"])"),
                       doctest::Contains("config.ledger.address[1]: must be HOST:PORT"), loyalty::runtime::JsonError);
  CHECK_THROWS_WITH_AS(link(R"(["10.0.0.1:0"])"), doctest::Contains("config.ledger.address[0]: port must be 1 to"),
                       loyalty::runtime::JsonError);
  CHECK_THROWS_WITH_AS(link(R"([8443])"), doctest::Contains("config.ledger.address[0]: must be a string"),
                       loyalty::runtime::JsonError);
}

TEST_CASE("an upload's wait for its turn at the ledger is configurable and bounded") {
  Fleet fleet;
  fleet.drop_in("10-identity.json", R"({"terminal_id": "store-12-lane-3", "store_id": "store-12"})");
  const auto link = [&](const std::string& extra) {
    fleet.drop_in("20-ledger.json", R"({"ledger": {"address": "ledger.example:8443", "ca_file": "ca.crt", )"
                                    R"("certificate_file": "lane.crt")" +
                                        extra + "}}");
    return load_config(fleet.config());
  };
  CHECK(link("").ledger->admission_timeout_ms == 60'000);
  CHECK(link(R"(, "admission_timeout_ms": 120000)").ledger->admission_timeout_ms == 120'000);
  CHECK_THROWS_WITH_AS(link(R"(, "admission_timeout_ms": 5)"), doctest::Contains("config.ledger.admission_timeout_ms"),
                       loyalty::runtime::JsonError);
}
