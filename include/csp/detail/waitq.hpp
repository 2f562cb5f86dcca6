// csp/detail/waitq.hpp — a task's entry in a wait queue (Go's sudog), and
// the queue. Public only because the channel fast path
// (csp/detail/chan_fast_path.hpp) hands values to parked waiters inline;
// the runtime (lib/) is the only other user.
//
// A waiter lives on the stack of the task that waits, from the moment it is
// queued until that task returns from park(). Whoever dequeues it must call
// claim() before touching it further; only the claimer may fill in
// `success`/`elem` and call ready(t). After ready(t), the waiter's memory
// may be gone at any moment: read what you need (next!) before ready().
//
// A select enqueues one waiter per case, all pointing at one select_group;
// the first waker to claim any of them wins the whole select, the others'
// claims fail and they skip that waiter (it is stale, and its owner will
// unlink it under the queue's lock when it resumes).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>

namespace csp::detail {

struct task;  // lib/sched/goroutine.hpp

// ready makes a parked task runnable (lib/sched/park.hpp).
void ready(task* t) noexcept;

struct select_group {
  // winner: the case index whose waiter was claimed, or -1 while none has.
  // acq_rel CAS in waiter::claim(); the select reads it after park returns
  // (park/ready order it).
  std::atomic<int> winner{-1};
};

struct waiter {
  task* t = nullptr;                // the parked task
  waiter* next = nullptr;           // queue links; guarded by the queue's lock
  waiter* prev = nullptr;
  void* elem = nullptr;             // send: the value to take; recv: storage to fill (may be null)
  select_group* group = nullptr;    // non-null when part of a blocked select
  int case_index = 0;               // this waiter's case in its select
  bool success = false;             // set by the claimer: recv got a value / send completed
  bool is_send = false;
  bool queued = false;              // linked in a waitq; guarded by the queue's lock
  std::exception_ptr error;         // set by the claimer when moving the value threw

  // claim returns true if the caller is the one party allowed to complete
  // this waiter. Always true outside a select.
  bool claim() noexcept {
    if (group == nullptr) return true;
    int none = -1;
    // acq_rel: the winner's writes to this waiter happen-before the select
    // resumes (via ready/park), and two wakers racing see one winner.
    return group->winner.compare_exchange_strong(none, case_index, std::memory_order_acq_rel);
  }
};

// waitq is a FIFO of waiters, intrusive and doubly linked so a select can
// unlink its stale entries in O(1). Guarded by its owner's lock.
class waitq {
 public:
  waitq() = default;
  // Copying takes over the links (the semaphore table moves a key's queue
  // between heads); both sides are under the owner's lock.
  waitq(const waitq& o) noexcept : head_(o.front()), tail_(o.tail_) {}
  waitq& operator=(const waitq& o) noexcept {
    set_head(o.front());
    tail_ = o.tail_;
    return *this;
  }

  bool empty() const noexcept { return head_.load(std::memory_order_relaxed) == nullptr; }
  waiter* front() const noexcept { return head_.load(std::memory_order_relaxed); }

  // maybe_nonempty may be called without the owner's lock: a hint for
  // lock-free fast paths (select's first pass), stale by nature. A stale
  // "empty" only sends the caller to the locked path; a stale "non-empty"
  // (or a queued waiter whose select was won elsewhere) costs a lock.
  // relaxed: readers re-check under the lock before acting.
  bool maybe_nonempty() const noexcept { return head_.load(std::memory_order_relaxed) != nullptr; }
  // The same, ordered before the caller's later loads (acquire).
  bool maybe_nonempty_acquire() const noexcept {
    return head_.load(std::memory_order_acquire) != nullptr;
  }

  void push_back(waiter* w) noexcept {
    w->queued = true;
    w->next = nullptr;
    w->prev = tail_;
    if (tail_) tail_->next = w; else set_head(w);
    tail_ = w;
  }

  void push_front(waiter* w) noexcept {
    waiter* head = front();
    w->queued = true;
    w->prev = nullptr;
    w->next = head;
    if (head) head->prev = w; else tail_ = w;
    set_head(w);
  }

  // remove unlinks w if it is still queued (a waker's dequeue() may have
  // unlinked a stale select waiter already).
  void remove(waiter* w) noexcept {
    if (!w->queued) return;
    w->queued = false;
    if (w->prev) w->prev->next = w->next; else set_head(w->next);
    if (w->next) w->next->prev = w->prev; else tail_ = w->prev;
    w->next = w->prev = nullptr;
  }

  // dequeue unlinks and returns the first waiter the caller could claim, or
  // null. Stale select waiters met on the way are unlinked and skipped.
  waiter* dequeue() noexcept {
    while (waiter* w = front()) {
      remove(w);
      if (w->claim()) return w;
    }
    return nullptr;
  }

 private:
  void set_head(waiter* w) noexcept { head_.store(w, std::memory_order_relaxed); }

  // head_ is written only under the owner's lock; atomic so that
  // maybe_nonempty() may read it without the lock (plain moves on x86).
  std::atomic<waiter*> head_{nullptr};
  waiter* tail_ = nullptr;
};

}  // namespace csp::detail
