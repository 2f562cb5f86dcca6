// csp/detail/chan_lock_word.hpp — a channel's lock word.
//
// Every channel operation takes its channel's lock once, and with the
// runtime's sleeping lock (lib/base/spin_mutex.hpp) the exchange that
// releases it, a locked instruction of about 5.7 ns on the reference VM,
// was a third of a buffered send or receive. This lock is released with a
// plain store. The price is that nobody sleeps on it: a store cannot
// tell a sleeper to wake. A contender spins with backoff, then yields its
// thread between probes, so that a holder the OS preempted gets a CPU back.
// That is sound because a channel's lock is held only for a few element
// moves and queue links (lib/chan/chan_core.hpp), never across a block.
//
// States: 0 free, 1 held. Only a 0 → 1 exchange takes it; only its holder
// releases it.
#pragma once

#include <atomic>
#include <cstdint>

namespace csp::detail {

struct chan_lock_word {
  std::atomic<std::uint32_t> state{0};

  // try_acquire takes the lock if it is free, without waiting.
  bool try_acquire() noexcept {
    std::uint32_t expected = 0;
    // acquire; pairs with the release in release().
    return state.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                         std::memory_order_relaxed);
  }

  // acquire takes the lock, waiting as long as it takes.
  void acquire() noexcept {
    if (__builtin_expect(!try_acquire(), 0)) acquire_slow(this);
  }

  // release unlocks: a plain store, since nobody sleeps on the word.
  void release() noexcept { state.store(0, std::memory_order_release); }

  // acquire_slow is the contended half (lib/chan/chan_lock_word.cpp).
  static void acquire_slow(chan_lock_word* w) noexcept;
};

static_assert(sizeof(chan_lock_word) == sizeof(std::uint32_t));

}  // namespace csp::detail
