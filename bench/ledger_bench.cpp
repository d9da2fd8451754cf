// Ledger benchmarks. Prints one JSON object per line; never fails on timing.
//
//   ledger_ingest  terminals' entries applied by the ledger (Ledger::ingest on the SQLite store,
//                  batches of 1,000: chain and signature check, duplicate check, entry row,
//                  member balance, lots, one durable commit per batch), once from decoded
//                  entries and once from the batch JSON as it arrives (parse, base64, SHA-256),
//                  beside bare SQLite statements writing the same rows into the same schema and
//                  indexes (entry insert, balance upsert with the feed cursor, lot insert) in
//                  the same 1,000-row durable transactions, in the same run. Budget: the ledger
//                  at least half the bare rate.
//   ledger_ingest_postgres
//                  the same batches into PostgreSQL (LOYALTY_BENCH_PG): the ledger with one
//                  instance and with two (threads with a connection each, terminals split
//                  between them), beside bare statements writing the same rows and indexes in
//                  the same batch transactions, as multi-row INSERTs (unnest of arrays) and with
//                  COPY for the entries. Budget: the ledger at least half the bare INSERT rate.
//   uplink_drain   a terminal's 100,000-entry backlog uploaded by the agent's uplink over TLS
//                  to `loyalty-ledger serve` on loopback, until every entry is acknowledged.
//                  Budget 15 s.
//   fleet          2,000 terminals of loyalty-lane-sim fleet uploading to `loyalty-ledger serve`
//                  over mutual TLS: the backlog after an outage, then the peak hour with the
//                  member feed and online authorizations; beside the same journals applied in
//                  process (bench_fleet). Budget: >= 5,000 entries/s, ack p99 < 1 s,
//                  authorization p99 < 50 ms at the ledger.
//   replay         1,000 exported journal files of 1,000 entries each replayed through the
//                  exactly-once path (replay_files, as `loyalty-ledger replay`); projected to the
//                  10,000,000-entry Black Friday budget (5 minutes); beside the floors of the
//                  same work bare, on the same files in the same run (bare_replay; skipped with
//                  LOYALTY_BENCH_NO_FLOORS); with LOYALTY_BENCH_PG, the same files into
//                  PostgreSQL too, beside bare COPY of the entries with balance upserts
//                  (bare_replay_postgres). Budget there: at least half that floor.
//                  LOYALTY_BENCH_SCALE=10 is the full Black Friday.
//
// Entries are sales of random members among 100,000 with a 600-byte payload (LOYALTY_BENCH_PAYLOAD
// sets another size). Journal files are written in bulk: their entries carry real hashes and
// chains, and a real signature wherever the ledger checks one (the last entry of each 500- or
// 1,000-entry run); the rest carry 64 zero bytes (the ledger stores them and checks the last).
//
// usage: loyalty_ledger_bench [DIRECTORY]   (default: a temporary directory, removed after)
// LOYALTY_BENCH_PG=postgresql://postgres@HOST:PORT/ adds the PostgreSQL runs (databases
// bench_* are made on that server; scripts/bench starts a scratch one).
// LOYALTY_BENCH_SCALE scales the sizes (0.01 for a smoke run); LOYALTY_BENCH_ONLY=ingest, drain,
// replay or fleet runs one of them.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/sim/fleet.hpp"
#include "ledger/cli.hpp"
#include "ledger/ledger.hpp"
#include "ledger/pki.hpp"
#include "ledger/postgres_store.hpp"
#include "ledger/replay.hpp"
#include "ledger/sqlite_store.hpp"
#include "storage/files.hpp"
#include "storage/journal.hpp"
#include "storage/journal_scan.hpp"
#include "sync/journal_wire.hpp"
#include "sync/uplink.hpp"

using namespace loyalty;
using Steady = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kNow = 1'795'000'000'000;
constexpr std::int64_t kMembers = 100'000;

double seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

double scale() {
  const char* text = std::getenv("LOYALTY_BENCH_SCALE");
  return text != nullptr ? std::max(0.001, std::atof(text)) : 1.0;
}

std::int64_t scaled(std::int64_t n) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(n) * scale()));
}

std::string text_of(char letter, std::int64_t number) { return std::string(1, letter).append(std::to_string(number)); }

// LOYALTY_BENCH_PAYLOAD sets the payload's size (600 bytes; an agent's real entries, with the
// request, the answer's per-line VAT split and the refund terms, run to about 5,000).
std::size_t payload_bytes() {
  static const std::size_t bytes = [] {
    const char* text = std::getenv("LOYALTY_BENCH_PAYLOAD");
    return text != nullptr ? static_cast<std::size_t>(std::max(1LL, std::atoll(text))) : std::size_t{600};
  }();
  return bytes;
}

storage::EntryDraft draft(std::int64_t seq, std::mt19937_64& rng) {
  storage::EntryDraft d;
  d.receipt_id = text_of('R', seq);
  d.member_id = text_of('M', static_cast<std::int64_t>(rng() % kMembers));
  d.recorded_at_ms = kNow + seq;
  d.rulebook_version = 1;
  d.points_earned = static_cast<std::int64_t>(rng() % 500);
  d.points_redeemed = rng() % 10 == 0 ? 50 : 0;
  d.payload = std::string(payload_bytes(), 'p');
  return d;
}

// A terminal's chain of `count` entries: real hashes and links; a real signature on every
// `sign_every`-th entry and the last, zero bytes elsewhere.
std::vector<storage::JournalEntry> chain(const std::string& terminal, const storage::PrivateKey& key,
                                         std::int64_t count, std::int64_t sign_every, std::mt19937_64& rng) {
  std::vector<storage::JournalEntry> entries;
  entries.reserve(static_cast<std::size_t>(count));
  storage::Digest prev{};
  for (std::int64_t seq = 1; seq <= count; ++seq) {
    storage::JournalEntry e;
    e.terminal_id = terminal;
    e.seq = seq;
    e.prev_hash = prev;
    e.draft = draft(seq, rng);
    e.hash = storage::entry_hash(terminal, seq, prev, e.draft);
    e.signature = (seq % sign_every == 0 || seq == count) ? key.sign(e.hash) : storage::Signature{};
    e.journaled_at_ms = kNow + seq;
    prev = e.hash;
    entries.push_back(std::move(e));
  }
  return entries;
}

// Writes `entries` as the terminal's journal file, in bulk.
void write_journal(const std::filesystem::path& path, const std::string& terminal, const storage::PrivateKey& key,
                   const std::vector<storage::JournalEntry>& entries) {
  { storage::Journal journal(path, terminal, key); }
  storage::OpenOptions options;
  options.durability = storage::Durability::normal;
  storage::Database db(path, options);
  db.exec("PRAGMA synchronous=OFF", "bulk");
  storage::Transaction transaction(db, "write journal");
  for (const storage::JournalEntry& e : entries) storage::insert_entry(db, e);
  transaction.commit();
}

// Terminals' chains cut into 1,000-entry batches, interleaved across terminals as uploads
// arrive, each as its JSON body and decoded.
struct IngestWork {
  static constexpr std::size_t kBatch = 1000;
  struct Batch {
    std::size_t terminal;
    std::size_t first;
    std::size_t count;
  };
  std::int64_t terminals = 50;
  std::int64_t per_terminal = 0;
  std::int64_t total = 0;
  std::vector<std::vector<storage::JournalEntry>> chains;
  std::vector<storage::PrivateKey> keys;
  std::vector<Batch> batches;
  std::vector<std::string> bodies;
  std::vector<std::vector<sync::WireEntry>> decoded;

  void enroll_all(ledger::Ledger& ledger) const {
    for (std::size_t t = 0; t < chains.size(); ++t) {
      ledger.enroll(text_of('T', static_cast<std::int64_t>(t)), "S1", keys[t].public_key().raw(), kNow);
    }
  }
  std::string terminal(std::size_t batch) const {
    return text_of('T', static_cast<std::int64_t>(batches[batch].terminal));
  }
};

IngestWork make_ingest_work() {
  IngestWork w;
  w.per_terminal = scaled(4000);
  w.total = w.terminals * w.per_terminal;
  std::mt19937_64 rng(42);
  for (std::int64_t t = 0; t < w.terminals; ++t) {
    w.keys.push_back(storage::PrivateKey::generate());
    w.chains.push_back(
        chain(text_of('T', t), w.keys.back(), w.per_terminal, static_cast<std::int64_t>(IngestWork::kBatch), rng));
  }
  for (std::size_t first = 0; first < static_cast<std::size_t>(w.per_terminal); first += IngestWork::kBatch) {
    for (std::size_t t = 0; t < w.chains.size(); ++t) {
      w.batches.push_back({t, first, std::min(IngestWork::kBatch, static_cast<std::size_t>(w.per_terminal) - first)});
    }
  }
  for (const IngestWork::Batch& b : w.batches) {
    const auto slice = std::span<const storage::JournalEntry>(w.chains[b.terminal]).subspan(b.first, b.count);
    w.bodies.push_back(sync::batch_to_json(text_of('T', static_cast<std::int64_t>(b.terminal)), slice));
    w.decoded.push_back(sync::batch_from_json(w.bodies.back()).entries);
  }
  return w;
}

// An entry's rows as bare statements write them into the ledger's schema: the entry with its
// index, the member's balance upsert (moving the feed cursor, or not), and a lot when it earns.
class BareRows {
 public:
  BareRows(storage::Database& db, bool move_cursor)
      : entry_(db,
               "INSERT INTO entries (terminal_id, seq, kind, member_id, receipt_id, recorded_at, rulebook_version, "
               "points_earned, points_redeemed, hash, signature, bytes, applied_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        account_(db,
                 "INSERT INTO accounts (member_id, balance, tier, status, cursor, last_redeem_terminal, "
                 "last_redeem_seq) VALUES (?, ?, 'standard', 1, ?, '', 0) ON CONFLICT (member_id) DO UPDATE SET "
                 "balance = balance + excluded.balance" +
                     std::string(move_cursor ? ", cursor = excluded.cursor" : "")),
        lot_(db,
             "INSERT INTO lots (member_id, expires_at, terminal_id, seq, points, remaining, expired, earned_at) "
             "VALUES (?, ?, ?, ?, ?, ?, 0, ?)") {}

  void entry(const sync::WireEntry& wire) {
    const storage::JournalEntry& e = wire.entry;
    entry_.bind(1, e.terminal_id).bind(2, e.seq).bind(3, std::int64_t{1}).bind(4, e.draft.member_id);
    entry_.bind(5, e.draft.receipt_id).bind(6, e.draft.recorded_at_ms).bind(7, e.draft.rulebook_version);
    entry_.bind(8, e.draft.points_earned).bind(9, e.draft.points_redeemed).bind_blob(10, e.hash);
    entry_.bind_blob(11, *e.signature).bind_blob(12, storage::as_bytes(wire.bytes)).bind(13, kNow);
    entry_.run();
    entry_.reset();
  }
  void balance(const storage::JournalEntry& e) {
    account_.bind(1, e.draft.member_id).bind(2, e.balance_change()).bind(3, ++cursor_);
    account_.run();
    account_.reset();
  }
  void lot(const storage::JournalEntry& e) {
    if (e.draft.points_earned <= 0) return;
    lot_.bind(1, e.draft.member_id).bind(2, e.draft.recorded_at_ms + 365LL * 86'400'000).bind(3, e.terminal_id);
    lot_.bind(4, e.seq).bind(5, e.draft.points_earned).bind(6, e.draft.points_earned).bind(7, e.draft.recorded_at_ms);
    lot_.run();
    lot_.reset();
  }

 private:
  storage::Statement entry_;
  storage::Statement account_;
  storage::Statement lot_;
  std::int64_t cursor_ = 0;
};

void bench_ingest(const std::filesystem::path& dir, const IngestWork& work) {
  const std::int64_t terminals = work.terminals;
  const std::int64_t total = work.total;
  constexpr std::size_t kBatch = IngestWork::kBatch;
  const auto& batches = work.batches;
  const auto& bodies = work.bodies;
  const auto& decoded = work.decoded;
  const auto enroll_all = [&](ledger::Ledger& ledger) { work.enroll_all(ledger); };
  // The ledger from decoded entries.
  double ledger_s = 0;
  {
    ledger::SqliteStore store(dir / "ingest-ledger.db");
    ledger::Ledger ledger(store, {});
    enroll_all(ledger);
    const auto start = Steady::now();
    for (std::size_t i = 0; i < batches.size(); ++i) {
      ledger.ingest(text_of('T', static_cast<std::int64_t>(batches[i].terminal)), decoded[i], kNow);
    }
    ledger_s = seconds(Steady::now() - start);
  }
  // The ledger from the batch JSON.
  double json_s = 0;
  {
    ledger::SqliteStore store(dir / "ingest-json.db");
    ledger::Ledger ledger(store, {});
    enroll_all(ledger);
    const auto start = Steady::now();
    for (std::size_t i = 0; i < batches.size(); ++i) {
      const sync::Batch batch = sync::batch_from_json(bodies[i]);
      ledger.ingest(batch.terminal_id, batch.entries, kNow);
    }
    json_s = seconds(Steady::now() - start);
  }
  // Bare SQLite: the same rows into the same schema.
  double bare_s = 0;
  {
    storage::OpenOptions options;
    options.cache_kib = 65536;
    storage::Database db(dir / "ingest-bare.db", options);
    storage::migrate(db, ledger::ledger_schema(), "ledger");
    BareRows rows(db, true);
    const auto start = Steady::now();
    for (const auto& batch : decoded) {
      storage::Transaction transaction(db, "bare batch");
      for (const sync::WireEntry& wire : batch) {
        rows.entry(wire);
        rows.balance(wire.entry);
        rows.lot(wire.entry);
      }
      transaction.commit();
    }
    bare_s = seconds(Steady::now() - start);
  }
  const double n = static_cast<double>(total);
  std::printf(
      "{\"bench\":\"ledger_ingest\",\"entries\":%lld,\"terminals\":%lld,\"members\":%lld,\"batch\":%zu,"
      "\"ledger_entries_per_s\":%.0f,\"ledger_from_json_entries_per_s\":%.0f,\"bare_sqlite_entries_per_s\":%.0f,"
      "\"ratio\":%.3f,\"ratio_from_json\":%.3f,\"budget_ratio\":0.5}\n",
      static_cast<long long>(total), static_cast<long long>(terminals), static_cast<long long>(kMembers), kBatch,
      n / ledger_s, n / json_s, n / bare_s, bare_s / ledger_s, bare_s / json_s);
  std::fflush(stdout);
}

// A new database on the server LOYALTY_BENCH_PG names (a URI ending in "/", the server's
// superuser's: postgresql://postgres@127.0.0.1:PORT/); returns its URI.
std::string new_postgres_database(const std::string& server, const std::string& name) {
  ledger::pg::Connection admin(server + "postgres");
  admin.exec("drop a bench database", "DROP DATABASE IF EXISTS " + name);
  admin.exec("create a bench database", "CREATE DATABASE " + name);
  return server + name;
}

// Bare PostgreSQL writes in the caller's transaction, as the ledger's schema holds them: COPY of
// the entries' rows, and each member's balance change upserted once, moving the feed cursor.
void copy_entries(ledger::pg::Connection& c, const std::vector<sync::WireEntry>& wires) {
  ledger::pg::CopyRows rows;
  for (const sync::WireEntry& wire : wires) {
    const storage::JournalEntry& e = wire.entry;
    rows.text(e.terminal_id).integer(e.seq).integer(1).text(e.draft.member_id).text(e.draft.receipt_id);
    rows.integer(e.draft.recorded_at_ms).integer(e.draft.rulebook_version).integer(e.draft.points_earned);
    rows.integer(e.draft.points_redeemed).bytes(e.hash).bytes(*e.signature).bytes(wire.bytes).integer(kNow);
    rows.end_row();
  }
  c.copy_in("copy entries",
            "COPY entries (terminal_id, seq, kind, member_id, receipt_id, recorded_at, rulebook_version, "
            "points_earned, points_redeemed, hash, signature, bytes, applied_at) FROM STDIN",
            rows);
}

void upsert_balances(ledger::pg::Connection& c, const std::map<std::string, std::int64_t>& balances,
                     std::int64_t& cursor) {
  std::vector<std::string> members, deltas, cursors;
  for (const auto& [member, delta] : balances) {
    members.push_back(member);
    deltas.push_back(std::to_string(delta));
    cursors.push_back(std::to_string(++cursor));
  }
  c.exec("upsert balances",
         "INSERT INTO accounts (member_id, balance, tier, status, cursor, last_redeem_terminal, last_redeem_seq) "
         "SELECT m, d, 'standard', 1, k, '', 0 FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(m, d, k) "
         "ON CONFLICT (member_id) DO UPDATE SET balance = accounts.balance + excluded.balance, "
         "cursor = excluded.cursor",
         {ledger::pg::text_array(members), ledger::pg::text_array(deltas), ledger::pg::text_array(cursors)});
}

// The same batches into PostgreSQL: the ledger with one instance, and with two instances
// (threads with their own connection, the terminals split between them), beside bare
// statements writing the same rows, indexes and balances in the same batch transactions: a
// multi-row INSERT (unnest of arrays) per table, and COPY for the entries.
void bench_ingest_postgres(const IngestWork& work, const std::string& server) {
  using ledger::pg::Param;
  const double n = static_cast<double>(work.total);
  const auto ledger_run = [&](int instances) {
    const std::string db = new_postgres_database(server, "bench_ingest_" + std::to_string(instances));
    std::vector<std::unique_ptr<ledger::PostgresStore>> stores;
    std::vector<std::unique_ptr<ledger::Ledger>> ledgers;
    for (int i = 0; i < instances; ++i) {
      stores.push_back(std::make_unique<ledger::PostgresStore>(ledger::PostgresStore::Options{db}));
      ledgers.push_back(std::make_unique<ledger::Ledger>(*stores.back(), ledger::LedgerSettings{}));
    }
    work.enroll_all(*ledgers[0]);
    const auto start = Steady::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < instances; ++i) {
      threads.emplace_back([&, i] {
        for (std::size_t b = 0; b < work.batches.size(); ++b) {
          if (static_cast<int>(work.batches[b].terminal % static_cast<std::size_t>(instances)) != i) continue;
          ledgers[static_cast<std::size_t>(i)]->ingest(work.terminal(b), work.decoded[b], kNow);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    return seconds(Steady::now() - start);
  };
  const double one_s = ledger_run(1);
  const double two_s = ledger_run(2);

  const auto bare_run = [&](bool copy) {
    const std::string db = new_postgres_database(server, copy ? "bench_bare_copy" : "bench_bare_insert");
    { ledger::PostgresStore schema(ledger::PostgresStore::Options{db}); }
    ledger::pg::Connection c(db);
    std::int64_t cursor = 0;
    const auto start = Steady::now();
    for (const auto& batch : work.decoded) {
      c.exec("begin", "BEGIN");
      std::vector<std::string> text[6];
      std::vector<std::string> ints[4];
      const auto num = [](std::int64_t v) { return std::to_string(v); };
      std::map<std::string, std::int64_t> balances;
      std::vector<std::string> lot_member, lot_terminal, lot_num[4];
      for (const sync::WireEntry& wire : batch) {
        const storage::JournalEntry& e = wire.entry;
        if (!copy) {
          text[0].push_back(e.terminal_id);
          ints[0].push_back(num(e.seq));
          text[1].push_back(e.draft.member_id);
          text[2].push_back(e.draft.receipt_id);
          ints[1].push_back(num(e.draft.recorded_at_ms));
          ints[2].push_back(num(e.draft.points_earned));
          ints[3].push_back(num(e.draft.points_redeemed));
          text[3].push_back(ledger::pg::bytea(e.hash));
          text[4].push_back(ledger::pg::bytea(*e.signature));
          text[5].push_back(ledger::pg::bytea(wire.bytes));
        }
        balances[e.draft.member_id] += e.balance_change();
        if (e.draft.points_earned > 0) {
          lot_member.push_back(e.draft.member_id);
          lot_terminal.push_back(e.terminal_id);
          lot_num[0].push_back(num(e.draft.recorded_at_ms + 365LL * 86'400'000));
          lot_num[1].push_back(num(e.seq));
          lot_num[2].push_back(num(e.draft.points_earned));
          lot_num[3].push_back(num(e.draft.recorded_at_ms));
        }
      }
      const auto array = [](const std::vector<std::string>& v) { return ledger::pg::text_array(v); };
      if (copy) {
        copy_entries(c, batch);
      } else {
        c.exec(
            "insert entries",
            "INSERT INTO entries (terminal_id, seq, kind, member_id, receipt_id, recorded_at, rulebook_version, "
            "points_earned, points_redeemed, hash, signature, bytes, applied_at) SELECT t, s, 1, m, r, a, 1, pe, pr, "
            "h, g, b, $11 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], "
            "$7::bigint[], $8::bytea[], $9::bytea[], $10::bytea[]) AS u(t, s, m, r, a, pe, pr, h, g, b)",
            {array(text[0]), array(ints[0]), array(text[1]), array(text[2]), array(ints[1]), array(ints[2]),
             array(ints[3]), array(text[3]), array(text[4]), array(text[5]), num(kNow)});
      }
      upsert_balances(c, balances, cursor);
      c.exec("insert lots",
             "INSERT INTO lots (member_id, expires_at, terminal_id, seq, points, remaining, expired, earned_at) "
             "SELECT m, x, t, s, p, p, 0, e FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], "
             "$5::bigint[], $6::bigint[]) AS u(m, x, t, s, p, e) ON CONFLICT DO NOTHING",
             {array(lot_member), array(lot_num[0]), array(lot_terminal), array(lot_num[1]), array(lot_num[2]),
              array(lot_num[3])});
      c.exec("commit", "COMMIT");
    }
    return seconds(Steady::now() - start);
  };
  const double insert_s = bare_run(false);
  const double copy_s = bare_run(true);
  std::printf(
      "{\"bench\":\"ledger_ingest_postgres\",\"entries\":%lld,\"terminals\":%lld,\"batch\":%zu,"
      "\"ledger_entries_per_s\":%.0f,\"ledger_two_instances_entries_per_s\":%.0f,"
      "\"bare_insert_entries_per_s\":%.0f,\"bare_copy_entries_per_s\":%.0f,\"ratio_to_bare_insert\":%.3f,"
      "\"ratio_to_bare_copy\":%.3f,\"two_instances_speedup\":%.2f,\"budget_ratio\":0.5}\n",
      static_cast<long long>(work.total), static_cast<long long>(work.terminals), IngestWork::kBatch, n / one_s,
      n / two_s, n / insert_s, n / copy_s, insert_s / one_s, copy_s / one_s, one_s / two_s);
  std::fflush(stdout);
}

// The ledger as a child process, on the chain's files, logging to DIR/ledger.log.
struct LedgerChild {
  LedgerChild(const std::filesystem::path& dir, const std::filesystem::path& pki,
              const std::string& db = "drain-ledger.db") {
    const auto config = dir / "ledger.json";
    const auto log = dir / "ledger.log";
    std::ofstream(config) << R"({"db": ")" << (dir / db).string()
                          << R"(", "listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "tls": {"ca": ")"
                          << (pki / "ca.crt").string() << R"(", "certificate": ")" << (pki / "server.crt").string()
                          << R"(", "key": ")" << (pki / "server.key").string() << R"("}})";
    std::filesystem::remove(log);  // a previous child's ports are not this one's
    pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, STDERR_FILENO);
      ::execl(LOYALTY_LEDGER_BINARY, LOYALTY_LEDGER_BINARY, "serve", "--config", config.c_str(), nullptr);
      ::_exit(127);
    }
    // Waits for the ready line (a benchmark may poll; the tests wait on a pipe).
    const auto deadline = Steady::now() + std::chrono::seconds(10);
    for (;;) {
      const std::string out = std::filesystem::exists(log) ? storage::read_file(log) : "";
      if (const auto at = out.find("\"admin_port\":"); at != std::string::npos) {
        port = static_cast<std::uint16_t>(std::stoi(out.substr(out.find("\"port\":") + 7)));
        admin_port = static_cast<std::uint16_t>(std::stoi(out.substr(at + 13)));
        return;
      }
      if (Steady::now() > deadline) throw std::runtime_error("the ledger did not start: " + out);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~LedgerChild() {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
  }
  pid_t pid = -1;
  std::uint16_t port = 0;
  std::uint16_t admin_port = 0;
};

// Valid from now for a day.
ledger::Validity a_day() {
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return ledger::Validity::days_from(now_s, 1);
}

// A CA in `pki` with the ledger's server certificate for 127.0.0.1 (server.crt, server.key).
void bench_pki(const std::filesystem::path& pki) {
  ledger::CertificateAuthority::create(pki, "Bench CA", a_day());
  ledger::CertificateAuthority ca(pki);
  const storage::PrivateKey server_key = storage::PrivateKey::generate();
  storage::write_file_atomically(pki / "server.key", server_key.pem(), 0600);
  storage::write_file_atomically(pki / "server.crt", ca.issue_server(server_key, {"127.0.0.1"}, a_day()).pem, 0644);
}

void bench_drain(const std::filesystem::path& dir) {
  const std::int64_t count = scaled(100'000);
  std::mt19937_64 rng(7);
  const auto pki = dir / "pki";
  bench_pki(pki);
  ledger::CertificateAuthority ca(pki);
  const storage::PrivateKey key = storage::PrivateKey::generate();
  const auto issued = ca.issue_terminal(sync::make_terminal_csr(key, "lane-1", "S1"), a_day());
  storage::write_file_atomically(pki / "lane.crt", issued.pem, 0644);
  storage::write_file_atomically(pki / "lane.key", key.pem(), 0600);
  {
    ledger::SqliteStore store(dir / "drain-ledger.db");
    ledger::Ledger(store, {}).enroll("lane-1", "S1", key.public_key().raw(), kNow);
  }
  write_journal(dir / "drain-journal.db", "lane-1", key, chain("lane-1", key, count, 500, rng));

  LedgerChild child(dir, pki);
  storage::Journal journal(dir / "drain-journal.db", "lane-1", key);
  const storage::IdentifierHasher hasher("a member secret for the benchmark");
  storage::MemberCache members(dir / "drain-members.db", hasher);
  storage::RulebookStore rulebooks(journal.database());
  asio::io_context io;
  std::ostringstream log_text;
  runtime::Log log(log_text, runtime::LogLevel::warning);
  sync::UplinkSettings settings;
  settings.ledgers = {{"127.0.0.1", child.port}};
  settings.tls = {pki / "ca.crt", pki / "lane.crt", pki / "lane.key", std::nullopt};
  settings.idle_poll = std::chrono::milliseconds(5);
  sync::Uplink uplink(
      io, settings, journal, members, rulebooks, [](domain::Rulebook) {}, log, [] { return kNow; });
  const auto start = Steady::now();
  uplink.start();
  while (journal.pending_count() > 0 && Steady::now() - start < std::chrono::minutes(5)) {
    io.run_for(std::chrono::milliseconds(20));
  }
  const double s = seconds(Steady::now() - start);
  uplink.stop();
  while (uplink.running()) io.run_for(std::chrono::milliseconds(10));
  std::printf(
      "{\"bench\":\"uplink_drain\",\"entries\":%lld,\"batch\":%zu,\"seconds\":%.2f,\"entries_per_s\":%.0f,"
      "\"left_pending\":%lld,\"batches\":%lld,\"failures\":%lld,\"budget_s\":15}\n",
      static_cast<long long>(count), settings.batch_entries, s, static_cast<double>(count) / s,
      static_cast<long long>(journal.pending_count()), static_cast<long long>(uplink.status().batches),
      static_cast<long long>(uplink.status().failures));
  std::fflush(stdout);
}

// The replay's floors in entries/s (bare_replay levels 0 to 3).
struct ReplayFloors {
  double read = 0;
  double entries = 0;
  double balances = 0;
  double rows = 0;
};

// What the replay's work costs bare, on the same files, one thread, in entries/s: level 0 reads
// every file and builds each entry's canonical bytes and their SHA-256 (as the replay does);
// levels 1 to 3 also write, to a new database with the ledger's schema in 100,000-row
// transactions with the replay's store options, the entries alone (1), with one balance upsert
// per entry (2), and with the upsert moving the feed cursor and a lot per entry (3: the rows
// the ledger wrote one entry at a time).
double bare_replay(const std::vector<std::filesystem::path>& paths, const std::filesystem::path& db_path, int level) {
  std::optional<storage::Database> db;
  std::optional<BareRows> rows;
  if (level > 0) {
    const ledger::SqliteStore::Options replay = ledger::replay_store_options();
    storage::OpenOptions options;
    options.cache_kib = replay.cache_kib;
    options.durability = replay.durability;
    db.emplace(db_path, options);
    storage::migrate(*db, ledger::ledger_schema(), "ledger");
    db->exec("PRAGMA wal_autocheckpoint=" + std::to_string(replay.checkpoint_pages), "checkpoint size");
    rows.emplace(*db, level >= 3);
  }
  std::int64_t count = 0;
  std::optional<storage::Transaction> transaction;
  const auto start = Steady::now();
  for (const auto& path : paths) {
    auto journal = storage::open_journal_database(path, storage::Creation::read_only);
    const std::string terminal = storage::read_identity(*journal)->terminal_id;
    storage::scan_entries(*journal, terminal, 1, storage::signed_through(*journal), [&](storage::JournalEntry&& je) {
      const sync::WireEntry wire = sync::wire_entry(std::move(je));
      ++count;
      if (level == 0) return true;
      if (!transaction) transaction.emplace(*db, "bare replay");
      rows->entry(wire);
      if (level >= 2) rows->balance(wire.entry);
      if (level >= 3) rows->lot(wire.entry);
      if (count % 100'000 == 0) {
        transaction->commit();
        transaction.reset();
      }
      return true;
    });
  }
  if (transaction) transaction->commit();
  return static_cast<double>(count) / seconds(Steady::now() - start);
}

// The PostgreSQL replay's floor, on the same files, one connection, in entries/s: every file
// read and hashed as bare_replay level 0 does, then in 100,000-entry transactions COPY of the
// entries and one upsert per member of its balance change (the entries and balances of level
// 2, written the fastest way PostgreSQL takes them).
double bare_replay_postgres(const std::vector<std::filesystem::path>& paths, const std::string& server) {
  const std::string db = new_postgres_database(server, "bench_bare_replay");
  { ledger::PostgresStore schema(ledger::PostgresStore::Options{db}); }
  ledger::pg::Connection c(db);
  std::vector<sync::WireEntry> group;
  std::map<std::string, std::int64_t> balances;
  std::int64_t cursor = 0;
  std::int64_t count = 0;
  const auto write = [&] {
    c.exec("begin", "BEGIN");
    copy_entries(c, group);
    upsert_balances(c, balances, cursor);
    c.exec("commit", "COMMIT");
    group.clear();
    balances.clear();
  };
  const auto start = Steady::now();
  for (const auto& path : paths) {
    auto journal = storage::open_journal_database(path, storage::Creation::read_only);
    const std::string terminal = storage::read_identity(*journal)->terminal_id;
    storage::scan_entries(*journal, terminal, 1, storage::signed_through(*journal), [&](storage::JournalEntry&& je) {
      group.push_back(sync::wire_entry(std::move(je)));
      balances[group.back().entry.draft.member_id] += group.back().entry.balance_change();
      ++count;
      if (group.size() == 100'000) write();
      return true;
    });
  }
  if (!group.empty()) write();
  return static_cast<double>(count) / seconds(Steady::now() - start);
}

void bench_replay(const std::filesystem::path& dir, const std::string& postgres_server) {
  const std::int64_t files = scaled(1000);
  const std::int64_t per_file = 1000;
  std::mt19937_64 rng(9);
  const auto journals = dir / "journals";
  std::filesystem::create_directories(journals);
  // As loyalty-ledger replay opens it.
  ledger::SqliteStore store(dir / "replay-ledger.db", ledger::replay_store_options());
  ledger::Ledger ledger(store, {});
  std::vector<std::filesystem::path> paths;
  const auto written_start = Steady::now();
  for (std::int64_t f = 0; f < files; ++f) {
    const std::string terminal = text_of('T', f);
    const storage::PrivateKey key = storage::PrivateKey::generate();
    paths.push_back(journals / (terminal + ".db"));
    write_journal(paths.back(), terminal, key, chain(terminal, key, per_file, per_file, rng));
    ledger.enroll(terminal, text_of('S', f / 10), key.public_key().raw(), kNow);
  }
  const double written_s = seconds(Steady::now() - written_start);
  std::int64_t entries = 0;
  std::int64_t refused = 0;
  const auto start = Steady::now();
  const char* group = std::getenv("LOYALTY_BENCH_GROUP");  // entries per group, as --group-entries
  const std::int64_t group_entries = group != nullptr ? std::atoll(group) : ledger::kReplayGroupEntries;
  for (const ledger::ReplayResult& result : ledger::replay_files(ledger, paths, kNow, {}, group_entries)) {
    entries += result.applied;
    refused += result.refusal.empty() ? 0 : 1;
  }
  const double s = seconds(Steady::now() - start);
  const double rate = static_cast<double>(entries) / s;
  ReplayFloors floor;
  if (std::getenv("LOYALTY_BENCH_NO_FLOORS") == nullptr) {
    floor.read = bare_replay(paths, {}, 0);
    floor.entries = bare_replay(paths, dir / "bare-entries.db", 1);
    floor.balances = bare_replay(paths, dir / "bare-balances.db", 2);
    floor.rows = bare_replay(paths, dir / "bare-rows.db", 3);
  }
  const auto ratio = [&](double bare) { return bare > 0 ? rate / bare : 0.0; };
  std::printf(
      "{\"bench\":\"replay\",\"files\":%lld,\"entries\":%lld,\"refused_files\":%lld,\"seconds\":%.2f,"
      "\"group_entries\":%lld,\"entries_per_s\":%.0f,\"projected_10m_entries_s\":%.0f,\"budget_10m_entries_s\":300,"
      "\"files_written_s\":%.1f,\"floor_read_hash_entries_per_s\":%.0f,\"floor_bare_entries_per_s\":%.0f,"
      "\"floor_bare_balances_per_s\":%.0f,\"floor_bare_rows_per_s\":%.0f,\"ratio_read_hash\":%.3f,"
      "\"ratio_bare_entries\":%.3f,\"ratio_bare_balances\":%.3f,\"ratio_bare_rows\":%.3f}\n",
      static_cast<long long>(files), static_cast<long long>(entries), static_cast<long long>(refused), s,
      static_cast<long long>(group_entries), rate, 10'000'000.0 / rate, written_s, floor.read, floor.entries,
      floor.balances, floor.rows, ratio(floor.read), ratio(floor.entries), ratio(floor.balances), ratio(floor.rows));
  std::fflush(stdout);
  if (postgres_server.empty()) return;
  // The same files into PostgreSQL, as `loyalty-ledger replay --db postgresql://...` does.
  ledger::PostgresStore pg_store(
      ledger::PostgresStore::Options{new_postgres_database(postgres_server, "bench_replay")});
  ledger::Ledger pg_ledger(pg_store, {});
  for (std::int64_t f = 0; f < files; ++f) {
    pg_ledger.enroll(text_of('T', f), text_of('S', f / 10), store.terminal(text_of('T', f))->public_key, kNow);
  }
  std::int64_t pg_entries = 0;
  const auto pg_start = Steady::now();
  for (const ledger::ReplayResult& result : ledger::replay_files(pg_ledger, paths, kNow)) pg_entries += result.applied;
  const double pg_s = seconds(Steady::now() - pg_start);
  const double pg_rate = static_cast<double>(pg_entries) / pg_s;
  const double pg_floor =
      std::getenv("LOYALTY_BENCH_NO_FLOORS") == nullptr ? bare_replay_postgres(paths, postgres_server) : 0;
  std::printf(
      "{\"bench\":\"replay_postgres\",\"files\":%lld,\"entries\":%lld,\"seconds\":%.2f,\"entries_per_s\":%.0f,"
      "\"ratio_to_sqlite\":%.3f,\"projected_10m_entries_s\":%.0f,\"floor_copy_balances_per_s\":%.0f,"
      "\"ratio_copy_balances\":%.3f,\"budget_ratio\":0.5}\n",
      static_cast<long long>(files), static_cast<long long>(pg_entries), pg_s, pg_rate, pg_rate / rate,
      10'000'000.0 / pg_rate, pg_floor, pg_floor > 0 ? pg_rate / pg_floor : 0.0);
  std::fflush(stdout);
}

// `loyalty-ledger ARGS` in this process; throws when it fails.
void ledger_command(std::vector<std::string> args) {
  const std::vector<std::string_view> views(args.begin(), args.end());
  std::ostringstream out;
  std::ostringstream err;
  if (ledger::run_cli(views, out, err) != 0) throw std::runtime_error("loyalty-ledger " + args[0] + ": " + err.str());
}

// A fleet of terminals (loyalty-lane-sim fleet: realistic sales, their own certificates) uploading
// at once to `loyalty-ledger serve` on SQLite over mutual TLS: first the backlog after an outage,
// every sale journaled at the start, uploads only (the upload path's capacity); then the peak
// hour, each terminal selling 2.5 sales a second (5,000 entries/s over 2,000 terminals) and
// pulling the member feed as agents do, while 20 online authorizations a second are asked.
// Beside them, in the same run, the same journals applied in process one batch per terminal
// (Ledger::ingest, no network, TLS or JSON): the store's own rate, the floor the service is
// compared to.
void bench_fleet(const std::filesystem::path& dir) {
  const std::int64_t terminals = scaled(2000);
  const std::int64_t entries = 20;
  const auto pki = dir / "fleet-pki";
  bench_pki(pki);

  sim::FleetPlan plan;
  plan.dir = dir / "fleet";
  plan.terminals = terminals;
  plan.entries = entries;
  plan.rulebook = std::filesystem::path(LOYALTY_SOURCE_DIR) / "examples/rulebook-ru.json";
  const sim::FleetPrepared prepared = sim::prepare_fleet(plan, nullptr);

  // The floor: the same journals, one batch per terminal, in process.
  double floor_rate = 0;
  {
    ledger::SqliteStore store(dir / "fleet-floor.db");
    ledger::Ledger ledger(store, {});
    std::vector<std::pair<std::string, std::vector<sync::WireEntry>>> batches;
    for (std::int64_t t = 0; t < terminals; ++t) {
      const std::string id = sim::fleet_terminal_id(t);
      storage::Database db(plan.dir / "source" / (id + ".db"));
      std::vector<sync::WireEntry> batch;
      storage::scan_entries(db, id, 1, entries, [&](storage::JournalEntry&& e) {
        batch.push_back(sync::wire_entry(std::move(e)));
        return true;
      });
      const auto identity = storage::read_identity(db);
      ledger.enroll(id, "S1", identity->public_key, kNow);
      batches.emplace_back(id, std::move(batch));
    }
    const auto start = Steady::now();
    for (const auto& [id, batch] : batches) ledger.ingest(id, batch, kNow);
    floor_rate = static_cast<double>(terminals * entries) / seconds(Steady::now() - start);
  }

  const auto db = (dir / "fleet-ledger.db").string();
  ledger_command({"pki", "issue", "--dir", pki.string(), "--csr-dir", (plan.dir / "csr").string(), "--out-dir",
                  (plan.dir / "certs").string(), "--db", db});
  ledger_command({"members", "import", "--db", db, "--member-secret", (plan.dir / "member.secret").string(), "--file",
                  (plan.dir / "members.jsonl").string()});
  const auto run = [&](double rate, bool pull, const std::string& name) {
    std::filesystem::copy_file(db, dir / (name + ".db"), std::filesystem::copy_options::overwrite_existing);
    LedgerChild child(dir, pki, name + ".db");
    sim::FleetRun settings;
    settings.dir = plan.dir;
    settings.ledgers = {{"127.0.0.1", child.port}};
    settings.admins = {{"127.0.0.1", child.admin_port}};
    settings.ca = pki / "ca.crt";
    settings.rate = rate;
    settings.pull = pull;
    settings.timeout = std::chrono::seconds(300);
    return sim::run_fleet(settings);
  };
  const auto print = [&](const char* phase, const sim::FleetReport& report) {
    nlohmann::json line = report.to_json();
    line.erase("problems");
    line["bench"] = "fleet";
    line["phase"] = phase;
    line["problems"] = report.problems.size();
    line["payload_bytes_per_entry"] = prepared.to_json()["payload_bytes_per_entry"];
    line["floor_in_process_entries_per_s"] = std::round(floor_rate);
    line["ratio_to_floor"] = floor_rate > 0 ? report.entries_per_s() / floor_rate : 0.0;
    line["budget"] = "2,000 terminals, >= 5,000 entries/s, ack p99 < 1 s, authorization p99 < 50 ms at the ledger";
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
  };
  print("backlog", run(0, false, "fleet-backlog"));
  print("peak", run(2.5, true, "fleet-peak"));
}

}  // namespace

int main(int argc, char** argv) {
  const bool temporary = argc < 2;
  std::filesystem::path dir =
      temporary ? std::filesystem::temp_directory_path() / ("loyalty-ledger-bench-" + std::to_string(::getpid()))
                : std::filesystem::path(argv[1]);
  std::filesystem::create_directories(dir);
  // LOYALTY_BENCH_ONLY=ingest|drain|replay|fleet runs one of them; LOYALTY_BENCH_PG (a server's URI
  // ending in "/") adds the PostgreSQL runs.
  const char* only_text = std::getenv("LOYALTY_BENCH_ONLY");
  const std::string only = only_text != nullptr ? only_text : "";
  const char* pg_text = std::getenv("LOYALTY_BENCH_PG");
  const std::string postgres = pg_text != nullptr ? pg_text : "";
  try {
    if (only.empty() || only == "ingest") {
      const IngestWork work = make_ingest_work();
      bench_ingest(dir, work);
      if (!postgres.empty()) bench_ingest_postgres(work, postgres);
    }
    if (only.empty() || only == "drain") bench_drain(dir);
    if (only.empty() || only == "replay") bench_replay(dir, postgres);
    if (only.empty() || only == "fleet") bench_fleet(dir);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "loyalty_ledger_bench: %s\n", error.what());
    if (temporary) std::filesystem::remove_all(dir);
    return 1;
  }
  if (temporary) std::filesystem::remove_all(dir);
  return 0;
}
