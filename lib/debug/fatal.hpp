// fatal.hpp — the one way broken internals end the process.
//
// Errors split three ways (STYLE.md): expected outcomes are values, misuse
// that Go panics on throws csp::panic, and broken internals come here. These
// never return and never allocate, so they are safe in any state the runtime
// can be in, including a signal handler.
#pragma once

namespace csp::detail {

// fatal_internal prints "csp: internal error: <what> (file:line)" and aborts.
[[noreturn]] void fatal_internal(const char* what, const char* file, int line) noexcept;

// fatal_user prints "fatal error: <what>" and exits with status 2, as Go's
// runtime.throw does for user-caused fatal errors (deadlock, stack overflow).
[[noreturn]] void fatal_user(const char* what) noexcept;

// write_stderr writes s with write(2): async-signal-safe, unbuffered.
void write_stderr(const char* s) noexcept;

}  // namespace csp::detail

#define CSP_FATAL(what) ::csp::detail::fatal_internal((what), __FILE__, __LINE__)
#define CSP_ASSERT(cond) \
  do { if (__builtin_expect(!(cond), 0)) CSP_FATAL("assertion failed: " #cond); } while (0)
