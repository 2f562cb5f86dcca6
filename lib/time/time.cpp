// time.cpp — the entry points behind csp/time.hpp: sleep, timers and
// tickers over the timer heap (timer_heap.hpp: design, invariants, lock
// order).
#include <errno.h>
#include <time.h>

#include <chrono>
#include <mutex>
#include <optional>

#include "chan/chan_core.hpp"
#include "csp/panic.hpp"
#include "csp/time.hpp"
#include "sched/park.hpp"
#include "sched/scheduler.hpp"
#include "time/timer_heap.hpp"

namespace csp::detail {

namespace {

std::int64_t deadline_after(std::int64_t d) noexcept {
  // The precise clock, always: CLOCK_MONOTONIC_COARSE was tried for long
  // timers (saves ~20 ns per after(1h)), but on the reference VM it lags
  // the precise clock by up to two ticks (7.9 ms measured against a 4 ms
  // resolution), which would fire timers early.
  std::int64_t now = mono_now_ns();
  if (d <= 0) return now;
  if (d >= never - now) return never - 1;  // saturate: `never` means "no timer"
  return now + d;
}

timer_node* new_node(timer_kind k) {
  auto* t = new timer_node(k);
  live_timer_nodes.fetch_add(1, std::memory_order_relaxed);  // a statistic: no partner
  return t;
}

// chan_gone is the channel's on_destroy hook (chan_core.hpp): the last
// handle to the timer's channel is gone, so nobody can receive a fire any
// more. Disarm and forget the channel (Go 1.23's collection rule).
void chan_gone(void* arg) noexcept {
  auto* t = static_cast<timer_node*>(arg);
  bool was_armed = false;
  {
    timer_heap& h = timer_heap::instance();
    std::lock_guard<spin_mutex> lock(h.mu);
    if (t->heap_index >= 0) {
      h.remove(t);
      was_armed = true;
    }
    t->ch = nullptr;
  }
  if (was_armed) {
    pending_wakers.fetch_sub(1, std::memory_order_seq_cst);
    timer_release(t);  // the heap's reference
  }
  timer_release(t);  // the channel's reference
}

// drain_locked empties t's channel buffer; true if it held a value.
bool drain_locked(timer_node* t) noexcept {
  if (t->kind != timer_kind::chan || t->ch == nullptr) return false;
  std::optional<std::chrono::steady_clock::time_point> v;
  return chan_try_recv(t->ch, &v);
}

}  // namespace

void time_sleep_ns(std::int64_t d) {
  if (d <= 0) return;
  std::int64_t when = deadline_after(d);
  if (!in_goroutine()) {
    // A plain thread sleeps itself; no runtime needed.
    timespec ts{static_cast<time_t>(when / 1'000'000'000), static_cast<long>(when % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    return;
  }
  timer_node n(timer_kind::sleep);
  n.t = current_task();
  n.when = when;
  // Armed in park's unlock step, on the worker's g0 once this goroutine's
  // context is saved: the fire's ready() can then never find it running
  // (park.hpp's contract). Only the fire can wake a sleep, and it runs once
  // (taking the node out of the heap is the claim).
  park(
      wait_reason::sleep,
      [](void* arg) {
        auto* node = static_cast<timer_node*>(arg);
        timer_arm(node, node->when);
      },
      &n);
}

timer_node* timer_start_chan(chan_core* c, std::int64_t d, std::int64_t period) {
  timer_node* t = new_node(timer_kind::chan);  // refs 1: the caller's handle
  t->period = period;
  t->ch = c;
  timer_retain(t);  // the channel's reference, dropped by chan_gone
  // c is fresh and not yet shared: setting the hook needs no lock.
  c->on_destroy = chan_gone;
  c->on_destroy_arg = t;
  timer_arm(t, deadline_after(d));
  return t;
}

timer_node* timer_start_func(std::function<void()> f, std::int64_t d,
                             const source_location& created_at) {
  timer_node* t = new_node(timer_kind::func);
  t->f = std::move(f);
  t->created_at = created_at;
  timer_arm(t, deadline_after(d));
  return t;
}

bool timer_stop(timer_node* t) noexcept {
  if (t == nullptr) return false;
  bool pending = false;
  bool was_armed = false;
  {
    timer_heap& h = timer_heap::instance();
    std::lock_guard<spin_mutex> lock(h.mu);
    if (t->heap_index >= 0) {
      h.remove(t);
      pending = was_armed = true;
    }
    // A value sent but not received counts as not yet fired (Go 1.23: the
    // channel behaves as unbuffered), and must not be received after stop.
    if (drain_locked(t) && t->period == 0) pending = true;
  }
  if (was_armed) {
    pending_wakers.fetch_sub(1, std::memory_order_seq_cst);
    timer_release(t);  // the heap's reference
  }
  return pending;
}

bool timer_reset(timer_node* t, std::int64_t d, std::int64_t period) noexcept {
  if (t == nullptr) return false;
  std::int64_t when = deadline_after(d);
  bool pending = false;
  bool earliest = false;
  {
    timer_heap& h = timer_heap::instance();
    std::lock_guard<spin_mutex> lock(h.mu);
    if (t->kind == timer_kind::chan && t->ch == nullptr) return false;  // nobody can receive: stays off
    if (drain_locked(t) && t->period == 0) pending = true;
    t->when = when;
    t->period = period;
    if (t->heap_index >= 0) {
      pending = true;
      h.fix(t);
    } else {
      timer_retain(t);  // the heap's reference
      pending_wakers.fetch_add(1, std::memory_order_seq_cst);
      h.push(t);
    }
    earliest = h.top() == t;
  }
  if (earliest) scheduler::instance().timer_armed(when);
  return pending;
}

std::int64_t live_timers() noexcept { return live_timer_nodes.load(std::memory_order_relaxed); }

}  // namespace csp::detail

namespace csp::time {

ticker::ticker(std::int64_t d) {
  check(d, "non-positive interval for NewTicker");
  chan<time_point> ch = make_chan<time_point>(1);
  node_ = detail::timer_ref(detail::timer_start_chan(ch.core(), d, d));
  c = std::move(ch);
}

void ticker::check(std::int64_t d, const char* msg) {
  if (d <= 0) throw panic(msg);
}


}  // namespace csp::time
