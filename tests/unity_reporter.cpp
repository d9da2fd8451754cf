// A doctest reporter that prints ThrowTheSwitch Unity's result format, which embedded tooling
// reads (PlatformIO's test runner, Ceedling): `--reporters=unity` on any suite.
//
//   FILE:LINE:NAME:PASS
//   FILE:LINE:NAME:FAIL: MESSAGE        LINE of the first failed assertion, as Unity has it
//   FILE:LINE:NAME:IGNORE: MESSAGE      a case marked doctest::skip, with its description
//   -----------------------
//   N Tests N Failures N Ignored
//   OK                                  or FAIL
//
// Unity's names are C function names, and the tools parse them as one word without spaces or
// colons, so NAME is the test case's sentence with every run of other characters turned into
// one '_' ("a refund of every unit..." becomes "a_refund_of_every_unit..."). A message is kept
// on its line: newlines become spaces. Assertions may come from several threads; a mutex keeps
// the first failure whole.

#include <doctest/doctest.h>

#include <cctype>
#include <mutex>
#include <ostream>
#include <string>

namespace loyalty::testing {
namespace {

std::string identifier(const char* name) {
  std::string out;
  for (const char* c = name; *c != '\0'; ++c) {
    const auto byte = static_cast<unsigned char>(*c);
    if (std::isalnum(byte) != 0 || byte == '_') {
      out += *c;
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "unnamed" : out;
}

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text;
}

class UnityReporter : public doctest::IReporter {
 public:
  explicit UnityReporter(const doctest::ContextOptions& options) : out_(*options.cout) {}

  void report_query(const doctest::QueryData& query) override {
    for (unsigned i = 0; i < query.num_data; ++i) {
      const doctest::TestCaseData& test = *query.data[i];
      out_ << test.m_file.c_str() << ':' << test.m_line << ':' << identifier(test.m_name) << '\n';
    }
  }

  void test_run_start() override {}

  void test_run_end(const doctest::TestRunStats&) override {
    out_ << "-----------------------\n"
         << tests_ << " Tests " << failures_ << " Failures " << ignored_ << " Ignored\n"
         << (failures_ == 0 ? "OK" : "FAIL") << '\n';
    out_.flush();
  }

  void test_case_start(const doctest::TestCaseData& test) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    current_ = &test;
    failed_ = false;
    failure_file_.clear();
    failure_line_ = static_cast<int>(test.m_line);
    failure_.clear();
  }

  void test_case_reenter(const doctest::TestCaseData&) override {}

  void test_case_end(const doctest::CurrentTestCaseStats& stats) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++tests_;
    if (stats.testCaseSuccess) {
      out_ << current_->m_file.c_str() << ':' << current_->m_line << ':' << identifier(current_->m_name) << ":PASS\n";
      return;
    }
    ++failures_;
    if (failure_.empty()) failure_ = "the test case failed";
    out_ << (failure_file_.empty() ? std::string(current_->m_file.c_str()) : failure_file_) << ':' << failure_line_
         << ':' << identifier(current_->m_name) << ":FAIL: " << one_line(failure_) << '\n';
  }

  void test_case_exception(const doctest::TestCaseException& exception) override {
    record(nullptr, 0, std::string(exception.is_crash ? "crashed: " : "threw: ") + exception.error_string.c_str());
  }

  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}

  void log_assert(const doctest::AssertData& assertion) override {
    if (!assertion.m_failed || (assertion.m_at & doctest::assertType::is_warn) != 0) return;
    std::string message = std::string(doctest::assertString(assertion.m_at)) + "( " + assertion.m_expr + " )";
    if (assertion.m_threw) {
      message += " threw: " + std::string(assertion.m_exception.c_str());
    } else if (assertion.m_decomp.size() > 0) {
      message += " is NOT correct! values: ( " + std::string(assertion.m_decomp.c_str()) + " )";
    } else {
      message += " is NOT correct!";
    }
    record(assertion.m_file, assertion.m_line, message);
  }

  void log_message(const doctest::MessageData& message) override {
    if ((message.m_severity & doctest::assertType::is_warn) != 0) return;
    record(message.m_file, message.m_line, message.m_string.c_str());
  }

  void test_case_skipped(const doctest::TestCaseData& test) override {
    // Cases left out by a filter are not part of this run; only those marked skip are ignored.
    if (!test.m_skip) return;
    const std::lock_guard<std::mutex> lock(mutex_);
    ++tests_;
    ++ignored_;
    const std::string why =
        test.m_description != nullptr && *test.m_description != '\0' ? test.m_description : "skipped";
    out_ << test.m_file.c_str() << ':' << test.m_line << ':' << identifier(test.m_name) << ":IGNORE: " << one_line(why)
         << '\n';
  }

 private:
  // Keeps the first failure of the current case: Unity reports one per test.
  void record(const char* file, int line, const std::string& message) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (failed_) return;
    failed_ = true;
    if (file != nullptr) {
      failure_file_ = file;
      failure_line_ = line;
    }
    failure_ = message;
  }

  std::ostream& out_;
  std::mutex mutex_;
  const doctest::TestCaseData* current_ = nullptr;
  bool failed_ = false;
  std::string failure_file_;
  int failure_line_ = 0;
  std::string failure_;
  int tests_ = 0;
  int failures_ = 0;
  int ignored_ = 0;
};

}  // namespace
}  // namespace loyalty::testing

REGISTER_REPORTER("unity", 1, loyalty::testing::UnityReporter);
