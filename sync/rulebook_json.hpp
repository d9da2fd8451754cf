// The rulebook's JSON form (docs/rulebook.md).
#pragma once

#include "agent/domain/rulebook.hpp"
#include "sync/json_reader.hpp"

namespace loyalty::sync {

// Upper bounds on what a document may hold. They keep every product the domain forms far
// inside 128 bits and turn absurd input into a clear error instead of an overflow.
inline constexpr std::int64_t kMaxAmount = 1'000'000'000'000'000;  // minor units
inline constexpr std::int64_t kMaxPoints = 1'000'000'000'000'000;
inline constexpr std::int64_t kMaxRatio = 1'000'000'000;     // numerators and denominators
inline constexpr std::int64_t kMaxMultiplierBp = 1'000'000;  // 100 times

// Reads and checks a rulebook: types, ranges, unknown fields and contradictions between
// rules. Throws JsonError with a path under "rulebook".
domain::Rulebook rulebook_from_json(const Json& document);

Json rulebook_to_json(const domain::Rulebook& rules);

}  // namespace loyalty::sync
