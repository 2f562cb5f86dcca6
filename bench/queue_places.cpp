// queue_places.cpp — the global run queue alone, without goroutines: the
// measurement behind its choice of structure (lib/sched/global_queue.hpp;
// bench/RESULTS.md, "ConcurrentQueue or not").
//
//   queue_places <case> [n]
//
//   single   one thread pushes one goroutine and takes it back
//            (pop_share(share 1, limit 1)), n times: a plain thread's
//            ready() and an idle worker's take, uncontended
//   batch    one thread pushes 128 at a time (a local queue's overflow) and
//            takes them back with pop_share(share 2, limit 128) until
//            empty; n goroutines in all
//   contend  4 threads push one goroutine at a time (n/4 each) while 2
//            threads take with pop_share(2, 128) until all n are taken:
//            plain_threads' shape (4 plain threads readying goroutines, the
//            workers taking them), queue only
//
// Prints `BENCH queue_<case> <ns per goroutine> ns/goroutine`. For
// instruction counts run single and batch under callgrind at two sizes and
// divide the difference by the difference in n (start-up cancels out).
// The "goroutines" are fake pointers: the queue never dereferences them.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <sched.h>

#include "sched/global_queue.hpp"

namespace {

using csp::detail::global_queue;
using csp::detail::goroutine;
using clock_type = std::chrono::steady_clock;

goroutine* fake(std::uint64_t i) { return reinterpret_cast<goroutine*>(static_cast<std::uintptr_t>(i + 1) << 4); }
std::uint64_t unfake(goroutine* g) { return (reinterpret_cast<std::uintptr_t>(g) >> 4) - 1; }

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "queue_places: %s\n", what);
  std::exit(1);
}

void single(global_queue& q, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    goroutine* g = fake(std::uint64_t(i));
    q.push(&g, 1);
    goroutine* out = nullptr;
    if (q.pop_share(&out, 1, 1) != 1 || out != g) fail("single: lost a goroutine");
  }
}

void batch(global_queue& q, std::int64_t n) {
  goroutine* in[128];
  goroutine* out[128];
  std::uint64_t next = 0;
  for (std::int64_t done = 0; done < n; done += 128) {
    for (auto& g : in) g = fake(next++);
    q.push(in, 128);
    std::uint32_t got = 0;
    while (std::uint32_t k = q.pop_share(out, 2, 128)) got += k;
    if (got != 128) fail("batch: lost goroutines");
  }
}

void contend(global_queue& q, std::int64_t n) {
  constexpr int pushers = 4, takers = 2;
  const std::int64_t per = n / pushers;
  std::atomic<std::int64_t> taken{0};
  std::atomic<std::uint64_t> sum{0};
  std::vector<std::thread> ts;
  for (int p = 0; p < pushers; ++p) {
    ts.emplace_back([&, p] {
      for (std::int64_t i = 0; i < per; ++i) {
        goroutine* g = fake(std::uint64_t(p * per + i));
        q.push(&g, 1);
      }
    });
  }
  for (int t = 0; t < takers; ++t) {
    ts.emplace_back([&] {
      goroutine* out[128];
      std::uint64_t local = 0;
      while (taken.load(std::memory_order_relaxed) < per * pushers) {
        std::uint32_t k = q.pop_share(out, 2, 128);
        if (k == 0) {
          sched_yield();
          continue;
        }
        for (std::uint32_t i = 0; i < k; ++i) local += unfake(out[i]);
        taken.fetch_add(k, std::memory_order_relaxed);
      }
      sum.fetch_add(local);
    });
  }
  for (auto& t : ts) t.join();
  const std::uint64_t m = std::uint64_t(per * pushers);
  if (taken.load() != std::int64_t(m) || sum.load() != m * (m - 1) / 2) fail("contend: lost goroutines");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s single|batch|contend [n]\n", argv[0]);
    return 2;
  }
  const std::int64_t n = argc > 2 ? std::atoll(argv[2]) : 4'000'000;
  if (n < 128) {
    std::fprintf(stderr, "queue_places: n must be at least 128\n");
    return 2;
  }
  auto* q = new global_queue();  // never freed, as the scheduler's
  void (*run)(global_queue&, std::int64_t) = nullptr;
  if (std::strcmp(argv[1], "single") == 0) run = single;
  else if (std::strcmp(argv[1], "batch") == 0) run = batch;
  else if (std::strcmp(argv[1], "contend") == 0) run = contend;
  else {
    std::fprintf(stderr, "queue_places: unknown case %s\n", argv[1]);
    return 2;
  }
  auto start = clock_type::now();
  run(*q, n);
  double ns = std::chrono::duration<double, std::nano>(clock_type::now() - start).count() / double(n);
  std::printf("BENCH queue_%s %.1f ns/goroutine\n", argv[1], ns);
  return 0;
}
