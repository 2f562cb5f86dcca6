// micro_select.cpp — select micro-benchmarks.
#include <array>
#include <cstdint>
#include <optional>

#include "micro_common.hpp"

namespace {

using namespace csp;
using csp_bench::run_in_goroutine;
using csp_bench::set_procs;

// BM_select_4/<procs>: one goroutine selects over 4 buffered (capacity 128)
// channels, each fed by its own producer; time per received item.
void BM_select_4(benchmark::State& state) {
  set_procs(state, state.range(0));
  CSP_BENCH_BATCH(state, n) {
    const std::int64_t each = static_cast<std::int64_t>(n) / 4 + 1;
    std::array<chan<int>, 4> chs;
    for (auto& c : chs) {
      c = make_chan<int>(128);
      go([c, each] {
        for (std::int64_t i = 0; i < each; ++i) c.send(1);
        c.close();
      });
    }
    run_in_goroutine([&] {
      auto [c0, c1, c2, c3] = chs;
      std::optional<int> v;
      for (int open = 4; open > 0;) {
        int i = select(recv(c0, v), recv(c1, v), recv(c2, v), recv(c3, v));
        if (!v) {
          (i == 0 ? c0 : i == 1 ? c1 : i == 2 ? c2 : c3) = nullptr;
          --open;
        }
      }
    });
  }
}
BENCHMARK(BM_select_4)->ArgName("procs")->Arg(1)->Arg(2)->UseRealTime()->MinTime(0.2);

// BM_select_nonblocking: select with a default over 2 channels, neither ready.
void BM_select_nonblocking(benchmark::State& state) {
  set_procs(state, 1);
  CSP_BENCH_BATCH(state, n) {
    run_in_goroutine([n] {
      auto a = make_chan<int>(), b = make_chan<int>(1);
      std::optional<int> v;
      for (benchmark::IterationCount i = 0; i < n; ++i)
        benchmark::DoNotOptimize(select(recv(a, v), recv(b, v), default_case));
    });
  }
}
BENCHMARK(BM_select_nonblocking)->UseRealTime()->MinTime(0.2);

}  // namespace
