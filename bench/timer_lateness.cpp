// timer_lateness.cpp — how late time::sleep(1ms) wakes, and what a select
// with a timeout costs.
//
//   GOMAXPROCS=N timer_lateness [samples]
//
// Prints, in the BENCH format of bench/workloads.cpp:
//   timer_lateness_idle_p50 / _p99      sleep(1ms) in one goroutine, runtime otherwise idle:
//                                       the timer sleeper's futex timeout + wake-up path
//   timer_lateness_loaded_p50 / _p99    the same while N busy goroutines keep every worker
//                                       running (each calls gosched() every ~50 µs: csp has
//                                       no preemption, so a goroutine that never yields
//                                       delays timers on its worker, as in Go before 1.14)
//   timer_lateness_many_p50 / _p99      1000 goroutines each sleeping 1ms in a loop
//   select_timeout / select_timeout_stop  ns per op of Go's anchor loops
//                                       (shared/anchors/go: select_timeout{,_stop})
// Lateness = wake time - (start + 1ms), in µs.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <csp/go.hpp>

using namespace csp;
using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

namespace {

int procs = 1;

void report(const char* name, double v, const char* unit) {
  std::printf("BENCH %s_p%d %.1f %s\n", name, procs, v, unit);
  std::fflush(stdout);
}

double pct(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

// sample_sleeps runs `samples` sleep(1ms) in one goroutine; lateness in µs.
std::vector<double> sample_sleeps(int samples) {
  std::vector<double> late;
  late.reserve(static_cast<std::size_t>(samples));
  auto done = make_chan<>();
  go([&] {
    for (int i = 0; i < samples; ++i) {
      auto start = clk::now();
      time::sleep(1ms);
      late.push_back(std::chrono::duration<double, std::micro>(clk::now() - start - 1ms).count());
    }
    done.send({});
  });
  done.recv();
  return late;
}

void lateness(const char* name, std::vector<double> late) {
  char n50[64], n99[64];
  std::snprintf(n50, sizeof n50, "timer_lateness_%s_p50", name);
  std::snprintf(n99, sizeof n99, "timer_lateness_%s_p99", name);
  report(n50, pct(late, 0.50), "us");
  report(n99, pct(late, 0.99), "us");
}

void select_timeout(long n) {
  auto ch = make_chan<long>(1);
  long sum = 0;
  auto start = clk::now();
  for (long i = 0; i < n; ++i) {
    ch.send(i);
    std::optional<long> v;
    switch (select(recv(ch, v), recv(time::after(1h)))) {
      case 0: sum += *v; break;
      case 1: break;
    }
  }
  report("select_timeout", std::chrono::duration<double, std::nano>(clk::now() - start).count() / n, "ns/op");
  if (sum == -1) std::abort();
}

void select_timeout_stop(long n) {
  auto ch = make_chan<long>(1);
  long sum = 0;
  auto start = clk::now();
  for (long i = 0; i < n; ++i) {
    ch.send(i);
    time::timer t{1h};
    std::optional<long> v;
    switch (select(recv(ch, v), recv(t.c))) {
      case 0: sum += *v; break;
      case 1: break;
    }
    t.stop();
  }
  report("select_timeout_stop", std::chrono::duration<double, std::nano>(clk::now() - start).count() / n, "ns/op");
  if (sum == -1) std::abort();
}

}  // namespace

int main(int argc, char** argv) {
  int samples = argc > 1 ? std::atoi(argv[1]) : 2000;
  procs = runtime::gomaxprocs(0);

  // Warm up: start the workers, let them go idle.
  time::sleep(20ms);
  lateness("idle", sample_sleeps(samples));

  {
    std::atomic<bool> stop{false};
    sync::wait_group wg;
    for (int i = 0; i < procs; ++i)
      wg.go([&] {
        while (!stop.load(std::memory_order_relaxed)) {
          auto until = clk::now() + 50us;
          while (clk::now() < until) {
          }
          runtime::gosched();
        }
      });
    time::sleep(10ms);
    lateness("loaded", sample_sleeps(samples));
    stop = true;
    wg.wait();
  }

  {
    const int g = 1000, rounds = std::max(1, samples / 100);
    std::vector<std::vector<double>> per(g);
    sync::wait_group wg;
    for (int k = 0; k < g; ++k)
      wg.go([&, k] {
        for (int r = 0; r < rounds; ++r) {
          auto start = clk::now();
          time::sleep(1ms);
          per[static_cast<std::size_t>(k)].push_back(
              std::chrono::duration<double, std::micro>(clk::now() - start - 1ms).count());
        }
      });
    wg.wait();
    std::vector<double> all;
    for (auto& v : per) all.insert(all.end(), v.begin(), v.end());
    lateness("many", std::move(all));
  }

  select_timeout(2'000'000);
  select_timeout_stop(4'000'000);
  return 0;
}
