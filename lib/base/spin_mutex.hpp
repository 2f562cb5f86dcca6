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
// lib/debug/lock_rank.hpp). Each runtime lock is constructed with its
// kind, spin_mutex mu{lock_rank::channel}; checked builds verify the order
// on every lock() (CSP_LOCK_RANK_CHECK), release builds store nothing.
//
// State: 0 unlocked; 1 locked, no sleeper; 2 locked, maybe sleepers.
#pragma once

#include <atomic>
#include <cstdint>

#include "debug/lock_rank.hpp"
#include "debug/tsa.hpp"

namespace csp::detail {

class CSP_CAPABILITY("mutex") spin_mutex {
 public:
  // An unranked lock: not checked (test helpers).
  constexpr spin_mutex() noexcept = default;
  constexpr explicit spin_mutex([[maybe_unused]] lock_rank kind) noexcept
#if CSP_LOCK_RANK_CHECK
      : kind_(kind)
#endif
  {
  }
  spin_mutex(const spin_mutex&) = delete;
  spin_mutex& operator=(const spin_mutex&) = delete;

  void lock() noexcept CSP_ACQUIRE() {
#if CSP_LOCK_RANK_CHECK
    lock_rank_acquire(kind_, this);
#endif
    std::uint32_t expected = 0;
    // acquire; pairs with the release in unlock().
    if (__builtin_expect(state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                                        std::memory_order_relaxed), 1))
      return;
    lock_slow();
  }

  bool try_lock() noexcept CSP_TRY_ACQUIRE(true) {
    std::uint32_t expected = 0;
    bool ok = state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                             std::memory_order_relaxed);
#if CSP_LOCK_RANK_CHECK
    if (ok) lock_rank_acquired(kind_, this);
#endif
    return ok;
  }

  void unlock() noexcept CSP_RELEASE() {
#if CSP_LOCK_RANK_CHECK
    lock_rank_release(kind_, this);
#endif
    // release; pairs with the acquire in lock()/lock_slow().
    if (__builtin_expect(state_.exchange(0, std::memory_order_release) != 1, 0)) wake_one();
  }

 private:
  void lock_slow() noexcept;
  void wake_one() noexcept;

  std::atomic<std::uint32_t> state_{0};
#if CSP_LOCK_RANK_CHECK
  lock_rank kind_ = lock_rank::unranked;
#endif
};

#if !CSP_LOCK_RANK_CHECK
static_assert(sizeof(spin_mutex) == sizeof(std::uint32_t), "release builds keep no rank");
#endif

}  // namespace csp::detail
