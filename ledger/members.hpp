// Loading the programme's members into the ledger: one JSON object per line, with the raw
// identifiers as the chain's CRM exports them. The ledger keeps only their keyed hashes (the
// member secret is the one terminals hash scanned codes with) and sends those to terminals in
// the member feed.
//
//   {"member_id": "M-1", "tier": "gold", "status": "active", "balance": 1200,
//    "cards": ["7013000000000011"], "phones": ["+79001234567"], "app_ids": ["app-77"]}
//
// Cards and phones are normalized exactly as the agent normalizes what a cashier scans or
// types (drivers/codes.hpp), so that the same card gives the same key on both sides. A new
// member's balance becomes an opening lot; importing a member again changes tier, status and
// identifiers, never the balance (entries do that).

#ifndef LOYALTY_LEDGER_MEMBERS_HPP_
#define LOYALTY_LEDGER_MEMBERS_HPP_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ledger/ledger.hpp"
#include "runtime/json_reader.hpp"
#include "storage/member_cache.hpp"

namespace loyalty::ledger {

struct MemberRecord {
  std::string member_id;
  std::string tier = "standard";
  domain::MemberStatus status = domain::MemberStatus::active;
  std::int64_t balance = 0;
  std::vector<storage::Digest> keys;
};

// Reads one member; throws runtime::JsonError at `path` naming the field that is wrong.
MemberRecord member_from_json(const runtime::Json& document, const storage::IdentifierHasher& hasher,
                              std::string_view phone_country_code, const std::string& path);

struct ImportSummary {
  std::int64_t created = 0;
  std::int64_t updated = 0;
};

// Imports a JSON-lines file in transactions of 1,000 members. A line that is wrong throws
// std::runtime_error naming the file and line; the lines before it stay imported, and
// importing the file again is harmless.
ImportSummary import_members(Ledger& ledger, const std::filesystem::path& file, const storage::IdentifierHasher& hasher,
                             std::string_view phone_country_code, std::int64_t now_ms);

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_MEMBERS_HPP_
