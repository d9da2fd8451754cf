// Wide: the signed 128-bit integer that holds the intermediates of money products.
//
// GCC and clang have __int128 on 64-bit targets (amd64, arm64) but not on 32-bit ARM, where
// armhf terminals run. Int128 is a portable two's-complement stand-in with the semantics of
// the built-in type for everything the domain does: + - * (wrapping), / and % (truncating
// toward zero, the remainder takes the dividend's sign), arithmetic shifts, comparisons,
// truncating casts to 64-bit and smaller integers, and overflow-checked add and multiply.
// Wide is the built-in type where there is one, so 64-bit builds keep native speed, and
// Int128 elsewhere; the domain's results are the same on every architecture. The CMake option
// LOYALTY_PORTABLE_INT128 selects Int128 everywhere (CI's unity build does).
#ifndef LOYALTY_DOMAIN_WIDE_HPP_
#define LOYALTY_DOMAIN_WIDE_HPP_

#include <bit>
#include <compare>
#include <concepts>
#include <cstdint>
#include <type_traits>

namespace loyalty::domain {

// The 128-bit product of two 64-bit unsigned numbers, as its high and low halves.
struct Product64 {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  friend constexpr bool operator==(const Product64&, const Product64&) = default;
};

// The product from 32-bit halves, for targets without a 128-bit type.
constexpr Product64 multiply_64_by_halves(std::uint64_t a, std::uint64_t b) {
  constexpr std::uint64_t kHalf = 0xffffffffU;
  const std::uint64_t a0 = a & kHalf, a1 = a >> 32, b0 = b & kHalf, b1 = b >> 32;
  const std::uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const std::uint64_t middle = (p00 >> 32) + (p01 & kHalf) + (p10 & kHalf);  // < 3 * 2^32
  return Product64{p11 + (p01 >> 32) + (p10 >> 32) + (middle >> 32), (middle << 32) | (p00 & kHalf)};
}

// One multiply instruction where the target has a 64 x 64 -> 128-bit multiply.
constexpr Product64 multiply_64(std::uint64_t a, std::uint64_t b) {
#if defined(__SIZEOF_INT128__)
  __extension__ typedef unsigned __int128 Unsigned;
  const Unsigned p = static_cast<Unsigned>(a) * b;
  return Product64{static_cast<std::uint64_t>(p >> 64), static_cast<std::uint64_t>(p)};
#else
  return multiply_64_by_halves(a, b);
#endif
}

class Int128 {
 public:
  constexpr Int128() = default;

  // Implicit from any integer type, sign-extended, as the built-in conversions are.
  template <std::integral T>
  constexpr Int128(T value) : low_(static_cast<std::uint64_t>(value)) {
    if constexpr (std::is_signed_v<T>) high_ = value < 0 ? ~std::uint64_t{0} : 0;
  }

  static constexpr Int128 from_halves(std::uint64_t hi, std::uint64_t lo) {
    Int128 v;
    v.high_ = hi;
    v.low_ = lo;
    return v;
  }

  // Truncating, as a cast of the built-in type: the low bits, reinterpreted.
  template <std::integral T>
  requires(!std::same_as<T, bool>) explicit constexpr operator T() const { return static_cast<T>(low_); }

  constexpr std::uint64_t high() const { return high_; }
  constexpr std::uint64_t low() const { return low_; }

  friend constexpr bool operator==(const Int128&, const Int128&) = default;
  friend constexpr std::strong_ordering operator<=>(const Int128& a, const Int128& b) {
    if (a.high_ != b.high_) return static_cast<std::int64_t>(a.high_) <=> static_cast<std::int64_t>(b.high_);
    return a.low_ <=> b.low_;
  }

  friend constexpr Int128 operator+(const Int128& a, const Int128& b) {
    const std::uint64_t low = a.low_ + b.low_;
    return from_halves(a.high_ + b.high_ + (low < a.low_ ? 1U : 0U), low);
  }
  friend constexpr Int128 operator-(const Int128& a) { return from_halves(~a.high_, ~a.low_) + 1; }
  friend constexpr Int128 operator-(const Int128& a, const Int128& b) { return a + -b; }
  friend constexpr Int128 operator*(const Int128& a, const Int128& b) {
    const Product64 p = multiply_64(a.low_, b.low_);
    return from_halves(p.high + a.high_ * b.low_ + a.low_ * b.high_, p.low);
  }
  friend constexpr Int128 operator/(const Int128& a, const Int128& b) {
    Int128 remainder;
    return divide(a, b, &remainder);
  }
  friend constexpr Int128 operator%(const Int128& a, const Int128& b) {
    Int128 remainder;
    divide(a, b, &remainder);
    return remainder;
  }

  friend constexpr Int128 operator<<(const Int128& a, int n) {
    if (n == 0) return a;
    if (n >= 64) return from_halves(a.low_ << (n - 64), 0);
    return from_halves((a.high_ << n) | (a.low_ >> (64 - n)), a.low_ << n);
  }
  // Arithmetic: the sign bit fills in from the left.
  friend constexpr Int128 operator>>(const Int128& a, int n) {
    const std::uint64_t fill = a.negative() ? ~std::uint64_t{0} : 0;
    if (n == 0) return a;
    if (n >= 64) return from_halves(fill, n == 64 ? a.high_ : shift_in(a.high_, fill, n - 64));
    return from_halves(shift_in(a.high_, fill, n), (a.low_ >> n) | (a.high_ << (64 - n)));
  }

  constexpr Int128& operator+=(const Int128& b) { return *this = *this + b; }
  constexpr Int128& operator-=(const Int128& b) { return *this = *this - b; }
  constexpr Int128& operator*=(const Int128& b) { return *this = *this * b; }
  constexpr Int128& operator/=(const Int128& b) { return *this = *this / b; }
  constexpr Int128& operator%=(const Int128& b) { return *this = *this % b; }
  constexpr Int128& operator<<=(int n) { return *this = *this << n; }
  constexpr Int128& operator>>=(int n) { return *this = *this >> n; }
  constexpr Int128& operator++() { return *this += 1; }
  constexpr Int128& operator--() { return *this -= 1; }

  // *result = a + b wrapped; true if the exact sum does not fit, as __builtin_add_overflow.
  friend constexpr bool add_overflow(Int128 a, Int128 b, Int128* result) {
    *result = a + b;
    return a.negative() == b.negative() && result->negative() != a.negative();
  }

  // *result = a * b wrapped; true if the exact product does not fit, as __builtin_mul_overflow.
  friend constexpr bool mul_overflow(Int128 a, Int128 b, Int128* result) {
    *result = a * b;
    const bool negative = a.negative() != b.negative();
    Int128 x = a.magnitude();
    Int128 y = b.magnitude();
    if (x.high_ != 0 && y.high_ != 0) return true;
    if (x.high_ == 0) {  // so that y < 2^64
      const Int128 t = x;
      x = y;
      y = t;
    }
    const Product64 bottom = multiply_64(x.low_, y.low_);
    const Product64 upper = multiply_64(x.high_, y.low_);
    const std::uint64_t top = upper.low + bottom.high;
    if (upper.high != 0 || top < upper.low) return true;  // |a * b| >= 2^128
    // Fits when below 2^127, or exactly 2^127 for a negative product.
    const Int128 m = from_halves(top, bottom.low);
    return m.negative() && !(negative && m.high_ == kSignBit && m.low_ == 0);
  }

 private:
  static constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;

  constexpr bool negative() const { return (high_ & kSignBit) != 0; }
  // |v| as an unsigned 128-bit pattern: 2^127 for the most negative value.
  constexpr Int128 magnitude() const { return negative() ? -*this : *this; }

  static constexpr std::uint64_t shift_in(std::uint64_t word, std::uint64_t fill, int n) {
    return (word >> n) | (fill << (64 - n));
  }

  // On 128-bit patterns read as unsigned numbers (magnitudes).
  static constexpr bool unsigned_less(const Int128& a, const Int128& b) {
    return a.high_ != b.high_ ? a.high_ < b.high_ : a.low_ < b.low_;
  }
  static constexpr int bit_length(const Int128& a) {
    return a.high_ != 0 ? 128 - std::countl_zero(a.high_) : 64 - std::countl_zero(a.low_);
  }
  static constexpr Int128 logical_shift_right_1(const Int128& a) {
    return from_halves(a.high_ >> 1, (a.low_ >> 1) | (a.high_ << 63));
  }

  // a / b truncated toward zero; *remainder = a % b, with the sign of a.
  static constexpr Int128 divide(const Int128& a, const Int128& b, Int128* remainder) {
    if (b.high_ == 0 && b.low_ == 0) __builtin_trap();  // undefined for the built-in type too
    Int128 n = a.magnitude();
    const Int128 d = b.magnitude();
    Int128 q;
    if (n.high_ == 0 && d.high_ == 0) {
      q = Int128(n.low_ / d.low_);
      n = Int128(n.low_ % d.low_);
    } else if (!unsigned_less(n, d)) {
      // Shift and subtract, from the divisor aligned under the dividend's top bit.
      const int shift = bit_length(n) - bit_length(d);
      Int128 s = d << shift;
      for (int i = 0; i <= shift; ++i) {
        q = q << 1;
        if (!unsigned_less(n, s)) {
          n = n - s;
          q.low_ |= 1U;
        }
        s = logical_shift_right_1(s);
      }
    }
    *remainder = a.negative() ? -n : n;
    return a.negative() != b.negative() ? -q : q;
  }

  std::uint64_t high_ = 0;
  std::uint64_t low_ = 0;
};

#if defined(__SIZEOF_INT128__) && !defined(LOYALTY_PORTABLE_INT128)
__extension__ typedef __int128 Wide;
inline bool add_overflow(Wide a, Wide b, Wide* result) { return __builtin_add_overflow(a, b, result); }
inline bool mul_overflow(Wide a, Wide b, Wide* result) { return __builtin_mul_overflow(a, b, result); }
#else
using Wide = Int128;
#endif

}  // namespace loyalty::domain

#endif  // LOYALTY_DOMAIN_WIDE_HPP_
