// The rulebook's JSON form (docs/rulebook.md).
#ifndef LOYALTY_SYNC_RULEBOOK_JSON_HPP_
#define LOYALTY_SYNC_RULEBOOK_JSON_HPP_

#include "domain/rulebook.hpp"
#include "runtime/json_reader.hpp"

namespace loyalty::sync {

// Upper bounds on what a document may hold. They keep every product the domain forms far
// inside 128 bits and turn absurd input into a clear error instead of an overflow.
inline constexpr std::int64_t kMaxAmount = 1'000'000'000'000'000;  // minor units
inline constexpr std::int64_t kMaxPoints = 1'000'000'000'000'000;
inline constexpr std::int64_t kMaxRatio = 1'000'000'000;     // numerators and denominators
inline constexpr std::int64_t kMaxMultiplierBp = 1'000'000;  // 100 times

// Reads and checks a rulebook: types, ranges, unknown fields and contradictions between
// rules. Throws JsonError with a path under "rulebook".
domain::Rulebook rulebook_from_json(const runtime::Json& document);

runtime::Json rulebook_to_json(const domain::Rulebook& rules);

// What returning a sale needs of the rulebook it was made under: the refund rules and the
// point value. The agent records them with each sale, so a sale can still be returned after
// newer rulebooks have replaced its own.
struct RefundTerms {
  domain::RefundRules rules;
  domain::Ratio point_value;
};
runtime::Json refund_terms_to_json(const domain::Rulebook& rules);
// Throws JsonError under "refund_terms".
RefundTerms refund_terms_from_json(const runtime::Json& document);

}  // namespace loyalty::sync

#endif  // LOYALTY_SYNC_RULEBOOK_JSON_HPP_
