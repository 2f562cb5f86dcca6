// timer_heap.cpp — the 4-ary timer heap and running due timers. Design,
// invariants and lock order: timer_heap.hpp.
#include "time/timer_heap.hpp"

#include <time.h>

#include <chrono>
#include <mutex>

#include "chan/chan_core.hpp"
#include "csp/goroutine.hpp"
#include "debug/fatal.hpp"
#include "sched/park.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

std::atomic<std::int64_t> timer_next_deadline{never};
std::atomic<std::int64_t> live_timer_nodes{0};

timer_heap& timer_heap::instance() noexcept {
  // Never destroyed: workers may run timers while static destructors run.
  static timer_heap* h = new timer_heap();
  return *h;
}

// A 4-ary heap, as Go's: half the depth of a binary heap, and a node's four
// children share a cache line of the pointer array, so sift_down's extra
// comparisons are cheap while the shallower tree saves cache misses.
namespace {
constexpr std::size_t arity = 4;
}

void timer_heap::sift_up(std::size_t i) {
  timer_node* t = heap_[i];
  while (i > 0) {
    std::size_t p = (i - 1) / arity;
    if (heap_[p]->when <= t->when) break;
    heap_[i] = heap_[p];
    heap_[i]->heap_index = static_cast<int>(i);
    i = p;
  }
  heap_[i] = t;
  t->heap_index = static_cast<int>(i);
}

void timer_heap::sift_down(std::size_t i) {
  timer_node* t = heap_[i];
  std::size_t n = heap_.size();
  for (;;) {
    std::size_t c = i * arity + 1;
    if (c >= n) break;
    std::size_t best = c;
    std::size_t end = std::min(c + arity, n);
    for (std::size_t k = c + 1; k < end; ++k)
      if (heap_[k]->when < heap_[best]->when) best = k;
    if (heap_[best]->when >= t->when) break;
    heap_[i] = heap_[best];
    heap_[i]->heap_index = static_cast<int>(i);
    i = best;
  }
  heap_[i] = t;
  t->heap_index = static_cast<int>(i);
}

void timer_heap::publish() {
  // seq_cst; pairs with the timer sleeper's seq_cst publish-then-reread in
  // scheduler::go_idle (see timer_next_deadline).
  timer_next_deadline.store(heap_.empty() ? never : heap_[0]->when, std::memory_order_seq_cst);
}

void timer_heap::push(timer_node* t) {
  CSP_ASSERT(t->heap_index < 0);
  heap_.push_back(t);
  sift_up(heap_.size() - 1);
  if (heap_[0] == t) publish();
}

void timer_heap::remove(timer_node* t) {
  auto i = static_cast<std::size_t>(t->heap_index);
  CSP_ASSERT(t->heap_index >= 0 && i < heap_.size() && heap_[i] == t);
  t->heap_index = -1;
  timer_node* last = heap_.back();
  heap_.pop_back();
  if (i < heap_.size()) {
    heap_[i] = last;
    last->heap_index = static_cast<int>(i);
    sift_up(i);
    sift_down(static_cast<std::size_t>(last->heap_index));
  }
  if (i == 0 || heap_.empty()) publish();
}

void timer_heap::fix(timer_node* t) {
  auto i = static_cast<std::size_t>(t->heap_index);
  sift_up(i);
  sift_down(static_cast<std::size_t>(t->heap_index));
  publish();
}

void timer_retain(timer_node* t) noexcept {
  t->refs.fetch_add(1, std::memory_order_relaxed);  // see timer_node::refs
}

void timer_release(timer_node* t) noexcept {
  if (t->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {  // see timer_node::refs
    CSP_ASSERT(t->heap_index < 0);
    delete t;
    live_timer_nodes.fetch_sub(1, std::memory_order_relaxed);  // a statistic: no partner
  }
}

void timer_arm(timer_node* t, std::int64_t when) noexcept {
  scheduler& s = scheduler::instance();  // workers must exist to fire it
  timer_heap& h = timer_heap::instance();
  bool earliest;
  {
    std::lock_guard<spin_mutex> lock(h.mu);
    t->when = when;
    if (t->kind != timer_kind::sleep) timer_retain(t);  // the heap's reference
    // Counted before anyone can wait on this timer's effect; see
    // check_deadlock (an armed timer means no deadlock).
    pending_wakers.fetch_add(1, std::memory_order_seq_cst);
    h.push(t);
    earliest = h.top() == t;
  }
  if (earliest) s.timer_armed(when);
}

void timer_rearm(timer_node* t, std::int64_t when, std::uint64_t seq) noexcept {
  CSP_ASSERT(t->kind == timer_kind::callback);
  scheduler& s = scheduler::instance();
  timer_heap& h = timer_heap::instance();
  bool earliest;
  {
    std::lock_guard<spin_mutex> lock(h.mu);
    t->when = when;
    t->seq = seq;
    if (t->heap_index >= 0) {
      h.fix(t);
    } else {
      pending_wakers.fetch_add(1, std::memory_order_seq_cst);  // as in timer_arm
      h.push(t);
    }
    earliest = h.top() == t;
  }
  if (earliest) s.timer_armed(when);
}

bool timer_disarm(timer_node* t) noexcept {
  timer_heap& h = timer_heap::instance();
  {
    std::lock_guard<spin_mutex> lock(h.mu);
    if (t->heap_index < 0) return false;
    h.remove(t);
  }
  pending_wakers.fetch_sub(1, std::memory_order_seq_cst);
  return true;
}

bool run_due_timers(std::int64_t now) noexcept {
  timer_heap& h = timer_heap::instance();
  bool ran = false;
  // One timer per lock hold, so that other workers, stop() and arm() get
  // the lock between fires when many are due at once.
  for (;;) {
    // relaxed: a stale (later) value only ends the loop early; the next
    // check runs the rest. A stale earlier value is re-checked under mu.
    if (timer_next_deadline.load(std::memory_order_relaxed) > now) break;
    h.mu.lock();
    timer_node* t = h.top();
    if (t == nullptr || t->when > now) {
      h.mu.unlock();
      break;
    }
    ran = true;
    switch (t->kind) {
      case timer_kind::sleep: {
        h.remove(t);
        task* waiter = t->t;  // t lives on the sleeper's stack: gone after ready()
        h.mu.unlock();
        ready(waiter);
        // After the ready: a deadlock check that sees the count drop sees
        // the sleeper runnable.
        pending_wakers.fetch_sub(1, std::memory_order_seq_cst);
        break;
      }
      case timer_kind::chan: {
        std::int64_t when = t->when;
        bool periodic = t->period > 0;
        if (periodic) {
          // Next fire: the first period boundary after now; missed ones are
          // dropped (Go's ticker behaviour), not fired in a burst.
          t->when += t->period * (1 + (now - t->when) / t->period);
          h.fix(t);
        } else {
          h.remove(t);
        }
        // Under mu: see "What a timer's action may do". t->ch is live (invariant).
        auto tp = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(when));
        try {
          chan_try_send(t->ch, &tp, &copy_source<std::chrono::steady_clock::time_point>);
        } catch (...) {
          CSP_FATAL("a timer's channel refused a send");
        }
        h.mu.unlock();
        if (!periodic) {
          pending_wakers.fetch_sub(1, std::memory_order_seq_cst);
          timer_release(t);  // the heap's reference
        }
        break;
      }
      case timer_kind::callback: {
        h.remove(t);
        std::uint64_t seq = t->seq;  // under mu: timer_rearm may re-arm t once we unlock
        h.mu.unlock();
        t->fire(t, seq);
        pending_wakers.fetch_sub(1, std::memory_order_seq_cst);
        break;
      }
      case timer_kind::func: {
        h.remove(t);
        h.mu.unlock();
        try {
          // f is immutable; the goroutine gets its own copy, and is
          // reported as created by the user's after_func call.
          spawn_closure(t->created_at, t->f);
        } catch (...) {
          CSP_FATAL("could not start an after_func goroutine");
        }
        pending_wakers.fetch_sub(1, std::memory_order_seq_cst);
        timer_release(t);  // the heap's reference
        break;
      }
    }
  }
  return ran;
}

}  // namespace csp::detail
