// The Unity reporter (tests/unity_reporter.cpp) through a real run of a sample suite with a
// passing, a failing and a skipped case, read as PlatformIO's and Ceedling's parsers read it.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "tests/child_process.hpp"

namespace {

// The line of the first line of the sample holding `text`.
int line_of(const std::string& text) {
  std::ifstream in(LOYALTY_UNITY_SAMPLE_SOURCE);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find(text) != std::string::npos) return number;
  }
  FAIL("not in the sample: " << text);
  return 0;
}

struct Run {
  int status = -1;
  std::string out;
};

Run run_sample(const std::vector<std::string>& options) {
  std::vector<std::string> args{LOYALTY_UNITY_SAMPLE, "--reporters=unity"};
  args.insert(args.end(), options.begin(), options.end());
  loyalty::testing::Child child(args);
  Run run;
  run.status = child.wait_exit(std::chrono::steady_clock::now() + std::chrono::seconds(20));
  run.out = child.output();
  return run;
}

}  // namespace

TEST_CASE("the unity reporter prints one line per case, the counts and FAIL, as Unity does") {
  const Run run = run_sample({});
  REQUIRE(WIFEXITED(run.status));
  CHECK(WEXITSTATUS(run.status) != 0);
  const std::string file = LOYALTY_UNITY_SAMPLE_SOURCE;
  std::ostringstream expected;
  expected << file << ':' << line_of("TEST_CASE(\"a passing case") << ":a_passing_case_one_plus_one:PASS\n"
           << file << ':' << line_of("CHECK(four == 5)")
           << ":a_failing_case:FAIL: CHECK( four == 5 ) is NOT correct! values: ( 4 == 5 )\n"
           << file << ':' << line_of("TEST_CASE(\"a skipped case")
           << ":a_skipped_case:IGNORE: waits for the scale driver\n"
           << "-----------------------\n"
           << "3 Tests 1 Failures 1 Ignored\n"
           << "FAIL\n";
  CHECK(run.out == expected.str());

  // PlatformIO's test runner reads each result with this expression, Ceedling the counts.
  const std::regex result(R"(^([^:]+):(\d+):([^\s:]+):(PASS|IGNORE|FAIL)(:\s*(.+))?$)");
  const std::regex counts(R"(^(\d+) Tests (\d+) Failures (\d+) Ignored$)");
  std::istringstream lines(run.out);
  std::string line;
  int results = 0;
  int summaries = 0;
  while (std::getline(lines, line)) {
    results += std::regex_match(line, result) ? 1 : 0;
    summaries += std::regex_match(line, counts) ? 1 : 0;
  }
  CHECK(results == 3);
  CHECK(summaries == 1);
}

TEST_CASE("a run of passing cases alone ends with OK, and filtered-out cases are not counted") {
  const Run run = run_sample({"--test-case=a passing case*"});
  REQUIRE(WIFEXITED(run.status));
  CHECK(WEXITSTATUS(run.status) == 0);
  const std::string file = LOYALTY_UNITY_SAMPLE_SOURCE;
  // A case marked skip stays ignored whatever the filter: doctest reports it as skipped.
  CHECK(run.out == file + ':' + std::to_string(line_of("TEST_CASE(\"a passing case")) +
                       ":a_passing_case_one_plus_one:PASS\n" + file + ':' +
                       std::to_string(line_of("TEST_CASE(\"a skipped case")) +
                       ":a_skipped_case:IGNORE: waits for the scale driver\n"
                       "-----------------------\n"
                       "2 Tests 0 Failures 1 Ignored\n"
                       "OK\n");
}
