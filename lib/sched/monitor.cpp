// monitor.cpp — Go's sysmon: a thread that watches the slots and moves one
// off a thread stuck in a single goroutine (Go's retake and handoffp).
//
// Why: a goroutine that computes for seconds, spins on an atomic, or
// blocks in a plain read(2), sleep or third-party call keeps its worker
// thread, and with it the slot's queue, from every other goroutine,
// timer and the netpoller: at gomaxprocs(1) the whole program. Go
// preempts such a goroutine or, in a system call, hands its P to another
// M. A fiber cannot be preempted, so csp does the second for all of them:
// the slot (run_next, local queue: the P) goes to another thread, and the
// stuck thread keeps only its goroutine. gomaxprocs counts slots, not
// threads; runtime::blocking stays the explicit and cheaper form (no
// thread is parked with the goroutine).
//
// The monitor wakes every monitor_period while any slot is busy and
// samples each busy slot's schedtick (bumped as each goroutine starts). A slot
// whose tick has not moved for a whole period has run one goroutine (or
// its g0, descheduled by the OS) at least that long. If work waits that
// only a slot can run (slot_needed: queued on it, the global queue with
// no idle worker, a due timer no sleeper waits for, I/O with nobody in
// the poller), the monitor wakes an idle worker if there is one, and
// otherwise retakes the slot:
//   1. under sched_mu_: a spare thread (or a new one) gets the slot's
//      index, the stuck thread is marked retaken and listed in slotless_,
//      and workers_[index] names the spare;
//   2. the stuck thread's queued goroutines move to the global queue (the
//      monitor steals them, as any thread but the owner may);
//   3. the spare is woken (or started) and runs the slot.
// The stuck thread sees `retaken` at its goroutine's next switch: ready()
// then goes to the global queue, next_for_handoff hands over to nobody,
// and back on g0 it drains what it queued meanwhile and becomes a spare
// (become_spare), asleep until a retake gives it a slot. A slot lent to
// the blocked main thread (lend.cpp) is retaken the same way: the borrower
// gives it back at its next switch, and the worker's own thread becomes
// the spare. A held slot is left to lend.cpp's watch.
//
// Invariants:
//   1. Each slot index names one thread in workers_[]; a retaken thread is
//      in none, only in all_workers_ (stats, dump). Only a retake changes
//      workers_[i], under sched_mu_, and only for a busy slot: not on the
//      idle list, not retired, not held.
//   2. A retaken thread never joins the idle list, retires or lends: each
//      of those checks `retaken` under sched_mu_, where it is set.
//   3. Nothing queued on a retaken thread is stranded: ready() reads
//      `retaken` before it pushes locally; a push that raced the retake is
//      moved to the global queue by the monitor at its next period (it
//      drains slotless_ threads every period) or by the thread itself when
//      it becomes a spare.
//   4. The deadlock detector counts a slotless thread busy (its goroutine
//      may still act): all_idle_locked() requires slotless_ to be empty.
//   5. The monitor sleeps without a timeout only after monitor_quiet_periods
//      periods with every slot idle, slotless_ empty and the global queue
//      empty (idle CPU: none);
//      whatever takes a worker off the idle list, out of retirement, or
//      starts one wakes it (wake_monitor_locked), under the same sched_mu_
//      as its decision, so no wake-up is lost.
//   6. Threads are capped (max_threads, less room for every slot gomaxprocs
//      may start); past it no retake happens (the stuck thread stalls its
//      slot, as before the monitor), said once on standard error.
//   7. A backstop, not a protocol: work left on the global queue for a
//      whole period with workers idle and none spinning gets an idle worker
//      woken, so that a lost wake-up (a bug) costs 10-20 ms, not a stall.
//
// The monitor is also the runtime's clock for diagnostics: it publishes
// the time at each period (sampled_clock.hpp: park stamps read it instead
// of a clock) and, per worker, when it first saw the current schedtick
// (seen_tick_at: the dump's "running, 2.1s without yielding"). Both may
// lag by a period; neither ever runs ahead, so a stall is never overstated.
//
// Lock order: sched_mu_ only; the global queue is pushed and threads are
// woken after it is released.
#include <algorithm>
#include <thread>

#include "base/cpu_relax.hpp"
#include "debug/fatal.hpp"
#include "sched/sampled_clock.hpp"
#include "sched/scheduler.hpp"
#include "time/timer_heap.hpp"

namespace csp::detail {

namespace {

// How long a slot may run one goroutine while work waits before the
// monitor moves it to another thread: Go's forcePreemptNS (10 ms), and
// the dump's stall report.
constexpr std::int64_t monitor_period_ns = 10'000'000;

// Quiet periods (every slot idle) before the monitor sleeps until a slot
// gets busy: a program with short bursts keeps it ticking rather than
// paying a futex wake-up per burst; an idle program stops it within 50 ms.
constexpr int monitor_quiet_periods = 5;

}  // namespace

void scheduler::start_monitor() {
  std::thread([this] {
    // Counted by the thread itself, as worker_main: a count ahead of the
    // thread would hide a live user thread from the deadlock check. A check
    // that ran before this count saw one thread too many and kept quiet,
    // and nothing may trigger another: check once more now.
    add_runtime_threads(1);
    check_deadlock();
    monitor_loop();
  }).detach();
}

void scheduler::wake_monitor_locked() noexcept {
  if (!monitor_asleep_) return;
  monitor_asleep_ = false;
  monitor_sleep_.notify();  // rare: once per busy spell after a quiet one
}

void scheduler::monitor_loop() noexcept {
  // A slot's last sample; the tick it saw is the worker's seen_tick.
  struct sample {
    worker* w = nullptr;
    bool busy = false;
  };
  std::vector<sample> samples(max_workers);
  std::vector<worker*> to_drain;
  int quiet = 0;
  bool warned_cap = false;
  bool global_seen_unwoken = false;
  for (;;) {
    monitor_sleep_.wait_until(mono_now_ns() + monitor_period_ns);
    if (exiting.load(std::memory_order_relaxed)) monitor_sleep_.wait_forever();
    const std::int64_t now = mono_now_ns();
    sampled_clock::publish(now);
    worker* started = nullptr;  // a new thread for a retaken slot
    worker* woken = nullptr;    // a spare given a retaken slot
    bool wake_idle = false;
    bool sleep = false;
    to_drain.clear();
    {
      std::lock_guard<spin_mutex> lock(sched_mu_);
      const int n = std::min(nstarted_.load(std::memory_order_acquire), nprocs_.load(std::memory_order_relaxed));
      bool any_busy = !slotless_.empty();
      for (int i = 0; i < n; ++i) {
        worker* w = workers_[i].load(std::memory_order_relaxed);
        const bool busy = !w->in_idle_list && !w->retired &&
                          w->lend.load(std::memory_order_relaxed) != lend_held;
        const std::uint32_t tick = w->schedtick.load(std::memory_order_relaxed);
        const bool moved = tick != w->seen_tick.load(std::memory_order_relaxed);
        if (moved) {
          w->seen_tick_at.store(now, std::memory_order_relaxed);
          w->seen_tick.store(tick, std::memory_order_relaxed);
        }
        sample& s = samples[static_cast<std::size_t>(i)];
        const bool stuck = busy && s.busy && s.w == w && !moved;
        s = sample{w, busy};
        any_busy = any_busy || busy;
        if (!stuck || started != nullptr || woken != nullptr || !slot_needed(w)) continue;
        if (n_idle_.load(std::memory_order_relaxed) > 0) {
          wake_idle = true;  // an idle worker can take the work (and steals run_next)
          continue;
        }
        bool fresh = false;
        worker* spare = retake_locked(i, w, fresh);
        if (spare == nullptr) {
          if (!warned_cap) {
            warned_cap = true;
            write_stderr("csp: the monitor cannot move a slot off a stuck thread: "
                         "the cap on worker threads is reached\n");
          }
          continue;
        }
        (fresh ? started : woken) = spare;
        samples[static_cast<std::size_t>(i)] = sample{spare, false};
      }
      // Backstop for a lost wake-up (none is known; idle.cpp's invariant 1
      // says none can happen): work on the global queue, idle workers, and
      // nobody spinning to find it, at two looks a period apart.
      const bool global_unseen = global_.size_relaxed() > 0 && n_idle_.load(std::memory_order_relaxed) > 0 &&
                                 n_spinning_.load(std::memory_order_relaxed) == 0;
      if (global_unseen && global_seen_unwoken) wake_idle = true;
      global_seen_unwoken = global_unseen;
      any_busy = any_busy || global_.size_relaxed() > 0;
      to_drain = slotless_;
      if (any_busy) {
        quiet = 0;
      } else if (++quiet >= monitor_quiet_periods) {
        monitor_asleep_ = true;
        sleep = true;
        quiet = 0;
      }
    }
    // Invariant 3: what a retaken thread queued goes where a slot takes it.
    std::uint32_t moved = 0;
    for (worker* w : to_drain) moved += steal_all_to_global(w);
    if (started != nullptr) std::thread(worker_main, started).detach();
    if (woken != nullptr) woken->sleep.notify();
    if (moved > 0 || wake_idle) {
      notify_work();
    }
    if (sleep) sampled_clock::publish(0);  // parks read the coarse clock meanwhile
    while (sleep) {
      monitor_sleep_.wait();
      std::lock_guard<spin_mutex> lock(sched_mu_);
      sleep = monitor_asleep_;  // a stale token: still asleep
    }
    sampled_clock::publish(mono_now_ns());
  }
}

worker* scheduler::retake_locked(int index, worker* stuck, bool& fresh) {
  worker* s = nullptr;
  if (!spares_.empty()) {
    s = spares_.back();
    spares_.pop_back();
    s->spare = false;
    fresh = false;
  } else {
    const int m = nthreads_.load(std::memory_order_relaxed);
    if (m >= max_threads - max_workers) return nullptr;  // room stays for gomaxprocs' slots
    s = new worker();
    s->thread_no = m;
    s->rand_state = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(m + 1);
    all_workers_[m] = s;
    nthreads_.store(m + 1, std::memory_order_release);
    fresh = true;
  }
  // The spare reads these after its wake-up (the parker's release/acquire,
  // or the thread's start).
  s->index = index;
  s->retaken.store(false, std::memory_order_relaxed);
  stuck->retaken.store(true, std::memory_order_relaxed);
  slotless_.push_back(stuck);
  // release; pairs with stealers' acquire: the spare's queue is initialized.
  workers_[index].store(s, std::memory_order_release);
  retakes_.fetch_add(1, std::memory_order_relaxed);
  return s;
}

std::uint32_t scheduler::steal_all_to_global(worker* w) noexcept {
  // Called by the monitor only, so this scratch queue is its own.
  static run_queue scratch;
  std::uint32_t total = 0;
  goroutine* batch[run_queue::capacity / 2 + 2];
  for (;;) {
    std::uint32_t n = 0;
    if (goroutine* g = w->runq.steal_into(scratch)) {
      batch[n++] = g;
      while (goroutine* more = scratch.pop()) batch[n++] = more;
    }
    if (goroutine* g = w->run_next.exchange(nullptr, std::memory_order_acq_rel)) batch[n++] = g;
    if (n == 0) return total;
    global_push_batch(batch, n);
    total += n;
  }
}

void scheduler::become_spare(worker* w) noexcept {
  stop_spinning(w);
  settle_poller_owed(w);
  if (drain_to_global(w) > 0) {
    notify_work();
  }
  std::unique_lock<spin_mutex> lock(sched_mu_);
  slotless_.erase(std::find(slotless_.begin(), slotless_.end(), w));
  w->spare = true;
  spares_.push_back(w);
  while (w->spare) {  // stale tokens: sleep until a retake clears it
    lock.unlock();
    w->sleep.wait();
    lock.lock();
  }
  // A retake gave us its slot: index set, retaken cleared.
  w->run_next_streak = 0;
}

}  // namespace csp::detail
