// Tables that name the values of an enum: one row per enumerator, in the enum's order, so a
// lookup is an index. What a switch's -Wswitch used to check, each table's static_assert of
// rows_follow_enum checks instead: a row missing, swapped or added out of place fails the build.
#pragma once

#include <cstddef>

namespace smtpn {

// The row most such tables hold: what Lisp calls an enumerator, and what a person reads.
template <typename Enum>
struct EnumNames {
  Enum value;
  const char* symbol;  // the Lisp symbol (of :phase, :verify-error, ...)
  const char* words;   // for people, in messages
};

// True when row I holds enumerator I (each row's `value`) for every row, and the last row
// holds LAST: the table has exactly one row per enumerator up to LAST.
template <typename Row, std::size_t N, typename Enum>
constexpr bool rows_follow_enum(const Row (&rows)[N], Enum last) {
  for (std::size_t i = 0; i < N; ++i)
    if (static_cast<std::size_t>(rows[i].value) != i) return false;
  return N == static_cast<std::size_t>(last) + 1;
}

// The row of VALUE, or nullptr for a value no enumerator has (an integer cast to the enum).
template <typename Row, std::size_t N, typename Enum>
constexpr const Row* row_of(const Row (&rows)[N], Enum value) {
  const auto index = static_cast<std::size_t>(value);
  return index < N ? &rows[index] : nullptr;
}

}  // namespace smtpn
