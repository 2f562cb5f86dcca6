// runtime_api.cpp — package runtime (csp/runtime.hpp) over the scheduler.
#include <ostream>
#include <string>
#include <thread>

#include "chan/leak.hpp"
#include "csp/runtime.hpp"
#include "sched/dump.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

thread_stats_t thread_stats;

}  // namespace csp::detail

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
  std::vector<std::uint64_t> leaked;
  for (const detail::leak_report& l : detail::find_leaks()) leaked.push_back(l.id);
  std::string text;
  detail::dump_goroutines_to(
      [](const char* s, std::size_t n, void* ctx) { static_cast<std::string*>(ctx)->append(s, n); },
      &text, /*from_signal=*/false, leaked.data(), leaked.size());
  out << text;
}

namespace {

template <class Stats>
void add_stats(scheduler_stats& out, std::uint64_t (&parks)[detail::wait_reason_count], const Stats& s) {
  out.goroutines_created += s.created.get();
  out.goroutines_exited += s.exited.get();
  out.context_switches += s.switches.get();
  out.steals += s.steals.get();
  out.wakeups += s.wakeups.get();
  for (int i = 0; i < detail::wait_reason_count; ++i) parks[i] += s.parks[i].get();
}

}  // namespace

scheduler_stats stats() {
  scheduler_stats out;
  std::uint64_t parks[detail::wait_reason_count] = {};
  add_stats(out, parks, detail::thread_stats);
  if (detail::scheduler::started()) {
    detail::scheduler& s = detail::scheduler::instance();
    for (int m = 0, n = s.thread_count(); m < n; ++m) add_stats(out, parks, s.thread_worker(m)->stats);
    out.global_queue_pushes = s.global_pushes();
    out.slot_retakes = s.slot_retakes();
    out.worker_threads = static_cast<std::uint64_t>(s.thread_count());
  }
  // Every go() passed through scheduler::ready(), which counts wake-ups
  // on workers; take the creations back out.
  out.wakeups -= std::min(out.wakeups, out.goroutines_created);
  for (int i = 0; i < detail::wait_reason_count; ++i) {
    if (parks[i] == 0) continue;
    out.parks += parks[i];
    out.parks_by_reason.add(detail::wait_reason_name(static_cast<detail::wait_reason>(i)), parks[i]);
  }
  return out;
}

std::vector<leaked_goroutine> leaked_goroutines() {
  std::vector<leaked_goroutine> out;
  for (const detail::leak_report& l : detail::find_leaks())
    out.push_back({l.id, l.created_at, detail::wait_reason_name(l.reason)});
  return out;
}

}  // namespace csp::runtime
