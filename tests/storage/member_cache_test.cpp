#include <doctest/doctest.h>

#include "storage/files.hpp"
#include "storage/member_cache.hpp"
#include "tests/storage/fixtures.hpp"

using namespace loyalty::storage;
using loyalty::storage::testing::TempDir;

namespace {

const IdentifierHasher kHasher("a provisioned secret of the chain");

MemberDelta upsert(const std::string& id, std::int64_t balance, std::vector<Digest> keys,
                   loyalty::domain::MemberStatus status = loyalty::domain::MemberStatus::active) {
  return {MemberDelta::Change::upsert, {id, balance, "gold", status, 0}, std::move(keys)};
}

Digest card(const std::string& number) { return kHasher.key(IdentifierKind::card, number); }
Digest phone(const std::string& number) { return kHasher.key(IdentifierKind::phone, number); }

}  // namespace

TEST_CASE("identifier keys depend on the secret and the kind, not only the digits") {
  CHECK(card("79161234567") != phone("79161234567"));
  CHECK(card("79161234567") == card("79161234567"));
  CHECK(IdentifierHasher("another secret of the chain").key(IdentifierKind::card, "79161234567") !=
        card("79161234567"));
  CHECK_THROWS_AS(IdentifierHasher("short"), std::invalid_argument);
}

TEST_CASE("a member is found by any of its identifiers and raw identifiers are never stored") {
  TempDir dir;
  {
    MemberCache cache(dir / "members.db", kHasher);
    const std::vector<MemberDelta> deltas = {
        upsert("M1", 1200, {card("4000001234567899"), phone("+79161234567")}),
        upsert("M2", 0, {card("4000009999999999")}, loyalty::domain::MemberStatus::blocked),
    };
    REQUIRE(cache.apply(deltas, 5) == Applied::applied);
    const auto by_phone = cache.find(phone("+79161234567"));
    REQUIRE(by_phone);
    CHECK(by_phone->member_id == "M1");
    CHECK(by_phone->balance == 1200);
    CHECK(by_phone->tier == "gold");
    CHECK(by_phone->as_of == 5);
    CHECK(cache.find(card("4000001234567899"))->member_id == "M1");
    CHECK(cache.find(card("4000009999999999"))->status == loyalty::domain::MemberStatus::blocked);
    CHECK_FALSE(cache.find(card("4000000000000002")));
    CHECK(cache.size() == 2);
    CHECK(cache.cursor() == 5);
  }
  const std::string file = read_file(dir / "members.db");
  CHECK(file.find("4000001234567899") == std::string::npos);
  CHECK(file.find("79161234567") == std::string::npos);
}

TEST_CASE("deltas replace a member's identifiers, move a card, and erase members") {
  TempDir dir;
  MemberCache cache(dir / "members.db", kHasher);
  std::vector<MemberDelta> deltas = {upsert("M1", 100, {card("1111"), phone("+7001")}),
                                     upsert("M2", 50, {card("2222")})};
  REQUIRE(cache.apply(deltas, 1) == Applied::applied);
  // M1 loses its phone; card 2222 moves from M2 to M1; M2 is then erased.
  deltas = {upsert("M1", 90, {card("1111"), card("2222")}),
            {MemberDelta::Change::erase, {"M2", 0, "", loyalty::domain::MemberStatus::active, 0}, {}}};
  REQUIRE(cache.apply(deltas, 2) == Applied::applied);
  CHECK_FALSE(cache.find(phone("+7001")));
  CHECK(cache.find(card("2222"))->member_id == "M1");
  CHECK(cache.find(card("1111"))->balance == 90);
  CHECK_FALSE(cache.find_member("M2"));
  CHECK(cache.database().query_integer("SELECT count(*) FROM member_keys") == 2);
}

TEST_CASE("a stale batch changes nothing and a malformed one is refused whole") {
  TempDir dir;
  MemberCache cache(dir / "members.db", kHasher);
  std::vector<MemberDelta> deltas = {upsert("M1", 100, {card("1111")})};
  REQUIRE(cache.apply(deltas, 10) == Applied::applied);
  deltas = {upsert("M1", 5, {card("1111")})};
  CHECK(cache.apply(deltas, 10) == Applied::stale);
  CHECK(cache.apply(deltas, 9) == Applied::stale);
  CHECK(cache.find_member("M1")->balance == 100);

  deltas = {upsert("M1", 7, {card("1111")}), upsert("", 1, {})};
  CHECK_THROWS_WITH_AS(cache.apply(deltas, 11), doctest::Contains("member id"), std::invalid_argument);
  deltas = {upsert("M1", 7, {card("1111")}), upsert("M3", kMaxEntryPoints + 1, {})};
  CHECK_THROWS_WITH_AS(cache.apply(deltas, 11), doctest::Contains("M3: balance"), std::invalid_argument);
  CHECK(cache.find_member("M1")->balance == 100);
  CHECK(cache.cursor() == 10);
}

TEST_CASE("a cache built with another secret is emptied on open and says so") {
  TempDir dir;
  {
    MemberCache cache(dir / "members.db", kHasher);
    std::vector<MemberDelta> deltas = {upsert("M1", 100, {card("1111")})};
    cache.apply(deltas, 3);
  }
  {
    MemberCache same(dir / "members.db", kHasher);
    CHECK(same.opening() == CacheOpening::kept);
    CHECK(same.size() == 1);
  }
  MemberCache rotated(dir / "members.db", IdentifierHasher("the secret after rotation"));
  CHECK(rotated.opening() == CacheOpening::reset_for_new_secret);
  CHECK(rotated.size() == 0);
  CHECK(rotated.cursor() == 0);
}
