// Real TLS on loopback for the ledger's tests: a chain CA with the ledger's server certificate,
// terminal certificates issued from their CSRs, `loyalty-ledger serve` as a child process, and
// a small blocking HTTPS client.

#ifndef LOYALTY_TESTS_LEDGER_LINK_FIXTURES_HPP_
#define LOYALTY_TESTS_LEDGER_LINK_FIXTURES_HPP_

#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "ledger/pki.hpp"
#include "storage/files.hpp"
#include "sync/http.hpp"
#include "sync/tls.hpp"
#include "sync/uplink.hpp"
#include "tests/child_process.hpp"
#include "tests/ledger/fixtures.hpp"

namespace loyalty::ledger::testing {

inline std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline std::chrono::steady_clock::time_point within(std::chrono::milliseconds ms) {
  return std::chrono::steady_clock::now() + ms;
}

// A CA directory with the ledger's server certificate for 127.0.0.1.
struct Chain {
  Chain(const std::filesystem::path& dir, const std::string& name) : pki(dir / name) {
    CertificateAuthority::create(pki, name, Validity::days_from(now_s(), 30));
    const storage::PrivateKey key = storage::PrivateKey::generate();
    storage::write_file_atomically(pki / "server.key", key.pem(), 0600);
    storage::write_file_atomically(
        pki / "server.crt",
        CertificateAuthority(pki).issue_server(key, {"127.0.0.1"}, Validity::days_from(now_s(), 30)).pem, 0644);
  }

  // Issues a certificate to `lane` (CN its id, OU `store`) and returns the files the terminal
  // presents: the chain CA, the certificate, and the lane's journal key.
  sync::TlsFiles terminal(const Lane& lane, const std::string& store,
                          Validity validity = Validity::days_from(now_s(), 30), const std::string& suffix = "") {
    CertificateAuthority ca(pki);
    const IssuedCertificate issued = ca.issue_terminal(sync::make_terminal_csr(lane.key, lane.id, store), validity);
    const auto base = pki / (lane.id + suffix);
    storage::write_file_atomically(base.string() + ".crt", issued.pem, 0644);
    storage::write_file_atomically(base.string() + ".key", lane.key.pem(), 0600);
    last_serial = issued.info.serial;
    return {pki / "ca.crt", base.string() + ".crt", base.string() + ".key", std::nullopt};
  }

  std::filesystem::path pki;
  std::string last_serial;
};

// `loyalty-ledger serve` on a free loopback port (kept across restarts), with the chain's
// files, on `db` (a SQLite file or a PostgreSQL URI). Several may share one database, each with
// its own `name` (its configuration is DIR/NAME.json).
class LedgerProcess {
 public:
  // `env` is added to the ledger's environment.
  LedgerProcess(const std::filesystem::path& dir, const Chain& chain, const std::filesystem::path& db,
                std::vector<std::string> env = {}, std::string name = "ledger")
      : dir_(dir), pki_(chain.pki), db_(db.string()), env_(std::move(env)), name_(std::move(name)) {
    start();
  }

  void start() {
    const auto config = dir_ / (name_ + ".json");
    std::ofstream(config) << R"({"db": ")" << db_ << R"(", "listen": "127.0.0.1:)" << port_
                          << R"(", "log_level": "debug", "tls": {"ca": ")" << (pki_ / "ca.crt").string()
                          << R"(", "certificate": ")" << (pki_ / "server.crt").string() << R"(", "key": ")"
                          << (pki_ / "server.key").string() << R"(", "crl": ")" << (pki_ / "crl.pem").string()
                          << R"("}})";
    child_ = std::make_unique<loyalty::testing::Child>(
        std::vector<std::string>{LOYALTY_LEDGER_BINARY, "serve", "--config", config.string()}, STDERR_FILENO, env_);
    REQUIRE_MESSAGE(child_->wait_for_text("\"event\":\"ledger_ready\"", within(std::chrono::seconds(10))),
                    child_->output());
    const std::string& out = child_->output();
    const auto at = out.find("\"port\":", out.find("ledger_ready"));
    port_ = static_cast<std::uint16_t>(std::stoi(out.substr(at + 7)));
  }
  void kill() { child_->kill_and_reap(); }
  loyalty::testing::Child& child() { return *child_; }
  std::uint16_t port() const { return port_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path pki_;
  std::string db_;
  std::vector<std::string> env_;
  std::string name_;
  std::unique_ptr<loyalty::testing::Child> child_;
  std::uint16_t port_ = 0;
};

// Uplink settings for tests: short backoff and polling, so that a run converges in seconds.
inline sync::UplinkSettings quick_uplink(std::uint16_t port, const sync::TlsFiles& files,
                                         std::vector<sync::RulebookKey> keys, std::uint32_t seed) {
  using namespace std::chrono_literals;
  sync::UplinkSettings settings;
  settings.ledgers = {{"127.0.0.1", port}};
  settings.tls = files;
  settings.rulebook_keys = std::move(keys);
  settings.batch_entries = 500;
  settings.backoff_min = 20ms;
  settings.backoff_max = 200ms;
  settings.request_timeout = 2s;
  settings.idle_poll = 20ms;
  settings.seed = seed;
  return settings;
}

// Runs `io` until `done` or `limit`; false when the time ran out.
template <class Done>
bool run_until(asio::io_context& io, Done done, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.run_for(std::chrono::milliseconds(10));
    if (io.stopped()) io.restart();
  }
  return true;
}

struct HttpsResult {
  int status = 0;  // 0: no answer
  std::string body;
  std::string error;  // why there was no answer
};

// One blocking HTTPS request to the ledger on 127.0.0.1:`port`, presenting `files`.
inline HttpsResult https(std::uint16_t port, const sync::TlsFiles& files, http::verb verb, const std::string& target,
                         const std::string& body = "", const std::string& if_none_match = "") {
  HttpsResult result;
  asio::io_context io;
  sync::ssl::context context = sync::make_context(sync::ssl::context::tls_client, files);
  sync::ssl::stream<asio::ip::tcp::socket> stream(io, context);
  boost::system::error_code error;
  stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port}, error);
  if (error) return {0, "", "connect: " + error.message()};
  const timeval limit{10, 0};
  ::setsockopt(stream.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  stream.set_verify_mode(sync::ssl::verify_peer);
  stream.set_verify_callback(sync::ssl::host_name_verification("127.0.0.1"));
  stream.handshake(sync::ssl::stream_base::client, error);
  if (error) return {0, "", "handshake: " + error.message()};
  sync::HttpRequest request{verb, target, 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::content_type, "application/json");
  if (!if_none_match.empty()) request.set(http::field::if_none_match, if_none_match);
  request.body() = body;
  request.prepare_payload();
  http::write(stream, request, error);
  if (error) return {0, "", "write: " + error.message()};
  beast::flat_buffer buffer;
  sync::HttpResponse response;
  http::read(stream, buffer, response, error);
  if (error) return {0, "", "read: " + error.message()};
  return {static_cast<int>(response.result_int()), response.body(), ""};
}

}  // namespace loyalty::ledger::testing

#endif  // LOYALTY_TESTS_LEDGER_LINK_FIXTURES_HPP_
