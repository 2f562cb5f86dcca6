// csp/panic.hpp — Go's panic for misuse, and defer.
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include <stdexcept>
#include <string>
#include <utility>

namespace csp {

// panic is thrown where Go panics on misuse: "send on closed channel",
// "close of nil channel", "sync: negative WaitGroup counter", ... The message
// is Go's, so ported code and its tests read the same. An exception that
// escapes a goroutine ends the process as Go's unrecovered panic does.
class panic : public std::logic_error {
 public:
  // panic(what): what() returns the message.
  explicit panic(const std::string& what) : std::logic_error(what) {}
  explicit panic(const char* what) : std::logic_error(what) {}
};

// defer runs f when the enclosing scope ends, however it ends: Go's
// `defer f()` scoped to a block instead of a function.
//   defer d{[&]{ mu.unlock(); }};
template <class F>
class defer {
 public:
  // defer(f) holds f to call at the end of the scope; a defer is neither
  // copied nor moved.
  explicit defer(F f) noexcept(std::is_nothrow_move_constructible_v<F>) : f_(std::move(f)) {}
  defer(const defer&) = delete;
  defer& operator=(const defer&) = delete;
  ~defer() noexcept(noexcept(std::declval<F&>()())) { f_(); }

 private:
  F f_;
};
// The deduction guide: `defer d{lambda};` names no type.
template <class F>
defer(F) -> defer<F>;

}  // namespace csp
