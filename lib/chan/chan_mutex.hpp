// chan_mutex.hpp — a channel's lock (Go's hchan.lock), with its lock rank.
//
// The word and why it never sleeps: csp/detail/chan_lock_word.hpp. The
// rank is checked as spin_mutex's is (lib/debug/lock_rank.hpp); the
// channel fast path inlined into user code takes the word directly, and
// when it hands the held lock to the core (chan_send_locked and friends)
// the core adopt()s it, from which point it is checked as usual.
#pragma once

#include "csp/detail/chan_lock_word.hpp"
#include "debug/lock_rank.hpp"
#include "debug/tsa.hpp"

namespace csp::detail {

class CSP_CAPABILITY("mutex") chan_mutex {
 public:
  constexpr chan_mutex() noexcept = default;
  chan_mutex(const chan_mutex&) = delete;
  chan_mutex& operator=(const chan_mutex&) = delete;

  void lock() noexcept CSP_ACQUIRE() {
#if CSP_LOCK_RANK_CHECK
    lock_rank_acquire(lock_rank::channel, this);
#endif
    word_.acquire();
  }

  // adopt records a lock that the fast path took through its word: from
  // here on it is held and released as if lock() had taken it.
  void adopt() noexcept CSP_ASSERT_CAPABILITY(this) {
#if CSP_LOCK_RANK_CHECK
    lock_rank_acquired(lock_rank::channel, this);
#endif
  }

  void unlock() noexcept CSP_RELEASE() {
#if CSP_LOCK_RANK_CHECK
    lock_rank_release(lock_rank::channel, this);
#endif
    word_.release();
  }

 private:
  chan_lock_word word_;  // the only member: the fast path finds it at the mutex's address
};

static_assert(sizeof(chan_mutex) == sizeof(chan_lock_word));

}  // namespace csp::detail
