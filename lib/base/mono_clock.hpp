// mono_clock.hpp — the runtime's one monotonic clock, in nanoseconds.
//
// CLOCK_MONOTONIC is steady_clock's clock, so deadlines computed from
// std::chrono durations and from these readings agree. Both are vDSO
// reads (no system call): mono_now_ns about 27 ns here, coarse_now_ns 4
// ns but only as fine as a scheduler tick (sched/sampled_clock.hpp is
// cheaper still, for stamps that never meet a deadline).
#pragma once

#include <cstdint>

namespace csp::detail {

// mono_now_ns reads CLOCK_MONOTONIC.
std::int64_t mono_now_ns() noexcept;
// coarse_now_ns reads CLOCK_MONOTONIC_COARSE: a few ns, good to a tick.
std::int64_t coarse_now_ns() noexcept;
// coarse_resolution_ns is CLOCK_MONOTONIC_COARSE's resolution.
std::int64_t coarse_resolution_ns() noexcept;

}  // namespace csp::detail
