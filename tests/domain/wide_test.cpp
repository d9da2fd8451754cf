// Int128, the portable 128-bit integer that armhf builds use for Wide. The fixed cases and
// the division identity run on every architecture; where the compiler has __int128, random
// operands are also checked against it, operation by operation.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>

#include "domain/wide.hpp"
#include "tests/env.hpp"

namespace {

using loyalty::domain::Int128;
using loyalty::testing::env_number;

constexpr std::uint64_t kAll = ~std::uint64_t{0};
constexpr std::uint64_t kTop = std::uint64_t{1} << 63;
const Int128 kMin = Int128::from_halves(kTop, 0);
const Int128 kMax = Int128::from_halves(kTop - 1, kAll);

bool same(const Int128& v, std::uint64_t high, std::uint64_t low) { return v.high() == high && v.low() == low; }

// Operands across every bit length and both signs, with the edges more often than chance.
Int128 operand(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0: {
      const Int128 edges[] = {0, 1, -1, kMin, kMax, Int128::from_halves(1, 0), Int128(kAll), -Int128(kAll)};
      return edges[rng() % std::size(edges)];
    }
    case 1: return static_cast<std::int64_t>(rng());
    default: {
      const int bits = static_cast<int>(rng() % 128);
      const Int128 v = Int128::from_halves(rng(), rng()) >> (127 - bits);
      return rng() % 2 == 0 ? v : -v;
    }
  }
}

}  // namespace

TEST_CASE("Int128 converts, compares and shifts like a two's-complement 128-bit integer") {
  CHECK(same(Int128(-5), kAll, kAll - 4));
  CHECK(same(Int128(std::numeric_limits<std::int64_t>::min()), kAll, kTop));
  CHECK(same(Int128(kAll), 0, kAll));  // unsigned sources are not sign-extended
  CHECK(static_cast<std::int64_t>(Int128(-5)) == -5);
  CHECK(static_cast<std::int64_t>(Int128::from_halves(1, 5)) == 5);  // truncates
  CHECK(static_cast<std::uint32_t>(Int128(-1)) == 0xffffffffU);

  CHECK(kMin < -1);
  CHECK(Int128(-1) < 0);
  CHECK(Int128(0) < Int128(kAll));
  CHECK(Int128(kAll) < Int128::from_halves(1, 0));
  CHECK(Int128::from_halves(1, 0) < kMax);
  CHECK(Int128(7) == 7);
  CHECK(Int128(7) != Int128::from_halves(1, 7));

  CHECK(same(Int128(1) << 127, kTop, 0));
  CHECK(same(Int128(3) << 63, 1, kTop));
  CHECK(same(Int128(5) << 64, 5, 0));
  CHECK(((Int128(1) << 127) >> 127) == -1);  // arithmetic: the sign fills in
  CHECK((Int128(-1) >> 100) == -1);
  CHECK((Int128::from_halves(1, 0) >> 64) == 1);
  CHECK(same(Int128::from_halves(0x8000000000000001U, 0) >> 1, 0xc000000000000000U, kTop));
  CHECK(same(Int128::from_halves(kTop, 0) >> 65, kAll, 0xc000000000000000U));
}

TEST_CASE("Int128 adds, subtracts and multiplies modulo 2^128") {
  using loyalty::domain::multiply_64_by_halves;
  using loyalty::domain::Product64;
  CHECK(multiply_64_by_halves(kAll, kAll) == Product64{kAll - 1, 1});
  CHECK(multiply_64_by_halves(0x123456789abcdefU, 0xfedcba987654321U) ==
        Product64{0x121fa00ad77d74U, 0x22236d88fe5618cfU});
  CHECK(same(Int128(kAll) + 1, 1, 0));  // the carry crosses the halves
  CHECK(same(Int128::from_halves(1, 0) - 1, 0, kAll));
  CHECK(kMax + 1 == kMin);
  CHECK(-kMin == kMin);
  CHECK(same(Int128(kAll) * Int128(kAll), kAll - 1, 1));  // (2^64 - 1)^2 = 2^128 - 2^65 + 1
  CHECK(Int128(-3) * 7 == -21);
  CHECK(Int128(-3) * -7 == 21);
  CHECK(same(Int128(123456789) * Int128::from_halves(2, 3), 246913578, 370370367));
  Int128 v = 10;
  v += 5;
  v -= 3;
  v *= -2;
  ++v;
  --v;
  --v;
  CHECK(v == -25);
}

TEST_CASE("Int128 divides truncating toward zero, the remainder taking the dividend's sign") {
  CHECK(Int128(-7) / 2 == -3);
  CHECK(Int128(-7) % 2 == -1);
  CHECK(Int128(7) / -2 == -3);
  CHECK(Int128(7) % -2 == 1);
  CHECK(Int128(-7) / -2 == 3);
  CHECK(Int128(3) / 7 == 0);
  CHECK(Int128(3) % 7 == 3);
  // Expected values from arbitrary-precision arithmetic.
  CHECK(same(kMax / 1000000007, 0x225c17cc4U, 0x4a8a3f91efcf9bbeU));
  CHECK(kMax % 1000000007 == 639816141);
  const Int128 big_divisor = (Int128(1) << 70) + 12345;
  CHECK(same(kMax / big_divisor, 0, 0x1fffffffffffffeU));
  CHECK(same(kMax % big_divisor, 0x1f, 0x8e00000000006071U));
  CHECK(same(-kMax / big_divisor, kAll, 0 - 0x1fffffffffffffeU));
  CHECK(same(Int128::from_halves(1, 0) / 3, 0, 0x5555555555555555U));
  CHECK(Int128::from_halves(1, 0) % 3 == 1);
  CHECK(kMin / Int128::from_halves(1, 0) == -(Int128(1) << 63));
  CHECK(kMin % kMax == -1);
  CHECK(kMax / kMin == 0);
  Int128 v = 100;
  v /= 7;
  v %= 5;
  CHECK(v == 4);
}

TEST_CASE("Int128's overflow checks agree with the exact result") {
  Int128 r;
  CHECK(add_overflow(kMax, 1, &r));
  CHECK(r == kMin);
  CHECK(add_overflow(kMin, -1, &r));
  CHECK_FALSE(add_overflow(kMax, kMin, &r));
  CHECK(r == -1);
  CHECK_FALSE(add_overflow(Int128(kAll), Int128(kAll), &r));
  CHECK(same(r, 1, kAll - 1));

  const Int128 two63 = Int128(1) << 63;
  const Int128 two64 = Int128(1) << 64;
  CHECK_FALSE(mul_overflow(two63, two63, &r));  // 2^126
  CHECK(same(r, std::uint64_t{1} << 62, 0));
  CHECK(mul_overflow(two64, two63, &r));         // 2^127
  CHECK_FALSE(mul_overflow(-two64, two63, &r));  // -2^127 is the one negative edge that fits
  CHECK(r == kMin);
  CHECK(mul_overflow(kMin, -1, &r));
  CHECK_FALSE(mul_overflow(kMin, 1, &r));
  CHECK(mul_overflow(two64, two64, &r));                                             // both above 2^64
  CHECK(mul_overflow(Int128::from_halves(0, kAll), Int128::from_halves(2, 0), &r));  // one above, 2^129
  CHECK_FALSE(mul_overflow(kMax, 1, &r));
  CHECK(mul_overflow(kMax, 2, &r));
  CHECK(r == -2);  // the wrapped product, as the built-in checks give it
  CHECK_FALSE(mul_overflow(0, kMin, &r));
  CHECK(r == 0);
}

TEST_CASE("Int128's quotient and remainder rebuild the dividend on seeded random operands") {
  const std::uint64_t seed = env_number("LOYALTY_SEED", std::random_device{}());
  std::printf("Int128 division: LOYALTY_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  for (int k = 0; k < 20000; ++k) {
    const Int128 a = operand(rng);
    const Int128 b = operand(rng);
    if (b == 0 || (a == kMin && b == -1)) continue;
    const Int128 q = a / b;
    const Int128 r = a % b;
    INFO("a = ", a.high(), ":", a.low(), ", b = ", b.high(), ":", b.low());
    REQUIRE(q * b + r == a);
    const Int128 abs_r = r < 0 ? -r : r;
    const Int128 abs_b = b < 0 ? -b : b;
    REQUIRE((abs_r < abs_b || b == kMin));
    REQUIRE((r == 0 || (r < 0) == (a < 0)));
  }
}

#if defined(__SIZEOF_INT128__)
TEST_CASE("Int128 gives the built-in __int128's result for every operation on seeded random operands") {
  __extension__ typedef __int128 Native;
  __extension__ typedef unsigned __int128 Unsigned;
  const auto native = [](const Int128& v) {
    return static_cast<Native>((static_cast<Unsigned>(v.high()) << 64) | v.low());
  };
  const auto matches = [](const Int128& v, Native n) {
    return v.high() == static_cast<std::uint64_t>(static_cast<Unsigned>(n) >> 64) &&
           v.low() == static_cast<std::uint64_t>(n);
  };
  const std::uint64_t seed = env_number("LOYALTY_SEED", std::random_device{}());
  std::printf("Int128 against __int128: LOYALTY_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  for (int k = 0; k < 50000; ++k) {
    const Int128 a = operand(rng);
    const Int128 b = operand(rng);
    const Native na = native(a);
    const Native nb = native(b);
    const int shift = static_cast<int>(rng() % 128);
    INFO("a = ", a.high(), ":", a.low(), ", b = ", b.high(), ":", b.low(), ", shift = ", shift);
    // Wrapping arithmetic, done on the unsigned type where the signed one would be undefined.
    using U = Unsigned;
    REQUIRE(matches(a + b, static_cast<Native>(static_cast<U>(na) + static_cast<U>(nb))));
    REQUIRE(matches(a - b, static_cast<Native>(static_cast<U>(na) - static_cast<U>(nb))));
    REQUIRE(matches(a * b, static_cast<Native>(static_cast<U>(na) * static_cast<U>(nb))));
    REQUIRE(matches(-a, static_cast<Native>(0 - static_cast<U>(na))));
    REQUIRE(matches(a << shift, static_cast<Native>(static_cast<U>(na) << shift)));
    REQUIRE(matches(a >> shift, na >> shift));
    REQUIRE((a < b) == (na < nb));
    REQUIRE((a == b) == (na == nb));
    REQUIRE(static_cast<std::int64_t>(a) == static_cast<std::int64_t>(na));
    const Unsigned wide_product = static_cast<Unsigned>(a.low()) * b.low();
    REQUIRE(loyalty::domain::multiply_64_by_halves(a.low(), b.low()) ==
            loyalty::domain::Product64{static_cast<std::uint64_t>(wide_product >> 64),
                                       static_cast<std::uint64_t>(wide_product)});
    if (b != 0 && !(a == kMin && b == -1)) {
      REQUIRE(matches(a / b, na / nb));
      REQUIRE(matches(a % b, na % nb));
    }
    Int128 sum;
    Native native_sum = 0;
    REQUIRE(add_overflow(a, b, &sum) == __builtin_add_overflow(na, nb, &native_sum));
    REQUIRE(matches(sum, native_sum));
    Int128 product;
    Native native_product = 0;
    REQUIRE(mul_overflow(a, b, &product) == __builtin_mul_overflow(na, nb, &native_product));
    REQUIRE(matches(product, native_product));
  }
}
#endif
