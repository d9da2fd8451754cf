// A real PostgreSQL server for the tests, started by the tests themselves: initdb and pg_ctl in
// a temporary directory, on a free loopback port, as an unprivileged user (PostgreSQL refuses
// to run as root: as root the server runs as `nobody`). Debian's postgresql-15 provides the
// programs (scripts/install-deps installs it); LOYALTY_PG_BINDIR names another directory.
//
// A server that cannot start fails the test with the reason and the end of the server's log:
// a test that needs PostgreSQL never skips.

#ifndef LOYALTY_TESTS_POSTGRES_SERVER_HPP_
#define LOYALTY_TESTS_POSTGRES_SERVER_HPP_

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/child_process.hpp"

namespace loyalty::testing {

class PostgresServer {
 public:
  PostgresServer() {
    bindir_ = find_bindir();
    std::string dir_template = (std::filesystem::temp_directory_path() / "loyalty-pg-XXXXXX").string();
    REQUIRE_MESSAGE(::mkdtemp(dir_template.data()) != nullptr, "cannot make a directory for PostgreSQL");
    dir_ = dir_template;
    if (::geteuid() == 0) {
      const passwd* nobody = ::getpwnam("nobody");
      REQUIRE_MESSAGE(nobody != nullptr, "running as root, PostgreSQL needs an unprivileged user: no user nobody");
      REQUIRE(::chown(dir_.c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
    }
    const std::string out = run({bindir_ + "/initdb", "--pgdata=" + data(), "--username=postgres", "--auth=trust",
                                 "--encoding=UTF8", "--no-locale", "--no-sync"});
    REQUIRE_MESSAGE(std::filesystem::exists(data() + "/PG_VERSION"), "initdb failed:\n" << out);
    start();
  }
  // An immediate shutdown: the data is thrown away. Outside any test (a static's destructor),
  // so without doctest's assertions: pg_ctl waits for the server to be gone, and this for pg_ctl.
  ~PostgresServer() {
    if (running_) {
      const std::string data_option = "--pgdata=" + data();
      std::vector<std::string> args{bindir_ + "/pg_ctl", data_option, "--mode=immediate", "--wait", "stop"};
      if (::geteuid() == 0) args.insert(args.begin(), {"/usr/sbin/runuser", "-u", "nobody", "--"});
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      posix_spawn_file_actions_t quiet;  // pg_ctl's "server stopped" is not the test's output
      posix_spawn_file_actions_init(&quiet);
      posix_spawn_file_actions_addopen(&quiet, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
      pid_t pid = -1;
      if (::posix_spawn(&pid, argv[0], &quiet, nullptr, argv.data(), environ) == 0) ::waitpid(pid, nullptr, 0);
      posix_spawn_file_actions_destroy(&quiet);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Starts the server (again) on a free port, or on the port it had.
  void start() {
    for (int attempt = 0; attempt < 5 && !running_; ++attempt) {
      if (port_ == 0 || attempt > 0) port_ = free_port();
      const std::string options = "-c listen_addresses=127.0.0.1 -c port=" + std::to_string(port_) +
                                  " -c unix_socket_directories=" + dir_.string() +
                                  " -c shared_buffers=16MB -c max_connections=40 -c fsync=on";
      run({bindir_ + "/pg_ctl", "--pgdata=" + data(), "--log=" + log(), "--options=" + options, "--wait",
           "--timeout=120", "start"});
      running_ = status_running();
    }
    REQUIRE_MESSAGE(running_, "the PostgreSQL server did not start; its log ends:\n" << log_tail());
  }
  // Stops it: "fast" (sessions are ended, then a clean shutdown) or "immediate" (like a crash:
  // the next start recovers from the write-ahead log).
  void stop(const std::string& mode = "fast") {
    const std::string out =
        run({bindir_ + "/pg_ctl", "--pgdata=" + data(), "--mode=" + mode, "--wait", "--timeout=120", "stop"});
    running_ = status_running();
    REQUIRE_MESSAGE(!running_, "the PostgreSQL server did not stop:\n" << out);
  }
  void restart(const std::string& mode = "fast") {
    stop(mode);
    start();
  }

  int port() const { return port_; }
  // A connection URI, as libpq and `loyalty-ledger --db` take it.
  std::string conninfo(const std::string& database = "postgres") const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database + "?connect_timeout=10";
  }
  // A new empty database; returns its connection URI.
  std::string create_database() { return conninfo(new_database()); }
  // A new empty database; returns its name.
  std::string new_database() {
    const std::string name = "test" + std::to_string(++databases_);
    const std::string out = run(
        {bindir_ + "/createdb", "--host=127.0.0.1", "--port=" + std::to_string(port_), "--username=postgres", name});
    const std::string check =
        run({bindir_ + "/psql", "--no-psqlrc", "--tuples-only", "--no-align", "--command=SELECT 1", conninfo(name)});
    REQUIRE_MESSAGE(check.find('1') != std::string::npos, "createdb " << name << " failed:\n" << out << check);
    return name;
  }
  // Runs SQL with psql as the superuser; returns what it printed (unaligned, tuples only).
  std::string psql(const std::string& database, const std::string& sql) const {
    return run({bindir_ + "/psql", "--no-psqlrc", "--tuples-only", "--no-align", "--set=ON_ERROR_STOP=1",
                "--command=" + sql, conninfo(database)});
  }

 private:
  std::string data() const { return (dir_ / "data").string(); }
  std::string log() const { return (dir_ / "server.log").string(); }

  std::string log_tail() const {
    std::ifstream in(log());
    std::stringstream all;
    all << in.rdbuf();
    const std::string text = all.str();
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
  }

  bool status_running() const {
    return run({bindir_ + "/pg_ctl", "--pgdata=" + data(), "status"}).find("server is running") != std::string::npos;
  }

  // Runs a PostgreSQL program (as nobody when root) and returns its output, stdout and stderr.
  std::string run(std::vector<std::string> args) const {
    std::string command;
    for (const std::string& arg : args) {
      command += " '";
      for (const char c : arg) command += c == '\'' ? std::string("'\\''") : std::string(1, c);
      command += "'";
    }
    std::vector<std::string> shell{"/bin/sh", "-c", "exec" + command + " 2>&1"};
    if (::geteuid() == 0)
      shell = {"/usr/sbin/runuser", "-u", "nobody", "--", "/bin/sh", "-c", "exec" + command + " 2>&1"};
    Child child(shell, STDOUT_FILENO, {"PGCONNECT_TIMEOUT=10"}, /*host_tool=*/true);
    const int status = child.wait_exit(std::chrono::steady_clock::now() + std::chrono::minutes(3));
    REQUIRE_MESSAGE(status != -1, "a PostgreSQL program did not finish in 3 minutes:" << command);
    return child.output();
  }

  static std::string find_bindir() {
    if (const char* dir = std::getenv("LOYALTY_PG_BINDIR"); dir != nullptr && *dir != '\0') return dir;
    std::string found;
    std::error_code error;
    for (const auto& version : std::filesystem::directory_iterator("/usr/lib/postgresql", error)) {
      const std::string bin = (version.path() / "bin").string();
      if (std::filesystem::exists(bin + "/initdb") && bin > found) found = bin;
    }
    REQUIRE_MESSAGE(!found.empty(),
                    "no PostgreSQL server programs in /usr/lib/postgresql/*/bin: run scripts/install-deps (it installs "
                    "postgresql-15) or set LOYALTY_PG_BINDIR");
    return found;
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    ::close(fd);
    return ntohs(address.sin_port);
  }

  std::string bindir_;
  std::filesystem::path dir_;
  int port_ = 0;
  int databases_ = 0;
  bool running_ = false;
};

}  // namespace loyalty::testing

#endif  // LOYALTY_TESTS_POSTGRES_SERVER_HPP_
