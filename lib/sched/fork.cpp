// fork.cpp — fork() in a process running csp (docs/errors.md).
//
// fork() copies only the calling thread: the child has no workers, no
// timer sleeper or poller, no blocking helpers, and any runtime lock a
// vanished thread held stays held. Making the runtime work again there
// (Go does not either) would mean re-creating every thread and resetting
// every lock; instead the child is marked, and a csp operation that would
// spawn or wait there ends it with a fatal error, status 2, instead of
// hanging. A child that only calls exec or _exit never notices. A process
// that forks before its runtime started is not marked: its child starts a
// runtime of its own on first use.
//
// The marks are checked where a child would otherwise hang or silently
// lose work: go() (new_goroutine), every block of a plain thread
// (check_deadlock, which park_thread calls before it sleeps) and a
// contended runtime lock (spin_mutex::lock_slow).
#include <pthread.h>

#include "debug/fatal.hpp"
#include "sched/fork.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

namespace {

// Runs in the child, as its only thread, before fork() returns there.
void on_fork_child() noexcept {
  if (scheduler::started()) forked_away.store(true, std::memory_order_relaxed);
}

}  // namespace

void install_fork_check() noexcept {
  static const bool installed = ::pthread_atfork(nullptr, nullptr, on_fork_child) == 0;
  if (!installed) CSP_FATAL("pthread_atfork failed");
}

}  // namespace csp::detail
