// The daemons' log lines, and how they reach journald with their priorities.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "runtime/log.hpp"
#include "runtime/systemd.hpp"

using namespace loyalty::runtime;

namespace {

// Sets JOURNAL_STREAM for the scope, and restores what was there.
class JournalStream {
 public:
  explicit JournalStream(const std::string& value) {
    if (const char* old = std::getenv("JOURNAL_STREAM")) old_ = old;
    ::setenv("JOURNAL_STREAM", value.c_str(), 1);
  }
  ~JournalStream() {
    if (old_.empty()) {
      ::unsetenv("JOURNAL_STREAM");
    } else {
      ::setenv("JOURNAL_STREAM", old_.c_str(), 1);
    }
  }
  JournalStream(const JournalStream&) = delete;
  JournalStream& operator=(const JournalStream&) = delete;

 private:
  std::string old_;
};

std::string device_and_inode(int fd) {
  struct stat file {};
  REQUIRE(::fstat(fd, &file) == 0);
  return std::to_string(file.st_dev) + ":" + std::to_string(file.st_ino);
}

}  // namespace

TEST_CASE("with the syslog prefix each line starts with its priority, and without it with the JSON") {
  std::ostringstream journal;
  Log log(journal, LogLevel::debug, LogPrefix::syslog_priority);
  log.write(LogLevel::debug, "d", "debug");
  log.info("i", "info");
  log.warning("w", "warning");
  log.error("e", "error");
  std::istringstream lines(journal.str());
  std::string line;
  for (const char* expected : {"<7>{", "<6>{", "<4>{", "<3>{"}) {
    REQUIRE(std::getline(lines, line));
    CHECK(line.rfind(expected, 0) == 0);
  }
  std::ostringstream plain;
  Log(plain).error("e", "error");
  CHECK(plain.str().rfind("{\"time\":", 0) == 0);
}

TEST_CASE("a descriptor is the journal's stream only when JOURNAL_STREAM names its device and inode") {
  const int file = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  const int other = ::open(LOYALTY_SOURCE_DIR "/CMakeLists.txt", O_RDONLY | O_CLOEXEC);
  REQUIRE(file >= 0);
  REQUIRE(other >= 0);
  {
    JournalStream stream(device_and_inode(file));
    CHECK(is_journal_stream(file));
    CHECK_FALSE(is_journal_stream(other));
  }
  for (const std::string& wrong : {std::string("12"), device_and_inode(file) + "x", std::string(":"), std::string()}) {
    JournalStream stream(wrong);
    CHECK_FALSE(is_journal_stream(file));
  }
  ::close(file);
  ::close(other);
}
