// stack_guard.hpp — turning stack overflows (and SIGQUIT) into Go's reports.
//
// A goroutine that runs off the bottom of its stack touches the guard page
// below it and takes SIGSEGV. The handler runs on a per-worker alternate
// signal stack (the faulting stack has no room left), recognises the fault
// as an overflow of the goroutine running on that worker, and ends the
// process with "fatal error: goroutine N stack overflow". Any other fault
// is handed to the handler that was installed before ours (the default, or
// a sanitizer's), so csp never hides a real crash.
#pragma once

namespace csp::detail {

struct goroutine;

// install_stack_guard installs the SIGSEGV/SIGBUS handler once per process.
void install_stack_guard() noexcept;

// install_alt_signal_stack gives the calling worker thread its own
// alternate signal stack.
void install_alt_signal_stack() noexcept;

// install_quit_handler makes SIGQUIT print every goroutine and exit with
// status 2, as Go does, unless the program already handles SIGQUIT.
void install_quit_handler() noexcept;

// report_stack_overflow ends the process naming g; async-signal-safe.
[[noreturn]] void report_stack_overflow(const goroutine* g) noexcept;

}  // namespace csp::detail
