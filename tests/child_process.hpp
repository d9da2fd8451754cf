// A child process for tests that need a real one: the crash test's journal writer, the agent
// daemon. Its stdout or stderr is captured through a pipe and read with deadlines, never
// with sleeps.

#ifndef LOYALTY_TESTS_CHILD_PROCESS_HPP_
#define LOYALTY_TESTS_CHILD_PROCESS_HPP_

#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace loyalty::testing {

// A running child process with its stdout (or stderr) on a pipe.
class Child {
 public:
  // `env` adds NAME=VALUE settings to the environment the child inherits; a value of
  // kCapturePipe is replaced by the capturing pipe's DEVICE:INODE (what systemd puts in
  // JOURNAL_STREAM for the journal's connection).
  static constexpr std::string_view kCapturePipe = "{capture-pipe}";
  // A `host_tool` (python3, say) runs as it is in a cross build, not under the emulator that
  // runs the project's own programs.
  explicit Child(const std::vector<std::string>& args, int captured_fd = STDOUT_FILENO,
                 const std::vector<std::string>& env = {}, bool host_tool = false) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    struct stat pipe_file {};
    REQUIRE(::fstat(fds[1], &pipe_file) == 0);
    const std::string pipe_identity = std::to_string(pipe_file.st_dev) + ":" + std::to_string(pipe_file.st_ino);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], captured_fd);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<std::string> command;
#ifdef LOYALTY_TEST_EMULATOR
    if (!host_tool) command.emplace_back(LOYALTY_TEST_EMULATOR);  // cross-built: the child runs under qemu too
#else
    (void)host_tool;
#endif
    command.insert(command.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : command) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> settings(env);
    for (std::string& setting : settings) {
      if (setting.ends_with(kCapturePipe))
        setting.replace(setting.size() - kCapturePipe.size(), kCapturePipe.size(), pipe_identity);
    }
    for (char** at = environ; *at; ++at) settings.emplace_back(*at);
    std::vector<char*> envp;
    for (auto& setting : settings) envp.push_back(setting.data());
    envp.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    read_fd_ = fds[0];
    REQUIRE(rc == 0);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(read_fd_);
  }

  // Reads until `lines` complete report lines arrived, the child exited, or the deadline.
  // Returns false on the deadline.
  bool wait_for_lines(std::size_t lines, std::chrono::steady_clock::time_point deadline) {
    return read_until([&] { return complete_lines() >= lines; }, deadline);
  }

  // SIGKILL, reap, and collect what was written before the kill.
  int kill_and_reap() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    while (read_some()) {
    }
    return status;
  }

  const std::string& output() const { return output_; }
  pid_t pid() const { return pid_; }

  // Reads until `text` appears in the output, the child exited, or the deadline; returns
  // whether it appeared.
  bool wait_for_text(std::string_view text, std::chrono::steady_clock::time_point deadline) {
    const auto found = [&] { return output_.find(text) != std::string::npos; };
    return read_until(found, deadline) && found();
  }

  void send(int signal) { ::kill(pid_, signal); }

  // Sends `signal` and waits for the child to exit, collecting its output; returns the wait
  // status, or -1 if it was still running at the deadline (the destructor kills it).
  int signal_and_wait(int signal, std::chrono::steady_clock::time_point deadline) {
    ::kill(pid_, signal);
    return wait_exit(deadline);
  }

  // Waits for the child to exit by itself, as signal_and_wait does.
  int wait_exit(std::chrono::steady_clock::time_point deadline) {
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{read_fd_, POLLIN, 0};
      if (::poll(&p, 1, 10) > 0 && read_some()) continue;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        while (read_some()) {
        }
        return status;
      }
    }
    return -1;
  }

 private:
  // Reads until `done()` holds or the child closes its end (true), or the deadline (false).
  template <class Done>
  bool read_until(Done done, std::chrono::steady_clock::time_point deadline) {
    while (!done()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{read_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      if (!read_some()) return true;  // end of file: the child is gone
    }
    return true;
  }

  std::size_t complete_lines() const {
    return static_cast<std::size_t>(std::count(output_.begin(), output_.end(), '\n'));
  }
  bool read_some() {
    char buffer[4096];
    const ssize_t n = ::read(read_fd_, buffer, sizeof buffer);
    if (n <= 0) return false;
    output_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::string output_;
};

}  // namespace loyalty::testing

#endif  // LOYALTY_TESTS_CHILD_PROCESS_HPP_
