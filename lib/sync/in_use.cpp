// in_use.cpp — the fatal error for a sync object destroyed while in use
// (csp/sync.hpp).
#include <csp/sync.hpp>

#include <cstdio>

#include "debug/fatal.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

void sync_destroyed_in_use(const char* type) noexcept {
  // After main returned, abandoned goroutines may hold globals' locks: as
  // in Go, the process just exits.
  if (scheduler::started() && scheduler::instance().exiting.load(std::memory_order_relaxed)) return;
  char what[96];
  std::snprintf(what, sizeof what, "sync: %s destroyed while in use", type);
  fatal_user(what);
}

}  // namespace csp::detail
