// futex.hpp — the runtime's one wrapper around futex(2), process-private.
//
// Every sleep in the runtime ends here: parker (workers, the monitor),
// park.cpp (plain threads blocked in csp) and spin_mutex's slow path.
#pragma once

#include <atomic>
#include <cstdint>

namespace csp::detail {

// futex_wait sleeps while *addr == expected, until a futex_wake, a signal
// or a spurious wake-up: callers re-check their condition.
void futex_wait(std::atomic<std::uint32_t>* addr, std::uint32_t expected) noexcept;
// futex_wait_until is futex_wait bounded by an absolute CLOCK_MONOTONIC
// deadline (base/mono_clock.hpp); false once the deadline has passed.
bool futex_wait_until(std::atomic<std::uint32_t>* addr, std::uint32_t expected,
                      std::int64_t deadline_ns) noexcept;
// futex_wake wakes up to n threads sleeping on addr.
void futex_wake(std::atomic<std::uint32_t>* addr, int n) noexcept;

}  // namespace csp::detail
