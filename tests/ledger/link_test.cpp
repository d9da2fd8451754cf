#include <doctest/doctest.h>

#include <openssl/pem.h>

#include <csignal>

#include "ledger/members.hpp"
#include "storage/files.hpp"
#include "sync/member_feed.hpp"
#include "sync/openssl.hpp"
#include "sync/signed_rulebook.hpp"
#include "tests/ledger/link_fixtures.hpp"
#include "tests/notify_socket.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using ledger::testing::Chain;
using ledger::testing::https;
using ledger::testing::Lane;
using ledger::testing::LedgerFixture;
using ledger::testing::LedgerProcess;
using ledger::testing::now_s;
using ledger::testing::within;

namespace {

struct LinkFixture : LedgerFixture {
  LinkFixture() : chain(dir.path(), "chain"), t1(lane("T1")), t2(lane("T2")), files(chain.terminal(t1, "S1")) {
    for (int i = 0; i < 5; ++i) t1.sale("M1", 10, 0);
    t2.sale("M1", 99, 0);
  }
  std::string batch(Lane& lane, std::int64_t first, std::int64_t last) {
    return sync::batch_to_json(lane.id, lane.journal.read(first, last, 100));
  }

  Chain chain;
  Lane& t1;
  Lane& t2;
  sync::TlsFiles files;
};

std::string error_code(const std::string& body) { return nlohmann::json::parse(body)["error"]["code"]; }

}  // namespace

TEST_CASE("the ledger accepts only terminals with a valid certificate from the chain's CA, and says why not") {
  LinkFixture f;
  LedgerProcess ledger(f.dir.path(), f.chain, f.dir / "ledger.db");
  CHECK(https(ledger.port(), f.files, http::verb::get, "/v1/health").status == 200);

  SUBCASE("a certificate from another CA") {
    Chain other(f.dir.path(), "other");
    sync::TlsFiles foreign = other.terminal(f.t1, "S1");
    foreign.ca = f.files.ca;  // the client trusts the ledger; the ledger must not trust it
    const auto result = https(ledger.port(), foreign, http::verb::get, "/v1/health");
    CHECK(result.status == 0);
    CHECK(ledger.child().wait_for_text("unable to get local issuer certificate", within(std::chrono::seconds(5))));
  }
  SUBCASE("an expired certificate") {
    const sync::TlsFiles expired = f.chain.terminal(f.t1, "S1", {now_s() - 10 * 86400, now_s() - 86400}, "-expired");
    CHECK(https(ledger.port(), expired, http::verb::get, "/v1/health").status == 0);
    CHECK(ledger.child().wait_for_text("certificate has expired", within(std::chrono::seconds(5))));
  }
  SUBCASE("a revoked certificate, once the ledger reloads its revocation list") {
    CertificateAuthority(f.chain.pki).revoke(f.chain.last_serial, now_s());
    ledger.child().send(SIGHUP);
    REQUIRE(ledger.child().wait_for_text("tls_reloaded", within(std::chrono::seconds(5))));
    CHECK(https(ledger.port(), f.files, http::verb::get, "/v1/health").status == 0);
    CHECK(ledger.child().wait_for_text("certificate revoked", within(std::chrono::seconds(5))));
  }
}

TEST_CASE("the CA issues a terminal certificate only for a terminal id and a store id as the ledger takes them") {
  storage::testing::TempDir dir;
  Chain chain(dir.path(), "chain");
  CertificateAuthority ca(chain.pki);
  const storage::PrivateKey key = storage::PrivateKey::generate();
  const auto issue = [&](const std::string& terminal, const std::string& store) {
    return ca.issue_terminal(sync::make_terminal_csr(key, terminal, store), Validity::days_from(now_s(), 1));
  };
  CHECK(issue("store-12-lane-1", "store-12").info.organizational_unit == "store-12");
  CHECK_THROWS_WITH_AS(issue("store-12-lane-1", "Store 12, Moscow"),
                       doctest::Contains("the CSR's store (OU) is not a store id"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(issue("lane 1", "store-12"), doctest::Contains("the CSR's common name is not a terminal id"),
                       std::invalid_argument);
}

TEST_CASE("certificate and revocation dates after 2038 and after 2050 are kept to the second") {
  // On 32-bit ARM time_t ends in January 2038; these dates must never pass through it.
  LedgerFixture f;
  Chain chain(f.dir.path(), "chain");
  const std::int64_t from = 4102444800 - 86400;  // 2099-12-31T00:00:00Z, a GeneralizedTime
  const std::int64_t until = 4102444800 + 3661;  // 2100-01-01T01:01:01Z
  const sync::TlsFiles files = chain.terminal(f.lane("T1"), "S1", {from, until});
  const sync::CertificateInfo info = sync::read_certificate(storage::read_file(files.certificate));
  CHECK(info.not_before_s == from);
  CHECK(info.not_after_s == until);

  const std::int64_t revoked_at = 2208988800 + 59;  // 2040-01-01T00:00:59Z, still a UTCTime
  REQUIRE(CertificateAuthority(chain.pki).revoke(chain.last_serial, revoked_at));
  const std::string crl_pem = storage::read_file(chain.pki / "crl.pem");
  const sync::openssl::BioPtr bio = sync::openssl::memory(crl_pem);
  const sync::openssl::CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(crl);
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  REQUIRE(sk_X509_REVOKED_num(revoked) == 1);
  CHECK(sync::openssl::unix_seconds(X509_REVOKED_get0_revocationDate(sk_X509_REVOKED_value(revoked, 0))) == revoked_at);
  CHECK(sync::openssl::unix_seconds(X509_CRL_get0_nextUpdate(crl.get())) == revoked_at + 3650LL * 86400);
}

TEST_CASE("under systemd the ledger reports ready, keeps the watchdog fed, reloads and stops") {
  LinkFixture f;
  loyalty::testing::NotifySocket systemd(f.dir / "notify");
  LedgerProcess ledger(f.dir.path(), f.chain, f.dir / "ledger.db", {systemd.env(), "WATCHDOG_USEC=400000"});
  CHECK(systemd.wait_for("READY=1", within(std::chrono::seconds(10))));
  for (int i = 0; i < 3; ++i) CHECK(systemd.wait_for("WATCHDOG=1", within(std::chrono::seconds(10))));
  ledger.child().send(SIGHUP);
  CHECK(systemd.wait_for("RELOADING=1", within(std::chrono::seconds(10))));
  CHECK(systemd.wait_for("READY=1", within(std::chrono::seconds(10))));
  CHECK(https(ledger.port(), f.files, http::verb::get, "/v1/health").status == 200);
  const int status = ledger.child().signal_and_wait(SIGTERM, within(std::chrono::seconds(10)));
  CHECK(systemd.wait_for("STOPPING=1", within(std::chrono::seconds(10))));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a ledger configuration that is wrong stops serve with exit status 78, as check-config says first") {
  LinkFixture f;
  const std::string config = (f.dir / "ledger.json").string();
  {
    LedgerProcess ledger(f.dir.path(), f.chain, f.dir / "ledger.db");  // writes ledger.json
    ledger.child().signal_and_wait(SIGTERM, within(std::chrono::seconds(10)));
  }
  // Runs `command` on ledger.json; returns its exit status, its output in `output`.
  auto run = [&](const char* command, std::string& output) {
    loyalty::testing::Child child({LOYALTY_LEDGER_BINARY, command, "--config", config}, STDERR_FILENO);
    const int status = child.wait_exit(within(std::chrono::seconds(10)));
    output = child.output();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::string output;
  {
    loyalty::testing::Child check({LOYALTY_LEDGER_BINARY, "check-config", "--config", config}, STDOUT_FILENO);
    CHECK(WEXITSTATUS(check.wait_exit(within(std::chrono::seconds(10)))) == 0);
    CHECK(check.output().find("configuration " + config + " is valid") != std::string::npos);
  }
  SUBCASE("a key file that is not there") {
    std::filesystem::remove(f.chain.pki / "server.key");
    CHECK(run("check-config", output) == 78);
    CHECK(output.find("server.key") != std::string::npos);
    CHECK(run("serve", output) == 78);
    CHECK(output.find("\"event\":\"config_invalid\"") != std::string::npos);
  }
  SUBCASE("a misspelt key") {
    std::string text = storage::read_file(config);
    text.insert(text.find("\"listen\""), R"("expiry_dayz": 30, )");
    storage::write_file_atomically(config, text, 0644);
    CHECK(run("check-config", output) == 78);
    CHECK(output.find("expiry_dayz") != std::string::npos);
    CHECK(run("serve", output) == 78);
    CHECK(output.find("expiry_dayz") != std::string::npos);
  }
}

TEST_CASE("the ledger's metrics export every upload refusal and authorization outcome at 0 from the start") {
  LinkFixture f;
  LedgerProcess ledger(f.dir.path(), f.chain, f.dir / "ledger.db");
  const std::string metrics = https(ledger.port(), f.files, http::verb::get, "/metrics").body;
  for (const char* code : {"batch_invalid", "wrong_terminal", "terminal_unknown", "terminal_revoked", "broken_chain",
                           "bad_signature", "unsigned_entry", "entry_differs"}) {
    CAPTURE(code);
    CHECK(metrics.find("loyalty_ledger_refusals_total{code=\"" + std::string(code) + "\"} 0\n") != std::string::npos);
  }
  for (const char* outcome : {"approved", "declined", "member_unknown", "member_blocked"}) {
    CAPTURE(outcome);
    CHECK(metrics.find("loyalty_ledger_authorizations_total{outcome=\"" + std::string(outcome) + "\"} 0\n") !=
          std::string::npos);
  }
  CHECK(metrics.find("loyalty_ledger_build_info{version=") != std::string::npos);
  CHECK(metrics.find("\nloyalty_ledger_resident_memory_bytes ") != std::string::npos);
}

TEST_CASE("over HTTPS a terminal uploads only its own intact, signed journal, and a retry is harmless") {
  LinkFixture f;
  LedgerProcess ledger(f.dir.path(), f.chain, f.dir / "ledger.db");

  const auto other = https(ledger.port(), f.files, http::verb::post, "/v1/journal", f.batch(f.t2, 1, 1));
  CHECK(other.status == 403);
  CHECK(error_code(other.body) == "wrong_terminal");
  CHECK(other.body.find("may upload only its own journal") != std::string::npos);

  auto tampered = nlohmann::json::parse(f.batch(f.t1, 1, 3));
  tampered["entries"][2]["signature"] =
      storage::to_hex(storage::PrivateKey::generate().sign(f.t1.journal.find(3)->hash));
  const auto forged = https(ledger.port(), f.files, http::verb::post, "/v1/journal", tampered.dump());
  CHECK(forged.status == 409);
  CHECK(error_code(forged.body) == "bad_signature");

  auto gap = nlohmann::json::parse(f.batch(f.t1, 1, 3));
  gap["entries"].erase(1);
  const auto broken = https(ledger.port(), f.files, http::verb::post, "/v1/journal", gap.dump());
  CHECK(broken.status == 400);
  CHECK(error_code(broken.body) == "batch_invalid");

  auto changed = nlohmann::json::parse(f.batch(f.t1, 1, 3));
  changed["entries"][0]["hash"] = storage::to_hex(storage::Digest{});
  CHECK(error_code(https(ledger.port(), f.files, http::verb::post, "/v1/journal", changed.dump()).body) ==
        "batch_invalid");
  CHECK(f.store.entry_count() == 0);

  const auto good = https(ledger.port(), f.files, http::verb::post, "/v1/journal", f.batch(f.t1, 1, 5));
  REQUIRE(good.status == 200);
  const sync::Ack ack = sync::ack_from_json(nlohmann::json::parse(good.body));
  CHECK(ack.acknowledged_through == 5);
  CHECK(ack.applied == 5);
  const auto again = https(ledger.port(), f.files, http::verb::post, "/v1/journal", f.batch(f.t1, 1, 5));
  CHECK(sync::ack_from_json(nlohmann::json::parse(again.body)).duplicates == 5);
  CHECK(f.store.entry_count() == 5);
  CHECK(f.balance("M1") == 50);
}

TEST_CASE("the ledger serves member changes by cursor and the rulebook by version, answering 304 when unchanged") {
  LinkFixture f;
  const storage::IdentifierHasher& hasher = ledger::testing::chain_hasher();
  const auto key = storage::PrivateKey::generate();
  const std::string rulebook =
      storage::read_file(std::filesystem::path(LOYALTY_SOURCE_DIR) / "examples/rulebook-ru.json");
  const auto signed_rulebook =
      sync::verify_rulebook(sync::sign_rulebook(rulebook, key, "central", now_s() + 86400),
                            std::vector<sync::RulebookKey>{{"central", key.public_key()}}, now_s());
  f.store.publish_rulebook({1, signed_rulebook.envelope, signed_rulebook.document, "central", 0, 0});
  std::vector<MemberRecord> members(3);
  for (int i = 0; i < 3; ++i) {
    members[static_cast<std::size_t>(i)].member_id = "M" + std::to_string(i);
    members[static_cast<std::size_t>(i)].balance = 100 * i;
    members[static_cast<std::size_t>(i)].keys = {
        hasher.key(storage::IdentifierKind::card, "70130000" + std::to_string(i))};
  }
  f.ledger.import_members(members, 0);
  LedgerProcess ledger(f.dir.path(), f.chain, f.dir / "ledger.db");

  const auto page = https(ledger.port(), f.files, http::verb::get, "/v1/members?after=0&limit=2");
  REQUIRE(page.status == 200);
  const sync::MemberPage first = sync::member_page_from_json(nlohmann::json::parse(page.body));
  CHECK(first.more);
  REQUIRE(first.members.size() == 2);
  CHECK(first.members[1].member.member_id == "M1");
  CHECK(first.members[1].member.balance == 100);
  CHECK(first.members[1].keys.front() == hasher.key(storage::IdentifierKind::card, "701300001"));
  const auto rest = sync::member_page_from_json(nlohmann::json::parse(
      https(ledger.port(), f.files, http::verb::get, "/v1/members?after=" + std::to_string(first.cursor)).body));
  CHECK(!rest.more);
  REQUIRE(rest.members.size() == 1);
  CHECK(rest.members[0].member.member_id == "M2");
  CHECK(https(ledger.port(), f.files, http::verb::get, "/v1/members?after=x").status == 400);

  const auto download = https(ledger.port(), f.files, http::verb::get, "/v1/rulebook");
  CHECK(download.status == 200);
  CHECK(download.body == signed_rulebook.envelope + "\n");
  CHECK(https(ledger.port(), f.files, http::verb::get, "/v1/rulebook", "", "\"v1\"").status == 304);
  CHECK(https(ledger.port(), f.files, http::verb::get, "/v1/rulebook", "", "\"v0\"").status == 200);
}

TEST_CASE("hostile uploads and authorizations are refused as permanent 400s naming the path, never 503") {
  LinkFixture f;
  LedgerProcess ledger(f.dir.path(), f.chain, f.dir / "ledger.db");
  const std::string batch = f.batch(f.t1, 1, 1);
  const auto replaced = [](std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, from);
    return text.replace(at, from.size(), to);
  };
  struct Hostile {
    const char* target;
    std::string body;
    const char* code;
    const char* message;
  };
  const std::string authorize = R"({"member_id": "M1", "receipt_id": "R-9", "points": 5})";
  const Hostile cases[] = {
      {"/v1/journal", replaced(batch, R"("seq":1)", R"("seq":1e400)"), "batch_invalid",
       "batch.entries[0].seq: is a number too large"},
      {"/v1/journal", replaced(batch, R"("terminal_id":"T1")", "\"terminal_id\":\"T\xff\""), "batch_invalid",
       "malformed JSON"},
      // Last-wins would read T1 and pass the certificate check; a first-wins reader would see T2.
      {"/v1/journal", replaced(batch, R"("terminal_id":"T1")", R"("terminal_id":"T2","terminal_id":"T1")"),
       "batch_invalid", "batch.terminal_id: is given twice"},
      {"/v1/authorize", replaced(authorize, "5}", "1e400}"), "request_invalid", "authorize.points: is a number too"},
      {"/v1/authorize", replaced(authorize, "5}", "5, \"points\": 1}"), "request_invalid",
       "authorize.points: is given twice"},
      {"/v1/authorize", replaced(authorize, "\"M1\"", "\"M\xc3\""), "request_invalid", "malformed JSON"},
      {"/v1/authorize", replaced(authorize, "\"M1\"", R"("M\u00001")"), "request_invalid",
       "authorize.member_id: must not contain control characters"},
  };
  for (const Hostile& c : cases) {
    INFO(c.target, ": ", runtime::printable(c.body));
    const auto answer = https(ledger.port(), f.files, http::verb::post, c.target, c.body);
    CHECK(answer.status == 400);
    CHECK(error_code(answer.body) == c.code);
    CHECK_MESSAGE(answer.body.find(c.message) != std::string::npos, answer.body);
  }
  CHECK(f.store.entry_count() == 0);
  CHECK(https(ledger.port(), f.files, http::verb::post, "/v1/journal", batch).status == 200);
  CHECK(f.store.entry_count() == 1);
}
