// micro_sync.cpp — sync::mutex and sync::wait_group micro-benchmarks.
#include <cstdint>

#include "micro_common.hpp"

namespace {

using namespace csp;
using csp_bench::run_in_goroutine;
using csp_bench::set_procs;

// BM_mutex_uncontended: lock/unlock by one goroutine (Go's
// BenchmarkMutexUncontended, one P).
void BM_mutex_uncontended(benchmark::State& state) {
  set_procs(state, 1);
  CSP_BENCH_BATCH(state, n) {
    run_in_goroutine([n] {
      sync::mutex mu;
      for (benchmark::IterationCount i = 0; i < n; ++i) {
        mu.lock();
        mu.unlock();
      }
    });
  }
}
BENCHMARK(BM_mutex_uncontended)->UseRealTime()->MinTime(0.2);

// BM_mutex_contended/<procs>: 4 goroutines share the iterations, each
// lock; ++counter; unlock (the mutex_contended workload). Time per
// lock/unlock.
void BM_mutex_contended(benchmark::State& state) {
  set_procs(state, state.range(0));
  constexpr int G = 4;
  CSP_BENCH_BATCH(state, n) {
    sync::mutex mu;
    sync::wait_group wg;
    std::int64_t counter = 0;
    wg.add(G);
    for (int g = 0; g < G; ++g) {
      go([&, each = static_cast<std::int64_t>(n) / G + 1] {
        for (std::int64_t i = 0; i < each; ++i) {
          mu.lock();
          ++counter;
          mu.unlock();
        }
        wg.done();
      });
    }
    wg.wait();
    benchmark::DoNotOptimize(counter);
  }
}
BENCHMARK(BM_mutex_contended)->ArgName("procs")->Arg(1)->Arg(2)->UseRealTime()->MinTime(0.2);

// BM_wait_group/<procs>: procs goroutines each do add(1); done() on one
// shared wait_group (Go's BenchmarkWaitGroupAddDone); time per pair.
void BM_wait_group(benchmark::State& state) {
  const int procs = static_cast<int>(state.range(0));
  set_procs(state, procs);
  CSP_BENCH_BATCH(state, n) {
    sync::wait_group shared, all;
    all.add(procs);
    for (int p = 0; p < procs; ++p) {
      go([&, each = static_cast<std::int64_t>(n) / procs + 1] {
        for (std::int64_t i = 0; i < each; ++i) {
          shared.add(1);
          shared.done();
        }
        all.done();
      });
    }
    all.wait();
  }
}
BENCHMARK(BM_wait_group)->ArgName("procs")->Arg(1)->Arg(2)->UseRealTime()->MinTime(0.2);

// BM_wait_group_wait: add(1); done(); wait() on a wait_group of one's own
// (Go's BenchmarkWaitGroupWait, uncontended): wait() on a zero counter.
void BM_wait_group_wait(benchmark::State& state) {
  set_procs(state, 1);
  CSP_BENCH_BATCH(state, n) {
    run_in_goroutine([n] {
      sync::wait_group wg;
      for (benchmark::IterationCount i = 0; i < n; ++i) {
        wg.add(1);
        wg.done();
        wg.wait();
      }
    });
  }
}
BENCHMARK(BM_wait_group_wait)->UseRealTime()->MinTime(0.2);

}  // namespace
