// worker_loop.cpp — a worker's scheduler loop: find_runnable looks in the
// worker's own queues, the global queue, the poller and the other workers'
// queues (spinning a while), then goes idle (idle.cpp). Design notes:
// scheduler.hpp.
#include "sched/scheduler.hpp"

#include <algorithm>

#include "base/cpu_relax.hpp"
#include "base/mono_clock.hpp"
#include "netpoll/netpoll.hpp"
#include "time/timer_heap.hpp"

namespace csp::detail {

namespace {

// How long an idle worker keeps looking for work before it sleeps. Longer
// than a goroutine's typical wake-to-block cycle, so a worker that just
// went idle is still spinning when the next goroutine becomes ready and no
// futex wake-up (7–24 µs across threads on the reference VM) is needed;
// short enough that an idle runtime stops burning CPU almost at once.
constexpr std::int64_t spin_budget_ns = 50'000;

// Wake affinity. A goroutine readied by a worker that keeps switching
// goroutines stays on that worker: its owner runs it within a microsecond
// or two, where a thief on another core would pull the goroutine's data and
// its channels' locks across cores, and split a pipeline of goroutines that
// ready each other over two workers contending for the same locks. So a
// spinner
//   - looks at the other workers' queues only every steal_look_gap_ns:
//     each look reads their queue indices and run_next, which the owners
//     write on every ready and every switch, and so costs each of them a
//     cache miss on its next push or pop;
//   - takes from a worker whose schedule count moved since its previous
//     look (it is switching) only a backlog of busy_backlog goroutines or
//     more; from one whose count stood still for a whole gap (one goroutine
//     has held it that long) it takes half of whatever is queued, as before;
//   - takes anything, run_next too, at its last look.
// Measured at GOMAXPROCS=2 on the reference VM against looking every 0.6 µs
// and taking any queued goroutine (bench/RESULTS.md, "Wake affinity"): Go's
// test/chan/doubleselect.go with the loop in a goroutine 1,440 -> 307 ns per
// item (GOMAXPROCS=1: 290), context_switch 436 -> 122, pingpong_unbuffered
// 320 -> 170, select_4 258 -> 109; skynet, wg_fanout and spawn_join alike.
constexpr std::int64_t steal_look_gap_ns = 8'000;
constexpr std::uint32_t busy_backlog = 16;

}  // namespace

// steal_looks: each slot's schedtick at the spinner's previous look; a
// slot not looked at yet reads as switching.
struct scheduler::steal_looks {
  std::uint32_t tick[max_workers];
  steal_looks() noexcept { std::fill_n(tick, max_workers, ~0u); }
};

void scheduler::schedule_loop(worker* w) {
  for (;;) {
    goroutine* g = find_runnable(w);
    settle_poller_owed(w);
    execute(w, g);
  }
}

goroutine* scheduler::try_global(worker* w, bool batch) {
  if (global_.size() == 0) return nullptr;
  if (batch) return try_global_batch(w);
  goroutine* g = nullptr;
  return global_.pop_share(&g, 1, 1) != 0 ? g : nullptr;
}

// try_global_batch takes a fair share of the global queue, as Go's
// globrunqget: size/procs + 1, at most half a local queue and no more than
// fits in ours (stealers only ever make room in it); runs the first, queues
// the rest. Never inlined, and called only on g0: its buffer must not
// widen the frames that parked goroutines keep on their stacks.
__attribute__((noinline)) goroutine* scheduler::try_global_batch(worker* w) {
  goroutine* got[run_queue::capacity / 2];
  std::uint32_t room = run_queue::capacity - w->runq.size();
  std::uint32_t limit = std::min<std::uint32_t>(run_queue::capacity / 2, room + 1);
  std::uint32_t n = global_.pop_share(got, static_cast<std::uint32_t>(procs()), limit);
  if (n == 0) return nullptr;
  for (std::uint32_t i = 1; i < n; ++i) w->runq.push(got[i]);
  // The rest was in no queue between the take and the pushes, where an
  // idle worker's recheck could miss it (idle.cpp, invariant 2a). With one
  // slot there is nobody to wake, and the fence is skipped.
  if (n > 1 && procs() > 1) notify_work();
  return got[0];
}

goroutine* scheduler::try_steal(worker* w, bool take_run_next, steal_looks* looks) {
  int n = nstarted_.load(std::memory_order_acquire);
  if (n <= 1) return nullptr;
  int start = static_cast<int>(fastrandn(static_cast<std::uint32_t>(n)));
  for (int i = 0; i < n; ++i) {
    const int slot = (start + i) % n;
    worker* v = workers_[slot].load(std::memory_order_acquire);
    if (v == w) continue;
    std::uint32_t min_size = 1;
    if (looks != nullptr && !take_run_next) {
      // Wake affinity (above). relaxed: a stale tick only delays or
      // hastens a steal by one look.
      const std::uint32_t tick = v->schedtick.load(std::memory_order_relaxed);
      if (tick != looks->tick[slot]) min_size = busy_backlog;
      looks->tick[slot] = tick;
    }
    if (goroutine* g = v->runq.steal_into(w->runq, min_size)) {
      w->stats.steals.add();
      return g;
    }
    if (take_run_next && v->run_next.load(std::memory_order_relaxed) != nullptr) {
      if (goroutine* g = v->run_next.exchange(nullptr, std::memory_order_acq_rel)) {
        w->stats.steals.add();
        return g;
      }
    }
  }
  return nullptr;
}

goroutine* scheduler::find_runnable(worker* w) {
  for (;;) {
    if (exiting.load(std::memory_order_relaxed)) w->sleep.wait_forever();
    // The monitor gave our slot to another thread while we ran one
    // goroutine too long (monitor.cpp): wait, slotless, to be given one.
    if (__builtin_expect(w->retaken.load(std::memory_order_relaxed), 0)) {
      become_spare(w);
      continue;
    }
    if (w->index >= nprocs_.load(std::memory_order_relaxed)) {
      retire(w);
      continue;
    }
    // A plain thread blocked in csp wants a slot to run goroutines on
    // while it waits (sched/lend.cpp): offer ours.
    if (__builtin_expect(lend_wanted_.load(std::memory_order_relaxed) > 0, 0) && offer_slot(w)) continue;
    check_timers(/*full=*/false);
    // Every 61st schedule, as the global queue check: I/O that became ready
    // while every worker was busy (no idle worker is in the poller).
    if (w->schedtick.load(std::memory_order_relaxed) % 61 == 60) netpoll_poll_busy(/*rate_limited=*/true);
    if (goroutine* g = try_local(w)) {
      stop_spinning(w);
      return g;
    }
    if (goroutine* g = try_global(w, true)) {
      stop_spinning(w);
      return g;
    }
    // Out of work: look for ready I/O before stealing (Go's findrunnable).
    if (netpoll_poll_busy(/*rate_limited=*/false)) continue;
    // Spin: steal from the others for a while before sleeping. run_next is
    // left to its owner (it is about to run it) until the last round: then
    // the owner has held it for the whole spin, so it is busy with a long
    // goroutine, and taking it is right.
    if (!w->spinning) {
      w->spinning = true;
      n_spinning_.fetch_add(1, std::memory_order_seq_cst);
    }
    std::int64_t deadline = mono_now_ns() + spin_budget_ns;
    goroutine* g = nullptr;
    bool polled = false;
    steal_looks looks;
    for (int round = 0; g == nullptr; ++round) {
      // A blocked plain thread waiting for a slot (sched/lend.cpp) ends
      // the spin: it will run what comes, on this slot.
      bool last = mono_now_ns() >= deadline || lend_wanted_.load(std::memory_order_relaxed) > 0;
      g = try_steal(w, last, &looks);
      if (g == nullptr) g = try_global(w, true);
      if (g != nullptr || last) break;
      // While tasks wait for I/O and nobody blocks in the poller, the spin
      // polls too: readiness is the work most likely to come (the
      // non-blocking poll is one system call, and spinning is burning the
      // CPU anyway).
      if (netpoll_poll_busy(/*rate_limited=*/false)) {
        polled = true;
        break;
      }
      // Wait out the gap without touching the others' lines; a blocked
      // plain thread asking for a slot ends it at once.
      const std::int64_t next_look = mono_now_ns() + steal_look_gap_ns;
      do {
        for (int i = 0; i < 32; ++i) cpu_relax();
      } while (mono_now_ns() < next_look && lend_wanted_.load(std::memory_order_relaxed) == 0);
    }
    if (polled) continue;  // what it found is in our own queues
    if (g != nullptr) {
      stop_spinning(w);
      return g;
    }
    go_idle(w);
  }
}

// check_timers runs due timers on this worker's g0. The cheap form (every
// schedule) costs one relaxed load when no timer is armed, and a coarse
// clock read (a few ns, no syscall) when none is near; the precise clock is
// read only within a few coarse ticks of the earliest deadline.
bool scheduler::check_timers(bool full) noexcept {
  // relaxed: see timer_next_deadline; a stale value delays a fire only to
  // the next check, and go_idle's full check re-reads with seq_cst.
  std::int64_t next = timer_next_deadline.load(full ? std::memory_order_seq_cst : std::memory_order_relaxed);
  if (next == never) return false;
  if (!full) {
    // Skip the precise read while the deadline is far off by the coarse
    // clock. The coarse clock lags by its resolution and, on a tickless
    // VM, more (7.9 ms measured at a 4 ms resolution), so the margin is
    // four resolutions; a lag beyond it only delays the fire to a later
    // check (go_idle's full check, or the timer sleeper), never loses it.
    static const std::int64_t margin = 4 * coarse_resolution_ns();
    if (next > coarse_now_ns() + margin) return false;
  }
  std::int64_t now = mono_now_ns();
  if (next > now) return false;
  return run_due_timers(now);
}

}  // namespace csp::detail
