// micro_chan.cpp — channel micro-benchmarks.
#include <atomic>
#include <cstdint>

#include "micro_common.hpp"

namespace {

using namespace csp;
using csp_bench::run_in_goroutine;
using csp_bench::set_procs;

// BM_chan_prod_cons/<capacity>/<procs>: Go's BenchmarkChanProdCons{0,10,100}.
// procs producer/consumer pairs share one channel; producers take the items
// from a shared budget in chunks of 1000 (Go's CallsPerSched), each sends
// a 1; when the budget is gone each sends a 0 that stops one consumer.
// Time per item.
void BM_chan_prod_cons(benchmark::State& state) {
  const auto capacity = static_cast<std::size_t>(state.range(0));
  const int procs = static_cast<int>(state.range(1));
  set_procs(state, procs);
  constexpr std::int64_t chunk = 1000;
  CSP_BENCH_BATCH(state, n) {
    std::atomic<std::int64_t> budget{static_cast<std::int64_t>(n) / chunk + 1};
    auto items = make_chan<int>(capacity);
    sync::wait_group wg;
    wg.add(2 * procs);
    for (int p = 0; p < procs; ++p) {
      go([&] {
        while (budget.fetch_sub(1, std::memory_order_relaxed) > 0)
          for (std::int64_t i = 0; i < chunk; ++i) items.send(1);
        items.send(0);
        wg.done();
      });
      go([&] {
        while (items.recv().value_or(0) != 0) {
        }
        wg.done();
      });
    }
    wg.wait();
  }
}
BENCHMARK(BM_chan_prod_cons)
    ->ArgNames({"cap", "procs"})
    ->ArgsProduct({{0, 10, 100}, {1, 2}})
    ->UseRealTime()
    ->MinTime(0.2);

// BM_chan_pingpong/<procs>: one round trip over two unbuffered channels.
void BM_chan_pingpong(benchmark::State& state) {
  set_procs(state, state.range(0));
  CSP_BENCH_BATCH(state, n) {
    auto ping = make_chan<int>(), pong = make_chan<int>();
    go([=] {
      for (int v : ping) pong.send(v);
    });
    run_in_goroutine([&] {
      for (benchmark::IterationCount i = 0; i < n; ++i) {
        ping.send(1);
        pong.recv();
      }
      ping.close();
    });
  }
}
BENCHMARK(BM_chan_pingpong)->ArgName("procs")->Arg(1)->Arg(2)->UseRealTime()->MinTime(0.2);

// BM_chan_buffered_uncontended: send then receive on a buffered channel in
// one goroutine: the fast path that touches no scheduler.
void BM_chan_buffered_uncontended(benchmark::State& state) {
  set_procs(state, 1);
  CSP_BENCH_BATCH(state, n) {
    run_in_goroutine([n] {
      auto ch = make_chan<int>(1);
      for (benchmark::IterationCount i = 0; i < n; ++i) {
        ch.send(1);
        benchmark::DoNotOptimize(ch.recv());
      }
    });
  }
}
BENCHMARK(BM_chan_buffered_uncontended)->UseRealTime()->MinTime(0.2);

}  // namespace
