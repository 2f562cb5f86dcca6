// deadlock.cpp — "fatal error: all goroutines are asleep - deadlock!"
//
// Go's rule, for a runtime that shares its channels with plain threads:
// report only when nothing can ever run again:
//   1. every worker is idle (or retired) and every run queue is empty, so no
//      goroutine is running or runnable;
//   2. nothing outside the queues holds a parked goroutine it could wake:
//      no armed timer, no fd in the poller, no runtime::blocking call
//      (pending_wakers == 0);
//   3. every live OS thread of the process that is not the runtime's own is
//      parked in a csp operation (so the main thread is, too). Threads we
//      cannot see into (say, a library's idle pool) keep this false: no
//      report rather than a false one.
// A waker always makes its wakee runnable (or unparks its thread) before it
// blocks itself, so when 1–3 hold at one instant they hold forever.
//
// The check is cheap until the end: counters first, /proc/self/status
// (the process's thread count) only when everything else says deadlock.
//
// The thread count and parked_threads are read at different moments. A
// thread started after the count was read and parked before parked_threads
// was can make the two match while a counted thread (main) is still live:
// that reported live programs as deadlocked (found by the model stress
// test; process_test "no false deadlock while threads start and park").
// So the check reads thread_parks before the count and after
// parked_threads: if no thread parked in between, parked_threads could only
// have fallen, and a match means every counted thread was parked when the
// count was read.
//
// Why a goroutine taken out of a queue (try_global's batch, a steal, a
// run_next taken at the end of a spin, retire's hand-back) cannot hide from
// work_visible(): whoever holds it is a worker on neither the idle list
// nor retired, and both change only under sched_mu_, which the check
// holds; so with every worker idle or retired nobody holds one, and no
// worker moves one between queues while work_visible() scans them.
// What can still act during the check is a user thread that was live at
// our first looks: it may push work (ready() from a thread goes to the
// global queue, and its notify_work skips sched_mu_ while an idle-listed
// worker has not yet dropped its spinning count) or arm a waker (a
// timer), then park or exit. If it parks, thread_parks moved. If it
// exits, the thread count no longer shows it, so the check looks at the
// queues and pending_wakers once more after reading the count. (A false
// report of a TSan run, before thread_parks existed: main readied its
// ping-pong partner into the global queue right after a worker's check
// had seen the queues empty, skipped the wake-up as above, and parked in
// the receive; the check then counted main parked and reported the
// partner, runnable in the global queue, as asleep.)
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "debug/fatal.hpp"
#include "sched/dump.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

namespace {

// process_threads reads "Threads:" from /proc/self/status; -1 if unknown.
long process_threads() noexcept {
  int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* p = std::strstr(buf, "\nThreads:");
  if (p == nullptr) return -1;
  return std::strtol(p + 9, nullptr, 10);
}

// sanitizer_threads: threads a sanitizer runtime adds to the process. TSan
// starts a background thread with the process's first pthread_create.
long sanitizer_threads(long process_threads) noexcept {
#if defined(CSP_TSAN)
  return process_threads > 1 ? 1 : 0;
#else
  (void)process_threads;
  return 0;
#endif
}

[[noreturn]] void report_deadlock() noexcept {
  // What the program printed first must not be lost (stdout to a file is
  // fully buffered); every thread is parked in csp, so none holds a stdio lock.
  std::fflush(nullptr);
  write_stderr("fatal error: all goroutines are asleep - deadlock!\n\n");
  dump_goroutines_to_fd(2, /*from_signal=*/false);
  ::_exit(2);
}

}  // namespace

void check_deadlock() noexcept {
  // A plain thread about to sleep in a fork() child: nothing would wake it
  // (sched/fork.cpp).
  fatal_if_forked_away();
  if (pending_wakers.load(std::memory_order_seq_cst) != 0) return;
  std::int64_t parked = parked_threads.load(std::memory_order_seq_cst);
  if (parked == 0) return;  // no thread is blocked in csp: the main thread can still act
  const std::uint64_t parks_before = thread_parks.load(std::memory_order_seq_cst);
  if (!scheduler::started()) {
    long threads = process_threads();
    if (threads >= 0 && threads - sanitizer_threads(threads) == parked_threads.load(std::memory_order_seq_cst) &&
        thread_parks.load(std::memory_order_seq_cst) == parks_before)
      report_deadlock();
    return;
  }
  scheduler& s = scheduler::instance();
  std::lock_guard<spin_mutex> lock(s.sched_mutex());
  if (!s.all_idle_locked() || s.work_visible()) return;
  if (pending_wakers.load(std::memory_order_seq_cst) != 0) return;
  // The runtime's threads before the process's: they never exit and count
  // only once they exist (see add_runtime_threads), so every one counted
  // here is in the count below; one started in between makes `others` too
  // high, which only keeps us quiet. Read the other way round, a worker
  // that gomaxprocs started in between was subtracted without being
  // counted, hiding a live thread (the one raising gomaxprocs).
  const int runtime = s.runtime_threads();
  long threads = process_threads();
  if (threads < 0) return;
  long others = threads - runtime - sanitizer_threads(threads);
  if (others != parked_threads.load(std::memory_order_seq_cst)) return;
  if (thread_parks.load(std::memory_order_seq_cst) != parks_before) return;  // a thread parked meanwhile
  // A thread that acted after our first looks and has exited since.
  if (pending_wakers.load(std::memory_order_seq_cst) != 0 || s.work_visible()) return;
  report_deadlock();
}

}  // namespace csp::detail
