// chan_lock_word.cpp — the contended half of a channel's lock
// (csp/detail/chan_lock_word.hpp: the word, and why it never sleeps).
#include "csp/detail/chan_lock_word.hpp"

#include <sched.h>

#include "base/lock_backoff.hpp"
#include "debug/fatal.hpp"

namespace csp::detail {

void chan_lock_word::acquire_slow(chan_lock_word* w) noexcept {
  auto probe = [w] {
    std::uint32_t s = w->state.load(std::memory_order_relaxed);
    return s == 0 && w->state.compare_exchange_weak(s, 1, std::memory_order_acquire,
                                                    std::memory_order_relaxed);
  };
  // Spin while the holder is likely running, as spin_mutex does
  // (lib/base/lock_backoff.hpp). After that it most likely is not: yield
  // the thread between probes, so the OS can give the holder this CPU.
  if (spin_with_backoff(probe)) return;
  for (;;) {
    // In a fork() child the holder may be a thread that no longer exists:
    // say so rather than spin forever (debug/fatal.hpp).
    fatal_if_forked_away();
    sched_yield();
    if (probe()) return;
  }
}

}  // namespace csp::detail
