// sleeper.cpp — the timer/poller sleeper role: exactly one idle worker
// sleeps until the earliest timer, in the netpoller once one exists
// ("Timers" in scheduler.hpp). Arming an earlier timer, or a task starting
// to wait for I/O with nobody in the poller, pokes it (or an idle worker,
// which takes the role in go_idle).
//
// seq_cst pairs (each: one side stores then loads, the other likewise, so
// one of the two sees the other):
//   - timer_armed: timer_next_deadline stored, then sleeper_deadline_
//     loaded; go_idle: sleeper_deadline_ stored, then timer_next_deadline
//     re-read. A new earlier timer is never slept through.
//   - io_wait_starting/ensure_poller: the fd registered with the backend,
//     then poller_present_ loaded; go_idle: poller_present_ stored, then
//     the backend waited on. An I/O wait never goes unpolled.
// Lock order: sched_mu_ only; wake-ups after it is released.
#include "sched/scheduler.hpp"

#include "netpoll/netpoll.hpp"
#include "time/timer_heap.hpp"

namespace csp::detail {

void scheduler::timer_armed(std::int64_t when) noexcept {
  // seq_cst; the armer's half of the Dekker pair (scheduler.hpp, "Timers"):
  // timer_next_deadline was stored (seq_cst, under the heap lock) before
  // this load, so a sleeper that published a later deadline after this
  // load re-reads ours.
  if (when >= sleeper_deadline_.load(std::memory_order_seq_cst)) return;
  poke_sleeper();
}

void scheduler::io_wait_starting() noexcept {
  // seq_cst; pairs with the store in go_idle (see ensure_poller).
  if (poller_present_.load(std::memory_order_seq_cst)) return;
  worker* w = current_worker();
  if (w == nullptr) {
    // A plain thread: about to park, where it may borrow a worker's slot
    // and poll itself; run_while_parked settles the debt (sched/lend.cpp).
    owe_poller_from_thread();
    return;
  }
  if (w->current != nullptr) {
    // The waiting goroutine is about to park here; this worker either runs
    // dry and polls (find_runnable, then go_idle's role), or runs something
    // else first and settles the debt then. Poking an idle worker now
    // would cost a futex wake and its polls per I/O wait, where Go's
    // running-dry worker simply polls (1.25x Go's CPU on a UDP ping-pong
    // at GOMAXPROCS=2 before).
    w->poller_owed = true;
    return;
  }
  poke_sleeper();
}

void scheduler::ensure_poller() noexcept {
  // seq_cst; pairs with the store in go_idle (see there).
  if (poller_present_.load(std::memory_order_seq_cst)) return;
  poke_sleeper();
}

void scheduler::poke_sleeper() noexcept {
  worker* s = nullptr;
  bool polling = false;
  {
    std::lock_guard<spin_mutex> lock(sched_mu_);
    if (timer_sleeper_ != nullptr) {
      s = timer_sleeper_;
      polling = s->in_netpoll;
      // Take it out of the role now, so that a second earlier timer does
      // not wake it twice; it leaves the idle list itself when it wakes.
      // Except from the poller: the role is also "the one worker in the
      // netpoller", and a second idle worker taking it while this one has
      // not yet left the backend could eat the break meant for it and
      // leave two workers blocked there. A repeated break costs nothing
      // (backend_break coalesces).
      if (!polling) timer_sleeper_ = nullptr;
      sleeper_deadline_.store(never, std::memory_order_seq_cst);
    }
  }
  if (s != nullptr) {
    wake_worker(s, polling);
    return;
  }
  // No sleeper: every idle worker (if any) sleeps without a timeout. Wake
  // one (unless one is spinning: it will go idle and take the role).
  notify_work();
}

}  // namespace csp::detail
