// scheduler.hpp — workers, run queues and the idle protocol.
//
// Design (after Go's proc.go, which explains it best):
//
// A worker is an OS thread with a local run queue (run_queue.hpp) and a
// run_next slot: Go's M and P, fused except in one case. Blocking calls
// go to runtime::blocking's helper threads (lib/sched/blocking.cpp) and
// sockets to the netpoller, so no worker hands its P off for a system
// call; but a plain thread blocked in csp may borrow a worker's slot (its
// P) and run goroutines on it while the worker's thread sleeps, as Go's
// M0 does for main (lib/sched/lend.cpp). gomaxprocs slots run goroutines;
// each holder runs a scheduler loop on its thread's own stack (g0) and
// switches into goroutines with fiber::switch_to. A goroutine switches
// back to g0 to park, yield or exit; g0 then finishes what the goroutine
// could not do on its own stack (release the lock park() was given, queue
// the yielder, free the stack).
//
// Where work goes:
//   - ready() from a worker puts the goroutine in that worker's run_next
//     slot (the woken goroutine runs next on the same core, as Go does for
//     ping-pong); the previous occupant moves to the local queue. run_next
//     is bounded: after run_next_streak_limit consecutive run_next picks the
//     worker takes from its queue first, so two goroutines bouncing a value
//     cannot starve the rest.
//   - go() from a worker does the same (Go's newproc puts the child in
//     run_next).
//   - ready() and go() from a plain thread, gosched(), and the overflow of a
//     full local queue go to the global queue.
//   - An idle worker takes from the global queue, then steals half of a
//     random victim's queue, then (last) a victim's run_next.
//   - Every 61st schedule a worker looks at the global queue first, so
//     goroutines there are not starved by busy local queues (61, as Go: a
//     prime, so it does not beat in time with user loops).
//
// Idle protocol (no lost wake-ups, no busy idle): a worker out of work
// spins, joins the idle list, re-checks every queue and sleeps; whoever
// makes work visible calls notify_work(). States, invariants and the
// seq_cst pairs: lib/sched/idle.cpp. The timer/poller sleeper role below:
// lib/sched/sleeper.cpp.
//
// Timers (lib/time/timer_heap.hpp):
//   - Every schedule checks the earliest deadline (one relaxed load; a
//     coarse-clock comparison; a precise clock read only when a timer is
//     within a few coarse ticks) and runs due timers on g0; go_idle runs them once more before
//     the worker sleeps.
//   - Exactly one idle worker, the timer sleeper, sleeps with a futex
//     timeout until the earliest deadline; the others sleep without one.
//     Arming a timer earlier than sleeper_deadline_ wakes the sleeper (or,
//     with none, an idle worker, which becomes it). The sleeper publishes
//     its deadline and then re-reads timer_next_deadline; the armer
//     publishes next_deadline and then reads sleeper_deadline_ (all
//     seq_cst, Dekker-style): one of the two sees the other, so a new
//     earlier timer is never slept through.
//   - The role passes on by the wake chain: a sleeper woken for work runs
//     it; the goroutines its timers readied call notify_work (ready's usual
//     rule), and the last spinner to find work wakes another idle worker,
//     which, finding nothing, goes idle and takes the free role. A worker
//     that retires while timers are armed wakes one for the same reason.
//   - With a netpoller (lib/netpoll/, once the first socket exists) the
//     timer sleeper waits in epoll_pwait2 instead of its futex, with the
//     earliest timer as the timeout: it is "the one idle worker that
//     waits for the outside world", Go's blocking netpoll in findrunnable.
//     worker::in_netpoll (under sched_mu_) tells a waker to write the
//     poller's eventfd rather than the futex; the role is then not
//     released by the waker (poke_sleeper) but by the poller when it
//     leaves epoll, so two workers are never blocked in it at once (one
//     could eat the other's wake-up). The poller readies what it found
//     after leaving the idle list, into its own queues.
//   - Busy workers poll epoll without blocking only while a task is in
//     IO wait and nobody blocks in the poller: when out of work, and every
//     61st schedule (rate limited). A task starting an I/O wait while no
//     worker holds the role pokes one (ensure_poller). Rejected: a
//     dedicated poller thread (every readiness would cross threads, and
//     the deadlock detector would have to discount it); polling on every
//     schedule (a syscall on the hot path); every idle worker in epoll (a
//     herd per event, and EPOLLET delivers each edge to one of them only).
//   - Rejected: a fixed tick (wakes an idle process 1000 times a second,
//     and lateness is the tick); every idle worker sleeping with a timeout
//     (a herd at each deadline); a dedicated timer thread (every fire
//     crosses threads, and it is a thread that is not a worker, which the
//     deadlock detector would have to discount). Per-worker heaps (Go's
//     choice since 1.14) would spare the global heap lock under many-core
//     timer churn; with one lock held O(log n) the select_timeout loop
//     costs about what the channel allocation does, so one heap stays
//     until a benchmark says otherwise.
//
// Rejected alternatives:
//   - One global lock-free MPMC queue (moodycamel) for all goroutines:
//     simple, but every ready() is a contended CAS on shared lines and the
//     woken goroutine loses its cache-hot core; ping-pong ran several times
//     slower in early measurements of this design family. (The global
//     queue, where threads do meet, is one: global_queue.hpp.)
//   - A dedicated scheduler thread: every wake-up would cross threads
//     (7–24 µs on the reference VM).
//   - Workers waiting on a shared condition variable: thundering herds and
//     a syscall on every ready().
//
// Lending: a blocked plain thread's borrowing, keeping and giving back of
// a worker's slot, and the worker thread's watch over a kept slot, are a
// protocol of their own, stated at the top of lib/sched/lend.cpp.
//
// Lock order (lib/debug/lock_rank.hpp): chan/sync locks → sched_mu_ →
// registry shard → stack_pool. ready() takes sched_mu_ only on the wake
// path (an idle worker exists); the global queue takes no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "base/parker.hpp"
#include "base/spin_mutex.hpp"
#include "debug/tsa.hpp"
#include "fiber/context.hpp"
#include "fiber/stack_pool.hpp"
#include "sched/global_queue.hpp"
#include "sched/goroutine.hpp"
#include "sched/run_queue.hpp"
#include "sched/stats.hpp"

namespace csp::detail {

// What a goroutine asks its worker's g0 to do after switching away.
struct post_switch {
  enum class action : std::uint8_t { none, park, yield, exit } what = action::none;
  void (*unlock)(void*) = nullptr;
  void* arg = nullptr;
};

// worker::lend's states (sched/lend.cpp).
inline constexpr std::uint32_t lend_owned = 0, lend_running = 1, lend_held = 2;

struct alignas(64) worker {
  int index = 0;       // the slot this thread runs; changed only while it is a spare (monitor.cpp)
  int thread_no = 0;   // fixed: scheduler::all_workers_[thread_no] == this
  std::atomic<int> os_tid{0};  // the kernel's id of this worker's thread (quiesce.cpp)
  run_queue runq;
  // run_next: the goroutine to run before the queue. Owner exchanges it;
  // stealers take it only as a last resort (exchange too).
  std::atomic<goroutine*> run_next{nullptr};
  int run_next_streak = 0;       // owner only
  // schedtick counts the goroutines started here; the owner bumps it as
  // one starts (start_running: relaxed load and store, no RMW), the
  // monitor samples it (monitor.cpp).
  std::atomic<std::uint32_t> schedtick{0};
  // The monitor's last sample of schedtick and when it first saw that
  // value (mono ns): a goroutine running here while schedtick still equals
  // seen_tick has held the worker since seen_tick_at at least (the dump's
  // stall report). Written by the monitor only; relaxed.
  std::atomic<std::uint32_t> seen_tick{~0u};
  std::atomic<std::int64_t> seen_tick_at{0};
  // retaken: the monitor gave this thread's slot to another thread while
  // it ran one goroutine too long (monitor.cpp). Set under sched_mu_; the
  // thread reads it at each switch and becomes a spare at its next one.
  std::atomic<bool> retaken{false};
  bool spinning = false;         // owner only; counted in scheduler::n_spinning_
  // poller_owed: a goroutine here began an I/O wait while nobody held the
  // poller role; this worker takes the role when it runs dry, or pokes an
  // idle worker into it once it has other work to run. Owner only.
  bool poller_owed = false;

  // g0: the scheduler context of the thread that holds this slot: its own
  // thread's (own_g0), or a borrower's while lent (sched/lend.cpp).
  fiber::state own_g0;
  fiber::state* g0 = &own_g0;
  goroutine* current = nullptr;  // the goroutine executing here, or null on g0
  post_switch pending;           // set by the goroutine, consumed by g0 or finish_handoff
  goroutine* handoff_from = nullptr;  // the goroutine that handed the worker over directly

  parker sleep;
  // Lending (sched/lend.cpp): who holds this slot, lend_owned/running/held.
  std::atomic<std::uint32_t> lend{0};
  std::atomic<std::uint64_t> lend_seq{0};     // the borrower's re-entries, for the monitor
  std::atomic<bool> lend_watched{false};      // the worker's thread monitors this lend
  // Guarded by scheduler::sched_mu_:
  bool in_idle_list = false;
  bool woken_spinning = false;   // the waker counted us in n_spinning_
  bool retired = false;          // index >= gomaxprocs: parked until raised
  bool in_netpoll = false;       // the timer sleeper, waiting in the netpoller, not on `sleep`
  bool spare = false;            // a thread without a slot, asleep until the monitor gives it one

  std::uint64_t rand_state = 0;  // owner only, fastrand

  // Per-worker stack cache, so spawn/exit stay off the pool's lock.
  static constexpr int stack_cache_size = 16;
  stack stack_cache[stack_cache_size];
  int stack_cache_len = 0;

  // Goroutine ids are handed out in batches to keep spawn off a shared line.
  std::uint64_t next_id = 0, end_id = 0;

  worker_stats stats;            // owner writes; runtime::stats() reads (sched/stats.hpp)
};

class scheduler {
 public:
  // instance starts the runtime on first use. Never destroyed: goroutines
  // still running when main returns are abandoned, as in Go. Inline: every
  // park, ready and spawn asks for it.
  static scheduler& instance() {
    // acquire; pairs with the release in start(): a thread that sees the
    // pointer sees a constructed scheduler.
    scheduler* s = the_instance_.load(std::memory_order_acquire);
    if (__builtin_expect(s != nullptr, 1)) return *s;
    return start();
  }

  // The switch path (switch_away, finish_handoff); worker thread only.
  goroutine* next_for_handoff(worker* w);
  void prepare_stack(worker* w, goroutine* g);
  void after_switch(worker* w, goroutine* g);
  // started is true once instance() has run (cheap, for paths that must not start it).
  static bool started() noexcept;

  // ready puts g (runnable) on a queue and wakes a worker if needed. Any thread.
  void ready(goroutine* g) noexcept;

  // run_while_parked: the main thread parked in csp runs goroutines on a
  // worker's slot until its own task is readied (true), or gives the slot
  // back when there is nothing to run (false: the caller sleeps); any
  // other thread gets false at once.
  // Go's M0 running other goroutines while main blocks. sched/lend.cpp.
  bool run_while_parked(thread_task* t) noexcept;

  // gomaxprocs: see runtime.hpp.
  int set_procs(int n);
  int procs() const noexcept { return nprocs_.load(std::memory_order_relaxed); }

  std::uint64_t new_id() noexcept;

  // The deadlock detector's view (sched/deadlock.cpp).
  bool all_idle_locked() const CSP_REQUIRES(sched_mu_);
  // work_visible: some run queue, run_next slot or the global queue holds work.
  bool work_visible() const noexcept;
  int runtime_threads() const noexcept { return runtime_threads_.load(std::memory_order_acquire); }
  spin_mutex& sched_mutex() CSP_RETURN_CAPABILITY(sched_mu_) { return sched_mu_; }

  // Every worker thread started so far, spares included (monitor.cpp), for
  // runtime::stats() and the dump; thread_worker(m)->thread_no == m.
  int thread_count() const noexcept { return nthreads_.load(std::memory_order_acquire); }
  worker* thread_worker(int m) const noexcept { return all_workers_[m]; }
  // slot_retakes: slots the monitor moved off a stuck thread, ever.
  std::uint64_t slot_retakes() const noexcept { return retakes_.load(std::memory_order_relaxed); }
  // global_pushes: goroutines ever put on the global queue.
  std::uint64_t global_pushes() const noexcept { return global_.pushes(); }

  // Live user goroutines (not counting main).
  std::atomic<std::int64_t> live_goroutines{0};

  // timer_armed is called after a timer was armed as the new earliest, at
  // `when`: wakes the timer sleeper if it sleeps past `when`, or an idle
  // worker if there is no sleeper. Any thread, no lock held.
  void timer_armed(std::int64_t when) noexcept;
  // poke_sleeper wakes the timer sleeper (or, with none, an idle worker) so
  // that it re-decides how to sleep: netpoll calls it once the poller
  // exists. Any thread, no lock held.
  void poke_sleeper() noexcept;
  // io_wait_starting: a task is about to wait for I/O, so someone must
  // poll for it. From a goroutine, its worker owes the poller role
  // (worker::poller_owed) and settles it at its next schedule: it blocks
  // in the poller itself when it runs dry (Go's findrunnable), and only a
  // worker that has other work to run pokes an idle one into the role.
  // From a plain thread, its park settles it: it polls on a borrowed
  // slot, or calls ensure_poller before it sleeps. Any thread.
  void io_wait_starting() noexcept;
  // ensure_poller pokes the sleeper role awake unless a worker holds it in
  // the netpoller, so that an idle worker asleep on its futex starts
  // polling. One seq_cst load when a poller is there. Any thread.
  void ensure_poller() noexcept;
  // settle_poller_owed: w is about to run a goroutine rather than go idle;
  // if it owes the poller role, hand it to an idle worker. Worker only.
  void settle_poller_owed(worker* w) noexcept {
    if (__builtin_expect(w->poller_owed, 0)) {
      w->poller_owed = false;
      ensure_poller();
    }
  }

  // add_runtime_threads counts threads the runtime started (workers, which
  // count themselves once running; runtime::blocking's helpers), which the
  // deadlock detector must not take for user threads that could still act.
  // A count ahead of the thread's existence would hide a live user thread
  // from it (see worker_main); a helper's is covered by its call's count in
  // pending_wakers (blocking.cpp).
  void add_runtime_threads(int n) noexcept { runtime_threads_.fetch_add(n, std::memory_order_acq_rel); }

  // exiting is set when main returns (on_exit): workers stop picking up
  // goroutines so static destructors do not race with them.
  std::atomic<bool> exiting{false};

 private:
  scheduler();
  void start_worker(int index);
  static void worker_main(worker* w);
  void schedule_loop(worker* w);
  goroutine* find_runnable(worker* w);
  goroutine* try_local(worker* w);
  goroutine* try_global(worker* w, bool batch);
  goroutine* try_global_batch(worker* w);
  // try_steal takes work from another slot. `looks`, when given, holds
  // each slot's schedtick at the caller's previous look (wake affinity:
  // worker_loop.cpp); without it any queued goroutine is taken.
  struct steal_looks;
  goroutine* try_steal(worker* w, bool take_run_next, steal_looks* looks = nullptr);
  void execute(worker* w, goroutine* g);
  // notify_work: work was just made visible where any worker may take it
  // (the global queue, a stolen-from queue): wake an idle worker unless
  // one spins. Starts with the seq_cst fence of idle.cpp's invariant 1.
  void notify_work() noexcept;
  // notify_local_work: work went to the caller's own slot (push_local's
  // seq_cst exchange), which it runs itself if nobody else does. seq_cst
  // loads, no fence: idle.cpp, invariant 2b.
  void notify_local_work() noexcept {
    if (n_idle_.load(std::memory_order_seq_cst) > 0 && n_spinning_.load(std::memory_order_seq_cst) == 0)
      notify_work();
  }
  static void wake_worker(worker* w, bool in_netpoll) noexcept;
  void stop_spinning(worker* w) noexcept;
  void go_idle(worker* w);  // sleeps unless work appears on the way
  bool check_timers(bool full) noexcept;  // runs due timers; true if any ran
  void leave_idle_list(worker* w) CSP_REQUIRES(sched_mu_);
  int n_retired_snapshot() const noexcept { return n_retired_atomic_.load(std::memory_order_seq_cst); }
  void global_push(goroutine* g) noexcept { global_.push(&g, 1); }
  void global_push_batch(goroutine** gs, std::uint32_t n) noexcept { global_.push(gs, n); }
  void retire(worker* w);
  // Lending (sched/lend.cpp).
  worker* borrow_idle_worker() noexcept;
  bool run_lent(worker* w, thread_task* t) noexcept;
  void give_back(worker* w) noexcept;
  bool ready_on_held(goroutine* g) noexcept;
  bool offer_slot(worker* w) noexcept;  // true: the slot was lent (and is back), or offered in vain
  bool slot_needed(const worker* w) const noexcept;
  void push_local(worker* w, goroutine* g) noexcept;
  std::uint32_t drain_to_global(worker* w) noexcept;
  // The monitor (sched/monitor.cpp).
  void start_monitor();
  [[noreturn]] void monitor_loop() noexcept;
  worker* retake_locked(int index, worker* stuck, bool& fresh) CSP_REQUIRES(sched_mu_);
  std::uint32_t steal_all_to_global(worker* w) noexcept;
  void become_spare(worker* w) noexcept;
  void wake_monitor_locked() noexcept CSP_REQUIRES(sched_mu_);
  void wait_while_lent(worker* w, std::unique_lock<spin_mutex>& lock) noexcept CSP_REQUIRES(sched_mu_);

  static scheduler& start();  // instance()'s first call
  static int default_procs();
  static inline std::atomic<scheduler*> the_instance_{nullptr};

  static constexpr int max_workers = 256;   // slots (gomaxprocs)
  static constexpr int max_threads = 1024 + max_workers;  // worker threads, spares included (monitor.cpp)
  static constexpr int run_next_streak_limit = 64;

  std::atomic<int> nprocs_{0};         // gomaxprocs
  std::atomic<int> nstarted_{0};       // slots [0, nstarted_) exist
  std::atomic<int> runtime_threads_{0};  // see add_runtime_threads
  // workers_[i]: the thread running slot i. Set before nstarted_ covers
  // it, and changed only by a retake (monitor.cpp), under sched_mu_.
  std::atomic<worker*> workers_[max_workers] = {};
  // all_workers_[m]: every worker thread, by thread_no; written once,
  // before nthreads_ covers it.
  worker* all_workers_[max_threads] = {};
  std::atomic<int> nthreads_{0};

  // Idle workers and the gomaxprocs transition; leaf except for the
  // registry and pool locks below it.
  mutable spin_mutex sched_mu_{lock_rank::scheduler};
  std::vector<worker*> idle_ CSP_GUARDED_BY(sched_mu_);
  std::atomic<int> n_idle_{0};         // == idle_.size(); also read without the lock
  std::atomic<int> n_spinning_{0};
  // lend_wanted_: threads waiting for a slot to borrow (sched/lend.cpp):
  // a worker offers its slot at its next schedule; a spinner stops early.
  std::atomic<int> lend_wanted_{0};
  // lend_offer_: a worker's slot offered to a thread in lend_wanted_, or null.
  std::atomic<worker*> lend_offer_{nullptr};
  int n_retired_ CSP_GUARDED_BY(sched_mu_) = 0;  // workers parked by a lower gomaxprocs
  std::atomic<int> n_retired_atomic_{0};         // == n_retired_, for lock-free readers
  // The timer sleeper: the one idle worker sleeping until the earliest
  // timer (see "Timers" above), or null.
  worker* timer_sleeper_ CSP_GUARDED_BY(sched_mu_) = nullptr;
  // sleeper_deadline_: the deadline the sleeper sleeps to, `never` (INT64_MAX)
  // with no sleeper. Written under sched_mu_, read without it; seq_cst
  // (the Dekker pair with timer_next_deadline, above).
  std::atomic<std::int64_t> sleeper_deadline_{INT64_MAX};
  // poller_present_: the timer sleeper waits in the netpoller. Written
  // under sched_mu_, read without it (seq_cst; see ensure_poller).
  std::atomic<bool> poller_present_{false};

  global_queue global_;  // the global run queue (sched/global_queue.hpp)

  // The monitor (sched/monitor.cpp). Guarded by sched_mu_:
  std::vector<worker*> spares_ CSP_GUARDED_BY(sched_mu_);    // threads without a slot, asleep
  std::vector<worker*> slotless_ CSP_GUARDED_BY(sched_mu_);  // retaken, still in their goroutine
  bool monitor_asleep_ CSP_GUARDED_BY(sched_mu_) = false;     // sleeps until a slot gets busy
  parker monitor_sleep_;
  std::atomic<std::uint64_t> retakes_{0};

  std::atomic<std::uint64_t> id_source_{main_goroutine_id + 1};

};

// current_worker returns the worker running the calling code, or null on a
// plain thread. Never inlined: the answer changes when a goroutine migrates,
// and a cached TLS address would name the old thread's slot.
worker* current_worker() noexcept;
goroutine* current_goroutine() noexcept;
// set_current_worker: a borrowing thread takes (or leaves) a worker's slot.
void set_current_worker(worker* w) noexcept;
// owe_poller_from_thread: a plain thread about to park for I/O; its park
// polls, or pokes the poller role awake (sched/lend.cpp).
void owe_poller_from_thread() noexcept;
// CSP_TLS_ACCESSOR marks such accessors: not inlined, and opaque to the
// caller's interprocedural analysis (GCC's noipa; clang has no noipa but
// skips optnone functions when it infers attributes).
#if defined(__clang__)
#define CSP_TLS_ACCESSOR __attribute__((noinline, optnone))
#else
#define CSP_TLS_ACCESSOR __attribute__((noinline, noipa))
#endif

// goroutine_entry is every goroutine's first frame (sched/scheduler.cpp);
// run_goroutine_body runs its closure and turns an escaping exception into
// Go's panic report (sched/goroutine.cpp).
void goroutine_entry(fiber::transfer t);
void run_goroutine_body(goroutine* g) noexcept;

// switch_away suspends the running goroutine and, with `what` to be done
// once it is off its stack, either hands the worker straight to the next
// goroutine in the worker's own queues (one fiber switch, Boost.Fiber and
// Go's gogo style) or returns to the worker's scheduler loop; returns when
// the goroutine is resumed.
void switch_away(post_switch what) noexcept;

// pending_wakers counts things outside the run queues that can still make a
// goroutine runnable: armed timers, fds in the poller, calls running in
// runtime::blocking. While it is non-zero there is no deadlock.
extern std::atomic<std::int64_t> pending_wakers;

// parked_threads counts plain threads blocked in park() and not yet readied.
extern std::atomic<std::int64_t> parked_threads;
// thread_parks counts every park() of a plain thread, ever: the deadlock
// check reads it around its other reads to know that no thread parked
// meanwhile (parked_threads alone can come back to the same value).
extern std::atomic<std::uint64_t> thread_parks;

// check_deadlock reports "all goroutines are asleep" and exits if nothing
// can run any more; otherwise returns. Called by the last worker to go idle
// and by a thread about to sleep in park().
void check_deadlock() noexcept;

}  // namespace csp::detail
