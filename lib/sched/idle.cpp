// idle.cpp — the idle/wake protocol: how a worker with nothing to run goes
// to sleep, and how whoever makes work visible wakes one, with no lost
// wake-up and no busy idle. Go's wakep/resetspinning/findrunnable's idle
// half; Tokio's idle.rs.
//
// State (scheduler.hpp): the idle list idle_ and its count n_idle_ (both
// under sched_mu_; n_idle_ also read without it), the spinning count
// n_spinning_, each worker's parker, and worker::woken_spinning.
//
// Every path that makes work visible to other workers goes through
// notify_work(): ready() and go() from a thread with no slot, a yield,
// retire's hand-over, a borrower's give_back, the monitor's moves, a
// spare's drain, the last spinner to find work (stop_spinning), timers
// and the poller (through ready()), a batch taken from the global queue.
// A push into the caller's own slot (ready() and go() on a worker, a lent
// slot) is work its holder runs itself if nobody else does; it calls
// notify_local_work(), the same check made with seq_cst loads after
// push_local's seq_cst exchange instead of a fence (invariant 2b).
//
// Protocol:
//   - A worker that finds no work spins (steals) for up to 50 µs, then
//     go_idle: stops counting as spinning, joins the idle list, re-checks
//     every queue (work_visible), and only then sleeps on its parker.
//   - notify_work() (Go's wakep) wakes an idle worker only if none spins:
//     a spinner will find the new work itself. It takes the spinning slot
//     for the worker it wakes (n_spinning_ 0 → 1, and woken_spinning), so
//     concurrent notifiers do not wake a second one.
//   - A spinner that finds work stops spinning and, if it was the last,
//     calls notify_work (there may be more work than it took).
//   - Wake-ups may be spurious (a parker token from an earlier poke): a
//     worker that wakes still on the idle list takes itself off and looks
//     again.
//
// Invariants:
//   1. No lost wake-up: for any work made visible, either a worker that is
//      awake (running, spinning, or between joining the idle list and its
//      recheck) will find it, or notify_work wakes one. The seq_cst pair:
//        notifier: push (seq_cst size or queue update); fence; load
//                  n_idle_ and n_spinning_;
//        go_idle:  n_idle_ += 1 (seq_cst, idle list joined); fence; load
//                  every queue (work_visible).
//      In the single total order of the two fences, whichever comes
//      second sees the other's store: the notifier sees the idle worker
//      and wakes it, or the worker's recheck sees the work and leaves the
//      list.
//   2. A spinner is counted in n_spinning_ from its first steal until it
//      finds work or joins the idle list; the decrement precedes its
//      recheck, so work a notifier left to "the spinner" is seen by it.
//      notify_work's count on behalf of a worker it is about to wake is
//      given back under sched_mu_ if it finds none idle: a worker that
//      joins the list afterwards never relies on a phantom spinner.
//   2a. No goroutine is held outside every queue while its holder is not
//      counted as spinning, unless the holder wakes a worker afterwards:
//      a batch taken from the global queue is pushed to the local queue,
//      then notify_work (try_global_batch).
//   2b. ready() on a worker: its run_next exchange and notify_local_work's
//      loads are seq_cst (no fence: on x86 the exchange is a locked
//      instruction and the loads plain moves), so they pair with go_idle
//      as invariant 1's notifier does.
//   3. A worker on the idle list touches no owner-side field of its slot
//      until it is off the list again: from then on its slot may be lent
//      (lend.cpp, invariant 2).
//   4. Only go_idle adds a worker to the idle list, and never a retaken
//      one (monitor.cpp); notify_work, leave_idle_list, a borrower and
//      set_procs remove workers, each under sched_mu_, and each wakes the
//      monitor if it sleeps (wake_monitor_locked).
//   5. The last worker to go idle with no work anywhere runs the deadlock
//      check (deadlock.cpp); a timer, an I/O wait or a blocking call counts
//      in pending_wakers and keeps it quiet.
//   6. The global queue's side of invariant 1 is its count, size(), never
//      a take: a take may fail while size() > 0 (global_queue.hpp: a push
//      between its count and its enqueue, another taker inside its
//      dequeue), so nobody sleeps on a failed take while size() > 0.
//      find_runnable spins on; go_idle goes back to it while size() > 0
//      and, on the idle list, work_visible() reads size(); a borrower that
//      runs dry gives its slot back and then looks at work_visible() and
//      notifies (lend.cpp, invariant 6); retire and the deadlock check read
//      size() too. size() never undercounts (counted before the enqueue),
//      and every push is followed by its pusher's notify_work or
//      notify_local_work: ready() and go() from a thread with no slot, a
//      yield, a local queue's overflow (push_local, then
//      notify_local_work), drain_to_global (retire, give_back, a spare's
//      drain) and the monitor's steal_all_to_global. A failed take is
//      only ever a spin, as long as the other operation lasts.
// The timer/poller sleeper role taken in go_idle has its own pairs
// (sleeper.cpp). test/idle_model_test.cpp model-checks this protocol.
//
// Lock order: sched_mu_ (rank 30) only; wake-ups after it is released,
// except the monitor's (rare).
#include "sched/scheduler.hpp"

#include <algorithm>

#include "base/mono_clock.hpp"
#include "fiber/stack_pool.hpp"
#include "netpoll/netpoll.hpp"
#include "time/timer_heap.hpp"

namespace csp::detail {

void scheduler::notify_work() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (n_idle_.load(std::memory_order_seq_cst) == 0) return;
  if (n_spinning_.load(std::memory_order_seq_cst) != 0) return;
  int zero = 0;
  // We take a spinning slot on the woken worker's behalf, so that other
  // readers see a spinner and do not wake a second one.
  if (!n_spinning_.compare_exchange_strong(zero, 1, std::memory_order_seq_cst)) return;
  worker* w = nullptr;
  bool polling = false;
  {
    std::lock_guard<spin_mutex> lock(sched_mu_);
    if (idle_.empty()) {
      // Give the spinning slot back before unlocking, as Go's wakep: a
      // worker that joins the idle list after us must not count on a
      // spinner that is not there (invariant 2; test/idle_model_test.cpp
      // found the interleaving when this came after the unlock).
      n_spinning_.fetch_sub(1, std::memory_order_seq_cst);
      return;
    }
    w = idle_.back();  // LIFO: the most recently idle worker has the warmest cache
    polling = w->in_netpoll;
    idle_.pop_back();
    w->in_idle_list = false;
    w->woken_spinning = true;
    n_idle_.fetch_sub(1, std::memory_order_seq_cst);
    wake_monitor_locked();
  }
  wake_worker(w, polling);
}

// wake_worker wakes an idle worker where it sleeps: the timer sleeper may
// be waiting in the netpoller rather than on its futex. in_netpoll was read
// under sched_mu_; if the worker has left the poller since, the break makes
// its next poll return at once (a spurious wake-up, which go_idle handles).
void scheduler::wake_worker(worker* w, bool in_netpoll) noexcept {
  if (in_netpoll) backend_break();
  else w->sleep.notify();
}

void scheduler::stop_spinning(worker* w) noexcept {
  if (!w->spinning) return;
  w->spinning = false;
  // If we were the last spinner, there may be more work than we can take:
  // let another worker look (Go's resetspinning).
  if (n_spinning_.fetch_sub(1, std::memory_order_seq_cst) == 1) notify_work();
}

bool scheduler::work_visible() const noexcept {
  if (global_.size() > 0) return true;
  int n = nstarted_.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i) {
    worker* v = workers_[i].load(std::memory_order_acquire);
    if (!v->runq.empty() || v->run_next.load(std::memory_order_seq_cst) != nullptr) return true;
  }
  return false;
}

void scheduler::leave_idle_list(worker* w) {
  if (!w->in_idle_list) return;
  idle_.erase(std::find(idle_.begin(), idle_.end(), w));
  w->in_idle_list = false;
  n_idle_.fetch_sub(1, std::memory_order_seq_cst);
  wake_monitor_locked();
}

void scheduler::go_idle(worker* w) {
  // Full timer check: a due timer may make work for us.
  if (check_timers(/*full=*/true)) return;
  if (global_.size() > 0) return;
  // From the moment we are on the idle list our slot may be lent to a
  // blocked thread (sched/lend.cpp), so every owner-side field is settled
  // before: the spinning count (the recheck below covers the work a
  // readier saw no spinner for) and the debt to the poller role, kept
  // here until we take the role, see it held, or own the slot again.
  if (w->spinning) {
    w->spinning = false;
    n_spinning_.fetch_sub(1, std::memory_order_seq_cst);
  }
  bool poller_owed = w->poller_owed;
  w->poller_owed = false;
  {
    std::lock_guard<spin_mutex> lock(sched_mu_);
    if (w->retaken.load(std::memory_order_relaxed)) {
      // Retaken while on g0 (the OS kept us off the CPU a whole monitor
      // period): the slot is another thread's now; find_runnable makes us
      // a spare.
      w->poller_owed = poller_owed;
      return;
    }
    idle_.push_back(w);
    w->in_idle_list = true;
    n_idle_.fetch_add(1, std::memory_order_seq_cst);
  }
  // seq_cst; pairs with the fence in ready()/notify_work(): a readier that did
  // not see us idle pushed its work before our recheck reads the queues.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (work_visible()) {
    std::unique_lock<spin_mutex> lock(sched_mu_);
    if (w->in_idle_list) {
      leave_idle_list(w);
      lock.unlock();
      w->spinning = true;
      n_spinning_.fetch_add(1, std::memory_order_seq_cst);
      w->poller_owed = poller_owed;
      return;
    }
    // A waker already took us off the list; its notify is on the way.
  } else if (n_idle_.load(std::memory_order_seq_cst) + n_retired_snapshot() ==
             nstarted_.load(std::memory_order_acquire)) {
    // Returns at once while a timer is armed (pending_wakers): then the
    // timer sleeper below sleeps until it.
    check_deadlock();
  }

  // Take the timer-sleeper role if it is free.
  bool sleeper = false;
  {
    std::lock_guard<spin_mutex> lock(sched_mu_);
    // A debt to the poller role (io_wait_starting) is paid here: we take
    // the role, or another worker holds it already.
    if (timer_sleeper_ != nullptr) poller_owed = false;
    if (w->in_idle_list && timer_sleeper_ == nullptr) {
      poller_owed = false;
      timer_sleeper_ = w;
      sleeper = true;
      // With a netpoller the sleeper waits in it: I/O readiness, a timer
      // and a waker's backend_break all end that wait.
      w->in_netpoll = netpoll_inited();
      // seq_cst; pairs with ensure_poller(): a task that starts waiting
      // for I/O after this sees a poller; one before it, we see in the
      // backend (its fd's events are queued there).
      if (w->in_netpoll) poller_present_.store(true, std::memory_order_seq_cst);
      // seq_cst: the sleeper's half of the Dekker pair; see timer_armed().
      sleeper_deadline_.store(timer_next_deadline.load(std::memory_order_seq_cst),
                              std::memory_order_seq_cst);
    }
  }
  std::int64_t deadline = never;
  if (sleeper) {
    // Re-read after publishing: an armer that read sleeper_deadline_ before
    // we published stored its deadline before that, so we see it here. The
    // stack pool's next trim bounds the sleep too, so that a burst's stacks
    // go back to the OS even when nothing else wakes the runtime.
    stack_pool& pool = stack_pool::instance();
    pool.trim(mono_now_ns());
    deadline = std::min(timer_next_deadline.load(std::memory_order_seq_cst), pool.trim_deadline());
    std::lock_guard<spin_mutex> lock(sched_mu_);
    if (timer_sleeper_ == w) sleeper_deadline_.store(deadline, std::memory_order_seq_cst);
  }

  ready_list polled;
  if (w->in_netpoll) {  // only this worker writes it, so reading it unlocked here is safe
    netpoll_block(deadline, polled);
  } else if (deadline == never) {
    w->sleep.wait();
  } else if (deadline > mono_now_ns()) {
    w->sleep.wait_until(deadline);
  }  // else a timer is already due: do not sleep at all.

  std::unique_lock<spin_mutex> lock(sched_mu_);
  if (w->in_netpoll) poller_present_.store(false, std::memory_order_seq_cst);
  w->in_netpoll = false;
  if (timer_sleeper_ == w) {
    timer_sleeper_ = nullptr;
    sleeper_deadline_.store(never, std::memory_order_seq_cst);
  }
  // Our slot may have been lent to a blocked thread while we slept (only
  // a worker holding no role is lent): we woke to watch the lend, or by a
  // stale token. Not ours to run until it comes back.
  if (w->lend.load(std::memory_order_acquire) != 0) wait_while_lent(w, lock);
  // The slot is ours (and off every list below): a lend that ended while
  // we slept (given back to retire us) may have left its watch flag set,
  // and the next lend must find it clear to wake us (lend.cpp, invariant 4).
  w->lend_watched.store(false, std::memory_order_relaxed);
  if (poller_owed) w->poller_owed = true;  // ours again: settled at our next schedule
  if (w->woken_spinning) {
    w->woken_spinning = false;
    w->spinning = true;  // the waker counted us in n_spinning_
  } else {
    // Timed out, poked by timer_armed, or a stale token: nobody took us off
    // the idle list; do it ourselves and look for work (and timers) again.
    leave_idle_list(w);
  }
  lock.unlock();
  // Off the idle list first: ready() may wake an idle worker, which must
  // not be us. The tasks go to our own queue; we run them next.
  polled.ready_all();
}

bool scheduler::all_idle_locked() const {
  // A retaken thread still runs its goroutine, which may yet act.
  return n_idle_.load(std::memory_order_seq_cst) + n_retired_ ==
             nstarted_.load(std::memory_order_acquire) &&
         slotless_.empty();
}

}  // namespace csp::detail
