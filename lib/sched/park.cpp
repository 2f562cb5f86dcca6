// park.cpp — park/ready for goroutines and plain threads (contract: park.hpp).
#include "sched/park.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "base/cpu_relax.hpp"
#include "base/futex.hpp"
#include "base/stack_pointer.hpp"
#include "debug/fatal.hpp"
#include "sched/dump.hpp"
#include "sched/goroutine.hpp"
#include "sched/sampled_clock.hpp"
#include "sched/scheduler.hpp"
#include "sched/trace.hpp"
#include "time/timer_heap.hpp"

namespace csp::detail {

namespace {

// initial-exec: one instruction per access instead of a __tls_get_addr
// call; fine for a library that is linked, not dlopen'ed late.
__attribute__((tls_model("initial-exec"))) thread_local thread_task tls_thread_task;
__attribute__((tls_model("initial-exec"))) thread_local std::uint64_t tls_rand = 0;
std::atomic<thread_task*> the_main_thread_task{nullptr};

// this_thread_task: never inlined, for the reason current_worker() is not.
CSP_TLS_ACCESSOR thread_task* this_thread_task() noexcept {
  thread_task* t = &tls_thread_task;
  if (__builtin_expect(the_main_thread_task.load(std::memory_order_relaxed) == nullptr, 0) &&
      ::getpid() == static_cast<pid_t>(::syscall(SYS_gettid)))
    the_main_thread_task.store(t, std::memory_order_relaxed);
  return t;
}

// How long a plain thread blocked in csp spins before it sleeps in the
// futex. A goroutine that answers a thread in a steady exchange (a
// collector loop in main) usually does so within a few microseconds; a
// futex sleep and the cross-thread wake-up cost 7–24 µs each on the
// reference VM, and make the goroutine's side a system call too.
constexpr std::int64_t thread_spin_ns = 20'000;

// Spinning pays only while the other side answers within the spin; on an
// oversubscribed machine the spinner takes the CPU the goroutine it waits
// for needs (main_recv at GOMAXPROCS=1 under load: 13 s of CPU for what a
// futex wait does in 1.4 s, at the same wall time). So a thread spins only
// while its recent spins succeeded: each success adds credit, each failure
// halves it, and with no credit it skips the spin, probing again every
// 16th park so that a phase that turns into a steady exchange picks
// spinning back up.
struct spin_policy {
  int credit = 4;
  unsigned parks = 0;
  bool should_spin() noexcept { return credit > 0 || (++parks % 16) == 0; }
  void spun(bool answered) noexcept { credit = answered ? (credit < 8 ? credit + 1 : 8) : credit / 2; }
};
__attribute__((tls_model("initial-exec"))) thread_local spin_policy tls_spin;

// wait_woken returns once ready() has set t->woken to woken_ready. The
// protocol (woken is the futex word):
//   woken_parked   parked and spinning: ready() only stores;
//   woken_sleeping parked in (or about to enter) FUTEX_WAIT: ready() wakes;
//   woken_ready    readied.
// The sleeper announces itself by CAS parked→sleeping and ready() by
// exchange, so exactly one of them sees the other: either the CAS fails
// (ready came first; no sleep) or the exchange returns sleeping (wake).
void wait_woken(thread_task* t) noexcept {
  // acquire (every load and the CAS); pairs with the release exchange in
  // ready(): what the waker wrote (the value it handed over) is visible
  // once we see woken_ready.
  if (t->woken.load(std::memory_order_acquire) == woken_ready) return;
  // A thread does not migrate, so its thread-local is stable here.
  spin_policy& spin = tls_spin;
  if (spin.should_spin()) {
    const std::int64_t until = mono_now_ns() + thread_spin_ns;
    do {
      for (int i = 0; i < 64; ++i) {
        cpu_relax();
        if (t->woken.load(std::memory_order_acquire) == woken_ready) {
          spin.spun(true);
          return;
        }
      }
    } while (mono_now_ns() < until);
    spin.spun(false);
  }
  std::uint32_t expected = woken_parked;
  if (!t->woken.compare_exchange_strong(expected, woken_sleeping, std::memory_order_acquire)) return;
  while (t->woken.load(std::memory_order_acquire) != woken_ready)
    futex_wait(&t->woken, woken_sleeping);
}

void park_thread(wait_reason why, void (*unlock)(void*), void* arg) {
  // After main returned the workers run no goroutine (scheduler::exiting),
  // so a thread blocking now (a static destructor, an atexit handler) would
  // most likely hang the exit: say so instead (docs/errors.md).
  if (scheduler::started() && scheduler::instance().exiting.load(std::memory_order_relaxed))
    fatal_user("blocking csp operation after main returned (in a static destructor or an "
               "exit handler): goroutines no longer run, so nothing would wake it");
  thread_task* t = this_thread_task();
  thread_stats.parks[static_cast<int>(why)].add();
  if (__builtin_expect(trace_on, 0)) trace_thread_park(why);
  t->reason.store(why, std::memory_order_relaxed);
  t->since.store(sampled_clock::now(), std::memory_order_relaxed);
  t->park_seq.fetch_add(1, std::memory_order_relaxed);
  // release (the leak check's acquire of woken == 0 is not used: threads
  // are never reported); no waker can run before unlock().
  t->woken.store(woken_parked, std::memory_order_release);
  // Counted before unlock(): from the moment a waker can see us, the
  // deadlock detector must see us too (ready() takes us off again).
  thread_parks.fetch_add(1, std::memory_order_seq_cst);  // before parked_threads: see check_deadlock
  parked_threads.fetch_add(1, std::memory_order_seq_cst);
  if (unlock != nullptr) unlock(arg);
  // Run goroutines on an idle worker's slot meanwhile, as Go's M0 does
  // (sched/lend.cpp); sleep only when there is nothing to run.
  if (!scheduler::started() || !scheduler::instance().run_while_parked(t)) {
    check_deadlock();
    wait_woken(t);
  }
  if (__builtin_expect(trace_on, 0)) trace_thread_unpark(t);
  t->reason.store(wait_reason::none, std::memory_order_relaxed);
}

}  // namespace

thread_task* main_thread_task() noexcept {
  return the_main_thread_task.load(std::memory_order_relaxed);
}

const char* wait_reason_name(wait_reason why) noexcept {
  switch (why) {
    case wait_reason::none: return "running";
    case wait_reason::chan_receive: return "chan receive";
    case wait_reason::chan_send: return "chan send";
    case wait_reason::chan_receive_nil: return "chan receive (nil chan)";
    case wait_reason::chan_send_nil: return "chan send (nil chan)";
    case wait_reason::select: return "select";
    case wait_reason::select_no_cases: return "select (no cases)";
    case wait_reason::sleep: return "sleep";
    case wait_reason::io_wait: return "IO wait";
    case wait_reason::mutex_lock: return "sync.Mutex.Lock";
    case wait_reason::rwmutex_lock: return "sync.RWMutex.Lock";
    case wait_reason::rwmutex_rlock: return "sync.RWMutex.RLock";
    case wait_reason::wait_group_wait: return "sync.WaitGroup.Wait";
    case wait_reason::cond_wait: return "sync.Cond.Wait";
    case wait_reason::semacquire: return "semacquire";
    case wait_reason::syscall: return "syscall";
  }
  return "unknown";
}

task* current_task() noexcept {
  if (goroutine* g = current_goroutine()) return g;
  return this_thread_task();
}

bool in_goroutine() noexcept { return current_goroutine() != nullptr; }

void park(wait_reason why, void (*unlock)(void*), void* arg) {
  // In a fork() child the workers are gone: neither a goroutine nor a
  // thread (which would borrow a slot's copied state) may block there
  // (sched/fork.cpp). One relaxed load.
  fatal_if_forked_away();
  worker* w = current_worker();
  goroutine* g = w ? w->current : nullptr;
  if (g == nullptr) {
    park_thread(why, unlock, arg);
    return;
  }
  w->stats.parks[static_cast<int>(why)].add();
  g->reason.store(why, std::memory_order_relaxed);
  g->since.store(sampled_clock::now(), std::memory_order_relaxed);
  g->park_seq.store(g->park_seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  g->park_sp.store(stack_pointer(), std::memory_order_relaxed);
  // release; pairs with the acquire in the leak check (lib/chan/leak.cpp):
  // seeing `waiting` it sees this park's reason, park_seq and wait_on.
  g->state.store(gstate::waiting, std::memory_order_release);
  switch_away(post_switch{post_switch::action::park, unlock, arg});
  g->reason.store(wait_reason::none, std::memory_order_relaxed);
}

void ready(task* t) noexcept {
  if (__builtin_expect(trace_on, 0)) trace_ready(t);
  if (t->kind_ == task::kind::goroutine) {
    scheduler::instance().ready(static_cast<goroutine*>(t));
    return;
  }
  auto* tt = static_cast<thread_task*>(t);
  thread_stats.wakeups.add();
  parked_threads.fetch_sub(1, std::memory_order_seq_cst);
  // release; pairs with the acquire in park_thread(). After this store the
  // thread may return and exit; the futex call below only names the
  // address, it does not dereference it.
  if (tt->woken.exchange(woken_ready, std::memory_order_release) == woken_sleeping)
    futex_wake(&tt->woken, 1);
}

std::uint32_t fastrand() noexcept {
  // wyrand: one multiply, passes BigCrush; per thread, so a goroutine that
  // migrates just draws from another thread's stream, which is fine.
  std::uint64_t* state;
  if (worker* w = current_worker()) state = &w->rand_state;
  else state = &tls_rand;
  if (*state == 0) *state = reinterpret_cast<std::uintptr_t>(state) | 1;
  *state += 0xa0761d6478bd642fULL;
  __uint128_t m = static_cast<__uint128_t>(*state) * (*state ^ 0xe7037ed1a0b428dbULL);
  return static_cast<std::uint32_t>((m >> 64) ^ m);
}

}  // namespace csp::detail
