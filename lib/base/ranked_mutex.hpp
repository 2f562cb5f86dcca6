// ranked_mutex.hpp — a std::mutex that carries a lock rank, for the
// runtime's few locks that a thread may sleep on or hold for long (one-time
// set-up, the blocking pool's queue, the trace's buffer list). Checked
// exactly as spin_mutex is (lib/debug/lock_rank.hpp); the same size and
// code as a std::mutex in release builds.
//
// wait() sleeps on a condition variable: the thread keeps the rank while it
// waits (it takes no other lock meanwhile) and holds the mutex again when
// it returns.
#pragma once

#include <condition_variable>
#include <mutex>

#include "debug/lock_rank.hpp"
#include "debug/tsa.hpp"

namespace csp::detail {

class CSP_CAPABILITY("mutex") ranked_mutex {
 public:
  constexpr explicit ranked_mutex([[maybe_unused]] lock_rank kind) noexcept
#if CSP_LOCK_RANK_CHECK
      : kind_(kind)
#endif
  {
  }
  ranked_mutex(const ranked_mutex&) = delete;
  ranked_mutex& operator=(const ranked_mutex&) = delete;

  void lock() CSP_ACQUIRE() {
#if CSP_LOCK_RANK_CHECK
    lock_rank_acquire(kind_, this);
#endif
    m_.lock();
  }

  void unlock() CSP_RELEASE() {
#if CSP_LOCK_RANK_CHECK
    lock_rank_release(kind_, this);
#endif
    m_.unlock();
  }

  // wait blocks on cv until pred() holds; the caller holds this mutex.
  template <class Pred>
  void wait(std::condition_variable& cv, Pred pred) CSP_REQUIRES(this) {
    std::unique_lock<std::mutex> held(m_, std::adopt_lock);
    cv.wait(held, pred);
    held.release();  // still locked: the caller's guard unlocks it
  }

 private:
  std::mutex m_;
#if CSP_LOCK_RANK_CHECK
  lock_rank kind_;
#endif
};

}  // namespace csp::detail
