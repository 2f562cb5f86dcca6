// quiesce.cpp — waiting out the running goroutines at exit (quiesce.hpp).
#include "sched/quiesce.hpp"

#include <fcntl.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

#include "base/mono_clock.hpp"
#include "sched/goroutine.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

namespace {

struct running_count {
  const goroutine* self;
  int n = 0;
  bool runnable = false;  // one of them is on a CPU or waiting for one
};

// thread_runnable: the kernel's state of thread tid is R (running, or
// waiting for a CPU), not asleep. /proc/self/task/<tid>/stat: "tid (comm) S ...".
bool thread_runnable(int tid) noexcept {
  if (tid <= 0) return false;
  char path[48];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[256];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');  // comm may hold spaces and parentheses
  return p != nullptr && p[1] == ' ' && p[2] == 'R';
}

// others_running counts the goroutines other than self in state running;
// a registry shard it could not lock counts as one.
running_count others_running(const goroutine* self) noexcept {
  running_count c{self};
  int skipped = for_each_goroutine(
      [](const goroutine* g, void* ctx) {
        auto* c = static_cast<running_count*>(ctx);
        // acquire; pairs with the release stores of `waiting` (park) and
        // `runnable` (yield, ready): what the goroutine did before it
        // switched out happens before the destructors.
        // A goroutine seen waiting or runnable has switched out (what runs
        // after park's or yield's store is the runtime's code, not the
        // program's), and exiting keeps it from being resumed.
        if (g == c->self || g->state.load(std::memory_order_acquire) != gstate::running) return;
        ++c->n;
        scheduler& s = scheduler::instance();
        const int m = g->running_on.load(std::memory_order_relaxed);
        if (!c->runnable && m >= 0 && m < s.thread_count())
          c->runnable = thread_runnable(s.thread_worker(m)->os_tid.load(std::memory_order_relaxed));
      },
      &c, /*try_only=*/true);
  c.n += skipped;
  return c;
}

}  // namespace

void quiesce_at_exit() noexcept {
  const goroutine* self = current_goroutine();
  // The heavy side of switch.cpp's exit_begun: exiting is set; now every
  // thread passes a full barrier, so a worker that marked a goroutine
  // running but read exiting as false has that mark visible to the scans
  // below. membarrier may be refused (seccomp, old kernels): a millisecond
  // then lets such a worker, two instructions from its check, pass it.
  if (::syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0) {
    timespec pause{0, 1'000'000};
    ::nanosleep(&pause, nullptr);
  }
  const std::int64_t start = mono_now_ns();
  for (;;) {
    const running_count c = others_running(self);
    if (c.n == 0) return;
    const std::int64_t waited = mono_now_ns() - start;
    if (waited >= quiesce_max_ns || (waited >= quiesce_grace_ns && !c.runnable)) return;
    timespec pause{0, 100'000};  // 100 µs
    ::nanosleep(&pause, nullptr);
  }
}

}  // namespace csp::detail
