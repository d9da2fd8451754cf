// Storage benchmarks. Prints one JSON object per line; never fails on timing.
//
//   append      journal append (validate, receipt lookup, chain head, SHA-256, insert, durable
//               commit: what the POS waits for) beside a bare SQLite durable single-row insert
//               of the same payload into a table with a unique key, alternating one of each so
//               that both see the same disk, measured with 0, 100,000 and 1,000,000 entries
//               already in the journal. After each append, sign_pending() signs it as the agent
//               does once the POS has its answer (check, Ed25519, update, commit without fsync);
//               its time is reported apart (sign_*). The existing entries are bulk-inserted
//               rows of the journal's shape whose hashes do not form a chain and whose
//               signatures are all zero bytes (nothing here verifies them; being set, they
//               keep sign_pending to the new entries): an append reads only the head row, so
//               only the size of the b-trees matters to it.
//   open        opening the journal (quick_check and schema) at each size.
//   bytes       database bytes per entry at each size.
//   member      lookup by identifier among 1,000,000 cached members (2,000,000 keys): HMAC of
//               the identifier plus the indexed join, for hits and misses; and the bulk load.
//
// usage: loyalty_journal_bench [DIRECTORY]   (default: a temporary directory, removed after)
// LOYALTY_BENCH_SCALE scales the sizes and sample counts (0.01 for a smoke run).

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "storage/journal.hpp"
#include "storage/journal_scan.hpp"
#include "storage/member_cache.hpp"

using namespace loyalty::storage;
using Steady = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kNow = 1'795'000'000'000;
constexpr std::size_t kPayloadBytes = 260;

double micros(Steady::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(index), samples.end());
  return samples[index];
}

std::string payload(std::int64_t i) {
  std::string text = R"({"receipt_id":"R)" + std::to_string(i) + R"(","lines":[)";
  while (text.size() < kPayloadBytes - 2) text += R"({"sku":"4600001","gross":125000},)";
  text.resize(kPayloadBytes - 2);
  return text + "]}";
}

// A letter and a number. (Built with append: GCC 12 at -O2 warns falsely (-Wrestrict) about
// "literal" + std::to_string(...).)
std::string id(char letter, std::int64_t number) { return std::string(1, letter).append(std::to_string(number)); }

EntryDraft draft(std::int64_t i, std::mt19937_64& rng) {
  EntryDraft d;
  d.receipt_id = id('S', i) + "-" + std::to_string(rng() % 1000000);
  d.member_id = id('M', static_cast<std::int64_t>(rng() % 100000));
  d.recorded_at_ms = kNow + i;
  d.rulebook_version = 41;
  d.points_earned = static_cast<std::int64_t>(rng() % 500);
  d.points_redeemed = rng() % 5 == 0 ? 200 : 0;
  d.payload = payload(i);
  return d;
}

// Bulk rows of the journal's shape, in 10,000-row transactions without fsync.
void prefill(const std::filesystem::path& path, const std::string& terminal, const PrivateKey& key, std::int64_t count,
             std::mt19937_64& rng) {
  { Journal journal(path, terminal, key); }
  OpenOptions options;
  options.durability = Durability::normal;
  Database db(path, options);
  db.exec("PRAGMA synchronous=OFF", "bulk");
  JournalEntry entry;
  entry.terminal_id = terminal;
  entry.signature = Signature{};
  for (std::int64_t seq = 1; seq <= count;) {
    Transaction transaction(db, "prefill");
    for (int i = 0; i < 10000 && seq <= count; ++i, ++seq) {
      entry.seq = seq;
      entry.draft = draft(seq, rng);
      entry.hash[0] = static_cast<std::uint8_t>(seq);
      entry.journaled_at_ms = kNow + seq;
      insert_entry(db, entry);
    }
    transaction.commit();
  }
  // All but the last 1,000 acknowledged, as on a terminal that syncs.
  if (count > 1000) db.exec("INSERT INTO journal_acks VALUES (" + std::to_string(count - 1000) + ", 1)", "acknowledge");
}

void bench_append(const std::filesystem::path& dir, std::int64_t existing, std::size_t samples, std::mt19937_64& rng) {
  const auto path = dir / ("journal-" + std::to_string(existing) + ".db");
  const auto bare_path = dir / ("bare-" + std::to_string(existing) + ".db");
  const PrivateKey key = PrivateKey::generate();
  prefill(path, "bench-lane", key, existing, rng);

  const auto open_start = Steady::now();
  Journal journal(path, "bench-lane", key);
  const double open_us = micros(Steady::now() - open_start);

  Database bare(bare_path);
  if (std::getenv("LOYALTY_BENCH_NOSYNC")) {  // CPU cost only, for profiling
    bare.exec("PRAGMA synchronous=OFF", "nosync");
    journal.database().exec("PRAGMA synchronous=OFF", "nosync");
  }
  bare.exec(
      "CREATE TABLE IF NOT EXISTS bare (id INTEGER PRIMARY KEY, receipt TEXT NOT NULL UNIQUE, body BLOB NOT NULL)",
      "create bare table");
  std::vector<double> append_us;
  std::vector<double> sign_us;
  std::vector<double> bare_us;
  const std::int64_t base = existing + 1;
  for (std::size_t i = 0; i < samples + samples / 10; ++i) {
    const EntryDraft d = draft(base + static_cast<std::int64_t>(i), rng);
    const auto t0 = Steady::now();
    {
      Transaction transaction(bare, "bare insert");
      StatementUse insert(bare.cached("INSERT INTO bare (receipt, body) VALUES (?, ?)"));
      insert->bind(1, d.receipt_id).bind_blob(2, as_bytes(d.payload)).run();
      transaction.commit();
    }
    const auto t1 = Steady::now();
    journal.append(d, kNow);
    const auto t2 = Steady::now();
    journal.sign_pending();
    const auto t3 = Steady::now();
    if (i >= samples / 10) {  // the first tenth warms caches and the WAL
      bare_us.push_back(micros(t1 - t0));
      append_us.push_back(micros(t2 - t1));
      sign_us.push_back(micros(t3 - t2));
    }
  }
  const double bare_p50 = percentile(bare_us, 0.5), bare_p99 = percentile(bare_us, 0.99);
  const double p50 = percentile(append_us, 0.5), p99 = percentile(append_us, 0.99);
  std::printf(
      "{\"bench\":\"journal\",\"op\":\"append\",\"existing\":%lld,\"samples\":%zu,\"payload_bytes\":%zu,"
      "\"p50_us\":%.1f,\"p99_us\":%.1f,\"bare_p50_us\":%.1f,\"bare_p99_us\":%.1f,\"ratio_p50\":%.3f,"
      "\"ratio_p99\":%.3f,\"sign_p50_us\":%.1f,\"sign_p99_us\":%.1f}\n",
      static_cast<long long>(existing), append_us.size(), kPayloadBytes, p50, p99, bare_p50, bare_p99, p50 / bare_p50,
      p99 / bare_p99, percentile(sign_us, 0.5), percentile(sign_us, 0.99));

  Database& db = journal.database();
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint");
  const std::int64_t entries = db.query_integer("SELECT count(*) FROM journal").value_or(1);
  const std::int64_t bytes =
      (db.query_integer("PRAGMA page_count").value_or(0) - db.query_integer("PRAGMA freelist_count").value_or(0)) *
      db.query_integer("PRAGMA page_size").value_or(0);
  std::printf(
      "{\"bench\":\"journal\",\"op\":\"open\",\"existing\":%lld,\"open_us\":%.0f}\n"
      "{\"bench\":\"journal\",\"op\":\"bytes\",\"entries\":%lld,\"payload_bytes\":%zu,\"bytes_per_entry\":%.1f}\n",
      static_cast<long long>(existing), open_us, static_cast<long long>(entries), kPayloadBytes,
      static_cast<double>(bytes) / static_cast<double>(entries));
  std::fflush(stdout);
}

void bench_members(const std::filesystem::path& dir, std::int64_t members, std::size_t samples, std::mt19937_64& rng) {
  const IdentifierHasher hasher("bench secret of the retail chain");
  MemberCache cache(dir / "members.db", hasher);
  auto card = [](std::int64_t i) { return "40000" + std::to_string(1000000000 + i); };
  auto phone = [](std::int64_t i) { return "+7916" + std::to_string(1000000 + i); };
  const auto load_start = Steady::now();
  std::vector<MemberDelta> batch;
  std::int64_t cursor = 0;
  for (std::int64_t i = 0; i < members; ++i) {
    batch.push_back(
        {MemberDelta::Change::upsert,
         {id('M', i), static_cast<std::int64_t>(rng() % 100000), "silver", loyalty::domain::MemberStatus::active, 0},
         {hasher.key(IdentifierKind::card, card(i)), hasher.key(IdentifierKind::phone, phone(i))}});
    if (batch.size() == 10000 || i + 1 == members) {
      cache.apply(batch, ++cursor);
      batch.clear();
    }
  }
  const double load_s = std::chrono::duration<double>(Steady::now() - load_start).count();

  std::vector<double> hit_us, miss_us, hmac_us;
  std::size_t found = 0;
  for (std::size_t s = 0; s < samples; ++s) {
    const std::int64_t i = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(members));
    const std::string number = s % 2 == 0 ? card(i) : phone(i);
    const auto kind = s % 2 == 0 ? IdentifierKind::card : IdentifierKind::phone;
    auto t0 = Steady::now();
    const Digest key = hasher.key(kind, number);
    auto t1 = Steady::now();
    found += cache.find(key) ? 1U : 0U;
    auto t2 = Steady::now();
    hmac_us.push_back(micros(t1 - t0));
    hit_us.push_back(micros(t2 - t0));
    t0 = Steady::now();
    found += cache.find(hasher.key(IdentifierKind::card, "59" + std::to_string(rng()))) ? 1U : 0U;
    miss_us.push_back(micros(Steady::now() - t0));
  }
  std::printf(
      "{\"bench\":\"members\",\"op\":\"lookup\",\"members\":%lld,\"keys\":%lld,\"samples\":%zu,\"found\":%zu,"
      "\"hit_p50_us\":%.2f,\"hit_p99_us\":%.2f,\"miss_p50_us\":%.2f,\"miss_p99_us\":%.2f,\"hmac_p50_us\":%.2f,"
      "\"bulk_load_s\":%.2f,\"bulk_members_per_s\":%.0f}\n",
      static_cast<long long>(members), static_cast<long long>(2 * members), samples, found, percentile(hit_us, 0.5),
      percentile(hit_us, 0.99), percentile(miss_us, 0.5), percentile(miss_us, 0.99), percentile(hmac_us, 0.5), load_s,
      static_cast<double>(members) / load_s);
}

}  // namespace

int main(int argc, char** argv) {
  const double scale = std::getenv("LOYALTY_BENCH_SCALE") ? std::atof(std::getenv("LOYALTY_BENCH_SCALE")) : 1.0;
  const bool own_dir = argc < 2;
  std::filesystem::path dir;
  if (own_dir) {
    std::string pattern = (std::filesystem::temp_directory_path() / "loyalty-bench-XXXXXX").string();
    dir = ::mkdtemp(pattern.data());
  } else {
    dir = argv[1];
    std::filesystem::create_directories(dir);
  }
  std::mt19937_64 rng(20261123);
  const auto samples =
      static_cast<std::size_t>(std::getenv("LOYALTY_BENCH_SAMPLES") ? std::atof(std::getenv("LOYALTY_BENCH_SAMPLES"))
                                                                    : std::max(100.0, 2000 * scale));
  // LOYALTY_BENCH_ONLY=append or =members runs one part.
  const std::string only = std::getenv("LOYALTY_BENCH_ONLY") ? std::getenv("LOYALTY_BENCH_ONLY") : "";
  if (only.empty() || only == "append") {
    for (double existing : {0.0, 100000.0, 1000000.0}) {
      bench_append(dir, static_cast<std::int64_t>(existing * scale), samples, rng);
    }
  }
  if (only.empty() || only == "members") {
    bench_members(dir, static_cast<std::int64_t>(std::max(1000.0, 1000000 * scale)), samples * 5, rng);
  }
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
