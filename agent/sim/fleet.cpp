#include "agent/sim/fleet.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <limits>
#include <memory>
#include <ostream>
#include <queue>
#include <random>
#include <sstream>

#include "agent/checkout.hpp"
#include "agent/sim/lane_sim.hpp"
#include "agent/sim/members.hpp"
#include "agent/sim/shop.hpp"
#include "runtime/json_reader.hpp"
#include "runtime/limits.hpp"
#include "storage/files.hpp"
#include "storage/journal.hpp"
#include "storage/member_cache.hpp"
#include "storage/rulebook_store.hpp"
#include "sync/datetime.hpp"
#include "sync/rulebook_json.hpp"
#include "sync/tls.hpp"

namespace loyalty::sim {
namespace {

using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr std::string_view kMemberSecret = "the fleet simulator's member secret";

double ms_between(Steady::time_point from, Steady::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

fs::path key_path(const fs::path& dir, const std::string& id) { return dir / "keys" / (id + ".key"); }
fs::path source_path(const fs::path& dir, const std::string& id) { return dir / "source" / (id + ".db"); }

// One sale as a lane would ring it up: a basket, a member three times in four, and now and
// then points redeemed (within what the offline limits let the checkout grant).
nlohmann::json sale_request(Random& random, const std::string& receipt, std::int64_t members) {
  const std::string at = sync::format_rfc3339_utc(std::time(nullptr));
  nlohmann::json basket = make_basket(random, receipt, at);
  nlohmann::json request;
  if (random() % 4 != 0) {
    const auto index = static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(members));
    if (random() % 5 == 0) basket["redeem_points"] = std::min<std::int64_t>(member_balance(index), 500) / 10 * 10;
    if (basket.contains("redeem_points") && basket["redeem_points"] == 0) basket.erase("redeem_points");
    request["member_id"] = member_id(index);
  }
  request["basket"] = std::move(basket);
  return request;
}

// A terminal of the fleet in a run: its live journal, uplink and the times its entries were
// journaled.
struct Terminal {
  std::string id;
  std::unique_ptr<storage::Journal> journal;
  std::unique_ptr<storage::RulebookStore> rulebooks;
  std::unique_ptr<sync::Uplink> uplink;
  std::int64_t entries = 0;                      // in its source journal
  std::int64_t journaled = 0;                    // copied into the live journal so far
  std::int64_t acknowledged = 0;                 // through
  std::vector<Steady::time_point> journaled_at;  // by seq - 1
  Steady::time_point next_due;

  // Journals source entries journaled+1..through, as the terminal's checkout would have.
  void journal_through(std::int64_t through, Steady::time_point now) {
    storage::Database& db = journal->database();
    storage::Transaction transaction(db, "journal the fleet's sales");
    storage::StatementUse copy(db.cached(
        "INSERT INTO journal (seq, kind, receipt_id, member_id, recorded_at, rulebook_version, points_earned, "
        "points_redeemed, payload, hash, signature, journaled_at) SELECT seq, kind, receipt_id, member_id, "
        "recorded_at, rulebook_version, points_earned, points_redeemed, payload, hash, signature, ? "
        "FROM source.journal WHERE seq BETWEEN ? AND ?"));
    copy->bind(1, runtime::unix_now_ms()).bind(2, journaled + 1).bind(3, through).run();
    transaction.commit();
    for (std::int64_t seq = journaled + 1; seq <= through; ++seq) journaled_at[static_cast<std::size_t>(seq - 1)] = now;
    journaled = through;
  }
};

struct Plan {
  std::int64_t terminals = 0;
  std::int64_t entries = 0;
  std::int64_t members = 0;
};

Plan read_plan(const fs::path& dir) {
  const runtime::Json document = runtime::parse_json(storage::read_file(dir / "fleet.json"), "fleet.json");
  runtime::Reader in(document, "fleet.json");
  Plan plan;
  plan.terminals = in.integer("terminals", 1, 1'000'000);
  plan.entries = in.integer("entries", 1, 100'000'000);
  plan.members = in.integer("members", 1, 100'000'000);
  in.integer("terminals_per_store", 1, 1'000'000);
  in.integer("seed", 0, std::numeric_limits<std::int64_t>::max());
  in.finish();
  return plan;
}

// Cumulative bucket counts of the ledger's request duration histograms: route -> bound (s,
// infinity for +Inf) -> count.
using Buckets = std::map<std::string, std::map<double, std::int64_t>>;

// Reads the histograms from an admin listener's /metrics (plain HTTP on loopback).
Buckets read_buckets(const sync::LedgerAddress& admin) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address(admin.host), admin.port));
  http::request<http::empty_body> request{http::verb::get, "/metrics", 11};
  request.set(http::field::host, admin.host);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  if (response.result() != http::status::ok)
    throw std::runtime_error("GET /metrics answered " + std::to_string(response.result_int()));
  Buckets buckets;
  std::istringstream lines(response.body());
  const std::string prefix = "loyalty_ledger_request_duration_seconds_bucket{route=\"";
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(prefix)) continue;
    const auto route_end = line.find('"', prefix.size());
    const auto le = line.find("le=\"", route_end);
    const auto le_end = line.find('"', le + 4);
    const auto space = line.rfind(' ');
    if (route_end == std::string::npos || le == std::string::npos || le_end == std::string::npos) continue;
    const std::string bound = line.substr(le + 4, le_end - le - 4);
    buckets[line.substr(prefix.size(), route_end - prefix.size())]
           [bound == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(bound)] +=
        std::stoll(line.substr(space + 1));
  }
  return buckets;
}

Buckets read_all(const std::vector<sync::LedgerAddress>& admins) {
  Buckets all;
  for (const auto& admin : admins) {
    for (const auto& [route, bounds] : read_buckets(admin)) {
      for (const auto& [bound, count] : bounds) all[route][bound] += count;
    }
  }
  return all;
}

// The times of the requests counted between `before` and `after`.
std::map<std::string, LedgerTimes> times_between(const Buckets& before, const Buckets& after) {
  std::map<std::string, LedgerTimes> times;
  for (const auto& [route, bounds] : after) {
    const auto earlier = before.find(route);
    const auto counted = [&](double bound) {
      const std::int64_t was =
          earlier == before.end() || !earlier->second.contains(bound) ? 0 : earlier->second.at(bound);
      return bounds.at(bound) - was;
    };
    LedgerTimes t;
    t.count = counted(std::numeric_limits<double>::infinity());
    if (t.count == 0) continue;
    const auto at_most = [&](double share) {
      for (const auto& [bound, count] : bounds) {
        if (static_cast<double>(counted(bound)) >= share * static_cast<double>(t.count)) return bound * 1000;
      }
      return std::numeric_limits<double>::infinity();
    };
    t.p50_at_most_ms = at_most(0.5);
    t.p99_at_most_ms = at_most(0.99);
    times[route] = t;
  }
  return times;
}

}  // namespace

std::string fleet_terminal_id(std::int64_t index) {
  char text[32];
  std::snprintf(text, sizeof text, "fleet-%04lld", static_cast<long long>(index + 1));
  return text;
}

std::string fleet_store_id(std::int64_t index, std::int64_t terminals_per_store) {
  char text[32];
  std::snprintf(text, sizeof text, "fleet-s%03lld", static_cast<long long>(index / terminals_per_store + 1));
  return text;
}

nlohmann::json FleetPrepared::to_json() const {
  return {{"terminals", terminals},
          {"entries", entries},
          {"payload_bytes_per_entry", entries > 0 ? payload_bytes / entries : 0},
          {"journal_bytes_per_entry", entries > 0 ? journal_bytes / entries : 0},
          {"seconds", seconds}};
}

FleetPrepared prepare_fleet(const FleetPlan& plan, std::ostream* progress) {
  const auto started = Steady::now();
  if (fs::exists(plan.dir / "fleet.json")) {
    throw std::runtime_error(plan.dir.string() + " holds a prepared fleet already: prepare another directory");
  }
  for (const char* sub : {"keys", "csr", "certs", "source"}) fs::create_directories(plan.dir / sub);
  storage::write_file_atomically(plan.dir / "member.secret", kMemberSecret, 0600);
  {
    std::ofstream lines(plan.dir / "members.jsonl");
    write_member_lines(lines, plan.members);
    if (!lines) throw std::runtime_error("cannot write " + (plan.dir / "members.jsonl").string());
  }
  const domain::Rulebook rulebook =
      sync::rulebook_from_json(runtime::parse_json(storage::read_file(plan.rulebook), plan.rulebook.string()));
  const storage::IdentifierHasher hasher{std::string(kMemberSecret)};
  const fs::path cache_path = plan.dir / "prepare-members.db";
  FleetPrepared prepared;
  {
    storage::MemberCache members(cache_path, hasher);
    write_members(members, hasher, plan.members);
    Random random(plan.seed);
    for (std::int64_t t = 0; t < plan.terminals; ++t) {
      const std::string id = fleet_terminal_id(t);
      const storage::PrivateKey key = storage::PrivateKey::generate();
      storage::write_file_atomically(key_path(plan.dir, id), key.pem(), 0600);
      storage::write_file_atomically(plan.dir / "csr" / (id + ".csr"),
                                     sync::make_terminal_csr(key, id, fleet_store_id(t, plan.terminals_per_store)),
                                     0644);
      {
        storage::Journal journal(source_path(plan.dir, id), id, key, storage::Creation::create_if_missing,
                                 storage::Durability::normal);
        agent::Checkout checkout(journal, members, hasher, "7", runtime::unix_now_ms);
        checkout.set_rulebook(rulebook);
        for (std::int64_t n = 1; n <= plan.entries; ++n) {
          char receipt[64];
          std::snprintf(receipt, sizeof receipt, "%s-%06lld", id.c_str(), static_cast<long long>(n));
          const nlohmann::json request = sale_request(random, receipt, plan.members);
          checkout.commit(agent::read_sale_request(request, agent::SaleCall::commit));
        }
        journal.sign_pending();
        for (const storage::JournalEntry& entry :
             journal.read(1, plan.entries, static_cast<std::size_t>(plan.entries))) {
          prepared.payload_bytes += static_cast<std::int64_t>(entry.draft.payload.size());
        }
        // One file, no write-ahead log: a run attaches it with one descriptor.
        journal.database().exec("PRAGMA journal_mode=DELETE", "close the fleet's source journal");
      }
      prepared.journal_bytes += static_cast<std::int64_t>(fs::file_size(source_path(plan.dir, id)));
      ++prepared.terminals;
      prepared.entries += plan.entries;
      if (progress != nullptr && (t + 1) % 100 == 0) {
        *progress << "prepared " << t + 1 << " of " << plan.terminals << " terminals\n" << std::flush;
      }
    }
  }
  fs::remove(cache_path);
  fs::remove(fs::path(cache_path) += "-wal");
  fs::remove(fs::path(cache_path) += "-shm");
  const nlohmann::json described{{"terminals", plan.terminals},
                                 {"entries", plan.entries},
                                 {"members", plan.members},
                                 {"terminals_per_store", plan.terminals_per_store},
                                 {"seed", plan.seed}};
  storage::write_file_atomically(plan.dir / "fleet.json", described.dump(2) + "\n", 0644);
  prepared.seconds = std::chrono::duration<double>(Steady::now() - started).count();
  return prepared;
}

FleetReport run_fleet(const FleetRun& run) {
  const Plan plan = read_plan(run.dir);
  runtime::raise_open_file_limit();
  fs::remove_all(run.dir / "live");
  fs::create_directories(run.dir / "live");
  for (const char* name : {"members.db", "members.db-wal", "members.db-shm"}) fs::remove(run.dir / name);

  asio::io_context io;
  std::ofstream log_file(run.dir / "uplink.log");
  runtime::Log log(log_file, runtime::LogLevel::warning);
  const storage::IdentifierHasher hasher{std::string(kMemberSecret)};
  storage::MemberCache members(run.dir / "members.db", hasher);
  FleetReport report;
  report.terminals = plan.terminals;
  Random random(run.seed);

  std::vector<std::unique_ptr<Terminal>> terminals;
  // Over the fleet, kept by the terminals' acknowledgements as they come.
  std::int64_t acknowledged = 0;
  Steady::time_point last_ack;
  for (std::int64_t t = 0; t < plan.terminals; ++t) {
    auto terminal = std::make_unique<Terminal>();
    terminal->id = fleet_terminal_id(t);
    const fs::path key_file = key_path(run.dir, terminal->id);
    const storage::PrivateKey key = storage::PrivateKey::from_pem(storage::read_file(key_file));
    terminal->journal =
        std::make_unique<storage::Journal>(run.dir / "live" / (terminal->id + ".db"), terminal->id, key,
                                           storage::Creation::create_if_missing, storage::Durability::normal);
    // A small page cache each: thousands of journals in one process.
    terminal->journal->database().exec("PRAGMA cache_size=-256", "size the fleet's journal caches");
    storage::StatementUse attach(terminal->journal->database().cached("ATTACH DATABASE ? AS source"));
    attach->bind(1, source_path(run.dir, terminal->id).string()).run();
    terminal->rulebooks = std::make_unique<storage::RulebookStore>(terminal->journal->database());
    terminal->entries = plan.entries;
    terminal->journaled_at.resize(static_cast<std::size_t>(plan.entries));

    sync::UplinkSettings settings;
    // Each terminal starts at another instance, so that several share the fleet.
    settings.ledgers = run.ledgers;
    std::rotate(
        settings.ledgers.begin(),
        settings.ledgers.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(t) % run.ledgers.size()),
        settings.ledgers.end());
    settings.server_name = run.server_name;
    settings.tls = {run.ca, run.dir / "certs" / (terminal->id + ".crt"), key_file, std::nullopt};
    settings.batch_entries = run.batch_entries;
    settings.pull_every = run.pull_every;
    settings.pull = run.pull || t == 0;  // the first terminal fills the shared member cache
    settings.seed = static_cast<std::uint32_t>(random());
    terminal->uplink = std::make_unique<sync::Uplink>(
        io, settings, *terminal->journal, members, *terminal->rulebooks, [](domain::Rulebook) {}, log,
        runtime::unix_now_ms);
    Terminal* self = terminal.get();
    terminal->uplink->on_acknowledged([&, self](std::int64_t, std::int64_t through, Steady::duration trip) {
      const auto now = Steady::now();
      report.batch_ms.push_back(std::chrono::duration<double, std::milli>(trip).count());
      if (through <= self->acknowledged) return;
      for (std::int64_t seq = self->acknowledged + 1; seq <= through; ++seq) {
        report.ack_ms.push_back(ms_between(self->journaled_at[static_cast<std::size_t>(seq - 1)], now));
      }
      acknowledged += through - self->acknowledged;
      self->acknowledged = through;
      last_ack = now;
    });
    terminals.push_back(std::move(terminal));
  }

  // The first terminal pulls the member feed into the shared cache alone, so that the others
  // do not all download the same pages at once.
  terminals.front()->uplink->start();
  const auto warm_deadline = Steady::now() + std::chrono::seconds(60);
  while (terminals.front()->uplink->status().rounds == 0 && Steady::now() < warm_deadline) {
    io.run_for(std::chrono::milliseconds(10));
  }
  if (terminals.front()->uplink->status().rounds == 0 || !terminals.front()->uplink->status().online) {
    report.problems.push_back("the first terminal could not reach the ledger: " +
                              terminals.front()->uplink->status().offline_reason);
  }

  const Buckets before = read_all(run.admins);
  const auto started = Steady::now();
  last_ack = started;
  const auto interval =
      run.rate > 0 ? std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(1.0 / run.rate))
                   : Steady::duration::zero();
  // Due terminals first: (when its next sale is due, index).
  using Due = std::pair<Steady::time_point, std::size_t>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due;
  for (std::size_t t = 0; t < terminals.size(); ++t) {
    Terminal& terminal = *terminals[t];
    if (run.rate > 0) {
      // Spread over the first interval, so that the fleet's sales do not come in step.
      terminal.next_due = started + std::chrono::duration_cast<Steady::duration>(
                                        interval * std::uniform_real_distribution<double>(0, 1)(random));
      due.emplace(terminal.next_due, t);
    } else {
      terminal.journal_through(terminal.entries, started);
    }
    if (t > 0) terminal.uplink->start();
    terminal.uplink->wake();
  }

  // Online authorizations meanwhile, round the fleet's online terminals, one at a time each.
  std::size_t next_authorizer = 0;
  std::vector<bool> authorizing(terminals.size(), false);
  std::int64_t authorization_serial = 0;
  const auto authorize_interval =
      run.authorizations_per_s > 0
          ? std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(1.0 / run.authorizations_per_s))
          : Steady::duration::max();
  auto next_authorization = started + authorize_interval;
  const auto authorize = [&](std::size_t t) -> Task<void> {
    sync::Uplink& uplink = *terminals[t]->uplink;
    const auto asked = Steady::now();
    const std::string receipt = "fleet-auth-" + std::to_string(++authorization_serial);
    const auto member = static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(plan.members));
    const auto answer = co_await uplink.authorize(member_id(member), receipt, 100);
    authorizing[t] = false;
    ++report.authorizations;
    if (!answer) {
      ++report.authorize_fallbacks;
      co_return;
    }
    report.authorize_ms.push_back(ms_between(asked, Steady::now()));
    if (answer->points > 0) ++report.approved;
  };

  const auto deadline = started + run.timeout;
  while (acknowledged < plan.terminals * plan.entries && Steady::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
    const auto now = Steady::now();
    while (!due.empty() && due.top().first <= now) {
      const std::size_t t = due.top().second;
      due.pop();
      Terminal& terminal = *terminals[t];
      // Every sale due by now, in one transaction.
      std::int64_t through = terminal.journaled;
      while (through < terminal.entries && terminal.next_due <= now) {
        ++through;
        terminal.next_due += interval;
      }
      terminal.journal_through(through, now);
      terminal.uplink->wake();
      if (terminal.journaled < terminal.entries) due.emplace(terminal.next_due, t);
    }
    if (now >= next_authorization) {
      next_authorization += authorize_interval;
      for (std::size_t tries = 0; tries < terminals.size(); ++tries) {
        const std::size_t t = next_authorizer++ % terminals.size();
        if (!terminals[t]->uplink->status().online || authorizing[t]) continue;
        // Marked now: the coroutine may start only after the next pass has looked again.
        authorizing[t] = true;
        asio::co_spawn(io, authorize(t), asio::detached);
        break;
      }
    }
  }

  for (const auto& terminal : terminals) {
    report.entries += terminal->journaled;
    report.batches += terminal->uplink->status().batches;
    report.failures += terminal->uplink->status().failures;
    report.busy += terminal->uplink->status().busy_answers;
    if (terminal->acknowledged < terminal->entries) {
      report.problems.push_back(
          terminal->id + ": " + std::to_string(terminal->acknowledged) + " of " + std::to_string(terminal->entries) +
          " acknowledged (" +
          (terminal->uplink->status().online ? "online" : terminal->uplink->status().offline_reason) + ")");
    }
    terminal->uplink->stop();
  }
  report.acknowledged = acknowledged;
  report.seconds = std::chrono::duration<double>(last_ack - started).count();
  report.ledger_times = times_between(before, read_all(run.admins));
  const auto stop_deadline = Steady::now() + std::chrono::seconds(30);
  while (std::ranges::any_of(terminals, [](const auto& t) { return t->uplink->running(); }) &&
         Steady::now() < stop_deadline) {
    io.run_for(std::chrono::milliseconds(10));
  }
  return report;
}

nlohmann::json FleetReport::to_json() const {
  const auto summary = [](const std::vector<double>& values) {
    return nlohmann::json{{"count", values.size()},
                          {"p50", percentile(values, 50)},
                          {"p90", percentile(values, 90)},
                          {"p99", percentile(values, 99)},
                          {"max", percentile(values, 100)}};
  };
  return {{"terminals", terminals},
          {"entries", entries},
          {"acknowledged", acknowledged},
          {"seconds", seconds},
          {"entries_per_s", std::round(entries_per_s())},
          {"batches", batches},
          {"failures", failures},
          {"busy_answers", busy},
          {"ack_latency_ms", summary(ack_ms)},
          {"batch_round_trip_ms", summary(batch_ms)},
          {"authorizations", authorizations},
          {"authorizations_approved", approved},
          {"authorization_fallbacks", authorize_fallbacks},
          {"authorization_ms", summary(authorize_ms)},
          {"ledger_ms", ledger_json()},
          {"problems", problems}};
}

nlohmann::json FleetReport::ledger_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [route, t] : ledger_times) {
    out[route] = {{"count", t.count}, {"p50_at_most", t.p50_at_most_ms}, {"p99_at_most", t.p99_at_most_ms}};
  }
  return out;
}

void FleetReport::print(std::ostream& out) const {
  char line[256];
  std::snprintf(line, sizeof line,
                "fleet       %lld terminals, %lld of %lld entries acknowledged in %.1f s: %.0f entries/s\n",
                static_cast<long long>(terminals), static_cast<long long>(acknowledged),
                static_cast<long long>(entries), seconds, entries_per_s());
  out << line;
  std::snprintf(line, sizeof line, "ack         p50 %.0f ms, p99 %.0f ms, max %.0f ms (journaled to acknowledged)\n",
                percentile(ack_ms, 50), percentile(ack_ms, 99), percentile(ack_ms, 100));
  out << line;
  std::snprintf(line, sizeof line,
                "batches     %lld, round trip p50 %.0f ms, p99 %.0f ms; %lld failed rounds retried, %lld busy "
                "answers\n",
                static_cast<long long>(batches), percentile(batch_ms, 50), percentile(batch_ms, 99),
                static_cast<long long>(failures), static_cast<long long>(busy));
  out << line;
  std::snprintf(
      line, sizeof line, "authorize   %lld asked, %lld approved, %lld fell back offline; p50 %.1f ms, p99 %.1f ms\n",
      static_cast<long long>(authorizations), static_cast<long long>(approved),
      static_cast<long long>(authorize_fallbacks), percentile(authorize_ms, 50), percentile(authorize_ms, 99));
  out << line;
  for (const auto& [route, t] : ledger_times) {
    std::snprintf(line, sizeof line, "ledger      %-9s %lld answered, p50 within %.1f ms, p99 within %.1f ms\n",
                  route.c_str(), static_cast<long long>(t.count), t.p50_at_most_ms, t.p99_at_most_ms);
    out << line;
  }
  for (const std::string& problem : problems) out << "problem     " << problem << "\n";
}

}  // namespace loyalty::sim
