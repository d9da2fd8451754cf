// Uploads applied in groups (UploadGroups: concurrent batches in one transaction) against the
// same batches uploaded one at a time (Ledger::ingest), on random journals cut into batches with
// resends, gaps, tampered batches and a terminal never enrolled: every batch gets the answer it
// would get alone, and the ledger ends the same. The seed is printed; LOYALTY_SEED=N repeats a
// run.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ledger/pool.hpp"
#include "ledger/service.hpp"
#include "ledger/upload_groups.hpp"
#include "tests/env.hpp"
#include "tests/ledger/drawn_journal.hpp"
#include "tests/wait.hpp"

using namespace loyalty;
using namespace loyalty::ledger;
using namespace loyalty::ledger::testing;

namespace {

// A terminal's uploads in the order its uplink sends them.
struct Uploads {
  std::string terminal_id;
  std::vector<std::vector<sync::WireEntry>> batches;
};

// Cuts `journal` into batches of 1 to 120 signed entries, sometimes sending one again
// (duplicates), holding one back to send after the next (a gap, then its filling), or sending a
// tampered copy before the genuine one.
Uploads cut(const DrawnJournal& journal, std::mt19937_64& rng) {
  Uploads uploads{journal.terminal_id, {}};
  std::vector<sync::WireEntry> signed_entries;
  for (const storage::JournalEntry& e : journal.entries) {
    if (e.signature) signed_entries.push_back(sync::wire_entry(e));
  }
  std::vector<std::vector<sync::WireEntry>> batches;
  for (std::size_t first = 0; first < signed_entries.size();) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % 120, signed_entries.size() - first);
    std::vector<sync::WireEntry> batch(signed_entries.begin() + static_cast<std::ptrdiff_t>(first),
                                       signed_entries.begin() + static_cast<std::ptrdiff_t>(first + n));
    // A batch must end with a signed entry the ledger checks: every entry here is signed.
    batches.push_back(std::move(batch));
    first += n;
  }
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const auto roll = rng() % 10;
    if (roll == 0 && i + 1 < batches.size()) {  // a gap: the next batch first
      uploads.batches.push_back(batches[i + 1]);
      uploads.batches.push_back(batches[i]);
      uploads.batches.push_back(batches[i + 1]);
      ++i;
      continue;
    }
    if (roll == 1) {  // tampered with: the chain or the signature no longer holds
      auto tampered = batches[i];
      tampered.front().entry.hash[0] ^= 1;
      uploads.batches.push_back(std::move(tampered));
    }
    uploads.batches.push_back(batches[i]);
    if (roll == 2) uploads.batches.push_back(batches[i]);  // the answer was lost: sent again
  }
  return uploads;
}

std::string describe(const sync::Ack& ack) {
  std::ostringstream text;
  text << "through=" << ack.acknowledged_through << " applied=" << ack.applied << " duplicates=" << ack.duplicates
       << " held_back=" << ack.held_back;
  return text.str();
}

void compare_uploads(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  TempDir dir;
  std::vector<DrawnJournal> journals;
  for (int t = 0; t < 6; ++t) {
    const std::string id = "T" + std::to_string(t);
    // Members of their own per terminal: the ledger's state then does not depend on the order
    // in which concurrent terminals' batches happened to arrive.
    journals.push_back(random_journal(id, 1 + static_cast<std::int64_t>(rng() % 400), 0, rng, id + "-M"));
  }
  journals.push_back(random_journal("T9", 10, 0, rng, "T9-M"));  // never enrolled
  std::vector<Uploads> uploads;
  for (const DrawnJournal& journal : journals) uploads.push_back(cut(journal, rng));
  const std::size_t group_entries = 240 + rng() % 3000;
  INFO("group_entries=" << group_entries);

  const auto enroll = [&](Ledger& ledger) {
    for (std::size_t t = 0; t + 1 < journals.size(); ++t) {
      ledger.enroll(journals[t].terminal_id, "S1", journals[t].key.public_key().raw(), kNow);
    }
  };
  const auto answer = [](const auto& apply) {
    try {
      return describe(apply());
    } catch (const Refusal& refusal) {
      return "refused " + refusal.code();
    }
  };

  const auto one_db = new_db(dir, "one-at-a-time.db");
  const auto one_store = open_store(one_db);
  Ledger one(*one_store, {});
  enroll(one);
  std::vector<std::vector<std::string>> expected(uploads.size());
  for (std::size_t t = 0; t < uploads.size(); ++t) {
    for (const auto& batch : uploads[t].batches) {
      expected[t].push_back(answer([&] { return one.ingest(uploads[t].terminal_id, batch, kNow); }));
    }
  }

  const auto grouped_db = new_db(dir, "grouped.db");
  LedgerPool pool(1, [&] { return open_store(grouped_db); }, {});
  pool.with([&](Ledger& ledger) { enroll(ledger); });
  UploadGroups groups(pool, group_entries);
  std::vector<std::vector<std::string>> got(uploads.size());
  {
    // The store is busy while every terminal sends its first batch: they queue, and the
    // batches behind the first leader's are applied as one group.
    HeldLedger held(pool);
    std::vector<std::thread> terminals;
    for (std::size_t t = 0; t < uploads.size(); ++t) {
      terminals.emplace_back([&, t] {
        for (const auto& batch : uploads[t].batches) {
          got[t].push_back(answer([&] {
            UploadOutcome outcome = groups.apply(uploads[t].terminal_id, batch, kNow);
            if (outcome.refusal) throw *outcome.refusal;
            return *outcome.ack;
          }));
        }
      });
    }
    REQUIRE(loyalty::testing::ask_in_process_until([&] { return groups.stats().queued == uploads.size(); },
                                                   std::chrono::steady_clock::now() + std::chrono::seconds(20)));
    held.release();
    for (auto& thread : terminals) thread.join();
  }

  for (std::size_t t = 0; t < uploads.size(); ++t) {
    INFO("terminal " << uploads[t].terminal_id);
    CHECK(got[t] == expected[t]);
  }
  // In order within each kind, except that rows of different terminals (conflicts) may come in
  // the order their concurrent batches happened to arrive.
  const auto sorted = [](std::map<std::string, std::vector<std::string>> lines) {
    for (auto& [what, rows] : lines) std::ranges::sort(rows);
    return lines;
  };
  const auto want = sorted(ledger_lines(*one_store));
  const auto grouped_store = open_store(grouped_db);
  const auto have = sorted(ledger_lines(*grouped_store));
  check_same_lines(want, have);
  const UploadGroupStats stats = groups.stats();
  CHECK(stats.largest >= 2);  // the batches that queued behind the busy store went as one group
  CHECK(stats.groups < stats.batches);
  // The batches did what they were drawn to do.
  CHECK(expected.back().front() == "refused terminal_unknown");
  CHECK(want.contains("lots"));
}

}  // namespace

TEST_CASE("uploads applied in groups answer each batch and leave the ledger as uploading one batch at a time does" *
          doctest::test_suite("store")) {
  const std::uint64_t seed = loyalty::testing::env_number("LOYALTY_SEED", std::random_device{}());
  MESSAGE("LOYALTY_SEED=" << seed);
  for (std::uint64_t round = 0; round < 4; ++round) {
    INFO("LOYALTY_SEED=" << seed << ", round " << round);
    compare_uploads(seed + round);
  }
}

TEST_CASE("an authorization waiting for the store goes before upload groups waiting for it" *
          doctest::test_suite("store")) {
  TempDir dir;
  const auto db = new_db(dir, "ledger.db");
  LedgerPool pool(1, [&] { return open_store(db); }, {});
  std::atomic<int> order{0};
  int bulk_at = 0;
  int quick_at = 0;
  HeldLedger held(pool);
  std::thread bulk([&] { pool.with([&](Ledger&) { bulk_at = ++order; }); });
  const auto soon = [] { return std::chrono::steady_clock::now() + std::chrono::seconds(10); };
  REQUIRE(loyalty::testing::ask_in_process_until([&] { return pool.waiting() == 1; }, soon()));
  std::thread quick([&] { pool.with([&](Ledger&) { quick_at = ++order; }, LedgerPool::Priority::quick); });
  REQUIRE(loyalty::testing::ask_in_process_until([&] { return pool.waiting() == 2; }, soon()));
  held.release();
  bulk.join();
  quick.join();
  CHECK(quick_at == 1);
  CHECK(bulk_at == 2);
}

TEST_CASE("an authorization's wait for the store connection is measured from its ask, not from its turn" *
          doctest::test_suite("store")) {
  TempDir dir;
  const auto db = new_db(dir, "ledger.db");
  LedgerPool pool(1, [&] { return open_store(db); }, {});
  std::ostringstream log_text;
  runtime::Log log(log_text, runtime::LogLevel::warning);
  LedgerService service(pool, pool, log, [] { return kNow; });
  sync::HttpRequest request{http::verb::post, "/v1/authorize", 11};
  request.body() = R"({"member_id": "M-1", "receipt_id": "R-1", "points": 5})";
  request.prepare_payload();
  const Peer peer{"T-0001", "S-1", "01"};

  HeldLedger held(pool);
  sync::HttpResponse answer;
  std::thread till([&] { answer = service.handle(request, &peer); });
  const auto soon = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  REQUIRE(loyalty::testing::ask_in_process_until([&] { return pool.waiting() == 1; }, soon));
  // The authorization was waiting before this moment and is let in only after the release, so
  // its wait is at least the time between, however the threads are scheduled. The store stays
  // held until a second request, on a thread started now, is seen waiting behind it: far longer
  // than a wait measured from the turn instead would be.
  const auto seen_waiting = std::chrono::steady_clock::now();
  std::thread behind([&] { pool.with([](Ledger&) {}); });
  REQUIRE(loyalty::testing::ask_in_process_until([&] { return pool.waiting() == 2; }, soon));
  const double held_for = std::chrono::duration<double>(std::chrono::steady_clock::now() - seen_waiting).count();
  held.release();
  till.join();
  behind.join();

  CHECK(answer.result() == http::status::ok);
  const ServiceCounters counters = service.counters();
  CHECK(counters.authorize_store_wait.count() == 1);
  CHECK(counters.authorize_store_wait.sum() >= held_for);
  const sync::HttpRequest metrics{http::verb::get, "/metrics", 11};
  CHECK(service.handle(metrics, &peer).body().find("loyalty_ledger_authorize_store_wait_seconds_count 1\n") !=
        std::string::npos);
}
