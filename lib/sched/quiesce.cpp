// quiesce.cpp — waiting out the running goroutines at exit (quiesce.hpp).
#include "sched/quiesce.hpp"

#include <time.h>

#include <atomic>

#include "base/mono_clock.hpp"
#include "sched/goroutine.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

namespace {

struct running_count {
  const goroutine* self;
  int n = 0;
};

// others_running counts the goroutines other than self in state running;
// a registry shard it could not lock counts as one.
int others_running(const goroutine* self) noexcept {
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
        if (g != c->self && g->state.load(std::memory_order_acquire) == gstate::running) ++c->n;
      },
      &c, /*try_only=*/true);
  return c.n + skipped;
}

}  // namespace

void quiesce_at_exit() noexcept {
  const goroutine* self = current_goroutine();
  const std::int64_t until = mono_now_ns() + quiesce_grace_ns;
  while (others_running(self) > 0 && mono_now_ns() < until) {
    timespec pause{0, 100'000};  // 100 µs
    ::nanosleep(&pause, nullptr);
  }
}

}  // namespace csp::detail
