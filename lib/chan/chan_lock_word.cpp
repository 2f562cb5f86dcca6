// chan_lock_word.cpp — the contended half of a channel's lock
// (csp/detail/chan_lock_word.hpp: the word, and why it never sleeps).
#include "csp/detail/chan_lock_word.hpp"

#include <sched.h>

#include "base/cpu_relax.hpp"
#include "debug/fatal.hpp"

namespace csp::detail {

namespace {
// Spin as spin_mutex does (lib/base/spin_mutex.cpp, where the backoff and
// the budget were measured): probe, pause, doubling the pause up to
// max_pause_run, for spin_budget pauses in all. After that the holder is
// most likely not running, so yield the thread between probes: the OS can
// then give the holder this CPU.
constexpr int max_pause_run = 32;
constexpr int spin_budget = 1000;  // pauses; about 19 µs on the reference VM
}  // namespace

void chan_lock_word::acquire_slow(chan_lock_word* w) noexcept {
  auto probe = [w] {
    std::uint32_t s = w->state.load(std::memory_order_relaxed);
    return s == 0 && w->state.compare_exchange_weak(s, 1, std::memory_order_acquire,
                                                    std::memory_order_relaxed);
  };
  int pause = 1;
  for (int spent = 0; spent < spin_budget; spent += pause) {
    if (probe()) return;
    for (int k = 0; k < pause; ++k) cpu_relax();
    if (pause < max_pause_run) pause *= 2;
  }
  for (;;) {
    // In a fork() child the holder may be a thread that no longer exists:
    // say so rather than spin forever (debug/fatal.hpp).
    fatal_if_forked_away();
    sched_yield();
    if (probe()) return;
  }
}

}  // namespace csp::detail
