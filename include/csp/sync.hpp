// csp/sync.hpp — package sync: wait_group, mutex, rw_mutex, once, cond.
//
// The algorithms are Go's (src/sync/*.go), so ported code behaves the same,
// down to the panic messages. Every type here is usable from goroutines and
// plain OS threads mixed: a goroutine that must wait parks (its worker runs
// other goroutines), a plain thread sleeps.
//
// Layout: each object is a few atomic words and nothing else, so a zero
// value is ready to use (constexpr constructors; a global `sync::mutex` is
// constant-initialized) and the objects stay small (mutex 8 bytes, as Go's).
// Waiting tasks are not queued in the object: they are queued in the
// runtime's semaphore table, keyed by the address of a word in the object
// (lib/sync/semaphore.hpp, Go's semtable). That is also what lets the
// objects be destroyed early (API.md): whoever releases a waiter finishes
// with the object's memory before the waiter can run, and afterwards
// touches only the table.
//
// Lifetime guarantee (API.md): a wait_group, mutex or cond may be destroyed
// as soon as the wait() or lock() it released has returned, even while the
// done(), unlock(), signal() or broadcast() that released it is still
// returning. None of them may be copied or moved (Go's noCopy).
//
// Destroyed while in use: destroying a wait_group whose counter is above
// zero or that has waiters, a locked mutex or rw_mutex, or a cond with
// waiters ends the process with "fatal error: sync: WaitGroup destroyed
// while in use" (exit 2), never a silent use-after-free: in Go the object
// would have moved to the heap, in C++ it is the classic early `return`
// that leaves goroutines behind (docs/porting.md, "Early returns"). The
// check is one relaxed load in the destructor. Objects destroyed after
// main returned (globals, as the process exits with goroutines abandoned)
// are not checked: Go frees nothing at exit either.
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>

#include "csp/goroutine.hpp"
#include "csp/panic.hpp"

namespace csp::detail {
// sync_destroyed_in_use ends the process: "fatal error: sync: <type>
// destroyed while in use" (exit 2); returns only after main returned.
void sync_destroyed_in_use(const char* type) noexcept;
}  // namespace csp::detail

namespace csp::sync {

// mutex is Go's sync.Mutex: Lockable (std::lock_guard, std::unique_lock,
// std::scoped_lock). Not recursive; any task may unlock a mutex another
// task locked, as in Go.
//
// Fairness (Go's two modes): normally a woken waiter competes with tasks
// that are arriving (they are running and usually win, which keeps the
// lock hot). A waiter that has waited more than 1 ms switches the mutex to
// starvation mode: unlock() then hands the mutex directly to the waiter at
// the head of the queue and arrivals queue behind it, so no waiter waits
// unboundedly. The mode ends when the last waiter is served or one waited
// less than 1 ms.
class mutex {
 public:
  constexpr mutex() noexcept = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;
  // ~mutex: a fatal error if locked or waited for. relaxed: a legal
  // destroyer acquired the mutex (lock() returned) after the unlock that
  // left state_ at 0, so that store happens before this load.
  ~mutex() {
    if (state_.load(std::memory_order_relaxed) != 0) [[unlikely]] detail::sync_destroyed_in_use("Mutex");
  }

  // lock blocks until the mutex is held by the caller. Uncontended: one CAS.
  void lock() {
    std::int32_t unlocked = 0;
    // acquire; pairs with the release in unlock() / unlock_slow().
    if (state_.compare_exchange_strong(unlocked, locked_bit, std::memory_order_acquire,
                                       std::memory_order_relaxed)) [[likely]]
      return;
    lock_slow();
  }

  // try_lock takes the mutex if it is free and no waiter has been promised
  // it (starvation mode). Never blocks.
  bool try_lock() noexcept;

  // unlock releases the mutex and wakes a waiter if one must be woken.
  // Throws csp::panic("sync: unlock of unlocked mutex") if it is not locked.
  void unlock() {
    std::int32_t held = locked_bit;
    // release; pairs with the acquire in lock() / lock_slow() / try_lock().
    if (state_.compare_exchange_strong(held, 0, std::memory_order_release,
                                       std::memory_order_relaxed)) [[likely]]
      return;
    unlock_slow();
  }

 private:
  friend class rw_mutex;
  void lock_slow();
  void unlock_slow();

  // state_ bits, as Go's: locked | woken | starving | waiters << 3.
  //   locked   — held by someone;
  //   woken    — a waiter is awake (spinning or just woken) and competing,
  //              so unlock() need not wake another;
  //   starving — ownership passes by handoff from unlock() to the head waiter;
  //   waiters  — tasks blocked, or about to block, in the semaphore.
  static constexpr std::int32_t locked_bit = 1;
  static constexpr std::int32_t woken_bit = 2;
  static constexpr std::int32_t starving_bit = 4;
  static constexpr int waiter_shift = 3;

  std::atomic<std::int32_t> state_{0};
  // sema_: the semaphore waiters block on (lib/sync/semaphore.hpp).
  std::atomic<std::uint32_t> sema_{0};
};

// rw_mutex is Go's sync.RWMutex: Lockable and SharedLockable (std::lock_guard,
// std::unique_lock, std::shared_lock). Any number of readers or one writer.
// A writer that is waiting blocks new readers, so a stream of readers cannot
// starve it; a writer's unlock() admits the readers that queued meanwhile
// before the next writer. Recursive read locking deadlocks, as in Go.
//
// API.md's early-destruction guarantee does not cover rw_mutex: unlock()
// releases the waiting readers first and its internal writer mutex after
// (Go's order, which keeps readers and writers alternating), so an rw_mutex
// must outlive every unlock() call on it.
class rw_mutex {
 public:
  constexpr rw_mutex() noexcept = default;
  rw_mutex(const rw_mutex&) = delete;
  rw_mutex& operator=(const rw_mutex&) = delete;
  // ~rw_mutex: a fatal error if held or waited for (before w_'s own check,
  // which would name a Mutex). relaxed, as ~mutex.
  ~rw_mutex() {
    if ((reader_count_.load(std::memory_order_relaxed) | reader_wait_.load(std::memory_order_relaxed) |
         w_.state_.load(std::memory_order_relaxed)) != 0) [[unlikely]]
      detail::sync_destroyed_in_use("RWMutex");
  }

  // lock blocks until the caller is the only holder.
  void lock();
  // try_lock takes the write lock if there are no readers and no writer.
  bool try_lock() noexcept;
  // unlock releases the write lock and admits readers waiting for it.
  // Throws csp::panic("sync: Unlock of unlocked RWMutex") if not write-locked.
  void unlock();

  // lock_shared blocks while a writer holds or waits for the lock.
  void lock_shared() {
    // acq_rel: acquire pairs with the release in unlock(), so the last
    // writer's critical section happens before ours; release keeps this RMW
    // in the release sequence that a writer's lock() acquires.
    if (reader_count_.fetch_add(1, std::memory_order_acq_rel) < 0) [[unlikely]] lock_shared_slow();
  }
  // try_lock_shared takes a read lock unless a writer holds or waits for it.
  bool try_lock_shared() noexcept;
  // unlock_shared releases a read lock; the last reader out wakes a waiting
  // writer. Throws csp::panic("sync: RUnlock of unlocked RWMutex") if there
  // is no read lock.
  void unlock_shared() {
    // release; pairs with the acq_rel in lock() (reader_count_) so our read
    // section happens before the writer's.
    std::int32_t r = reader_count_.fetch_sub(1, std::memory_order_acq_rel) - 1;
    if (r < 0) [[unlikely]] unlock_shared_slow(r);
  }

  // reader is a BasicLockable whose lock()/unlock() take and release a read
  // lock: Go's RLocker, e.g. for cond::wait on the read side.
  class reader {
   public:
    // reader(rw) locks rw's read side: lock, try_lock, unlock.
    explicit reader(rw_mutex& rw) noexcept : rw_(&rw) {}
    void lock() { rw_->lock_shared(); }
    bool try_lock() noexcept { return rw_->try_lock_shared(); }
    void unlock() { rw_->unlock_shared(); }

   private:
    rw_mutex* rw_;
  };
  // rlocker returns this rw_mutex's read side as a plain lockable.
  reader rlocker() noexcept { return reader{*this}; }

 private:
  void lock_shared_slow();
  void unlock_shared_slow(std::int32_t r);

  // max_readers: reader_count_ drops by this while a writer holds or waits,
  // so readers see a negative count and block (Go's rwmutexMaxReaders).
  static constexpr std::int32_t max_readers = 1 << 30;

  mutex w_;                                  // held while a writer holds or waits
  std::atomic<std::uint32_t> writer_sem_{0};  // a writer waits here for departing readers
  std::atomic<std::uint32_t> reader_sem_{0};  // readers wait here for the writer
  std::atomic<std::int32_t> reader_count_{0};  // readers holding or waiting (- max_readers if a writer)
  std::atomic<std::int32_t> reader_wait_{0};   // readers a waiting writer still waits for
};

// wait_group is Go's sync.WaitGroup: add(n) before starting work, done() as
// each piece finishes, wait() until the counter is zero. Reusable once every
// wait() of the previous round has returned.
//
// Panics (csp::panic), as Go's:
//   "sync: negative WaitGroup counter"             — more done() than add();
//   "sync: WaitGroup misuse: Add called concurrently with Wait" — an add()
//       from zero raced with a wait();
//   "sync: WaitGroup is reused before previous Wait has returned" — add()
//       started a new round while a released wait() had not yet returned.
class wait_group {
 public:
  constexpr wait_group() noexcept = default;
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;
  // ~wait_group: a fatal error while the counter is above zero or wait()s
  // are registered. relaxed: a legal destroyer's wait() returned after the
  // releasing add() reset state_ to 0 (semrelease orders it), or it saw 0.
  ~wait_group() {
    if (state_.load(std::memory_order_relaxed) != 0) [[unlikely]] detail::sync_destroyed_in_use("WaitGroup");
  }

  // add adds delta (may be negative) to the counter; at zero it releases
  // every wait(). A positive add from zero must happen before the wait().
  void add(int delta);
  // done is add(-1): one atomic add unless it releases waiters.
  void done() { add(-1); }
  // wait blocks until the counter is zero.
  void wait();

  // go runs f(args...) in a new goroutine, counted in the group (Go 1.25's
  // WaitGroup.Go): add(1), and done() when f returns (or throws, which ends
  // the process as a goroutine panic does).
  template <class F, class... Args>
  void go(F&& f, Args&&... args) {
    if constexpr (detail::go_checks<F, Args...>()) go_checked(std::forward<F>(f), std::forward<Args>(args)...);
  }

 private:
  template <class F, class... Args>
  void go_checked(F&& f, Args&&... args) {
    add(1);
    csp::go(
        [this](auto&& fn, auto&&... a) {
          defer mark_done{[this] { done(); }};
          std::invoke(std::forward<decltype(fn)>(fn), std::forward<decltype(a)>(a)...);
        },
        std::forward<F>(f), std::forward<Args>(args)...);
  }

  // state_: counter in the high 32 bits, number of waiters in the low 32
  // (Go's layout), so done() is a single atomic add.
  std::atomic<std::uint64_t> state_{0};
  // sema_: the semaphore waiters block on (lib/sync/semaphore.hpp).
  std::atomic<std::uint32_t> sema_{0};
};

// once is Go's sync.Once: call(f) runs f the first time call is invoked on
// this object; every other call returns once that one has returned. If f
// throws, the call counts as done (later calls do nothing) and the
// exception propagates to the caller whose f it was, as Go's panic does.
class once {
 public:
  constexpr once() noexcept = default;
  once(const once&) = delete;
  once& operator=(const once&) = delete;

  // call runs f(args...) if no call on this once has run yet (Go's
  // once.Do); other callers wait until it has returned or thrown.
  template <class F, class... Args>
  void call(F&& f, Args&&... args) {
    // acquire; pairs with the release store below, so the effects of f
    // happen before every call() that returns without running it.
    if (done_.load(std::memory_order_acquire) != 0) [[likely]] return;
    m_.lock();
    defer unlock{[this] { m_.unlock(); }};
    if (done_.load(std::memory_order_relaxed) != 0) return;  // m_ orders it
    // release; pairs with the acquire above. Runs on throw too (Go's
    // `defer o.done.Store(1)`).
    defer mark_done{[this] { done_.store(1, std::memory_order_release); }};
    std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  }

 private:
  std::atomic<std::uint32_t> done_{0};  // 1 once f has returned or thrown
  mutex m_;                             // serializes the slow path
};

// cond is Go's sync.Cond, with the lock passed to wait() instead of stored
// (as std::condition_variable_any): wait(lock) atomically releases lock
// and waits for signal() or broadcast(), then re-locks before returning.
// `lock` is any BasicLockable, typically std::unique_lock<sync::mutex>.
// signal() wakes the longest waiter, broadcast() all; both may be called
// with or without the lock held. As in Go, wait() can return without the
// condition holding: wait in a loop, or use wait(lock, pred).
class cond {
 public:
  constexpr cond() noexcept = default;
  cond(const cond&) = delete;
  cond& operator=(const cond&) = delete;
  // ~cond: a fatal error while a wait() holds a ticket not yet notified.
  // relaxed: a woken waiter's notification was written under the table
  // lock it took to leave the queue.
  ~cond() {
    if (wait_.load(std::memory_order_relaxed) != notify_.load(std::memory_order_relaxed)) [[unlikely]]
      detail::sync_destroyed_in_use("Cond");
  }

  // wait(lock): see the class comment; lock must be held.
  template <class Lock>
  void wait(Lock& lock) {
    // Take a ticket while still holding lock: a signal() that follows our
    // unlock (and any signal() made under the lock after that) is owed to a
    // ticket at least as old as ours. Go's notifyListAdd.
    std::uint32_t ticket = add_ticket();
    lock.unlock();
    wait_ticket(ticket);
    lock.lock();
  }

  // wait(lock, pred) waits until pred() holds, rechecking after each wake.
  template <class Lock, class Pred>
  void wait(Lock& lock, Pred pred) {
    while (!pred()) wait(lock);
  }

  // signal wakes one waiting task (the longest waiting), if any.
  void signal() noexcept;
  // broadcast wakes every waiting task.
  void broadcast() noexcept;

 private:
  std::uint32_t add_ticket() noexcept;
  void wait_ticket(std::uint32_t ticket) noexcept;

  // Go's notifyList: tickets handed out and tickets notified. wait_ is
  // taken lock-free; notify_ is written under the semaphore table's lock
  // for this address (lib/sync/semaphore.cpp).
  std::atomic<std::uint32_t> wait_{0};
  std::atomic<std::uint32_t> notify_{0};
};

}  // namespace csp::sync
