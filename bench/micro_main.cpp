// micro_main.cpp — Google Benchmark's main for bench_micro.
//
//   bench_micro                               # everything (about a minute)
//   bench_micro --benchmark_filter=chan_prod  # one family
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
