// fixed_text.hpp — text built in a fixed buffer with async-signal-safe
// steps only: no malloc, no locale, no floating point, no stdio lock. For
// what a signal handler prints (the SIGQUIT dump, the stack overflow
// report), where snprintf is not allowed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace csp::detail {

template <std::size_t N>
class fixed_text {
 public:
  // add appends s, truncating at the buffer's end.
  fixed_text& add(const char* s) noexcept {
    while (*s != '\0' && len_ + 1 < N) buf_[len_++] = *s++;
    buf_[len_] = '\0';
    return *this;
  }
  // add_uint appends v in decimal.
  fixed_text& add_uint(std::uint64_t v) noexcept {
    char digits[21];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0 && len_ + 1 < N) buf_[len_++] = digits[--n];
    buf_[len_] = '\0';
    return *this;
  }
  fixed_text& add_int(std::int64_t v) noexcept {
    if (v < 0) {
      add("-");
      return add_uint(static_cast<std::uint64_t>(-(v + 1)) + 1);
    }
    return add_uint(static_cast<std::uint64_t>(v));
  }

  const char* c_str() const noexcept { return buf_; }
  std::size_t size() const noexcept { return len_; }

 private:
  char buf_[N] = {};
  std::size_t len_ = 0;
};

}  // namespace csp::detail
