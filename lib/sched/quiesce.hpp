// quiesce.hpp — no goroutine runs while the process's destructors do.
//
// exit() (or main returning) runs the exit handlers and then the static
// destructors on the calling thread, while the other workers may be in the
// middle of running goroutines that read those statics. Go's os.Exit runs
// no destructors, so Go has no such window; C++'s exit does. The
// scheduler's exit hook stops the workers from starting goroutines
// (scheduler::exiting) and then calls quiesce_at_exit, which waits until
// the goroutines running at that moment have switched out, so that the
// destructors after it run with every goroutine stopped.
#pragma once

#include <cstdint>

namespace csp::detail {

// quiesce_grace_ns: how long quiesce_at_exit waits for a goroutine that
// neither blocks nor yields while its thread is asleep in the kernel (a
// plain read(2), sleep or futex: it may never come back). One that keeps
// running longer runs on during the destructors (docs/errors.md).
inline constexpr std::int64_t quiesce_grace_ns = 100'000'000;
// quiesce_max_ns: how long it waits while such a goroutine's thread is
// runnable (on a CPU or waiting for one): on a loaded machine the OS may
// keep a thread that is about to yield off the CPU for over 100 ms.
inline constexpr std::int64_t quiesce_max_ns = 1'000'000'000;

// quiesce_at_exit waits until no goroutine other than the caller's own is
// running, up to the limits above. Call after scheduler::exiting is set.
void quiesce_at_exit() noexcept;

}  // namespace csp::detail
