// Every POST body of the POS API, through the API's own handler over a real journal and
// member cache: the first byte chooses the endpoint, the rest is the body. Any answer of 500
// is a crash (a 5xx on bad input is a bug); 503 is the journal's own (a full scratch disk).
#include "agent/pos_api.hpp"
#include "storage/journal.hpp"
#include "storage/member_cache.hpp"
#include "sync/rulebook_json.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using namespace loyalty;

struct Terminal {
  Terminal()
      : hasher("a member secret of the retail chain"),
        journal(fuzz::scratch() / "journal.db", "store-1-lane-2", storage::PrivateKey::generate()),
        members(fuzz::scratch() / "members.db", hasher),
        checkout(journal, members, hasher, "7", [] { return std::int64_t{1'795'000'000'000}; }),
        log(fuzz::null_stream()),
        api(checkout, journal, log, [] {}) {
    checkout.set_rulebook(sync::rulebook_from_json(runtime::parse_json(fuzz::example("rulebook-ru.json"), "rulebook")));
    std::vector<storage::MemberDelta> deltas(1);
    deltas[0].member = {"M-1001", 5000, "gold", domain::MemberStatus::active, 1};
    deltas[0].keys = {hasher.key(storage::IdentifierKind::card, "4000000000000002"),
                      hasher.key(storage::IdentifierKind::phone, "+79161234567")};
    members.apply(deltas, 1);
  }
  storage::IdentifierHasher hasher;
  storage::Journal journal;
  storage::MemberCache members;
  agent::Checkout checkout;
  runtime::Log log;
  agent::PosApi api;
  asio::io_context io;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Terminal terminal;
  if (size == 0) return 0;
  static constexpr const char* kTargets[] = {"/v1/identify", "/v1/quote", "/v1/commit", "/v1/void", "/v1/refund"};
  sync::HttpRequest request{http::verb::post, kTargets[data[0] % std::size(kTargets)], 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::content_type, "application/json");
  request.body() = std::string(fuzz::text_of(data + 1, size - 1));
  request.prepare_payload();
  int status = 0;
  asio::co_spawn(terminal.io, terminal.api.handle(std::move(request)),
                 [&](std::exception_ptr error, sync::HttpResponse response) {
                   if (error) std::rethrow_exception(error);
                   status = static_cast<int>(response.result_int());
                 });
  terminal.io.run();
  terminal.io.restart();
  if (status == 0 || (status >= 500 && status != 503)) std::abort();
  return 0;
}
