// micro_goroutine.cpp — goroutine start/exit and switch micro-benchmarks.
#include <cstdint>

#include "micro_common.hpp"

namespace {

using namespace csp;
using csp_bench::run_in_goroutine;
using csp_bench::set_procs;

// BM_spawn_join/<procs>: go() a goroutine that calls wg.done(); time per
// goroutine, started and finished (stacks warm after the first batch).
void BM_spawn_join(benchmark::State& state) {
  set_procs(state, state.range(0));
  CSP_BENCH_BATCH(state, n) {
    run_in_goroutine([n] {
      sync::wait_group wg;
      wg.add(static_cast<int>(n));
      for (benchmark::IterationCount i = 0; i < n; ++i) go([&wg] { wg.done(); });
      wg.wait();
    });
  }
}
BENCHMARK(BM_spawn_join)->ArgName("procs")->Arg(1)->Arg(2)->UseRealTime()->MinTime(0.2);

// BM_context_switch/<procs>: two goroutines take turns with
// runtime::gosched(); time per switch. At procs=1 every gosched is one
// switch to the other goroutine; at procs=2 they may run side by side.
void BM_context_switch(benchmark::State& state) {
  set_procs(state, state.range(0));
  CSP_BENCH_BATCH(state, n) {
    sync::wait_group wg;
    wg.add(2);
    for (int g = 0; g < 2; ++g) {
      go([&wg, half = n / 2 + 1] {
        for (benchmark::IterationCount i = 0; i < half; ++i) runtime::gosched();
        wg.done();
      });
    }
    wg.wait();
  }
}
BENCHMARK(BM_context_switch)->ArgName("procs")->Arg(1)->Arg(2)->UseRealTime()->MinTime(0.2);

}  // namespace
