#include "base/spin_mutex.hpp"

#include "base/cpu_relax.hpp"
#include "base/futex.hpp"
#include "debug/fatal.hpp"

namespace csp::detail {

namespace {
// A contender probes the lock word, then pauses, doubling the pause up to
// max_pause_run; after spin_budget pauses in all it sleeps in futex(2).
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
constexpr int max_pause_run = 32;
constexpr int spin_budget = 1000;  // pauses; about 28 µs on the reference VM
}  // namespace

void spin_mutex::lock_slow() noexcept {
  int pause = 1;
  for (int spent = 0; spent < spin_budget; spent += pause) {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    if (s == 0 && state_.compare_exchange_weak(s, 1, std::memory_order_acquire,
                                               std::memory_order_relaxed))
      return;
    for (int k = 0; k < pause; ++k) cpu_relax();
    if (pause < max_pause_run) pause *= 2;
  }
  // In a fork() child the holder may be a thread that no longer exists:
  // say so rather than sleep forever (debug/fatal.hpp).
  fatal_if_forked_away();
  // Mark "maybe sleepers" so the holder's unlock() issues a wake-up.
  while (state_.exchange(2, std::memory_order_acquire) != 0) futex_wait(&state_, 2);
}

void spin_mutex::wake_one() noexcept { futex_wake(&state_, 1); }

}  // namespace csp::detail
