// lock_backoff.hpp — how the runtime's locks wait for a holder that is
// running: probe, pause, doubling the pause, for a bounded number of pauses.
// spin_mutex (lib/base/spin_mutex.cpp) sleeps in futex(2) after it; a
// channel's lock (lib/chan/chan_lock_word.cpp) yields the thread instead.
//
// Why back off: each probe pulls the lock's cache line to the spinner, and
// the holder must win it back to release, so a spinner probing after every
// pause roughly doubles the cost of a contended hand-over. Why so long a
// budget: a contender that sleeps turns the next unlock into a futex wake
// (two system calls and a cross-thread wake-up, 7–24 µs on the reference
// VM), and under two-core contention on one channel that happened on a
// large share of operations. Measured on the reference VM (pause ≈ 28 ns,
// chan_mpmc_p2 median of 3-5 runs): one pause per probe and 64 probes, 172
// ns/item; doubling to 32 with 1,000 pauses, 45; the same after also giving
// channels' lock its own cache line, 33 (Go: 50–65). A shorter budget
// (128 or 500 pauses) or a lower cap (8) lost most of the gain.
#pragma once

#include "base/cpu_relax.hpp"

namespace csp::detail {

inline constexpr int lock_backoff_max_pause_run = 32;
inline constexpr int lock_backoff_budget = 1000;  // pauses; about 19–28 µs on the reference VM

// spin_with_backoff calls try_take until it returns true (then true), or
// until the budget of pauses is spent (then false).
template <class TryTake>
bool spin_with_backoff(TryTake try_take) noexcept {
  int pause = 1;
  for (int spent = 0; spent < lock_backoff_budget; spent += pause) {
    if (try_take()) return true;
    for (int k = 0; k < pause; ++k) cpu_relax();
    if (pause < lock_backoff_max_pause_run) pause *= 2;
  }
  return false;
}

}  // namespace csp::detail
