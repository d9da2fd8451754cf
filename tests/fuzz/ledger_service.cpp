// The ledger's request handler over a real SQLite ledger: a terminal's batch upload, an
// authorization, a member page query. The first byte chooses; the rest is the body (or the
// query). A 5xx answer is a crash.
#include "ledger/ledger.hpp"
#include "ledger/pool.hpp"
#include "ledger/service.hpp"
#include "ledger/sqlite_store.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using namespace loyalty;

struct Centre {
  Centre()
      : pool(1, [] { return std::make_unique<ledger::SqliteStore>(fuzz::scratch() / "ledger.db"); }, {}),
        log(fuzz::null_stream()),
        service(pool, pool, log, [] { return std::int64_t{1'795'000'000'000}; }) {
    pool.with([](ledger::Ledger& ledger) {
      return ledger.enroll("T1", "S1", storage::PrivateKey::generate().public_key().raw(), 1'795'000'000'000);
    });
  }
  ledger::LedgerPool pool;
  runtime::Log log;
  ledger::LedgerService service;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Centre centre;
  if (size == 0) return 0;
  const std::string rest(fuzz::text_of(data + 1, size - 1));
  sync::HttpRequest request;
  request.version(11);
  switch (data[0] % 3) {
    case 0:
      request.method(http::verb::post);
      request.target("/v1/journal");
      request.body() = rest;
      break;
    case 1:
      request.method(http::verb::post);
      request.target("/v1/authorize");
      request.body() = rest;
      break;
    default:
      request.method(http::verb::get);
      request.target("/v1/members?" + rest);
      break;
  }
  request.prepare_payload();
  const ledger::Peer peer{"T1", "S1", "01"};
  const sync::HttpResponse response = centre.service.handle(request, &peer);
  if (response.result_int() >= 500) std::abort();
  return 0;
}
