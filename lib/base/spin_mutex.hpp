// spin_mutex.hpp — the runtime's own short-hold lock (Go's runtime.mutex).
//
// Protects runtime structures held for a few hundred nanoseconds at most:
// channel state, wait queues, the idle-worker list. It spins briefly (the
// holder is almost always running on another core and about to release), then
// sleeps in futex(2) so that a preempted holder does not burn a core.
//
// It never parks a goroutine: a goroutine that contends spins or blocks its
// worker thread for the hold time. So nothing may park, call user code that
// can block, or take a lock of lower rank while holding one (lock ranks:
// lib/debug/lock_rank.hpp).
//
// State: 0 unlocked; 1 locked, no sleeper; 2 locked, maybe sleepers.
#pragma once

#include <atomic>
#include <cstdint>

#include "debug/tsa.hpp"

namespace csp::detail {

class CSP_CAPABILITY("mutex") spin_mutex {
 public:
  spin_mutex() = default;
  spin_mutex(const spin_mutex&) = delete;
  spin_mutex& operator=(const spin_mutex&) = delete;

  void lock() noexcept CSP_ACQUIRE() {
    std::uint32_t expected = 0;
    // acquire; pairs with the release in unlock().
    if (__builtin_expect(state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                                        std::memory_order_relaxed), 1))
      return;
    lock_slow();
  }

  bool try_lock() noexcept CSP_TRY_ACQUIRE(true) {
    std::uint32_t expected = 0;
    return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  void unlock() noexcept CSP_RELEASE() {
    // release; pairs with the acquire in lock()/lock_slow().
    if (__builtin_expect(state_.exchange(0, std::memory_order_release) != 1, 0)) wake_one();
  }

 private:
  void lock_slow() noexcept;
  void wake_one() noexcept;

  std::atomic<std::uint32_t> state_{0};
};

}  // namespace csp::detail
