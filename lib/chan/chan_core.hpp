// chan_core.hpp — the channel (Go's hchan), written once for every T.
//
// A channel is one allocation: this struct, then the ring buffer of `cap`
// elements, aligned for T. Handles (csp::chan<T> and friends) count
// references in refs_; the last one frees the channel. The state below and
// the lock word are also read and written by the per-type fast path inlined
// from csp/detail/chan_fast_path.hpp, under the same lock and invariants.
//
// Invariants (with the lock held). "Empty" below means "holds no waiter
// that can still be claimed": a blocked select leaves a waiter on every
// channel it waits on, and those whose select was won elsewhere stay linked
// (stale) until their owner unlinks them or a dequeue skips them.
//   - At least one of sendq and recvq is empty, except when one blocked
//     select waits to send and to receive on this same unbuffered channel:
//     a select cannot rendezvous with itself.
//   - count > 0 implies recvq is empty: a sender hands its value straight to
//     a waiting receiver and never buffers it while one waits.
//   - count < cap implies sendq is empty: a sender only waits on a full
//     buffer, and each receive that frees a slot refills it from sendq.
//   - closed implies sendq and recvq are empty: close() wakes everyone, and
//     nobody waits on a closed channel.
//   - A value is in exactly one place: the sender's variable (until the
//     operation completes), the buffer, or the receiver's optional.
//
// The lock (mu, a chan_mutex: it never sleeps, see chan_mutex.hpp) covers
// count, recvx, sendx, closed's one write, recvq and sendq (chan_core_base,
// shared with the inline fast path), the buffer, and the fields of waiters
// while they are queued here. Under it the channel runs only the element
// type's move constructor and destructor (user code: they must not block
// on csp operations or touch this channel; a slow one makes contenders
// spin and yield). Wake-ups are collected in a wake_list
// and done after unlocking, as Go's chan.go does: ready() would be safe
// under the lock, but a woken select immediately relocks its channels.
// Lock order: channel locks are taken in address order (select.cpp) and
// before nothing else; no other runtime lock is held while taking one.
//
// Happens-before (the Go memory model): every transfer of a value, and
// close, happens under mu, so mu's release/acquire orders a send before
// the receive that takes the value, close before a receive that reports it,
// and the k-th receive before the (k+C)-th send completes (that send needs
// the slot the receive freed). A value handed to a parked party is written
// before ready(); park/ready order it before the party resumes.
//
// Exceptions from element moves (policy). The party that executes an
// operation performs the move, under the lock; a throwing move is assumed to
// leave its source intact (the strong guarantee), so no value is lost or
// duplicated and the channel stays consistent:
//   - Into or out of the buffer, by the executor: nothing changed; rethrown
//     in the executor.
//   - From the executor to a parked receiver: the receiver is put back
//     at the front of its queue, still parked; a parked select cannot be
//     put back (its other waiters may already be gone), so it is woken with
//     winner == select_retry and polls its cases again. Rethrown in the
//     executor, whose operation did not happen.
//   - A receiver taking a parked sender's value (unbuffered), or refilling
//     a full buffer from one after it got its own value: the exception
//     belongs to that sender, as it would if the sender executed. It goes
//     into the sender's waiter.error, the sender (a send or a select) wakes
//     and rethrows it; the receiver tries the next sender. Unbuffered, if
//     none is left, recv_locked says `blocked` with wake-ups in `wakes`:
//     the caller unlocks, wakes them and tries again before it parks.
//     Buffered, the receive succeeded.
// So a sender sees every exception from its own value's copy or move, and a
// receiver only those from moving a value out of the buffer.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <type_traits>

#include "chan/chan_mutex.hpp"
#include "csp/detail/chan_core.hpp"
#include "debug/fatal.hpp"
#include "debug/tsa.hpp"
#include "sched/waiter.hpp"

namespace csp::detail {

static_assert(sizeof(chan_waiter) <= select_slot::waiter_bytes, "grow select_slot::waiter_bytes");
static_assert(alignof(chan_waiter) <= alignof(std::max_align_t));

// select_retry is stored in a select_group's winner by a party that claimed
// one of the select's waiters and then could not complete it (the element
// move threw): the select wakes and polls again. Never a case index.
inline constexpr int select_retry = -2;

// wake_list collects claimed, dequeued waiters to ready() once the locks are
// released. It links them through waiter::next, which is free once dequeued.
class wake_list {
 public:
  wake_list() = default;
  wake_list(const wake_list&) = delete;
  wake_list& operator=(const wake_list&) = delete;
  ~wake_list() { CSP_ASSERT(head_ == nullptr); }  // every claimed waiter must be woken

  void add(waiter* w) noexcept {
    w->next = nullptr;
    if (tail_) tail_->next = w; else head_ = w;
    tail_ = w;
  }

  bool empty() const noexcept { return head_ == nullptr; }

  // wake readies every waiter, in the order added. After ready(t) the
  // waiter's memory may be gone: read `next` first.
  void wake() noexcept {
    while (waiter* w = head_) {
      head_ = w->next;
      ready(w->t);
    }
    tail_ = nullptr;
  }

 private:
  waiter* head_ = nullptr;
  waiter* tail_ = nullptr;
};

// op_status is the outcome of an operation attempted under the lock.
enum class op_status : unsigned char {
  done,     // completed (a receive got a value)
  closed,   // a receive found the channel closed and drained; a send, closed
  blocked,  // cannot complete without waiting
  failed,   // an element move threw; nothing happened; `err` holds it
};

struct chan_core : chan_core_base {
  chan_core(const elem_ops* o, std::size_t capacity, unsigned char* b) noexcept
      : chan_core_base(o, capacity, b) {}

  // The fields the fast path shares (count, recvx, sendx, closed, recvq,
  // sendq) are in chan_core_base, guarded by mu; the base ends in a gap, so
  // mu starts a cache line of its own (see lock_gap_before_), and the gap
  // after it keeps the buffer's slots off that line.
  chan_mutex mu;  // first: at chan_lock_offset
  char mu_gap_after_[64];

  // on_destroy, when set, runs first thing in chan_destroy (the last handle
  // is gone), with no lock held; the channel is still intact while it runs.
  // Set once by the channel's creator before the channel is shared, then
  // immutable. lib/time uses it so that a timer holds its channel weakly:
  // the hook disarms the timer (Go 1.23: an unreferenced timer is
  // collected). It must not resurrect the channel. No effect on semantics.
  void (*on_destroy)(void* arg) noexcept = nullptr;
  void* on_destroy_arg = nullptr;

  // Links in the registry of live channels (lib/chan/leak.cpp), guarded by
  // that registry's shard lock.
  chan_core* all_prev = nullptr;
  chan_core* all_next = nullptr;

  void* slot(std::size_t i) const noexcept { return buf + i * ops->size; }

  // may_recv_now / may_send_now: lock-free hints that a receive / send
  // could complete without waiting (Go's chanrecv "empty" and chansend
  // "full" checks, used the other way round). Read without mu, so stale:
  // callers act only after re-checking under mu (select's first pass).
  bool may_recv_now() const noexcept {
    return count.load(std::memory_order_relaxed) > 0 || sendq.maybe_nonempty() ||
           closed.load(std::memory_order_relaxed);
  }
  bool may_send_now() const noexcept {
    return count.load(std::memory_order_relaxed) < cap || recvq.maybe_nonempty() ||
           closed.load(std::memory_order_relaxed);
  }

  // surely_cannot_recv / surely_cannot_send: proofs, without the lock,
  // that a non-blocking receive / send would not complete (Go's chanrecv
  // and chansend fast paths for block == false), so it may report "not
  // ready" without locking. Each makes two observations in order (acquire
  // keeps the second after the first) and relies on closed never being
  // unset:
  //   recv: "nothing to take" at t1, then "open" at t2 > t1: so open at t1
  //         too, and at t1 the receive would have blocked.
  //   send: "open" at t1, then "no room, nobody waiting" at t2: a closed
  //         channel is always ready to send (it panics), so if it closed in
  //         between, some instant in [t1, t2] saw it open and full.
  bool surely_cannot_recv() const noexcept {
    bool nothing = cap == 0 ? !sendq.maybe_nonempty_acquire()
                            : count.load(std::memory_order_acquire) == 0;
    return nothing && !closed.load(std::memory_order_relaxed);
  }
  bool surely_cannot_send() const noexcept {
    if (closed.load(std::memory_order_acquire)) return false;
    return cap == 0 ? !recvq.maybe_nonempty() : count.load(std::memory_order_relaxed) == cap;
  }

  // send_locked tries to send *src (taken through `how`): to a parked
  // receiver, else into the buffer. Never blocks; waiters to wake go in
  // `wakes`. On `failed`, nothing happened and err holds the exception.
  op_status send_locked(void* src, const source_ops* how, wake_list& wakes,
                        std::exception_ptr& err) noexcept CSP_REQUIRES(mu);
  // recv_locked tries to receive into *dst (an empty std::optional<T>; null
  // only for zero-size elements, or to leave an unbuffered sender's value
  // with it): from the buffer (refilling it from a parked sender), else
  // from a parked sender. Never blocks, and never destroys a value: that
  // would run user code and maybe take a lower-ranked lock under mu.
  op_status recv_locked(void* dst, wake_list& wakes, std::exception_ptr& err) noexcept
      CSP_REQUIRES(mu);

  // put_back returns a claimed waiter whose operation could not complete to
  // its state before the claim; see the exception policy above.
  void put_back(chan_waiter* w, wake_list& wakes) noexcept CSP_REQUIRES(mu);
};


}  // namespace csp::detail
