// Agent benchmarks against the real daemon (loyalty-agent run) on loopback. Prints one JSON
// object per line; never fails on timing.
//
//   start       from spawning the agent to its {"event":"ready"} log line, as the bench reads
//               it, and the agent's own start_ms (main to listening); with an empty member
//               cache and with 1,000,000 members.
//   memory      the agent's resident set (VmRSS) and its peak (VmHWM) from /proc: idle after
//               start with an empty cache; idle with 1,000,000 cached members; after 20,000
//               identifies spread over them and the round trips below.
//   round_trip  identify (a typed card) + quote + commit of a realistic basket (agent/sim/shop)
//               over one keep-alive loopback connection, what a lane waits for per member sale,
//               beside a bare SQLite durable insert of one 260-byte row into a table with a
//               unique key, alternating one of each so that both see the same disk. The budget
//               is p99 under 3 ms plus one durable commit.
//
// usage: loyalty_agent_bench [DIRECTORY]   (default: a temporary directory, removed after)
// LOYALTY_BENCH_SCALE scales the member count and the samples (0.01 for a smoke run).

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent/sim/lane_sim.hpp"
#include "agent/sim/members.hpp"
#include "agent/sim/pos_client.hpp"
#include "agent/sim/shop.hpp"
#include "storage/member_cache.hpp"
#include "storage/sqlite.hpp"

extern char** environ;

using namespace loyalty;
using Steady = std::chrono::steady_clock;
using nlohmann::json;

namespace {

constexpr const char* kSecret = "the member secret of the benchmark chain";

double micros(Steady::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// The agent as a child process; its stderr (the log) is read by a thread so that it never
// blocks on a full pipe.
class AgentProcess {
 public:
  explicit AgentProcess(const std::filesystem::path& config) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    const std::string binary = LOYALTY_AGENT_BINARY;
    const std::string path = config.string();
    std::vector<char*> argv{const_cast<char*>(binary.c_str()), const_cast<char*>("run"), const_cast<char*>("--config"),
                            const_cast<char*>(path.c_str()), nullptr};
    started_ = Steady::now();
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) throw std::runtime_error("cannot start " + binary);
    reader_ = std::thread([this, fd = fds[0]] {
      char buffer[4096];
      for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) {
        const std::lock_guard lock(mutex_);
        log_.append(buffer, static_cast<std::size_t>(n));
        if (ready_at_ == Steady::time_point{} && log_.find("\"event\":\"ready\"") != std::string::npos) {
          ready_at_ = Steady::now();
        }
        changed_.notify_all();
      }
      ::close(fd);
      const std::lock_guard lock(mutex_);
      closed_ = true;
      changed_.notify_all();
    });
  }

  ~AgentProcess() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reader_.join();
  }

  // Waits (up to 30 s) for the ready line; returns the time from spawn to it.
  Steady::duration wait_ready() {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, std::chrono::seconds(30),
                           [&] { return ready_at_ != Steady::time_point{} || closed_; }) ||
        ready_at_ == Steady::time_point{}) {
      throw std::runtime_error("the agent did not become ready:\n" + log_);
    }
    return ready_at_ - started_;
  }

  // A number from the ready line: "port", "start_ms".
  double ready_field(const std::string& name) {
    const std::lock_guard lock(mutex_);
    const auto line = log_.find("\"event\":\"ready\"");
    const auto at = log_.find("\"" + name + "\":", line);
    return std::stod(log_.substr(at + name.size() + 3));
  }

  // Kilobytes of a /proc/PID/status field: "VmRSS", "VmHWM".
  long status_kb(const std::string& field) const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.starts_with(field + ":")) return std::stol(line.substr(field.size() + 1));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  Steady::time_point started_;
  Steady::time_point ready_at_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string log_;
  bool closed_ = false;
};

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A terminal directory: config, secret, the example rulebook, an empty data directory.
std::filesystem::path make_terminal(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir / "data");
  write_file(dir / "secret", kSecret);
  std::filesystem::copy_file(std::string(LOYALTY_SOURCE_DIR) + "/examples/rulebook-ru.json", dir / "rulebook.json",
                             std::filesystem::copy_options::overwrite_existing);
  write_file(dir / "agent.json", R"({"terminal_id": "bench-lane", "store_id": "bench", "data_dir": "data",
    "rulebook_file": "rulebook.json", "member_secret_file": "secret",
    "pos_api": {"listen": "127.0.0.1:0", "requests_per_second": 100000},
    "codes": {"card_ranges": [{"prefix": "7013", "length": 16, "check": "luhn"}]}})");
  return dir / "agent.json";
}

void seed_members(const std::filesystem::path& dir, std::int64_t count) {
  const storage::IdentifierHasher hasher(kSecret);
  storage::MemberCache cache(dir / "data" / "members.db", hasher);
  sim::write_members(cache, hasher, count);
}

void print_start(std::int64_t members, const std::vector<double>& spawn_ms, const std::vector<double>& own_ms) {
  std::printf(
      R"({"bench":"start","members":%lld,"starts":%zu,"spawn_to_ready_p50_ms":%.2f,"spawn_to_ready_max_ms":%.2f,)"
      R"("agent_start_p50_ms":%.2f,"budget_ms":200})"
      "\n",
      static_cast<long long>(members), spawn_ms.size(), sim::percentile(spawn_ms, 50), sim::percentile(spawn_ms, 100),
      sim::percentile(own_ms, 50));
  std::fflush(stdout);
}

void bench_start(const std::filesystem::path& config, std::int64_t members, int starts) {
  std::vector<double> spawn_ms;
  std::vector<double> own_ms;
  for (int i = 0; i < starts; ++i) {
    AgentProcess agent(config);
    spawn_ms.push_back(micros(agent.wait_ready()) / 1000.0);
    own_ms.push_back(agent.ready_field("start_ms"));
  }
  print_start(members, spawn_ms, own_ms);
}

void print_memory(const char* state, std::int64_t members, const AgentProcess& agent) {
  std::printf(R"({"bench":"memory","state":"%s","members":%lld,"rss_kb":%ld,"peak_rss_kb":%ld,"budget_kb":16384})"
              "\n",
              state, static_cast<long long>(members), agent.status_kb("VmRSS"), agent.status_kb("VmHWM"));
  std::fflush(stdout);
}

// The requests of a lane: a typed card; a basket for a member.
json identify_request(std::int64_t member) { return json{{"card", sim::member_card(member)}}; }
json sale_request(json basket, std::int64_t member) {
  return json{{"basket", std::move(basket)}, {"member_id", sim::member_id(member)}};
}

// One run of traffic, owned whole by its coroutine: nothing it uses lives in a caller's frame.
// (A file named with bytes of freed memory once appeared where a path given to this coroutine
// from the caller had died before the coroutine ran.)
struct TrafficPlan {
  sim::Endpoint endpoint;
  std::filesystem::path bare_path;  // the bare SQLite file each sale is timed beside
  std::int64_t members = 0;
  std::int64_t identifies = 0;
  std::int64_t sales = 0;
  std::mt19937_64 random;
};

// Identifies `plan.identifies` random members, then runs `plan.sales` identify + quote + commit
// round trips, each after a bare durable insert.
Task<void> traffic(TrafficPlan plan) {
  sim::PosClient pos(co_await asio::this_coro::executor, plan.endpoint);
  std::uniform_int_distribution<std::int64_t> pick(0, plan.members - 1);
  std::int64_t failures = 0;
  for (std::int64_t i = 0; i < plan.identifies; ++i) {
    const json request = identify_request(pick(plan.random));
    const sim::PosReply reply = co_await pos.post("/v1/identify", request);
    failures += reply.status == 200 ? 0 : 1;
  }

  storage::Database bare(plan.bare_path);
  bare.exec("CREATE TABLE IF NOT EXISTS bare (id INTEGER PRIMARY KEY, receipt TEXT NOT NULL UNIQUE, body BLOB)",
            "create bare table");
  const std::string body(260, 'x');
  std::vector<double> sale_us;
  std::vector<double> bare_us;
  std::vector<double> identify_us;
  std::vector<double> quote_us;
  std::vector<double> commit_us;
  const std::int64_t warmup = plan.sales / 10;
  for (std::int64_t i = 0; i < plan.sales + warmup; ++i) {
    const std::string receipt = "B-" + std::to_string(i);
    const auto t0 = Steady::now();
    {
      storage::Transaction transaction(bare, "bare insert");
      storage::StatementUse insert(bare.cached("INSERT INTO bare (receipt, body) VALUES (?, ?)"));
      insert->bind(1, receipt).bind(2, body).run();
      transaction.commit();
    }
    const auto t1 = Steady::now();
    const std::int64_t member = pick(plan.random);
    const json identify = identify_request(member);
    const sim::PosReply identified = co_await pos.post("/v1/identify", identify);
    json basket = sim::make_basket(plan.random, receipt, "2026-11-26T15:30:00Z");
    if (i % 3 == 0) basket["redeem_points"] = 300;
    const json sale = sale_request(std::move(basket), member);
    const sim::PosReply quoted = co_await pos.post("/v1/quote", sale);
    const sim::PosReply committed = co_await pos.post("/v1/commit", sale);
    const auto t2 = Steady::now();
    failures += identified.status == 200 && quoted.status == 200 && committed.status == 200 ? 0 : 1;
    if (i >= warmup) {
      bare_us.push_back(micros(t1 - t0));
      sale_us.push_back(micros(t2 - t1));
      identify_us.push_back(micros(identified.took));
      quote_us.push_back(micros(quoted.took));
      commit_us.push_back(micros(committed.took));
    }
  }
  const double budget_p99_us = 3000 + sim::percentile(bare_us, 99);
  std::printf(
      R"({"bench":"round_trip","members":%lld,"sales":%zu,"failures":%lld,"sale_p50_us":%.0f,"sale_p99_us":%.0f,)"
      R"("identify_p50_us":%.0f,"quote_p50_us":%.0f,"commit_p50_us":%.0f,"commit_p99_us":%.0f,)"
      R"("bare_commit_p50_us":%.0f,"bare_commit_p99_us":%.0f,"budget_p99_us":%.0f,"sale_p99_over_budget":%.3f})"
      "\n",
      static_cast<long long>(plan.members), sale_us.size(), static_cast<long long>(failures),
      sim::percentile(sale_us, 50), sim::percentile(sale_us, 99), sim::percentile(identify_us, 50),
      sim::percentile(quote_us, 50), sim::percentile(commit_us, 50), sim::percentile(commit_us, 99),
      sim::percentile(bare_us, 50), sim::percentile(bare_us, 99), budget_p99_us,
      sim::percentile(sale_us, 99) / budget_p99_us);
  std::fflush(stdout);
}

void run_traffic(AgentProcess& agent, const std::filesystem::path& dir, std::int64_t members, std::int64_t identifies,
                 std::int64_t sales, const std::mt19937_64& random) {
  const auto endpoint = sim::parse_endpoint("127.0.0.1:" + std::to_string(static_cast<int>(agent.ready_field("port"))));
  TrafficPlan plan{*endpoint, dir / "bare.db", members, identifies, sales, random};
  asio::io_context io;
  asio::co_spawn(
      io, [plan = std::move(plan)]() mutable { return traffic(std::move(plan)); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
}

}  // namespace

int main(int argc, char** argv) {
  const double scale = std::getenv("LOYALTY_BENCH_SCALE") ? std::atof(std::getenv("LOYALTY_BENCH_SCALE")) : 1.0;
  const bool own_dir = argc < 2;
  const std::filesystem::path dir =
      own_dir ? std::filesystem::temp_directory_path() / ("loyalty-agent-bench-" + std::to_string(::getpid()))
              : std::filesystem::path(argv[1]);
  std::mt19937_64 random(20261127);
  const auto members = static_cast<std::int64_t>(std::max(1000.0, 1'000'000 * scale));
  const auto samples = static_cast<std::int64_t>(std::max(100.0, 2000 * scale));
  const int starts = std::max(3, static_cast<int>(20 * std::min(scale, 1.0)));
  try {
    const auto config = make_terminal(dir);
    bench_start(config, 0, starts);
    {
      AgentProcess agent(config);
      agent.wait_ready();
      print_memory("idle", 0, agent);
    }
    const auto load_started = Steady::now();
    seed_members(dir, members);
    std::printf(R"({"bench":"member_load","members":%lld,"seconds":%.1f})"
                "\n",
                static_cast<long long>(members), micros(Steady::now() - load_started) / 1e6);
    bench_start(config, members, starts);
    AgentProcess agent(config);
    agent.wait_ready();
    print_memory("idle", members, agent);
    run_traffic(agent, dir, members, samples * 10, samples, random);
    print_memory("after_traffic", members, agent);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agent bench: %s\n", e.what());
    if (own_dir) std::filesystem::remove_all(dir);
    return 1;
  }
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
