// lend.cpp — the main thread, blocked in csp, runs goroutines on an idle
// worker's slot, as Go's M0 runs the other goroutines while main blocks.
// (Other plain threads do not: see run_while_parked.)
//
// Why: a plain thread (main without csp::run) that receives from a
// goroutine in a steady loop would otherwise sleep on its futex for each
// item and be woken across threads (7–24 µs each on the reference VM, plus
// the goroutine's side): 10–50× Go's time. Holding a slot, the thread runs
// the goroutine that answers it itself: fiber switches, no system call.
//
// The slot is a worker's scheduling state (run_next, the owner end of its
// queue, stack cache, id batch, stats, g0); worker::lend says who holds it:
//   owned    the worker's own thread (the only state without lending);
//   running  a borrower thread runs the scheduler loop on it (run_lent);
//   held     the borrower was readied and is back in its own code, keeping
//            the slot: goroutines it readies go to the slot's run_next, and
//            when it blocks again it runs them without taking a lock.
//
// Transitions:
//   owned → running  borrow_idle_worker, under sched_mu_: only a worker on
//                    the idle list that holds no role (not the timer
//                    sleeper, not in the netpoller, not retired). It
//                    leaves the idle list; its thread sleeps on.
//   running → held   run_lent, once the borrower's task is readied (release).
//   held → running   the borrower blocks again or readies a goroutine (CAS).
//   held → owned     the worker's own thread reclaims a slot whose borrower
//                    has not come back for a whole monitor period (CAS).
//   running → owned  give_back, under sched_mu_: nothing left to run; the
//                    worker goes back on the idle list.
//
// Invariants:
//   1. One thread at a time uses the slot's owner side: the worker's thread
//      while owned, the borrower while running, nobody while held. Both
//      sides leave held by CAS, so exactly one wins; acquire/release on the
//      lend word (or sched_mu_) orders each hand-over.
//   2. A worker's own thread touches no owner-side field between putting
//      itself on the idle list and waking: from then on it may be lent
//      (go_idle). When it wakes it checks the lend word under sched_mu_,
//      and leaves the idle list in the same critical section.
//   3. A lent worker is on no list: notify_work never picks it, and the
//      deadlock detector counts it busy (its borrower is running).
//   4. A held slot is watched: the first running → held of a lend wakes the
//      worker's thread, which then wakes every monitor period and reclaims
//      a slot left held with no re-entry for a whole period, if work waits
//      that only a slot can run (slot_needed), and after ten such periods
//      in any case, which ends the watch (no idle cost). Goroutines
//      queued there are never stranded, even at GOMAXPROCS=1 with the
//      borrower in a plain system call; other workers steal them sooner.
//   5. A borrower sleeps only after give_back: a sleeping thread never
//      holds a slot.
//   6. give_back rechecks the queues after putting the slot on the idle
//      list (as go_idle does), and wakes a worker if it finds work. A
//      lent slot is on no list, so a thread that readies a goroutine onto
//      the global queue meanwhile sees no idle worker and wakes nobody; at
//      GOMAXPROCS=1 nothing else would run it (a slot lent afresh has no
//      watch, invariant 4), and main and the worker's thread both slept
//      with it queued (lend_test: "a slot given back while another thread
//      queues a goroutine still runs it").
//
// Lock order: sched_mu_ as everywhere in the scheduler; nothing waits on
// the lend word.
#include <cstdint>

#include "base/cpu_relax.hpp"

#include "fiber/stack_guard.hpp"
#include "netpoll/netpoll.hpp"
#include "sched/dump.hpp"
#include "sched/scheduler.hpp"
#include "time/timer_heap.hpp"

namespace csp::detail {

namespace {

// How long a held slot may go without its borrower coming back before the
// worker's thread takes it back: the worst delay of a goroutine queued
// there while the borrower is away in non-csp code with no other worker
// awake. Go's sysmon retakes a P from a system call after 20 µs to 10 ms.
constexpr std::int64_t monitor_period_ns = 1'000'000;

// A kept slot whose borrower has been away this many monitor periods is
// taken back even with no work waiting: the watch (a wake-up per period)
// must not outlast a steady exchange, or an idle program would pay for it.
constexpr int idle_reclaim_periods = 10;

// How long a thread about to park waits for a spinning worker to go idle
// so that it can take its slot: about a spin's length.
constexpr std::int64_t lend_wait_ns = 20'000;

// initial-exec: see park.cpp. All read on the borrowing thread only, on
// its own stack (never from a goroutine: those see tls_worker instead).
__attribute__((tls_model("initial-exec"))) thread_local worker* tls_held = nullptr;
__attribute__((tls_model("initial-exec"))) thread_local bool tls_g0_ready = false;
__attribute__((tls_model("initial-exec"))) thread_local bool tls_poller_owed = false;
__attribute__((tls_model("initial-exec"))) thread_local fiber::state tls_g0;

}  // namespace

void owe_poller_from_thread() noexcept { tls_poller_owed = true; }

bool scheduler::run_while_parked(thread_task* t) noexcept {
  const bool owed = tls_poller_owed;
  tls_poller_owed = false;
  // Only the main thread: it stands for Go's main goroutine, whose thread
  // runs the others (csp::run's too). Any other std::thread is the
  // program's own, with its own locks, thread-locals, priority and signal
  // mask; running arbitrary goroutines there would surprise it.
  if (t != main_thread_task()) {
    if (owed) ensure_poller();
    return false;
  }
  worker* w = nullptr;
  if (!exiting.load(std::memory_order_relaxed)) {
    w = tls_held;
    if (w != nullptr) {
      std::uint32_t expected = lend_held;
      // acquire; pairs with the release stores of held (ours) and owned
      // (a reclaim): the slot's owner side is as its last holder left it.
      if (!w->lend.compare_exchange_strong(expected, lend_running, std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
        w = nullptr;  // reclaimed by its worker
        tls_held = nullptr;
      }
    }
    if (w == nullptr) w = borrow_idle_worker();
    if (w == nullptr && nstarted_.load(std::memory_order_acquire) > 0) {
      // Every slot is busy (at GOMAXPROCS=1, the one worker runs or spins
      // after the goroutine that will answer us): ask for one. A worker
      // offers its slot at its next schedule (offer_slot), and a spinning
      // one goes idle, so that we run what comes rather than wait across
      // threads.
      lend_wanted_.fetch_add(1, std::memory_order_relaxed);
      const std::int64_t until = mono_now_ns() + lend_wait_ns;
      bool woken = false;
      do {
        for (int i = 0; i < 32 && !woken; ++i) {
          cpu_relax();
          woken = t->woken.load(std::memory_order_acquire) == woken_ready;
        }
        if (woken) break;
        if (worker* o = lend_offer_.load(std::memory_order_relaxed);
            o != nullptr && lend_offer_.compare_exchange_strong(o, nullptr, std::memory_order_acq_rel)) {
          w = o;  // acq_rel; pairs with offer_slot's release: its owner side as it left it
          break;
        }
        if (n_idle_.load(std::memory_order_relaxed) > 0) w = borrow_idle_worker();
      } while (w == nullptr && mono_now_ns() < until);
      lend_wanted_.fetch_sub(1, std::memory_order_relaxed);
      // Readied meanwhile (the loop takes no slot after that): no sleep,
      // and the I/O we waited for, if any, is done.
      if (woken) return true;
    }
  }
  if (w == nullptr) {
    if (owed) ensure_poller();
    return false;
  }
  if (owed) w->poller_owed = true;  // ours now; settled as a worker would
  return run_lent(w, t);
}

worker* scheduler::borrow_idle_worker() noexcept {
  if (n_idle_.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard<spin_mutex> lock(sched_mu_);
  const int procs = nprocs_.load(std::memory_order_relaxed);
  // The most recently idle first: its caches are the warmest.
  for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
    worker* w = *it;
    if (w == timer_sleeper_ || w->in_netpoll || w->retired || w->index >= procs) continue;
    idle_.erase(std::next(it).base());
    w->in_idle_list = false;
    n_idle_.fetch_sub(1, std::memory_order_seq_cst);
    wake_monitor_locked();
    // Under sched_mu_, which the worker's thread holds when it reads it.
    w->lend.store(lend_running, std::memory_order_relaxed);
    return w;
  }
  return nullptr;
}

bool scheduler::run_lent(worker* w, thread_task* t) noexcept {
  if (!tls_g0_ready) {
    fiber::init_thread(tls_g0);
    install_alt_signal_stack();  // a goroutine's overflow here is reported too
    tls_g0_ready = true;
  }
  w->g0 = &tls_g0;
  w->lend_seq.store(w->lend_seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  set_current_worker(w);
  bool woken = false;
  for (;;) {
    // acquire; pairs with ready()'s release exchange, as in wait_woken.
    if (t->woken.load(std::memory_order_acquire) == woken_ready) {
      woken = true;
      break;
    }
    // Retaken (monitor.cpp): a goroutine we ran held the slot too long, and
    // another thread runs it now.
    if (exiting.load(std::memory_order_relaxed) || w->index >= nprocs_.load(std::memory_order_relaxed) ||
        w->retaken.load(std::memory_order_relaxed))
      break;
    check_timers(/*full=*/false);
    if (w->schedtick.load(std::memory_order_relaxed) % 61 == 60) netpoll_poll_busy(/*rate_limited=*/true);
    goroutine* g = try_local(w);
    if (g == nullptr) g = try_global(w, true);
    if (g == nullptr && netpoll_poll_busy(/*rate_limited=*/false)) continue;
    if (g == nullptr) g = try_steal(w, /*take_run_next=*/false);
    if (g == nullptr) break;
    settle_poller_owed(w);
    execute(w, g);
  }
  set_current_worker(nullptr);
  if (!woken || w->retaken.load(std::memory_order_relaxed)) {
    give_back(w);
    tls_held = nullptr;
    return woken;
  }
  // Back to our own code, keeping the slot. Settle what only a running
  // holder can: a debt to the poller role, and a wake-up for goroutines
  // queued here (for parallelism, as ready() from a worker).
  settle_poller_owed(w);
  const bool queued = w->run_next.load(std::memory_order_relaxed) != nullptr || !w->runq.empty();
  w->g0 = &w->own_g0;
  tls_held = w;
  // release; pairs with the acquire CAS of whoever takes the slot next.
  w->lend.store(lend_held, std::memory_order_release);
  if (!w->lend_watched.load(std::memory_order_relaxed)) {
    w->lend_watched.store(true, std::memory_order_relaxed);
    w->sleep.notify();  // invariant 4: its thread starts watching
  }
  if (queued) notify_local_work();
  return true;
}

void scheduler::give_back(worker* w) noexcept {
  // Queued goroutines remain only when we stop for exit or a lower
  // gomaxprocs: hand them to the others, as retire() does.
  const std::uint32_t n = drain_to_global(w);
  const bool owed = w->poller_owed;
  w->poller_owed = false;
  w->g0 = &w->own_g0;
  bool wake_its_thread = false;
  {
    std::lock_guard<spin_mutex> lock(sched_mu_);
    w->lend.store(lend_owned, std::memory_order_release);
    if (w->index < nprocs_.load(std::memory_order_relaxed) && !exiting.load(std::memory_order_relaxed) &&
        !w->retaken.load(std::memory_order_relaxed)) {
      // Idle again, as before the lend; its thread still sleeps (or
      // watches, and finds the slot owned at its next look).
      idle_.push_back(w);
      w->in_idle_list = true;
      n_idle_.fetch_add(1, std::memory_order_seq_cst);
    } else {
      wake_its_thread = true;  // to retire, or to become a spare (retaken)
    }
  }
  if (wake_its_thread) w->sleep.notify();
  // The slot is idle now, so look again as go_idle does (invariant 6):
  // seq_cst; pairs with notify_work's fence (idle.cpp, invariant 1). A
  // thread that queued a goroutine on the global queue while we ran dry,
  // and read n_idle_ before we joined the idle list, woke nobody (the slot
  // was lent: on no list); we then see its push here. Also covers what we
  // drained.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (n > 0 || work_visible()) notify_work();
  // We ran timers and polled while we held the slot; now someone must sleep
  // until the next deadline, or in the poller (retire() does the same).
  if (owed || (netpoll_inited() && netpoll_io_waiters.load(std::memory_order_seq_cst) > 0))
    ensure_poller();
  else if (std::int64_t next = timer_next_deadline.load(std::memory_order_seq_cst); next != never)
    timer_armed(next);  // pokes a sleeper only if none sleeps until then
}

bool scheduler::offer_slot(worker* w) noexcept {
  stop_spinning(w);
  {
    std::lock_guard<spin_mutex> lock(sched_mu_);
    if (lend_wanted_.load(std::memory_order_relaxed) == 0 ||
        lend_offer_.load(std::memory_order_relaxed) != nullptr ||
        w->index >= nprocs_.load(std::memory_order_relaxed) || exiting.load(std::memory_order_relaxed) ||
        w->retaken.load(std::memory_order_relaxed))
      return false;
    w->lend.store(lend_running, std::memory_order_relaxed);
    // release; pairs with the taker's CAS: our owner side as we leave it.
    lend_offer_.store(w, std::memory_order_release);
  }
  const std::int64_t until = mono_now_ns() + lend_wait_ns;
  while (lend_offer_.load(std::memory_order_relaxed) == w && mono_now_ns() < until)
    for (int i = 0; i < 32; ++i) cpu_relax();
  worker* expected = w;
  if (lend_offer_.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) {
    w->lend.store(lend_owned, std::memory_order_relaxed);  // nobody came: still ours
    return true;
  }
  // Taken: sleep until it comes back (invariant 2: nothing of the owner
  // side is touched from here on).
  std::unique_lock<spin_mutex> lock(sched_mu_);
  wait_while_lent(w, lock);
  // give_back put us on the idle list; a waker may have taken us off.
  if (w->woken_spinning) {
    w->woken_spinning = false;
    w->spinning = true;
  } else {
    leave_idle_list(w);
  }
  return true;
}

bool scheduler::ready_on_held(goroutine* g) noexcept {
  worker* w = tls_held;
  if (w == nullptr) return false;
  std::uint32_t expected = lend_held;
  // acquire/release: a short stay in running, as in run_while_parked.
  if (!w->lend.compare_exchange_strong(expected, lend_running, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
    tls_held = nullptr;
    return false;
  }
  if (w->retaken.load(std::memory_order_relaxed)) {  // monitor.cpp: not a slot any more
    give_back(w);
    tls_held = nullptr;
    return false;
  }
  w->lend_seq.store(w->lend_seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  push_local(w, g);
  w->lend.store(lend_held, std::memory_order_release);
  // We run g when we next block; a wake-up is only for parallelism.
  notify_local_work();
  return true;
}

// slot_needed: a held slot has work that nobody else will run: goroutines
// queued on it, goroutines on the global queue with no idle worker to take
// them, a timer due that no sleeper waits for, or tasks waiting for I/O with nobody in the poller.
// Only then is a slot worth taking back from a borrower that is away (one
// the OS merely preempted for a few milliseconds keeps it). Reads only
// atomics; any thread.
bool scheduler::slot_needed(const worker* w) const noexcept {
  if (w->run_next.load(std::memory_order_relaxed) != nullptr || !w->runq.empty()) return true;
  if (global_.size_relaxed() > 0 && n_idle_.load(std::memory_order_relaxed) == 0) return true;
  const std::int64_t next_timer = timer_next_deadline.load(std::memory_order_relaxed);
  if (next_timer < sleeper_deadline_.load(std::memory_order_relaxed) &&
      next_timer <= mono_now_ns() + monitor_period_ns)
    return true;  // due soon, and no idle worker sleeps until it
  return netpoll_io_waiters.load(std::memory_order_relaxed) > 0 &&
         !poller_present_.load(std::memory_order_relaxed);
}

void scheduler::wait_while_lent(worker* w, std::unique_lock<spin_mutex>& lock) noexcept {
  std::uint64_t seen = w->lend_seq.load(std::memory_order_relaxed);
  int unused_periods = 0;
  // acquire; pairs with give_back's release: the slot as the borrower left it.
  while (w->lend.load(std::memory_order_acquire) != lend_owned) {
    const bool watched = w->lend_watched.load(std::memory_order_relaxed);
    lock.unlock();
    if (watched) w->sleep.wait_until(mono_now_ns() + monitor_period_ns);
    else w->sleep.wait();
    lock.lock();
    const std::uint64_t now_seq = w->lend_seq.load(std::memory_order_relaxed);
    unused_periods = watched && now_seq == seen ? unused_periods + 1 : 0;
    seen = now_seq;
    // Taken back when work waits that only a slot can run, and in any case
    // once the borrower has been away for idle_reclaim_periods: then the
    // watch ends and an idle program costs nothing.
    std::uint32_t expected = lend_held;
    if (unused_periods > 0 && (slot_needed(w) || unused_periods >= idle_reclaim_periods) &&
        w->lend.compare_exchange_strong(expected, lend_owned, std::memory_order_acquire,
                                        std::memory_order_relaxed))
      break;
  }
  w->lend_watched.store(false, std::memory_order_relaxed);
}

}  // namespace csp::detail
