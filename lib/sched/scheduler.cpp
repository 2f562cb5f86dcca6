// scheduler.cpp — worker loop, run queues, idle protocol. Design notes and
// lock order: scheduler.hpp.
#include "sched/scheduler.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "base/cpu_relax.hpp"
#include "base/cycle_clock.hpp"
#include "base/mono_clock.hpp"
#include "base/ranked_mutex.hpp"
#include "base/stack_pointer.hpp"
#include "debug/fatal.hpp"
#include "fiber/stack_guard.hpp"
#include "netpoll/netpoll.hpp"
#include "sched/quiesce.hpp"
#include "sched/trace.hpp"
#include "time/timer_heap.hpp"

#if defined(CSP_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#endif

namespace csp::detail {

std::atomic<std::int64_t> pending_wakers{0};
std::atomic<std::int64_t> parked_threads{0};
std::atomic<std::uint64_t> thread_parks{0};

namespace {

// initial-exec: see park.cpp.
__attribute__((tls_model("initial-exec"))) thread_local worker* tls_worker = nullptr;

// How long an idle worker keeps looking for work before it sleeps. Longer
// than a goroutine's typical wake-to-block cycle, so a worker that just
// went idle is still spinning when the next goroutine becomes ready and no
// futex wake-up (7–24 µs across threads on the reference VM) is needed;
// short enough that an idle runtime stops burning CPU almost at once.
constexpr std::int64_t spin_budget_ns = 50'000;

int default_procs() {
  int n = static_cast<int>(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  if (const char* env = std::getenv("GOMAXPROCS")) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 256) return static_cast<int>(v);
    char msg[160];
    std::snprintf(msg, sizeof msg,
                  "csp: ignoring GOMAXPROCS=%.32s: want a whole number from 1 to 256; using %d\n",
                  env, n);
    write_stderr(msg);
  }
  return n;
}

#if defined(CSP_ASAN)
// Objects that only an abandoned goroutine's stack still refers to are not
// leaks (main returned; Go would not collect them either). Show
// LeakSanitizer, which checks after us, the live part of every stack.
void register_stacks_for_leak_check() {
  for_each_goroutine(
      [](const goroutine* g, void*) {
        if (!g->stk) return;
        auto* lo = static_cast<char*>(g->stk.bottom);
        // A parked goroutine's saved context is its stack pointer; a running
        // one's is unknown here, so take the whole stack.
        if (g->state.load(std::memory_order_relaxed) == gstate::waiting && g->fiber.ctx != nullptr)
          lo = static_cast<char*>(g->fiber.ctx);
        auto* hi = static_cast<char*>(g->stk.top());
        if (lo >= static_cast<char*>(g->stk.bottom) && lo < hi)
          __lsan_register_root_region(lo, static_cast<std::size_t>(hi - lo));
      },
      nullptr, /*try_only=*/true);
}
#endif

void on_process_exit(int, void*) {
  if (scheduler::started()) {
    scheduler::instance().exiting.store(true, std::memory_order_seq_cst);
    quiesce_at_exit();  // the destructors after this hook run with no goroutine running
    trace_flush_at_exit();
#if defined(CSP_ASAN)
    register_stacks_for_leak_check();
#endif
  }
}

}  // namespace

// ---- thread-locals -------------------------------------------------------

CSP_TLS_ACCESSOR worker* current_worker() noexcept { return tls_worker; }

CSP_TLS_ACCESSOR void set_current_worker(worker* w) noexcept { tls_worker = w; }

CSP_TLS_ACCESSOR goroutine* current_goroutine() noexcept {
  worker* w = tls_worker;
  return w ? w->current : nullptr;
}

// ---- start-up -----------------------------------------------------------

bool scheduler::started() noexcept { return the_instance_.load(std::memory_order_acquire) != nullptr; }

scheduler& scheduler::start() {
  static scheduler* created = [] {
    auto* p = new scheduler();
    // release; pairs with the acquire in instance().
    the_instance_.store(p, std::memory_order_release);
    p->set_procs(default_procs());
    p->start_monitor();
    return p;
  }();
  return *created;
}

scheduler::scheduler() {
  idle_.reserve(max_workers);
  trace_start();  // before any worker or goroutine exists: trace_on never changes after
  install_stack_guard();
  install_quit_handler();
  ::on_exit(on_process_exit, nullptr);
}

void scheduler::start_worker(int index) {
  auto* w = new worker();
  w->index = index;
  {
    std::lock_guard<spin_mutex> lock(sched_mu_);
    w->thread_no = nthreads_.load(std::memory_order_relaxed);
    CSP_ASSERT(w->thread_no < max_threads);
    all_workers_[w->thread_no] = w;
    // release; pairs with the acquire in thread_count().
    nthreads_.store(w->thread_no + 1, std::memory_order_release);
    wake_monitor_locked();  // a new slot runs goroutines
  }
  w->rand_state = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(w->thread_no + 1);
  workers_[index].store(w, std::memory_order_release);
  // release; pairs with the acquire loads of nstarted_ by stealers.
  nstarted_.store(index + 1, std::memory_order_release);
  std::thread(worker_main, w).detach();
}

void scheduler::worker_main(worker* w) {
  // Counted by the thread itself, so never before it exists: the deadlock
  // check subtracts runtime_threads_ from the process's thread count, and
  // a thread counted while still being created made a live user thread
  // (the one raising gomaxprocs) look parked. Still before this worker can
  // go idle, so a check that sees it idle sees it counted.
  instance().add_runtime_threads(1);
  tls_worker = w;
  // Timer slack 1 ns: the kernel's default 50 µs would make every timed
  // sleep of the timer sleeper that much late (docs/time.md).
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  fiber::init_thread(w->own_g0);
  install_alt_signal_stack();
  instance().schedule_loop(w);
}

int scheduler::set_procs(int n) {
  if (n < 1) return nprocs_.load(std::memory_order_relaxed);  // a query: no lock (mutex spinning asks)
  static ranked_mutex procs_mu{lock_rank::procs};  // serializes gomaxprocs changes; taken before sched_mu_
  std::lock_guard<ranked_mutex> outer(procs_mu);
  int prev = nprocs_.load(std::memory_order_relaxed);
  n = std::min(n, max_workers);
  std::vector<std::pair<worker*, bool>> to_wake;  // with in_netpoll
  {
    std::lock_guard<spin_mutex> lock(sched_mu_);
    nprocs_.store(n, std::memory_order_seq_cst);
    int started = nstarted_.load(std::memory_order_relaxed);
    for (int i = 0; i < started; ++i) {
      worker* w = workers_[i].load(std::memory_order_relaxed);
      if (i < n && w->retired) {
        w->retired = false;
        --n_retired_;
        n_retired_atomic_.store(n_retired_, std::memory_order_seq_cst);
        to_wake.emplace_back(w, w->in_netpoll);
        wake_monitor_locked();
      } else if (i >= n && w->in_idle_list) {
        // Wake it so it notices and retires.
        idle_.erase(std::find(idle_.begin(), idle_.end(), w));
        w->in_idle_list = false;
        n_idle_.fetch_sub(1, std::memory_order_seq_cst);
        to_wake.emplace_back(w, w->in_netpoll);
      }
    }
  }
  for (auto [w, polling] : to_wake) wake_worker(w, polling);
  for (int i = nstarted_.load(std::memory_order_relaxed); i < n; ++i) start_worker(i);
  return prev == 0 ? n : prev;
}

std::uint64_t scheduler::new_id() noexcept {
  // Batches of 16 per worker, as Go's goidcache: spawning stays off the
  // shared counter's cache line.
  constexpr std::uint64_t batch = goroutine_id_batch;
  if (worker* w = current_worker()) {
    if (w->next_id == w->end_id) {
      w->next_id = id_source_.fetch_add(batch, std::memory_order_relaxed);
      w->end_id = w->next_id + batch;
    }
    return w->next_id++;
  }
  return id_source_.fetch_add(1, std::memory_order_relaxed);
}

// ---- making goroutines runnable ---------------------------------------------

void scheduler::ready(goroutine* g) noexcept {
  // release: the exit hook's acquire (quiesce.cpp) then sees what g did
  // before it parked (its unlock ordered it before this waker).
  g->state.store(gstate::runnable, std::memory_order_release);
  worker* w = current_worker();
  // A retaken thread (monitor.cpp) has no slot to push to: it readies as a
  // plain thread does.
  if (w != nullptr && w->index < nprocs_.load(std::memory_order_relaxed) &&
      !w->retaken.load(std::memory_order_relaxed)) {
    w->stats.wakeups.add();  // go() comes here too: stats() subtracts the creations
    goroutine* old = w->run_next.load(std::memory_order_relaxed);
    push_local(w, g);
    // This worker will run g itself if nobody else does, so the wake-up is
    // only for parallelism: no fence needed, a missed wake is not a lost one.
    // None for the first goroutine its scheduler loop readies (a timer, a
    // poll) into an empty run_next: it runs that one next itself, as Go's
    // findrunnable runs the first goroutine netpoll returns.
    if (w->current == nullptr && old == nullptr) return;
    if (n_idle_.load(std::memory_order_relaxed) > 0 &&
        n_spinning_.load(std::memory_order_relaxed) == 0)
      wake_one();
    return;
  }
  thread_stats.wakeups.add();
  // After main returned, a plain thread (a static destructor) that starts
  // or wakes a goroutine gets it abandoned, as every other goroutine is:
  // pushed here, a worker still spinning could run it during exit.
  if (exiting.load(std::memory_order_relaxed)) return;
  // A thread that still holds a lent slot runs g there when it next
  // blocks, as a goroutine's worker would (sched/lend.cpp).
  if (ready_on_held(g)) return;
  global_push(g);
  // seq_cst; pairs with the fence in go_idle(): either we see the idle
  // worker, or it sees our push in its recheck.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  wake_one();
}

// push_local puts g in w's run_next; the previous occupant moves to the
// local queue, and half of a full one to the global queue. The slot's
// holder only.
void scheduler::push_local(worker* w, goroutine* g) noexcept {
  // acq_rel; pairs with stealers' exchange of run_next.
  goroutine* old = w->run_next.exchange(g, std::memory_order_acq_rel);
  if (old != nullptr && !w->runq.push(old)) {
    goroutine* half[run_queue::capacity / 2 + 1];
    std::uint32_t n = w->runq.take_half(half);
    half[n++] = old;
    global_push_batch(half, n);
  }
}

// drain_to_global moves everything queued on w's slot (its queue and
// run_next) to the global queue; returns how many. The slot's holder only.
std::uint32_t scheduler::drain_to_global(worker* w) noexcept {
  goroutine* batch[run_queue::capacity + 1];
  std::uint32_t n = 0;
  while (goroutine* g = w->runq.pop()) batch[n++] = g;
  if (goroutine* g = w->run_next.exchange(nullptr, std::memory_order_acq_rel)) batch[n++] = g;
  if (n > 0) global_push_batch(batch, n);
  return n;
}

void scheduler::global_push(goroutine* g) noexcept { global_push_batch(&g, 1); }

void scheduler::global_push_batch(goroutine** gs, std::uint32_t n) noexcept { global_.push(gs, n); }

void scheduler::wake_one() noexcept {
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
    if (!idle_.empty()) {
      w = idle_.back();  // LIFO: the most recently idle worker has the warmest cache
      polling = w->in_netpoll;
      idle_.pop_back();
      w->in_idle_list = false;
      w->woken_spinning = true;
      n_idle_.fetch_sub(1, std::memory_order_seq_cst);
      wake_monitor_locked();
    }
  }
  if (w == nullptr) {
    n_spinning_.fetch_sub(1, std::memory_order_seq_cst);
    return;
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

// ---- the worker loop ----------------------------------------------------------

void scheduler::schedule_loop(worker* w) {
  for (;;) {
    goroutine* g = find_runnable(w);
    settle_poller_owed(w);
    execute(w, g);
  }
}

void scheduler::stop_spinning(worker* w) noexcept {
  if (!w->spinning) return;
  w->spinning = false;
  // If we were the last spinner, there may be more work than we can take:
  // let another worker look (Go's resetspinning).
  if (n_spinning_.fetch_sub(1, std::memory_order_seq_cst) == 1) wake_one();
}

goroutine* scheduler::try_local(worker* w) {
  const std::uint32_t tick = w->schedtick.load(std::memory_order_relaxed) + 1;
  w->schedtick.store(tick, std::memory_order_relaxed);
  if (tick % 61 == 0 && global_.size_relaxed() > 0) {
    if (goroutine* g = try_global(w, false)) return g;
  }
  if (w->run_next_streak < run_next_streak_limit) {
    if (goroutine* g = w->run_next.exchange(nullptr, std::memory_order_acq_rel)) {
      ++w->run_next_streak;
      return g;
    }
  }
  w->run_next_streak = 0;
  if (goroutine* g = w->runq.pop()) return g;
  return w->run_next.exchange(nullptr, std::memory_order_acq_rel);
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
  return got[0];
}

goroutine* scheduler::try_steal(worker* w, bool take_run_next) {
  int n = nstarted_.load(std::memory_order_acquire);
  if (n <= 1) return nullptr;
  int start = static_cast<int>(fastrandn(static_cast<std::uint32_t>(n)));
  for (int i = 0; i < n; ++i) {
    worker* v = workers_[(start + i) % n].load(std::memory_order_acquire);
    if (v == w) continue;
    if (goroutine* g = v->runq.steal_into(w->runq)) {
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
    for (int round = 0; g == nullptr; ++round) {
      // A blocked plain thread waiting for a slot (sched/lend.cpp) ends
      // the spin: it will run what comes, on this slot.
      bool last = mono_now_ns() >= deadline || lend_wanted_.load(std::memory_order_relaxed) > 0;
      g = try_steal(w, last);
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
      for (int i = 0; i < 32; ++i) cpu_relax();
    }
    if (polled) continue;  // what it found is in our own queues
    if (g != nullptr) {
      stop_spinning(w);
      return g;
    }
    go_idle(w);
  }
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

void scheduler::leave_idle_list(worker* w) {
  if (!w->in_idle_list) return;
  idle_.erase(std::find(idle_.begin(), idle_.end(), w));
  w->in_idle_list = false;
  n_idle_.fetch_sub(1, std::memory_order_seq_cst);
  wake_monitor_locked();
}

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
  wake_one();
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
  // seq_cst; pairs with the fence in ready()/wake_one(): a readier that did
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

void scheduler::retire(worker* w) {
  stop_spinning(w);
  settle_poller_owed(w);
  // Hand our queued goroutines to the others.
  const std::uint32_t n = drain_to_global(w);
  // Wake someone whenever the global queue holds work, not only what we
  // just pushed: a goroutine we ran since gomaxprocs was lowered may have
  // yielded or overflowed into it, and a running worker leaves the global
  // queue to itself (it looks there before it sleeps), which a retiring
  // worker does not. This lost a wake-up under load before (sync_test's
  // TestSemaphore stalled with a runnable goroutine and every worker idle).
  if (global_.size() > 0) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    wake_one();
  }
  {
    std::lock_guard<spin_mutex> lock(sched_mu_);
    if (w->index < nprocs_.load(std::memory_order_relaxed)) return;  // raised again meanwhile
    if (w->retaken.load(std::memory_order_relaxed)) return;         // slotless: becomes a spare
    if (!w->retired) {
      w->retired = true;
      ++n_retired_;
      n_retired_atomic_.store(n_retired_, std::memory_order_seq_cst);
    }
  }
  if (n == 0 && n_idle_.load(std::memory_order_seq_cst) + n_retired_snapshot() ==
                    nstarted_.load(std::memory_order_acquire))
    check_deadlock();
  // We may have been the timer sleeper (set_procs woke us): hand the role
  // on, or armed timers could wait for a worker that never comes.
  // Likewise the poller's role, once there is a netpoller.
  if (timer_next_deadline.load(std::memory_order_seq_cst) != never || netpoll_inited())
    wake_one();
  w->sleep.wait();
}

// ---- running a goroutine -------------------------------------------------

void scheduler::prepare_stack(worker* w, goroutine* g) {
  if (w->stack_cache_len > 0) g->stk = w->stack_cache[--w->stack_cache_len];
  else g->stk = stack_pool::instance().allocate();
  fiber::init_fiber(g->fiber, g->stk.bottom, g->stk.size, goroutine_entry);
}

// start_running marks g as running on w since `stamp` (a cycle_clock
// reading; base/cycle_clock.hpp) so a dump can name a goroutine that keeps
// its worker without yielding.
inline void start_running(worker* w, goroutine* g, std::int64_t stamp) noexcept {
  g->since.store(stamp, std::memory_order_relaxed);
  g->running_on.store(w->thread_no, std::memory_order_relaxed);
  g->state.store(gstate::running, std::memory_order_relaxed);
}

void scheduler::execute(worker* w, goroutine* g) {
  w->current = g;
  start_running(w, g, cycle_clock::now());
  w->stats.switches.add();
  if (__builtin_expect(trace_on, 0)) trace_run_begin(g);
  if (!g->stk) prepare_stack(w, g);
  fiber::transfer t = fiber::switch_to(*w->g0, g->fiber, w);
  // Whoever comes back is not necessarily g: g may have handed the worker
  // straight to another goroutine (switch_away), and that one came back.
  goroutine* back = w->current;
  back->fiber.ctx = t.from;
  w->current = nullptr;
  after_switch(w, back);
}

void scheduler::after_switch(worker* w, goroutine* g) {
  post_switch p = w->pending;
  w->pending = post_switch{};
  switch (p.what) {
    case post_switch::action::park:
      // From here on a waker may ready g: its context is saved.
      if (p.unlock) p.unlock(p.arg);
      break;
    case post_switch::action::yield:
      g->state.store(gstate::runnable, std::memory_order_release);  // as in ready()
      global_push(g);
      // As Go's goschedImpl calls wakep: this worker may next run a
      // goroutine that never yields, and a worker that went idle without
      // seeing the push would sleep with g queued. wake_one's seq_cst fence
      // pairs with go_idle's: either it sees the idle (or still spinning)
      // worker, or that worker's recheck sees g.
      wake_one();
      break;
    case post_switch::action::exit: {
#if defined(CSP_ASAN)
      // The goroutine never returned from its last frames, so their
      // redzones are still poisoned; the next goroutine on this stack must
      // start clean. Deeper frames unpoisoned themselves when they
      // returned (or on a throw, through __asan_handle_no_return), so the
      // range from the exit's saved context to the top is enough: a few
      // hundred bytes, where the whole stack's shadow (128 KiB of a 1 MiB
      // stack) made 10,000 goroutine starts take seconds.
      ASAN_UNPOISON_MEMORY_REGION(g->fiber.ctx, static_cast<std::size_t>(
                                                    static_cast<char*>(g->stk.top()) -
                                                    static_cast<char*>(g->fiber.ctx)));
#endif
      fiber::finish_fiber(g->fiber);
      stack s = g->stk;
      g->stk = stack{};
      if (w->stack_cache_len == worker::stack_cache_size) {
        // Keep half, return half: a worker that alternates spawn and exit
        // does not bounce on the pool's lock.
        constexpr int half = worker::stack_cache_size / 2;
        stack_pool::instance().release(w->stack_cache + half, half);
        w->stack_cache_len = half;
      }
      w->stack_cache[w->stack_cache_len++] = s;
      registry_remove(g);
      free_goroutine(g);
      // release; pairs with the acquire in num_goroutine(): a caller that sees
      // the count drop sees everything the goroutine did.
      live_goroutines.fetch_sub(1, std::memory_order_release);
      w->stats.exited.add();
      break;
    }
    case post_switch::action::none:
      CSP_FATAL("goroutine switched to its scheduler without saying why");
  }
}

// handoff_tag, passed as a first switch's data, tells a new goroutine that
// the goroutine before it handed over directly (see switch_away).
char handoff_tag;

// resumed records, in a goroutine that was just switched back in, the
// context of the party that switched to it: a worker's g0 passes itself as
// data; a goroutine that handed over directly passes null, its context
// already saved by finish_handoff.
inline void resumed(fiber::transfer t) noexcept {
  if (t.data != nullptr) static_cast<worker*>(t.data)->g0->ctx = t.from;
}

// finish_handoff runs on the next goroutine's stack, first thing after a
// direct hand-off: it saves the previous goroutine's context and completes
// its post_switch (release its lock, queue it, or free it).
fiber::transfer finish_handoff(fiber::transfer t) {
  worker* w = current_worker();
  goroutine* prev = w->handoff_from;
  w->handoff_from = nullptr;
  prev->fiber.ctx = t.from;
  scheduler::instance().after_switch(w, prev);
  return fiber::transfer{t.from, nullptr};
}

goroutine* scheduler::next_for_handoff(worker* w) {
  // Go through the scheduler every 61st switch, so that what only it does
  // (the global queue, timers, stealing for idle peers) is never starved by
  // goroutines that keep readying each other; and always when this worker
  // must stop (retired, exiting).
  if (w->schedtick.load(std::memory_order_relaxed) % 61 == 60 || exiting.load(std::memory_order_relaxed) ||
      w->index >= nprocs_.load(std::memory_order_relaxed) ||
      lend_wanted_.load(std::memory_order_relaxed) > 0 || w->retaken.load(std::memory_order_relaxed))
    return nullptr;
  goroutine* next = try_local(w);
  if (next != nullptr) settle_poller_owed(w);
  return next;
}

void switch_away(post_switch what) noexcept {
  worker* w = current_worker();
  goroutine* g = w->current;
  if (!stack_pointer_ok(g->stk, stack_pointer())) report_stack_overflow(g);
  const bool exiting = what.what == post_switch::action::exit;
  if (__builtin_expect(trace_on, 0))
    trace_run_finish(g, exiting ? trace_run_end::exit
                       : what.what == post_switch::action::yield ? trace_run_end::yield
                                                                 : trace_run_end::park);
  w->pending = what;
  scheduler& s = scheduler::instance();
  if (goroutine* next = s.next_for_handoff(w)) {
    w->handoff_from = g;
    w->current = next;
    // A parking goroutine was stamped by park() a moment ago on this
    // worker; the next one starts at that instant too. Sharing the reading
    // saves an rdtsc per hand-off (about 13 ns on the reference VM, 6% of
    // a ping-pong round trip).
    start_running(w, next, what.what == post_switch::action::park
                               ? g->since.load(std::memory_order_relaxed)
                               : cycle_clock::now());
    w->stats.switches.add();
    if (__builtin_expect(trace_on, 0)) trace_run_begin(next);
    fiber::transfer t;
    if (!next->stk) {
      // A fiber that never ran cannot take an ontop call (its first frame
      // is not a switch); it finishes the hand-off itself in
      // goroutine_entry when it sees the tag.
      s.prepare_stack(w, next);
      t = fiber::switch_to(g->fiber, next->fiber, &handoff_tag, exiting);
    } else {
      t = fiber::switch_to_ontop(g->fiber, next->fiber, nullptr, finish_handoff, exiting);
    }
    resumed(t);
    return;
  }
  fiber::transfer t = fiber::switch_to(g->fiber, *w->g0, nullptr, exiting);
  resumed(t);
}

void goroutine_entry(fiber::transfer t) {
  if (t.data == &handoff_tag) finish_handoff(t);
  else resumed(t);
  goroutine* g = current_goroutine();
  fiber::started(g->fiber);
  run_goroutine_body(g);
  switch_away(post_switch{post_switch::action::exit});
  CSP_FATAL("a finished goroutine was resumed");
}

// ---- deadlock view -----------------------------------------------------------

bool scheduler::all_idle_locked() const {
  // A retaken thread still runs its goroutine, which may yet act.
  return n_idle_.load(std::memory_order_seq_cst) + n_retired_ ==
             nstarted_.load(std::memory_order_acquire) &&
         slotless_.empty();
}


}  // namespace csp::detail
