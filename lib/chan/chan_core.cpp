// chan_core.cpp — channel operations (Go's chan.go). The invariants, the
// lock's rules and the exception policy are at the top of chan_core.hpp.
//
// Every operation has the same shape: lock; try it (send_locked /
// recv_locked, which select.cpp shares); if it would block and may, queue a
// waiter on this stack and park, releasing the lock only once parked;
// otherwise unlock, wake whoever was completed, and report.
#include "chan/chan_core.hpp"

#include <algorithm>
#include <cstdint>
#include <new>

#include "csp/panic.hpp"
#include "chan/leak.hpp"
#include "sched/park.hpp"

namespace csp::detail {

// The fast path (csp/detail/chan_fast_path.hpp) finds the shared state at
// the channel's address and the lock word at chan_lock_offset.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"  // chan_core is not standard-layout; GCC lays it out as asserted
static_assert(offsetof(chan_core, refs_) == 0);
static_assert(offsetof(chan_core, mu) == chan_lock_offset);
#pragma GCC diagnostic pop
static_assert(std::is_standard_layout_v<chan_mutex>);

namespace {

constexpr std::size_t round_up(std::size_t n, std::size_t a) noexcept { return (n + a - 1) / a * a; }

std::size_t buffer_offset(const elem_ops* ops) noexcept { return round_up(sizeof(chan_core), ops->align); }

std::align_val_t alloc_align(const elem_ops* ops) noexcept {
  return std::align_val_t{std::max(alignof(chan_core), ops->align)};
}

// park_forever blocks the caller for good: nil-channel operations and an
// empty select. No waiter is queued anywhere, so nothing can ready it.
[[noreturn]] void park_forever(wait_reason why) noexcept {
  park(why, nullptr, nullptr);
  CSP_FATAL("a task parked forever was woken");
}

[[noreturn]] void panic_send_closed() { throw panic("send on closed channel"); }

}  // namespace

chan_core* chan_make(const elem_ops* ops, std::size_t cap) {
  // Go rejects negative sizes; a negative int converted to size_t lands here.
  std::size_t offset = buffer_offset(ops);
  if (cap > static_cast<std::size_t>(PTRDIFF_MAX) ||
      (ops->size != 0 && cap > (static_cast<std::size_t>(PTRDIFF_MAX) - offset) / ops->size))
    throw panic("makechan: size out of range");
  // One allocation for the core and its buffer, as Go's makechan does for
  // pointer-free elements: one cache miss fewer per operation.
  void* mem = ::operator new(offset + cap * ops->size, alloc_align(ops));
  auto* c = ::new (mem) chan_core(ops, cap, static_cast<unsigned char*>(mem) + offset);
  chan_registry_add(c);
  return c;
}

void chan_destroy(chan_core* c) noexcept CSP_NO_TSA {
  // No lock: the last reference is gone, so nobody else can reach c, and
  // chan_release's acq_rel decrement ordered every other holder's
  // operations before this. No waiter can be queued: a waiting task holds a
  // reference.
  if (c->on_destroy != nullptr) c->on_destroy(c->on_destroy_arg);
  // After this the leak check can no longer see c; while it runs, this
  // waits (lib/chan/leak.cpp: that is what keeps c alive for it).
  chan_registry_remove(c);
  CSP_ASSERT(c->recvq.empty() && c->sendq.empty());
  const elem_ops* ops = c->ops;
  if (ops->size != 0) {
    std::size_t i = c->recvx;
    for (std::size_t n = c->count.load(std::memory_order_relaxed); n > 0; --n) {
      ops->destroy(c->slot(i));
      if (++i == c->cap) i = 0;
    }
  }
  c->~chan_core();
  ::operator delete(static_cast<void*>(c), alloc_align(ops));
}

op_status chan_core::send_locked(void* src, const source_ops* how, wake_list& wakes,
                                 std::exception_ptr& err) noexcept {
  if (closed.load(std::memory_order_relaxed)) return op_status::closed;
  // A parked receiver takes the value straight from the sender: the buffer
  // is empty whenever one waits (invariant), so order is kept.
  if (waiter* w = recvq.dequeue()) {
    auto* r = static_cast<chan_waiter*>(w);
    if (r->elem != nullptr) {
      try {
        how->emplace(r->elem, src);
      } catch (...) {
        err = std::current_exception();
        put_back(r, wakes);
        return op_status::failed;
      }
    }
    r->success = true;
    wakes.add(r);
    return op_status::done;
  }
  std::size_t n = count.load(std::memory_order_relaxed);  // we hold mu, the only writer
  if (n < cap) {
    if (ops->size != 0) {
      try {
        how->construct(slot(sendx), src);
      } catch (...) {
        err = std::current_exception();
        return op_status::failed;
      }
    }
    if (++sendx == cap) sendx = 0;
    count.store(n + 1, std::memory_order_relaxed);  // relaxed: see `count`
    return op_status::done;
  }
  return op_status::blocked;
}

op_status chan_core::recv_locked(void* dst, wake_list& wakes, std::exception_ptr& err) noexcept {
  std::size_t n = count.load(std::memory_order_relaxed);  // we hold mu, the only writer
  if (n > 0) {
    // Take the oldest buffered value first, so that if its move throws
    // nothing has changed yet.
    void* head = slot(recvx);
    if (dst != nullptr) {
      try {
        ops->emplace_from(dst, head);
      } catch (...) {
        err = std::current_exception();
        return op_status::failed;
      }
    }
    // Never drop the value here: its destructor would run under mu, and
    // the last handle of a timer's channel takes the timer heap lock, of
    // lower rank (lib/debug/lock_rank.hpp). A dropping receive (select's
    // `case <-ch`) lands in the facade's storage and is destroyed there.
    CSP_ASSERT(dst != nullptr || ops->size == 0);
    if (ops->size != 0) ops->destroy(head);  // moved from
    if (++recvx == cap) recvx = 0;
    count.store(n - 1, std::memory_order_relaxed);  // relaxed: see `count`
    // The buffer was full if a sender waits: refill the freed slot from the
    // first one, so it completes and FIFO order holds (its value goes
    // behind every buffered one, at sendx, which is the slot just freed).
    while (waiter* w = sendq.dequeue()) {
      auto* s = static_cast<chan_waiter*>(w);
      if (ops->size != 0) {
        try {
          s->how->construct(slot(sendx), s->elem);
        } catch (...) {
          // The receive is done; this sender's send is not. It rethrows.
          s->error = std::current_exception();
          wakes.add(s);
          continue;
        }
      }
      if (++sendx == cap) sendx = 0;
      count.store(n, std::memory_order_relaxed);
      s->success = true;
      wakes.add(s);
      break;
    }
    return op_status::done;
  }
  if (closed.load(std::memory_order_relaxed)) return op_status::closed;
  // Unbuffered (an empty buffer has no waiting senders): take the value
  // straight from the first parked sender. If taking it throws (a select
  // send case copies its value here), the exception is that sender's, as
  // when its own copy or move throws: it wakes and rethrows, and this
  // receive goes on to the next sender, or waits.
  while (waiter* w = sendq.dequeue()) {
    auto* s = static_cast<chan_waiter*>(w);
    if (dst != nullptr) {
      try {
        s->how->emplace(dst, s->elem);
      } catch (...) {
        s->error = std::current_exception();
        wakes.add(s);
        continue;
      }
    }
    s->success = true;
    wakes.add(s);
    return op_status::done;
  }
  return op_status::blocked;
}

void chan_core::put_back(chan_waiter* w, wake_list& wakes) noexcept {
  if (w->group == nullptr) {
    // Still parked and still first in line: it never noticed.
    (w->is_send ? sendq : recvq).push_front(w);
    return;
  }
  // A select cannot be put back: since we claimed it, other wakers may have
  // skipped and unlinked its other waiters. Wake it to poll again.
  // relaxed: the select reads winner after park returns; our ready() orders it.
  w->group->winner.store(select_retry, std::memory_order_relaxed);
  wakes.add(w);
}

// The functions below park with the lock held and let park release it, or
// take a lock the fast path acquired: hand-offs clang's analysis cannot
// follow, hence CSP_NO_TSA.

namespace {

// park_sender and park_receiver queue the caller on c and park it until a
// partner or close() completes the operation; c->mu is held and released
// by the park.
void park_sender(chan_core* c, void* src, const source_ops* how) CSP_NO_TSA {
  chan_waiter w;
  w.t = current_task();
  w.elem = src;
  w.how = how;
  w.is_send = true;
  set_wait_chans(w.t, c, -1);
  c->sendq.push_back(&w);
  park_unlock(wait_reason::chan_send, c->mu);
  // A receiver or close() claimed and dequeued w, then readied us.
  if (w.error) std::rethrow_exception(w.error);
  if (!w.success) panic_send_closed();
}

bool park_receiver(chan_core* c, void* dst) CSP_NO_TSA {
  chan_waiter w;
  w.t = current_task();
  w.elem = dst;
  set_wait_chans(w.t, c, -1);
  c->recvq.push_back(&w);
  park_unlock(wait_reason::chan_receive, c->mu);
  // A sender filled *dst (success) or close() woke us (no value). A
  // receiver is never handed an error: a failed hand-off puts it back.
  return w.success;
}

// send_holding_lock and recv_holding_lock are chan_send and chan_recv from
// the moment c->mu is held; they release it.
void send_holding_lock(chan_core* c, void* src, const source_ops* how) CSP_NO_TSA {
  wake_list wakes;
  std::exception_ptr err;
  op_status st = c->send_locked(src, how, wakes, err);
  if (st == op_status::blocked) return park_sender(c, src, how);
  c->mu.unlock();
  wakes.wake();
  if (st == op_status::failed) std::rethrow_exception(err);
  if (st == op_status::closed) panic_send_closed();
}

bool recv_holding_lock(chan_core* c, void* dst) CSP_NO_TSA {
  wake_list wakes;
  std::exception_ptr err;
  op_status st = c->recv_locked(dst, wakes, err);
  while (st == op_status::blocked && !wakes.empty()) {
    // Senders whose values could not be taken: wake them to rethrow
    // before we park (chan_core.hpp, "Exceptions").
    c->mu.unlock();
    wakes.wake();
    c->mu.lock();
    st = c->recv_locked(dst, wakes, err);
  }
  if (st == op_status::blocked) return park_receiver(c, dst);
  c->mu.unlock();
  wakes.wake();
  if (st == op_status::failed) std::rethrow_exception(err);
  return st == op_status::done;
}

}  // namespace

void chan_send(chan_core* c, void* src, const source_ops* how) CSP_NO_TSA {
  if (c == nullptr) park_forever(wait_reason::chan_send_nil);
  c->mu.lock();
  send_holding_lock(c, src, how);
}

void chan_send_locked(chan_core* c, void* src, const source_ops* how) CSP_NO_TSA {
  c->mu.adopt();
  send_holding_lock(c, src, how);
}

bool chan_try_send(chan_core* c, void* src, const source_ops* how) CSP_NO_TSA {
  if (c == nullptr || c->surely_cannot_send()) return false;
  wake_list wakes;
  std::exception_ptr err;
  c->mu.lock();
  op_status st = c->send_locked(src, how, wakes, err);
  c->mu.unlock();
  wakes.wake();
  if (st == op_status::failed) std::rethrow_exception(err);
  if (st == op_status::closed) panic_send_closed();
  return st == op_status::done;
}

bool chan_recv(chan_core* c, void* dst) CSP_NO_TSA {
  if (c == nullptr) park_forever(wait_reason::chan_receive_nil);
  c->mu.lock();
  return recv_holding_lock(c, dst);
}

bool chan_recv_locked(chan_core* c, void* dst) CSP_NO_TSA {
  c->mu.adopt();
  return recv_holding_lock(c, dst);
}

void chan_send_wait_locked(chan_core* c, void* src, const source_ops* how) CSP_NO_TSA {
  c->mu.adopt();
  CSP_ASSERT(!c->closed.load(std::memory_order_relaxed) && c->recvq.empty() &&
             c->count.load(std::memory_order_relaxed) == c->cap);
  park_sender(c, src, how);
}

bool chan_recv_wait_locked(chan_core* c, void* dst) CSP_NO_TSA {
  c->mu.adopt();
  CSP_ASSERT(!c->closed.load(std::memory_order_relaxed) && c->sendq.empty() &&
             c->count.load(std::memory_order_relaxed) == 0);
  return park_receiver(c, dst);
}

bool chan_try_recv(chan_core* c, void* dst) CSP_NO_TSA {
  if (c == nullptr || c->surely_cannot_recv()) return false;
  wake_list wakes;
  std::exception_ptr err;
  c->mu.lock();
  op_status st = c->recv_locked(dst, wakes, err);
  c->mu.unlock();
  wakes.wake();
  if (st == op_status::failed) std::rethrow_exception(err);
  return st == op_status::done;
}

void chan_close(chan_core* c) CSP_NO_TSA {
  if (c == nullptr) throw panic("close of nil channel");
  wake_list wakes;
  c->mu.lock();
  if (c->closed.load(std::memory_order_relaxed)) {
    c->mu.unlock();
    throw panic("close of closed channel");
  }
  c->closed.store(true, std::memory_order_relaxed);
  // Wake every receiver (no value: success stays false) and every sender
  // (they panic in their own goroutines). Stale select waiters are skipped.
  while (waiter* w = c->recvq.dequeue()) wakes.add(w);
  while (waiter* w = c->sendq.dequeue()) wakes.add(w);
  c->mu.unlock();
  wakes.wake();
}

std::size_t chan_len(const chan_core* c) noexcept {
  return c == nullptr ? 0 : c->count.load(std::memory_order_relaxed);  // relaxed: see `count`
}

std::size_t chan_cap(const chan_core* c) noexcept { return c == nullptr ? 0 : c->cap; }

}  // namespace csp::detail
