// fatal.hpp — the one way broken internals end the process.
//
// Errors split three ways (STYLE.md): expected outcomes are values, misuse
// that Go panics on throws csp::panic, and broken internals come here. These
// never return and never allocate, so they are safe in any state the runtime
// can be in, including a signal handler.
#pragma once

#include <atomic>

namespace csp::detail {

// fatal_internal prints "csp: internal error: <what> (file:line)" and aborts.
[[noreturn]] void fatal_internal(const char* what, const char* file, int line) noexcept;

// fatal_user prints "fatal error: <what>" and exits with status 2, as Go's
// runtime.throw does for user-caused fatal errors (deadlock, stack overflow).
[[noreturn]] void fatal_user(const char* what) noexcept;

// write_stderr writes s with write(2): async-signal-safe, unbuffered.
void write_stderr(const char* s) noexcept;

// forked_away is set in the child of a fork() taken while the runtime ran
// (lib/sched/fork.cpp): none of the runtime's threads exist there and its
// locks may be held forever, so csp cannot work. Entry points that would
// spawn or wait call fatal_if_forked_away(): "fatal error: csp used in a
// child process after fork()", status 2 (docs/errors.md).
extern std::atomic<bool> forked_away;
[[noreturn]] void fatal_forked_away() noexcept;
inline void fatal_if_forked_away() noexcept {
  // relaxed: written once, in the child, before any of its code runs.
  if (__builtin_expect(forked_away.load(std::memory_order_relaxed), 0)) fatal_forked_away();
}

}  // namespace csp::detail

#define CSP_FATAL(what) ::csp::detail::fatal_internal((what), __FILE__, __LINE__)
#define CSP_ASSERT(cond) \
  do { if (__builtin_expect(!(cond), 0)) CSP_FATAL("assertion failed: " #cond); } while (0)
