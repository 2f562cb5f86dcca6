// runtime_api.cpp — package runtime (csp/runtime.hpp) over the scheduler.
#include <ostream>
#include <string>
#include <thread>

#include "csp/runtime.hpp"
#include "sched/dump.hpp"
#include "sched/scheduler.hpp"

namespace csp::runtime {

void gosched() {
  if (detail::current_goroutine() == nullptr) {
    std::this_thread::yield();
    return;
  }
  detail::switch_away(detail::post_switch{detail::post_switch::action::yield});
}

int num_goroutine() {
  if (!detail::scheduler::started()) return 1;
  return static_cast<int>(
             detail::scheduler::instance().live_goroutines.load(std::memory_order_acquire)) + 1;
}

int gomaxprocs(int n) { return detail::scheduler::instance().set_procs(n); }

void dump_goroutines(std::ostream& out) {
  std::string text;
  detail::dump_goroutines_to(
      [](const char* s, std::size_t n, void* ctx) { static_cast<std::string*>(ctx)->append(s, n); },
      &text, /*from_signal=*/false);
  out << text;
}

}  // namespace csp::runtime
