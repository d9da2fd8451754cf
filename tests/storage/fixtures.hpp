// Shared helpers of the storage tests: a temporary directory per test, and drafts.

#ifndef LOYALTY_TESTS_STORAGE_FIXTURES_HPP_
#define LOYALTY_TESTS_STORAGE_FIXTURES_HPP_

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "storage/journal_entry.hpp"

namespace loyalty::storage::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at the end of scope.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/loyalty-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A fixed "now" for journaled_at, in Unix milliseconds (2026-11-18).
inline constexpr std::int64_t kNow = 1'795'000'000'000;

inline EntryDraft sale(const std::string& receipt_id, const std::string& member_id, std::int64_t earned,
                       std::int64_t redeemed) {
  EntryDraft draft;
  draft.kind = EntryKind::sale;
  draft.receipt_id = receipt_id;
  draft.member_id = member_id;
  draft.recorded_at_ms = 1'795'000'000'000;
  draft.rulebook_version = 41;
  draft.points_earned = earned;
  draft.points_redeemed = redeemed;
  draft.payload = R"({"receipt_id":")" + receipt_id + R"(","lines":[{"sku":"4600001","gross":"1250.00"}]})";
  return draft;
}

}  // namespace loyalty::storage::testing

#endif  // LOYALTY_TESTS_STORAGE_FIXTURES_HPP_
