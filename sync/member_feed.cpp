#include "sync/member_feed.hpp"

#include <limits>

#include "storage/journal_entry.hpp"
#include "sync/basket_json.hpp"

namespace loyalty::sync {

using runtime::as_string;
using runtime::fail;
using runtime::index_path;
using runtime::Json;
using runtime::OrderedJson;
using runtime::Reader;
using runtime::Where;

OrderedJson member_page_to_json(const MemberPage& page) {
  OrderedJson body;
  body["format"] = kMemberFeedFormat;
  body["cursor"] = page.cursor;
  body["more"] = page.more;
  OrderedJson& list = body["members"] = OrderedJson::array();
  for (const storage::MemberDelta& delta : page.members) {
    OrderedJson member;
    member["member_id"] = delta.member.member_id;
    member["balance"] = delta.member.balance;
    member["tier"] = delta.member.tier;
    member["status"] = domain::status_name(delta.member.status);
    member["cursor"] = delta.member.as_of;
    OrderedJson& keys = member["keys"] = OrderedJson::array();
    for (const storage::Digest& key : delta.keys) keys.push_back(storage::to_hex(key));
    list.push_back(std::move(member));
  }
  return body;
}

MemberPage member_page_from_json(const Json& document) {
  if (!document.is_object()) fail("members", "must be an object");
  Reader in(document, "members");
  const std::string format = in.string("format", 64);
  if (format != kMemberFeedFormat) {
    fail(in.path_of("format"), "must be \"" + std::string(kMemberFeedFormat) + "\", got \"" + format + "\"");
  }
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  MemberPage page;
  page.cursor = in.integer("cursor", 0, kMax);
  page.more = in.boolean_or("more", false);
  const Json& members = in.array("members", kMaxMemberPage);
  in.finish();
  const std::string list_path = "members.members";
  for (std::size_t i = 0; i < members.size(); ++i) {
    const std::string path = index_path(list_path, i);
    if (!members[i].is_object()) fail(path, "must be an object");
    Reader m(members[i], path);
    storage::MemberDelta delta;
    delta.member.member_id = m.string("member_id", storage::kMaxMemberIdBytes);
    if (delta.member.member_id.empty()) fail(m.path_of("member_id"), "must not be empty");
    delta.member.balance = m.integer("balance", -storage::kMaxEntryPoints, storage::kMaxEntryPoints);
    delta.member.tier = m.string("tier", 64);
    delta.member.status = member_status_from_json(m, "status", std::nullopt);
    delta.member.as_of = m.integer("cursor", 1, page.cursor);
    const Json& keys = m.array("keys", 64);
    for (std::size_t k = 0; k < keys.size(); ++k) {
      const std::string key_path_text = index_path(m.path_of("keys"), k);
      const std::string hex = as_string(keys[k], Where(key_path_text), 64);
      std::string raw;
      try {
        raw = storage::from_hex(hex);
      } catch (const std::invalid_argument& error) {
        fail(key_path_text, error.what());
      }
      if (raw.size() != 32) fail(key_path_text, "must be 32 bytes in hex");
      storage::Digest key{};
      std::copy(raw.begin(), raw.end(), key.begin());
      delta.keys.push_back(key);
    }
    m.finish();
    page.members.push_back(std::move(delta));
  }
  return page;
}

}  // namespace loyalty::sync
