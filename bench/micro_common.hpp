// micro_common.hpp — helpers shared by the bench_micro files.
//
// Every benchmark runs its measured code in goroutines (as Go's testing
// package runs a benchmark in a goroutine) while Google Benchmark's thread,
// a plain OS thread, only waits. Worker counts are swept by an argument:
// set_procs(state.range(k)) before the timed loop. Timing is wall clock
// (UseRealTime): the work happens on the worker threads, so the waiting
// thread's CPU time says nothing.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

#include <csp/go.hpp>

namespace csp_bench {

// set_procs sets the runtime's worker count for this benchmark and labels
// the result with it.
inline void set_procs(benchmark::State& state, std::int64_t procs) {
  csp::runtime::gomaxprocs(static_cast<int>(procs));
  state.counters["procs"] = static_cast<double>(procs);
}

// run_in_goroutine runs f on a goroutine and waits for it.
template <class F>
void run_in_goroutine(F&& f) {
  csp::sync::wait_group wg;
  wg.add(1);
  csp::go([&] {
    f();
    wg.done();
  });
  wg.wait();
}

// The whole batch of a benchmark's iterations is run in one go (the
// goroutines split it among themselves), Go's b.N style.
#define CSP_BENCH_BATCH(state, n) \
  for (const benchmark::IterationCount n = (state).max_iterations; (state).KeepRunningBatch(n);)

}  // namespace csp_bench
