#include "ledger/members.hpp"

#include <fstream>

#include "drivers/codes.hpp"
#include "storage/journal_entry.hpp"
#include "sync/basket_json.hpp"

namespace loyalty::ledger {
namespace {

constexpr std::size_t kImportChunk = 1000;

}  // namespace

MemberRecord member_from_json(const runtime::Json& document, const storage::IdentifierHasher& hasher,
                              std::string_view phone_country_code, const std::string& path) {
  if (!document.is_object()) runtime::fail(path, "must be an object");
  runtime::Reader in(document, path);
  MemberRecord record;
  record.member_id = in.string("member_id", storage::kMaxMemberIdBytes);
  if (record.member_id.empty()) runtime::fail(in.path_of("member_id"), "must not be empty");
  record.tier = in.string_or("tier", "standard", 64);
  record.status = sync::member_status_from_json(in, "status", domain::MemberStatus::active);
  record.balance = in.integer_or("balance", 0, 0, storage::kMaxEntryPoints);
  for (const std::string& card : in.strings_or_empty("cards", 64)) {
    const drivers::CardNumber number = drivers::normalize_card(card, {});
    if (!number.problem.empty()) runtime::fail(in.path_of("cards"), "card " + card + ": " + number.problem);
    record.keys.push_back(hasher.key(storage::IdentifierKind::card, number.digits));
  }
  for (const std::string& phone : in.strings_or_empty("phones", 64)) {
    const auto number = drivers::normalize_phone(phone, phone_country_code);
    if (!number) runtime::fail(in.path_of("phones"), "not a phone number: " + phone);
    record.keys.push_back(hasher.key(storage::IdentifierKind::phone, *number));
  }
  for (const std::string& app : in.strings_or_empty("app_ids", 128)) {
    record.keys.push_back(hasher.key(storage::IdentifierKind::app, app));
  }
  in.finish();
  return record;
}

ImportSummary import_members(Ledger& ledger, const std::filesystem::path& file, const storage::IdentifierHasher& hasher,
                             std::string_view phone_country_code, std::int64_t now_ms) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  ImportSummary summary;
  std::vector<MemberRecord> chunk;
  const auto flush = [&] {
    const auto [created, updated] = ledger.import_members(chunk, now_ms);
    summary.created += created;
    summary.updated += updated;
    chunk.clear();
  };
  std::string line;
  for (std::int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = file.string() + ":" + std::to_string(number);
    try {
      chunk.push_back(member_from_json(runtime::parse_json(line, "member"), hasher, phone_country_code, "member"));
    } catch (const runtime::JsonError& error) {
      flush();
      throw std::runtime_error(where + ": " + error.what());
    }
    if (chunk.size() == kImportChunk) flush();
  }
  flush();
  return summary;
}

}  // namespace loyalty::ledger
